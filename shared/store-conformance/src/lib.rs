//! The conformance suite: every [`ItemStore`] backend runs all of it, through
//! [`conformance_suite!`], against a fresh store per test. Only tests build this crate: it is no
//! part of any function.
//!
//! [`primitive`] checks the item store itself (conditions, atomic batches, ordered prefix
//! queries, concurrent conditional writes); the other modules check Gatehouse's records over it,
//! one port's worth each (uniqueness of emails, single use of tokens, paging), including under
//! concurrency.

pub mod access_codes;
pub mod accounts;
pub mod challenges;
pub mod clients;
pub mod due;
pub mod erasures;
pub mod events;
mod fixtures;
pub mod grants;
pub mod groups;
pub mod idempotency;
pub mod imports;
pub mod invitation_link;
pub mod invitation_lists;
pub mod invitations;
pub mod members;
pub mod primitive;
pub mod quotas;
pub mod throttle;
pub mod webhooks;

pub use access_codes::*;
pub use accounts::*;
pub use challenges::*;
pub use clients::*;
pub use due::*;
pub use erasures::*;
pub use events::*;
pub use grants::*;
pub use groups::*;
pub use idempotency::*;
pub use imports::*;
pub use invitation_link::*;
pub use invitation_lists::*;
pub use invitations::*;
pub use members::*;
pub use primitive::*;
pub use quotas::*;
pub use throttle::*;
pub use webhooks::*;

pub use gatehouse_store::ItemStore;

/// Declares one `#[tokio::test]` per conformance check, each with a fresh store from `$factory`
/// (an `async fn() -> Arc<dyn ItemStore>`).
#[macro_export]
macro_rules! conformance_suite {
    ($factory:path) => {
        $crate::conformance_suite!(@tests $factory;
            missing_items_read_as_none,
            put_then_get_round_trips_every_json_type,
            put_if_absent_refuses_a_second_put,
            batches_are_all_or_nothing_and_name_the_failing_write,
            conditions_compare_values_and_numbers,
            deletes_and_checks_honour_conditions,
            queries_return_a_prefix_in_order_in_pages,
            indexes_follow_every_write_of_their_items,
            concurrent_conditional_puts_have_one_winner,
            updates_add_to_numbers_and_set_attributes,
            concurrent_additions_all_land,
            many_items_are_read_at_once_in_order,
            an_org_is_created_once,
            organisations_are_listed_in_domain_order,
            an_invitation_claims_its_email_case_insensitively,
            concurrent_invitations_of_one_email_make_one,
            an_expired_invitation_frees_its_email,
            accepting_spends_the_token_once,
            concurrent_acceptances_make_one_account,
            a_new_token_replaces_the_old_one,
            invitations_list_newest_first_in_pages,
            updates_refuse_stale_versions,
            sessions_are_found_only_where_they_were_made,
            groups_are_listed_per_org,
            a_group_changes_only_from_the_version_read,
            a_renamed_group_takes_its_name_claim_along,
            group_names_that_look_alike_are_claimed_once,
            an_invitation_and_its_quota_charges_are_written_together,
            concurrent_quota_counts_stop_exactly_at_the_cap,
            a_deleted_group_leaves_the_settings_and_link_in_the_same_write,
            registrations_through_the_link_count_its_uses,
            a_uid_invitation_claims_its_uid_and_is_found_by_its_code,
            accepting_by_access_code_spends_it_once,
            revoking_stops_the_credential_and_frees_the_claim,
            a_password_reset_is_spent_with_the_password_change,
            a_users_sessions_end_together_but_the_kept_one,
            failure_counters_change_only_from_what_was_read,
            charges_within_the_allowance_never_refuse_each_other,
            a_familiarity_marker_replaces_whatever_was_there,
            a_lookup_reads_independent_records_in_one_round_trip,
            a_session_opens_with_its_counter_changes_in_one_write,
            users_are_listed_in_pages,
            renewing_an_invitation_renews_its_claim,
            invitations_are_listed_by_status_and_kind,
            invitations_are_listed_by_role_and_inviter,
            revoking_releases_the_claim_in_the_same_write,
            a_request_key_is_claimed_once_and_its_answer_kept,
            a_lapsed_or_forgotten_request_key_is_free_again,
            concurrent_claims_of_a_request_key_have_one_winner,
            an_import_moves_forward_by_conditional_writes,
            invitations_are_created_in_batches_each_or_not,
            deliveries_are_recorded_in_batches,
            a_lookup_finds_claims_group_names_and_imports,
            the_due_index_follows_each_change_of_an_invitation,
            an_imports_invitations_share_one_due_pointer,
            removing_an_expired_invitation_frees_its_email,
            clients_are_created_once_and_found_only_in_their_org,
            a_client_changes_and_goes_only_from_the_version_read,
            a_code_is_spent_once_and_a_second_use_ends_its_grant,
            concurrent_redemptions_of_one_code_leave_no_grant_alive,
            a_refresh_token_rotates_once_and_its_reuse_ends_the_grant,
            concurrent_refreshes_with_one_token_end_its_grant,
            ending_a_users_sessions_ends_their_grants,
            a_token_request_reads_its_records_in_one_round_trip,
            events_are_read_oldest_first_across_shards_each_once,
            a_change_and_its_events_are_written_together,
            webhooks_change_only_from_the_version_read,
            deliveries_are_made_once_due_in_order_and_taken_once,
            memberships_and_search_entries_follow_each_change,
            active_admins_are_read_as_they_are_now,
            two_admins_demoting_each_other_leave_one,
            a_session_does_not_open_for_a_deactivated_account,
            user_filters_read_only_their_partition,
            a_rewritten_user_is_found_by_every_filter,
            an_email_change_moves_the_claim_and_spends_its_token,
            an_erased_account_leaves_its_claims_free_and_a_record_of_what_is_left,
            a_redacted_log_record_is_rewritten_in_place_and_not_told_again,
            deliveries_of_redacted_events_are_rewritten_where_they_exist,
            a_challenge_opens_one_session_with_the_accounts_write,
            a_ceremony_is_spent_once_with_the_accounts_write
        );
    };
    (@tests $factory:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let store: std::sync::Arc<dyn $crate::ItemStore> = $factory().await;
                $crate::$name(store).await;
            }
        )*
    };
}
