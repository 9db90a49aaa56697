//! The conformance suite: every [`ItemStore`] backend runs all of it, through
//! [`conformance_suite!`](crate::conformance_suite), against a fresh store per test.
//!
//! The first half checks the primitive (conditions, atomic batches, ordered prefix queries,
//! concurrent conditional writes); the second checks Gatehouse's records over it (uniqueness of
//! emails, single use of tokens, paging), including under concurrency.

use serde_json::{json, Value};
use std::sync::Arc;

use gatehouse_domain::access_code::{AccessCode, AccessCodeKeys};
use gatehouse_domain::clock::Timestamp;
use gatehouse_domain::lifecycle::Lifecycle;
use gatehouse_domain::model::{
    Delivery, Group, Import, ImportCounts, ImportState, Invitation, InvitationKind, InvitationLink,
    InvitationState, InvitationStatus, Invitee, Org, PasswordReset, Session, Settings, User,
};
use gatehouse_domain::password::PasswordDigest;
use gatehouse_domain::ports::{
    Acceptance, AccountKey, AttemptStore, AttemptsChange, Claim, Credential, DeliveryChange,
    DueEntry, GroupStore, ImportProgress, ImportStore, InvitationQuery, InvitationStore, LinkStore,
    Lookup, LookupStore, OrgStore, PageRequest, RequestClaim, RequestStore, ScheduleStore,
    SessionStore, StoreError, StoredAnswer, UserStore, WriteError, DELIVERIES_PER_WRITE,
    INVITATIONS_PER_WRITE,
};
use gatehouse_domain::secret::{OsRandomness, Randomness, SecretToken};
use gatehouse_domain::throttle::Attempts;
use gatehouse_domain::types::{
    EmailAddress, GroupName, InviteeRole, OrgDomain, PersonName, Role, Uid, UserId,
};

use crate::counting::CountingItems;
use crate::items::{Attrs, Condition, Index, Item, ItemError, ItemStore, Key, Query, Write};
use crate::records::Records;

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
            removing_an_expired_invitation_frees_its_email
        );
    };
    (@tests $factory:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let store: std::sync::Arc<dyn $crate::ItemStore> = $factory().await;
                $crate::conformance::$name(store).await;
            }
        )*
    };
}

fn random() -> &'static dyn Randomness {
    &OsRandomness
}

/// A partition key no other test uses, so tests may share a backend.
fn unique(prefix: &str) -> String {
    format!("{prefix}#{}", random().user_id())
}

fn item(pk: &str, sk: &str, attrs: Value) -> Item {
    let Value::Object(attrs) = attrs else {
        panic!("attrs must be an object")
    };
    Item {
        key: Key::new(pk, sk),
        attrs,
    }
}

fn put(item: Item, condition: Option<Condition>) -> Write {
    Write::Put { item, condition }
}

pub async fn missing_items_read_as_none(store: Arc<dyn ItemStore>) {
    assert_eq!(store.get(&Key::new(unique("T"), "x")).await.unwrap(), None);
}

pub async fn put_then_get_round_trips_every_json_type(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let it = item(
        &pk,
        "a#1",
        json!({
            "text": "Zoë 🦀 <&>", "empty": "", "int": 9_007_199_254_740_993_i64, "neg": -42,
            "yes": true, "no": false, "nothing": null,
            "list": [1, "two", {"three": [3]}], "map": {"nested": {"deep": "value"}}, "empty_list": [], "empty_map": {}
        }),
    );
    store.write(vec![put(it.clone(), None)]).await.unwrap();
    assert_eq!(store.get(&it.key).await.unwrap(), Some(it.clone()));
    // A second put replaces the whole item.
    let replaced = item(&pk, "a#1", json!({"only": 1}));
    store
        .write(vec![put(replaced.clone(), None)])
        .await
        .unwrap();
    assert_eq!(store.get(&it.key).await.unwrap(), Some(replaced));
}

pub async fn put_if_absent_refuses_a_second_put(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let first = item(&pk, "k", json!({"n": 1}));
    store
        .write(vec![put(first.clone(), Some(Condition::NotExists))])
        .await
        .unwrap();
    let second = item(&pk, "k", json!({"n": 2}));
    let err = store
        .write(vec![put(second, Some(Condition::NotExists))])
        .await
        .unwrap_err();
    assert!(
        matches!(err, ItemError::ConditionFailed { index: 0 }),
        "{err:?}"
    );
    assert_eq!(store.get(&first.key).await.unwrap(), Some(first));
}

pub async fn batches_are_all_or_nothing_and_name_the_failing_write(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let existing = item(&pk, "taken", json!({"v": 0}));
    store
        .write(vec![put(existing.clone(), None)])
        .await
        .unwrap();
    let batch = vec![
        put(
            item(&pk, "new-1", json!({"v": 1})),
            Some(Condition::NotExists),
        ),
        put(item(&pk, "new-2", json!({"v": 2})), None),
        put(
            item(&pk, "taken", json!({"v": 3})),
            Some(Condition::NotExists),
        ),
    ];
    let err = store.write(batch).await.unwrap_err();
    assert!(
        matches!(err, ItemError::ConditionFailed { index: 2 }),
        "{err:?}"
    );
    assert_eq!(
        store.get(&Key::new(&pk, "new-1")).await.unwrap(),
        None,
        "nothing of a failed batch is written"
    );
    assert_eq!(store.get(&Key::new(&pk, "new-2")).await.unwrap(), None);
    assert_eq!(store.get(&existing.key).await.unwrap(), Some(existing));
    // The same batch without the failing condition applies whole.
    let batch = vec![
        put(
            item(&pk, "new-1", json!({"v": 1})),
            Some(Condition::NotExists),
        ),
        Write::Delete {
            key: Key::new(&pk, "taken"),
            condition: Some(Condition::Exists),
        },
    ];
    store.write(batch).await.unwrap();
    assert!(store.get(&Key::new(&pk, "new-1")).await.unwrap().is_some());
    assert_eq!(store.get(&Key::new(&pk, "taken")).await.unwrap(), None);
}

pub async fn conditions_compare_values_and_numbers(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let key = Key::new(&pk, "c");
    store
        .write(vec![put(
            item(
                &pk,
                "c",
                json!({"owner": "invitation", "expires_at": 100, "version": 3}),
            ),
            None,
        )])
        .await
        .unwrap();
    let attempt = |condition: Condition| {
        let store = store.clone();
        let pk = pk.clone();
        async move {
            store
                .write(vec![put(
                    item(
                        &pk,
                        "c",
                        json!({"owner": "invitation", "expires_at": 100, "version": 3}),
                    ),
                    Some(condition),
                )])
                .await
        }
    };
    assert!(attempt(Condition::Equals("version".into(), json!(3)))
        .await
        .is_ok());
    assert!(attempt(Condition::Equals("version".into(), json!(2)))
        .await
        .is_err());
    assert!(attempt(Condition::Equals("missing".into(), json!(3)))
        .await
        .is_err());
    // Lacks: the item exists without the attribute.
    assert!(attempt(Condition::Lacks("missing".into())).await.is_ok());
    assert!(attempt(Condition::Lacks("version".into())).await.is_err());
    assert!(
        store
            .write(vec![put(
                item(&pk, "nothing-here", json!({})),
                Some(Condition::Lacks("version".into())),
            )])
            .await
            .is_err(),
        "a missing item lacks nothing"
    );
    assert!(
        attempt(Condition::Equals("owner".into(), json!("invitation")))
            .await
            .is_ok()
    );
    assert!(attempt(Condition::Equals("owner".into(), json!("user")))
        .await
        .is_err());
    assert!(attempt(Condition::Below("expires_at".into(), 101))
        .await
        .is_ok());
    assert!(attempt(Condition::Below("expires_at".into(), 100))
        .await
        .is_err());
    assert!(attempt(Condition::Below("missing".into(), 100))
        .await
        .is_err());
    assert!(attempt(Condition::Any(vec![
        Condition::NotExists,
        Condition::Below("expires_at".into(), 50)
    ]))
    .await
    .is_err());
    assert!(attempt(Condition::Any(vec![
        Condition::NotExists,
        Condition::Below("expires_at".into(), 150)
    ]))
    .await
    .is_ok());
    assert!(attempt(Condition::All(vec![
        Condition::Exists,
        Condition::Equals("version".into(), json!(3))
    ]))
    .await
    .is_ok());
    assert!(attempt(Condition::All(vec![
        Condition::Exists,
        Condition::Equals("version".into(), json!(4))
    ]))
    .await
    .is_err());
    assert!(store.get(&key).await.unwrap().is_some());
}

pub async fn deletes_and_checks_honour_conditions(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    store
        .write(vec![put(item(&pk, "d", json!({"owner": "a"})), None)])
        .await
        .unwrap();
    let err = store
        .write(vec![Write::Delete {
            key: Key::new(&pk, "d"),
            condition: Some(Condition::Equals("owner".into(), json!("b"))),
        }])
        .await
        .unwrap_err();
    assert!(matches!(err, ItemError::ConditionFailed { index: 0 }));
    assert!(store.get(&Key::new(&pk, "d")).await.unwrap().is_some());
    // A failing check stops the batch; a holding one lets it through.
    let err = store
        .write(vec![
            put(item(&pk, "e", json!({})), None),
            Write::Check {
                key: Key::new(&pk, "d"),
                condition: Condition::NotExists,
            },
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, ItemError::ConditionFailed { index: 1 }));
    assert_eq!(store.get(&Key::new(&pk, "e")).await.unwrap(), None);
    store
        .write(vec![
            Write::Check {
                key: Key::new(&pk, "d"),
                condition: Condition::Equals("owner".into(), json!("a")),
            },
            put(item(&pk, "f", json!({})), None),
        ])
        .await
        .unwrap();
    assert!(store.get(&Key::new(&pk, "f")).await.unwrap().is_some());
    store
        .write(vec![Write::Delete {
            key: Key::new(&pk, "d"),
            condition: None,
        }])
        .await
        .unwrap();
    assert_eq!(store.get(&Key::new(&pk, "d")).await.unwrap(), None);
    // Deleting what is not there is not an error without a condition.
    store
        .write(vec![Write::Delete {
            key: Key::new(&pk, "gone"),
            condition: None,
        }])
        .await
        .unwrap();
}

/// The sort keys of index partition `pk`, read `limit` at a time.
async fn index_sks(
    store: &dyn ItemStore,
    index: Index,
    pk: &str,
    limit: usize,
    descending: bool,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .query(&Query {
                index: Some(index),
                pk: pk.to_string(),
                sk_prefix: String::new(),
                after: after.clone(),
                limit,
                descending,
            })
            .await
            .unwrap();
        assert!(page.items.len() <= limit);
        for item in &page.items {
            // Items come whole, as the table holds them.
            assert_eq!(
                item.attrs.get(index.attribute()),
                Some(&json!(pk)),
                "{item:?}"
            );
            assert_eq!(store.get(&item.key).await.unwrap().as_ref(), Some(item));
        }
        seen.extend(page.items.into_iter().map(|i| i.key.sk));
        match page.last_sk {
            Some(sk) => after = Some(sk),
            None => return seen,
        }
    }
}

pub async fn indexes_follow_every_write_of_their_items(store: Arc<dyn ItemStore>) {
    let (a, b) = (unique("T"), unique("T"));
    let (red, blue, green) = (unique("I"), unique("I"), unique("I"));
    let first = Index::First.attribute();
    let second = Index::Second.attribute();
    let mut writes = Vec::new();
    for i in 0..5 {
        // Items of two table partitions share an index partition, ordered by sort key.
        let pk = if i % 2 == 0 { &a } else { &b };
        writes.push(put(
            item(
                pk,
                &format!("s{i}"),
                json!({ first: red, second: green, "i": i }),
            ),
            None,
        ));
    }
    writes.push(put(item(&a, "s9", json!({ "i": 9 })), None));
    store.write(writes).await.unwrap();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        index_sks(&*store, Index::First, &red, 2, false).await,
        s(&["s0", "s1", "s2", "s3", "s4"])
    );
    assert_eq!(
        index_sks(&*store, Index::First, &red, 2, true).await,
        s(&["s4", "s3", "s2", "s1", "s0"])
    );
    assert_eq!(
        index_sks(&*store, Index::Second, &green, 10, true).await,
        s(&["s4", "s3", "s2", "s1", "s0"])
    );
    assert!(index_sks(&*store, Index::First, &green, 10, false)
        .await
        .is_empty());

    // A put moves its item to another partition; a put without the attribute takes it out; an
    // update leaves it where it is; a delete removes it; a failed batch changes nothing.
    store
        .write(vec![
            put(item(&a, "s0", json!({ first: blue })), None),
            put(item(&b, "s1", json!({ "i": 1 })), None),
            Write::Update {
                key: Key::new(&a, "s2"),
                add: vec![("n".into(), 1)],
                set: Attrs::new(),
                condition: None,
            },
            Write::Delete {
                key: Key::new(&b, "s3"),
                condition: None,
            },
            put(item(&a, "s9", json!({ first: blue })), None),
        ])
        .await
        .unwrap();
    let refused = store
        .write(vec![
            put(item(&a, "s4", json!({ first: blue })), None),
            put(item(&a, "s0", json!({})), Some(Condition::NotExists)),
        ])
        .await;
    assert!(matches!(
        refused,
        Err(ItemError::ConditionFailed { index: 1 })
    ));
    assert_eq!(
        index_sks(&*store, Index::First, &red, 10, false).await,
        s(&["s2", "s4"])
    );
    assert_eq!(
        index_sks(&*store, Index::First, &blue, 1, false).await,
        s(&["s0", "s9"])
    );
    assert_eq!(
        index_sks(&*store, Index::Second, &green, 10, false).await,
        s(&["s2", "s4"]),
        "s0 lost its second attribute with the put"
    );
    let updated = store.get(&Key::new(&a, "s2")).await.unwrap().unwrap();
    assert_eq!(updated.attrs.get("n"), Some(&json!(1)));
}

pub async fn queries_return_a_prefix_in_order_in_pages(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let other = unique("T");
    let mut writes = Vec::new();
    for i in 0..7 {
        writes.push(put(
            item(&pk, &format!("inv#{i:02}"), json!({"i": i})),
            None,
        ));
    }
    writes.push(put(item(&pk, "user#1", json!({})), None));
    writes.push(put(item(&pk, "inu", json!({})), None));
    writes.push(put(item(&other, "inv#99", json!({})), None));
    store.write(writes).await.unwrap();

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .query(&Query {
                index: None,
                pk: pk.clone(),
                sk_prefix: "inv#".into(),
                after: after.clone(),
                limit: 3,
                descending: false,
            })
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|i| i.key.sk.clone()));
        match page.last_sk {
            Some(sk) => after = Some(sk),
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).map(|i| format!("inv#{i:02}")).collect();
    assert_eq!(seen, expected);

    let newest = store
        .query(&Query {
            index: None,
            pk: pk.clone(),
            sk_prefix: "inv#".into(),
            after: None,
            limit: 2,
            descending: true,
        })
        .await
        .unwrap();
    let sks: Vec<&str> = newest.items.iter().map(|i| i.key.sk.as_str()).collect();
    assert_eq!(sks, ["inv#06", "inv#05"]);
    let next = store
        .query(&Query {
            index: None,
            pk: pk.clone(),
            sk_prefix: "inv#".into(),
            after: newest.last_sk,
            limit: 2,
            descending: true,
        })
        .await
        .unwrap();
    let sks: Vec<&str> = next.items.iter().map(|i| i.key.sk.as_str()).collect();
    assert_eq!(sks, ["inv#04", "inv#03"]);

    let all = store
        .query(&Query {
            index: None,
            pk: pk.clone(),
            sk_prefix: String::new(),
            after: None,
            limit: 100,
            descending: false,
        })
        .await
        .unwrap();
    assert_eq!(all.items.len(), 9);
    assert_eq!(all.last_sk, None);
    let sks: Vec<&str> = all.items.iter().map(|i| i.key.sk.as_str()).collect();
    assert_eq!(
        sks[..3],
        ["inu", "inv#00", "inv#01"],
        "sort keys compare bytewise"
    );
    assert_eq!(all.items[1].attrs.get("i"), Some(&json!(0)));
}

pub async fn concurrent_conditional_puts_have_one_winner(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let store = store.clone();
            let pk = pk.clone();
            tokio::spawn(async move {
                store
                    .write(vec![put(
                        item(&pk, "race", json!({"winner": n})),
                        Some(Condition::NotExists),
                    )])
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => wins += 1,
            Err(ItemError::ConditionFailed { .. } | ItemError::Conflict) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(wins, 1);
}

pub async fn updates_add_to_numbers_and_set_attributes(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let key = Key::new(&pk, "counter");
    let update = |delta: i64, at: i64, condition: Option<Condition>| Write::Update {
        key: key.clone(),
        add: vec![("n".into(), delta), ("version".into(), 1)],
        set: item(&pk, "x", json!({"at": at, "note": "kept"})).attrs,
        condition,
    };
    // An absent item is created, its numbers counted from 0.
    store.write(vec![update(1, 10, None)]).await.unwrap();
    store.write(vec![update(2, 20, None)]).await.unwrap();
    let got = store.get(&key).await.unwrap().unwrap();
    assert_eq!(
        Value::Object(got.attrs),
        json!({"n": 3, "version": 2, "at": 20, "note": "kept"})
    );
    // Other attributes survive; negative additions subtract.
    store
        .write(vec![put(
            item(&pk, "counter", json!({"n": 3, "version": 2, "other": true})),
            None,
        )])
        .await
        .unwrap();
    store
        .write(vec![update(
            -1,
            30,
            Some(Condition::AtLeast("n".into(), 1)),
        )])
        .await
        .unwrap();
    let got = store.get(&key).await.unwrap().unwrap();
    assert_eq!(
        Value::Object(got.attrs),
        json!({"n": 2, "version": 3, "other": true, "at": 30, "note": "kept"})
    );
    // A condition that fails changes nothing, alone or in a batch.
    assert!(matches!(
        store
            .write(vec![update(1, 40, Some(Condition::Below("n".into(), 2)))])
            .await,
        Err(ItemError::ConditionFailed { index: 0 })
    ));
    assert!(matches!(
        store
            .write(vec![update(1, 40, Some(Condition::AtLeast("n".into(), 3)))])
            .await,
        Err(ItemError::ConditionFailed { index: 0 })
    ));
    let other = item(&pk, "other", json!({"v": 1}));
    assert!(matches!(
        store
            .write(vec![
                update(5, 50, None),
                put(other.clone(), Some(Condition::Exists)),
            ])
            .await,
        Err(ItemError::ConditionFailed { index: 1 })
    ));
    assert_eq!(
        store.get(&key).await.unwrap().unwrap().attrs.get("n"),
        Some(&json!(2))
    );
    // With a write to another item, both land together.
    store
        .write(vec![update(5, 60, None), put(other.clone(), None)])
        .await
        .unwrap();
    assert_eq!(
        store.get(&key).await.unwrap().unwrap().attrs.get("n"),
        Some(&json!(7))
    );
    assert_eq!(store.get(&other.key).await.unwrap(), Some(other));
    // An absent attribute is neither below nor at least anything.
    assert!(!Condition::AtLeast("missing".into(), 0).holds(Some(&Attrs::new())));
}

pub async fn concurrent_additions_all_land(store: Arc<dyn ItemStore>) {
    let key = Key::new(unique("T"), "hits");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let key = key.clone();
            tokio::spawn(async move {
                store
                    .write(vec![Write::Update {
                        key,
                        add: vec![("hits".into(), 1)],
                        set: Attrs::new(),
                        condition: Some(Condition::Any(vec![
                            Condition::NotExists,
                            Condition::Below("hits".into(), 1_000),
                        ])),
                    }])
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().expect("no addition is refused or lost");
    }
    assert_eq!(
        store.get(&key).await.unwrap().unwrap().attrs.get("hits"),
        Some(&json!(20))
    );
}

pub async fn many_items_are_read_at_once_in_order(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let items: Vec<Item> = (0..150)
        .map(|i| item(&pk, &format!("{i:03}"), json!({"i": i})))
        .collect();
    store.put_many(items.clone()).await.unwrap();
    let mut keys: Vec<Key> = items.iter().map(|i| i.key.clone()).rev().collect();
    keys.insert(3, Key::new(&pk, "missing"));
    keys.push(items[7].key.clone());
    let got = store.get_many(&keys).await.unwrap();
    assert_eq!(got.len(), keys.len());
    for (key, found) in keys.iter().zip(&got) {
        match found {
            Some(found) => assert_eq!(&found.key, key),
            None => assert_eq!(key.sk, "missing"),
        }
    }
    assert_eq!(got[0].as_ref(), Some(&items[149]));
    assert_eq!(got.last().unwrap().as_ref(), Some(&items[7]));
    assert_eq!(got.iter().filter(|g| g.is_none()).count(), 1);
    assert!(store.get_many(&[]).await.unwrap().is_empty());
}

// ---- Gatehouse's records -------------------------------------------------------------------

/// The lookups the use cases make, as they make them: a credential or an identifier found in one
/// batched read ([`LookupStore::look_up`]), then the record it names.
trait UseCaseReads {
    async fn invitation_by_token(
        &self,
        org: &OrgDomain,
        token: &gatehouse_domain::secret::TokenHash,
    ) -> Result<Option<Invitation>, StoreError>;
    async fn invitation_by_code(
        &self,
        org: &OrgDomain,
        code: &gatehouse_domain::access_code::CodeHash,
    ) -> Result<Option<Invitation>, StoreError>;
    async fn user_by_uid(&self, org: &OrgDomain, uid: &Uid) -> Result<Option<User>, StoreError>;
}

impl Records {
    async fn invitation_by(
        &self,
        org: &OrgDomain,
        credential: Credential,
    ) -> Result<Option<Invitation>, StoreError> {
        let lookup = Lookup {
            credential: Some(credential.clone()),
            ..Lookup::default()
        };
        match self.look_up(org, &lookup).await?.credential_of {
            Some(id) => self.invitation_holding(org, &id, &credential).await,
            None => Ok(None),
        }
    }
}

impl UseCaseReads for Records {
    async fn invitation_by_token(
        &self,
        org: &OrgDomain,
        token: &gatehouse_domain::secret::TokenHash,
    ) -> Result<Option<Invitation>, StoreError> {
        self.invitation_by(org, Credential::LinkToken(token.clone()))
            .await
    }

    async fn invitation_by_code(
        &self,
        org: &OrgDomain,
        code: &gatehouse_domain::access_code::CodeHash,
    ) -> Result<Option<Invitation>, StoreError> {
        self.invitation_by(org, Credential::AccessCode(code.clone()))
            .await
    }

    async fn user_by_uid(&self, org: &OrgDomain, uid: &Uid) -> Result<Option<User>, StoreError> {
        let lookup = Lookup {
            account: Some(AccountKey::Uid(uid.clone())),
            ..Lookup::default()
        };
        match self.look_up(org, &lookup).await?.account {
            Some(id) => self.user(org, &id).await,
            None => Ok(None),
        }
    }
}

fn org_domain() -> OrgDomain {
    let id = random().user_id();
    OrgDomain::parse(&format!("o{}", &id.as_str()[..12])).unwrap()
}

fn name(s: &str) -> PersonName {
    PersonName::parse(s).unwrap()
}

fn org(domain: &OrgDomain) -> Org {
    Org {
        domain: domain.clone(),
        settings: Settings::default(),
        created_at: Timestamp::from_unix_seconds(1_000),
        version: 0,
    }
}

fn user(domain: &OrgDomain, email: &str, role: Role) -> User {
    User {
        id: random().user_id(),
        org: domain.clone(),
        email: Some(EmailAddress::parse(email).unwrap()),
        uid: None,
        first_name: name("Ada"),
        last_name: name("Lovelace"),
        role,
        groups: vec![],
        password: PasswordDigest::from_phc("$argon2id$placeholder".into()),
        created_at: Timestamp::from_unix_seconds(1_000),
        version: 0,
        password_epoch: 0,
    }
}

fn invitation(domain: &OrgDomain, email: &str, now: i64, token: &SecretToken) -> Invitation {
    Invitation {
        id: random().invitation_id(Timestamp::from_unix_seconds(now)),
        org: domain.clone(),
        invitee: Invitee::Email {
            email: EmailAddress::parse(email).unwrap(),
            token_hash: token.hash(),
        },
        role: InviteeRole::Member,
        first_name: name("Alice"),
        last_name: name("Liddell"),
        groups: vec![],
        message: None,
        invited_by: Some(random().user_id()),
        created_at: Timestamp::from_unix_seconds(now),
        expires_at: Timestamp::from_unix_seconds(now + 1_000),
        state: InvitationState::Pending,
        delivery: Delivery::Queued,
        lifecycle: Lifecycle {
            retry_at: Some(Timestamp::from_unix_seconds(now + 300)),
            ..Lifecycle::default()
        },
        version: 0,
    }
}

async fn new_org(records: &Records) -> (OrgDomain, User) {
    let domain = org_domain();
    let admin = user(&domain, "admin@example.com", Role::Admin);
    records
        .create_org(&org(&domain), &[], &admin)
        .await
        .unwrap();
    (domain, admin)
}

fn session_for(user: &User) -> Session {
    Session {
        org: user.org.clone(),
        user_id: user.id.clone(),
        role: user.role,
        token_hash: SecretToken::generate(random()).hash(),
        created_at: Timestamp::from_unix_seconds(2_000),
        expires_at: Timestamp::from_unix_seconds(9_000),
    }
}

/// The acceptance of `inv` as read: its credential is spent, an account with its email or uid made.
fn acceptance(inv: &Invitation) -> Acceptance {
    let mut accepted = inv.clone();
    let mut account = user(&inv.org, "placeholder@example.com", Role::Member);
    account.email = inv.invitee.email().cloned();
    account.uid = inv.invitee.uid().cloned();
    account.first_name = inv.first_name.clone();
    accepted.state = InvitationState::Accepted {
        user_id: account.id.clone(),
        at: Timestamp::from_unix_seconds(2_000),
    };
    Acceptance {
        invitation: accepted,
        session: session_for(&account),
        user: account,
    }
}

fn uid_invitation(
    domain: &OrgDomain,
    uid: &str,
    now: i64,
    code: &AccessCode,
    keys: &AccessCodeKeys,
) -> Invitation {
    let mut inv = invitation(
        domain,
        "unused@example.com",
        now,
        &SecretToken::generate(random()),
    );
    inv.invitee = Invitee::Uid {
        uid: Uid::parse(uid).unwrap(),
        access_code: keys.seal(code, random()),
        code_hash: keys.lookup_hash(code),
    };
    inv.delivery = Delivery::Manual;
    inv
}

/// `inv` with its link token replaced by `token`.
fn with_old_token(inv: &Invitation, token: &SecretToken) -> Invitation {
    let mut changed = inv.clone();
    changed.invitee = Invitee::Email {
        email: inv.invitee.email().unwrap().clone(),
        token_hash: token.hash(),
    };
    changed
}

fn code_keys() -> AccessCodeKeys {
    AccessCodeKeys::from_text(&AccessCodeKeys::generate_secret(random())).unwrap()
}

pub async fn an_org_is_created_once(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let again = user(&domain, "other@example.com", Role::Admin);
    assert!(matches!(
        records.create_org(&org(&domain), &[], &again).await,
        Err(WriteError::AlreadyExists)
    ));
    assert_eq!(records.org(&domain).await.unwrap(), Some(org(&domain)));
    assert_eq!(
        records
            .user_by_email(&domain, admin.email.as_ref().unwrap())
            .await
            .unwrap(),
        Some(admin)
    );
    assert_eq!(
        records.user(&domain, &again.id).await.unwrap(),
        None,
        "the refused bootstrap left nothing"
    );
}

pub async fn organisations_are_listed_in_domain_order(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(new_org(&records).await.0);
    }
    // A refused second creation adds no second entry.
    let again = user(&made[0], "other@example.com", Role::Admin);
    assert!(records
        .create_org(&org(&made[0]), &[], &again)
        .await
        .is_err());
    // Pages of two, to the end (a shared backend may hold other tests' organisations too).
    let mut listed = Vec::new();
    let mut cursor = None;
    loop {
        let page = records
            .orgs(&PageRequest { cursor, limit: 2 })
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        listed.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let domains: Vec<&str> = listed.iter().map(|e| e.domain.as_str()).collect();
    let mut sorted = domains.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(domains, sorted, "in domain order, each once");
    for domain in &made {
        let entry = listed.iter().find(|e| &e.domain == domain).expect("listed");
        assert_eq!(entry.created_at, org(domain).created_at);
    }
    assert!(matches!(
        records
            .orgs(&PageRequest {
                cursor: Some("not a cursor".into()),
                limit: 2
            })
            .await,
        Err(StoreError::BadCursor)
    ));
}

pub async fn an_invitation_claims_its_email_case_insensitively(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let t1 = SecretToken::generate(random());
    let first = invitation(&domain, "Alice@Example.com", 1_500, &t1);
    records.create_invitation(&first).await.unwrap();
    let t2 = SecretToken::generate(random());
    let second = invitation(&domain, "alice@EXAMPLE.com", 1_600, &t2);
    assert!(matches!(
        records.create_invitation(&second).await,
        Err(WriteError::EmailTaken)
    ));
    assert_eq!(records.invitation(&domain, &second.id).await.unwrap(), None);
    assert_eq!(
        records
            .invitation_by_token(&domain, &t2.hash())
            .await
            .unwrap(),
        None
    );
    // The admin's own address is taken by an account.
    let t3 = SecretToken::generate(random());
    let third = invitation(&domain, "ADMIN@example.com", 1_600, &t3);
    assert!(matches!(
        records.create_invitation(&third).await,
        Err(WriteError::EmailTaken)
    ));
    // Another organisation may invite the same address.
    let (other, _) = new_org(&records).await;
    records
        .create_invitation(&invitation(&other, "alice@example.com", 1_600, &t3))
        .await
        .unwrap();
    assert_eq!(
        records
            .invitation_by_token(&domain, &t1.hash())
            .await
            .unwrap(),
        Some(first)
    );
    assert_eq!(
        records
            .invitation_by_token(&domain, &t3.hash())
            .await
            .unwrap(),
        None,
        "tokens do not cross organisations"
    );
}

pub async fn concurrent_invitations_of_one_email_make_one(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let records = records.clone();
            let inv = invitation(
                &domain,
                "race@example.com",
                1_500,
                &SecretToken::generate(random()),
            );
            tokio::spawn(async move { records.create_invitation(&inv).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => created += 1,
            Err(WriteError::EmailTaken) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(created, 1);
    let page = records
        .invitations(
            &domain,
            &everything(),
            &PageRequest {
                cursor: None,
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

pub async fn an_expired_invitation_frees_its_email(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let old = invitation(
        &domain,
        "late@example.com",
        1_500,
        &SecretToken::generate(random()),
    );
    records.create_invitation(&old).await.unwrap();
    // Still live at its last second.
    let early = invitation(
        &domain,
        "late@example.com",
        2_499,
        &SecretToken::generate(random()),
    );
    assert!(matches!(
        records.create_invitation(&early).await,
        Err(WriteError::EmailTaken)
    ));
    let t = SecretToken::generate(random());
    let fresh = invitation(&domain, "late@example.com", 2_500, &t);
    records.create_invitation(&fresh).await.unwrap();
    // The old invitation can no longer be accepted: its claim moved on.
    let err = records
        .accept_invitation(&acceptance(&old))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WriteError::Stale | WriteError::EmailTaken),
        "{err:?}"
    );
    records
        .accept_invitation(&acceptance(&fresh))
        .await
        .unwrap();
}

pub async fn accepting_spends_the_token_once(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let token = SecretToken::generate(random());
    let inv = invitation(&domain, "bob@example.com", 1_500, &token);
    records.create_invitation(&inv).await.unwrap();
    let first = acceptance(&inv);
    records.accept_invitation(&first).await.unwrap();
    let second = acceptance(&inv);
    assert!(matches!(
        records.accept_invitation(&second).await,
        Err(WriteError::Stale)
    ));

    let email = EmailAddress::parse("BOB@example.com").unwrap();
    assert_eq!(
        records.user_by_email(&domain, &email).await.unwrap(),
        Some(first.user.clone())
    );
    assert_eq!(records.user(&domain, &second.user.id).await.unwrap(), None);
    assert_eq!(
        records
            .invitation_by_token(&domain, &token.hash())
            .await
            .unwrap(),
        None,
        "the token is spent"
    );
    let stored = records.invitation(&domain, &inv.id).await.unwrap().unwrap();
    assert_eq!(stored.state, first.invitation.state);
    assert_eq!(stored.version, 1);
    let s = &first.session;
    assert_eq!(
        records
            .session(&domain, &s.user_id, &s.token_hash)
            .await
            .unwrap(),
        Some(s.clone())
    );
    // The account now holds the email: inviting it again is refused.
    let again = invitation(
        &domain,
        "bob@example.com",
        9_000,
        &SecretToken::generate(random()),
    );
    assert!(matches!(
        records.create_invitation(&again).await,
        Err(WriteError::EmailTaken)
    ));
}

pub async fn concurrent_acceptances_make_one_account(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let token = SecretToken::generate(random());
    let inv = invitation(&domain, "carol@example.com", 1_500, &token);
    records.create_invitation(&inv).await.unwrap();
    let attempts: Vec<Acceptance> = (0..20).map(|_| acceptance(&inv)).collect();
    let tasks: Vec<_> = attempts
        .iter()
        .cloned()
        .map(|a| {
            let records = records.clone();
            tokio::spawn(async move { records.accept_invitation(&a).await })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok(()) => winners.push(i),
            Err(WriteError::Stale) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let mut accounts = 0;
    for a in &attempts {
        if records.user(&domain, &a.user.id).await.unwrap().is_some() {
            accounts += 1;
        }
    }
    assert_eq!(accounts, 1);
    let email = EmailAddress::parse("carol@example.com").unwrap();
    assert_eq!(
        records
            .user_by_email(&domain, &email)
            .await
            .unwrap()
            .map(|u| u.id),
        Some(attempts[winners[0]].user.id.clone())
    );
}

pub async fn a_new_token_replaces_the_old_one(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let old = SecretToken::generate(random());
    let inv = invitation(&domain, "dave@example.com", 1_500, &old);
    records.create_invitation(&inv).await.unwrap();
    let new = SecretToken::generate(random());
    let mut renewed = with_old_token(&inv, &new);
    renewed.delivery = Delivery::Sent;
    records.update_invitation(&renewed, &inv).await.unwrap();
    assert_eq!(
        records
            .invitation_by_token(&domain, &old.hash())
            .await
            .unwrap(),
        None
    );
    let found = records
        .invitation_by_token(&domain, &new.hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.delivery, Delivery::Sent);
    assert_eq!(found.version, 1);
    // The old token cannot accept it.
    assert!(records
        .accept_invitation(&acceptance(&with_old_token(&found, &old)))
        .await
        .is_err());
    records
        .accept_invitation(&acceptance(&found))
        .await
        .unwrap();
}

fn everything() -> InvitationQuery {
    InvitationQuery {
        status: None,
        kind: None,
        role: None,
        invited_by: None,
        now: Timestamp::from_unix_seconds(0),
    }
}

fn select(
    status: Option<InvitationStatus>,
    kind: Option<InvitationKind>,
    now: i64,
) -> InvitationQuery {
    InvitationQuery {
        status,
        kind,
        role: None,
        invited_by: None,
        now: Timestamp::from_unix_seconds(now),
    }
}

/// Every invitation `query` selects, following cursors, `limit` at a time.
async fn list_all(
    records: &Records,
    domain: &OrgDomain,
    query: &InvitationQuery,
    limit: usize,
) -> Vec<Invitation> {
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = records
            .invitations(domain, query, &PageRequest { cursor, limit })
            .await
            .unwrap();
        assert!(page.items.len() <= limit);
        seen.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return seen,
        }
    }
}

fn emails(invitations: &[Invitation]) -> Vec<String> {
    invitations
        .iter()
        .map(|i| match &i.invitee {
            Invitee::Email { email, .. } => email.to_string(),
            Invitee::Uid { uid, .. } => uid.to_string(),
        })
        .collect()
}

pub async fn invitations_list_newest_first_in_pages(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let inv = invitation(
            &domain,
            &format!("p{i}@example.com"),
            1_500 + i,
            &SecretToken::generate(random()),
        );
        records.create_invitation(&inv).await.unwrap();
        ids.push(inv.id);
    }
    ids.reverse();
    let seen: Vec<_> = list_all(&records, &domain, &everything(), 3)
        .await
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(seen, ids);
    let bad = records
        .invitations(
            &domain,
            &everything(),
            &PageRequest {
                cursor: Some("not-a-cursor".into()),
                limit: 2,
            },
        )
        .await;
    assert!(matches!(bad, Err(StoreError::BadCursor)));
}

/// Each status and kind is listed from its own partition, and moves between them as the
/// invitation changes: revoked, accepted, renewed, expired by the passing of time.
pub async fn invitations_are_listed_by_status_and_kind(store: Arc<dyn ItemStore>) {
    use InvitationKind::{Email, Uid as ByUid};
    use InvitationStatus::{Accepted, Expired, Pending, Revoked};
    let records = Records::new(store);
    let keys = code_keys();
    let (domain, _) = new_org(&records).await;
    // p{i}: created at 1500+i, deadline 2500+i.
    let mut invs = Vec::new();
    for i in 0..7 {
        let inv = invitation(
            &domain,
            &format!("p{i}@example.com"),
            1_500 + i,
            &SecretToken::generate(random()),
        );
        records.create_invitation(&inv).await.unwrap();
        invs.push(inv);
    }
    let u0 = uid_invitation(&domain, "U0", 1_490, &AccessCode::generate(random()), &keys);
    let u1 = uid_invitation(&domain, "U1", 1_510, &AccessCode::generate(random()), &keys);
    records.create_invitation(&u0).await.unwrap();
    records.create_invitation(&u1).await.unwrap();
    records
        .update_invitation(&revoked(&invs[1]), &invs[1])
        .await
        .unwrap();
    records
        .accept_invitation(&acceptance(&invs[3]))
        .await
        .unwrap();
    // p6 is resent with a later deadline.
    let mut renewed = invs[6].clone();
    renewed.expires_at = Timestamp::from_unix_seconds(9_000);
    records.update_invitation(&renewed, &invs[6]).await.unwrap();

    // At 2504, p0, p2, p4 and u0 (deadline 2490) have expired; p5, p6 and u1 are live.
    let now = 2_504;
    let list = |status, kind| {
        let records = records.clone();
        let domain = domain.clone();
        async move { emails(&list_all(&records, &domain, &select(status, kind, now), 2).await) }
    };
    assert_eq!(
        list(Some(Pending), None).await,
        ["p6", "u1", "p5"].map(mail)
    );
    assert_eq!(
        list(Some(Expired), None).await,
        ["u0", "p0", "p2", "p4"].map(mail)
    );
    assert_eq!(list(Some(Revoked), None).await, [mail("p1")]);
    assert_eq!(list(Some(Accepted), None).await, [mail("p3")]);
    assert_eq!(
        list(Some(Pending), Some(Email)).await,
        [mail("p6"), mail("p5")]
    );
    assert_eq!(list(Some(Expired), Some(ByUid)).await, [mail("u0")]);
    assert_eq!(
        list(Some(Accepted), Some(ByUid)).await,
        Vec::<String>::new()
    );
    assert_eq!(list(None, Some(ByUid)).await, [mail("u1"), mail("u0")]);
    assert_eq!(
        list(None, Some(Email)).await,
        ["p6", "p5", "p4", "p3", "p2", "p1", "p0"].map(mail)
    );
    // Every listed copy is the invitation as it is now.
    let accepted = list_all(&records, &domain, &select(Some(Accepted), None, now), 5).await;
    assert_eq!(
        accepted[0],
        records
            .invitation(&domain, &invs[3].id)
            .await
            .unwrap()
            .unwrap()
    );
    // Later, everything pending has expired.
    let later = select(Some(Pending), None, 10_000);
    assert!(list_all(&records, &domain, &later, 5).await.is_empty());
    // A cursor of one kind of list is refused by another.
    let page = records
        .invitations(
            &domain,
            &select(None, None, now),
            &PageRequest {
                cursor: None,
                limit: 1,
            },
        )
        .await
        .unwrap();
    let misused = records
        .invitations(
            &domain,
            &select(Some(Pending), None, now),
            &PageRequest {
                cursor: page.next_cursor,
                limit: 1,
            },
        )
        .await;
    assert!(matches!(misused, Err(StoreError::BadCursor)));
}

/// `p3` → `p3@example.com`; `U0` stays a uid.
/// Lists by role and by inviter read an index partition, newest first, applying the other
/// filters to what it holds; an invitation is listed once whatever its list copies.
pub async fn invitations_are_listed_by_role_and_inviter(store: Arc<dyn ItemStore>) {
    use InvitationKind::Email;
    use InvitationStatus::{Accepted, Expired, Pending, Revoked};
    let records = Records::new(store);
    let keys = code_keys();
    let (domain, admin) = new_org(&records).await;
    let ann = random().user_id();
    // p{i}: created at 1500+i, deadline 2500+i; ann sent the even ones, the admin the odd ones;
    // p1, p2 and p5 are guests. u0: a uid member invitation by ann.
    let mut invs = Vec::new();
    for i in 0..7 {
        let mut inv = invitation(
            &domain,
            &format!("p{i}@example.com"),
            1_500 + i,
            &SecretToken::generate(random()),
        );
        inv.invited_by = Some(if i % 2 == 0 {
            ann.clone()
        } else {
            admin.id.clone()
        });
        if [1, 2, 5].contains(&i) {
            inv.role = InviteeRole::Guest;
        }
        records.create_invitation(&inv).await.unwrap();
        invs.push(inv);
    }
    let mut u0 = uid_invitation(&domain, "U0", 1_510, &AccessCode::generate(random()), &keys);
    u0.invited_by = Some(ann.clone());
    records.create_invitation(&u0).await.unwrap();
    // Someone who registered themselves: no inviter.
    let mut own = invitation(
        &domain,
        "p9@example.com",
        1_509,
        &SecretToken::generate(random()),
    );
    own.invited_by = None;
    records.create_invitation(&own).await.unwrap();
    records
        .update_invitation(&revoked(&invs[2]), &invs[2])
        .await
        .unwrap();
    records
        .accept_invitation(&acceptance(&invs[4]))
        .await
        .unwrap();

    // At 2504 p0..p3 have expired (p2 was revoked first), p5, p6, u0, p9 are live.
    let now = 2_504;
    let list = |role: Option<InviteeRole>,
                inviter: Option<&UserId>,
                status: Option<InvitationStatus>,
                kind: Option<InvitationKind>| {
        let query = InvitationQuery {
            status,
            kind,
            role,
            invited_by: inviter.cloned(),
            now: Timestamp::from_unix_seconds(now),
        };
        let records = records.clone();
        let domain = domain.clone();
        async move { emails(&list_all(&records, &domain, &query, 2).await) }
    };
    let guest = Some(InviteeRole::Guest);
    let member = Some(InviteeRole::Member);
    assert_eq!(
        list(guest, None, None, None).await,
        ["p5", "p2", "p1"].map(mail)
    );
    assert_eq!(
        list(member, None, None, None).await,
        ["u0", "p9", "p6", "p4", "p3", "p0"].map(mail)
    );
    assert_eq!(
        list(None, Some(&ann), None, None).await,
        ["u0", "p6", "p4", "p2", "p0"].map(mail)
    );
    assert_eq!(
        list(None, Some(&admin.id), None, None).await,
        ["p5", "p3", "p1"].map(mail)
    );
    assert!(list(None, Some(&random().user_id()), None, None)
        .await
        .is_empty());
    // With the other filters.
    assert_eq!(
        list(member, Some(&ann), Some(Pending), None).await,
        ["u0", "p6"].map(mail)
    );
    assert_eq!(
        list(None, Some(&ann), Some(Pending), Some(Email)).await,
        [mail("p6")]
    );
    assert_eq!(list(guest, None, Some(Revoked), None).await, [mail("p2")]);
    assert_eq!(
        list(None, Some(&ann), Some(Accepted), None).await,
        [mail("p4")]
    );
    assert_eq!(
        list(guest, Some(&admin.id), Some(Expired), None).await,
        [mail("p1")]
    );
    // What is listed is the invitation as it is now.
    let accepted = list_all(
        &records,
        &domain,
        &InvitationQuery {
            status: None,
            kind: None,
            role: member,
            invited_by: Some(ann.clone()),
            now: Timestamp::from_unix_seconds(now),
        },
        10,
    )
    .await;
    let p4 = records
        .invitation(&domain, &invs[4].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(accepted.iter().find(|i| i.id == p4.id), Some(&p4));
    // A cursor of these lists is an invitation id; another list's cursor is refused.
    let deadline_cursor = records
        .invitations(
            &domain,
            &select(Some(Pending), None, now),
            &PageRequest {
                cursor: None,
                limit: 1,
            },
        )
        .await
        .unwrap()
        .next_cursor
        .expect("more pending ones");
    let misused = records
        .invitations(
            &domain,
            &InvitationQuery {
                status: None,
                kind: None,
                role: guest,
                invited_by: None,
                now: Timestamp::from_unix_seconds(now),
            },
            &PageRequest {
                cursor: Some(deadline_cursor),
                limit: 1,
            },
        )
        .await;
    assert!(matches!(misused, Err(StoreError::BadCursor)), "{misused:?}");
}

fn mail(short: &str) -> String {
    if short.starts_with('p') {
        format!("{short}@example.com")
    } else {
        short.to_uppercase()
    }
}

/// A status or kind filter costs one query returning at most one page of items, however many
/// invitations the organisation has. Not in [`conformance_suite!`]: each backend runs it on a
/// store of its own (see the backends' conformance tests).
pub async fn filtered_lists_cost_one_page_among_5000_invitations(store: Arc<dyn ItemStore>) {
    use InvitationStatus::{Accepted, Expired, Pending, Revoked};
    let counting = Arc::new(crate::CountingItems::new(store));
    let records = Records::new(counting.clone());
    let (domain, _) = new_org(&records).await;
    let keys = code_keys();
    // 5,000 pending email invitations, and a few of every other kind and status at both ends.
    let mut specials = Vec::new();
    for i in 0..3 {
        let r = invitation(
            &domain,
            &format!("r{i}@example.com"),
            1_000 + i,
            &SecretToken::generate(random()),
        );
        records.create_invitation(&r).await.unwrap();
        records.update_invitation(&revoked(&r), &r).await.unwrap();
        let u = uid_invitation(
            &domain,
            &format!("U{i}"),
            1_000 + i,
            &AccessCode::generate(random()),
            &keys,
        );
        records.create_invitation(&u).await.unwrap();
        specials.push(u);
    }
    let a = invitation(
        &domain,
        "accepted@example.com",
        1_000,
        &SecretToken::generate(random()),
    );
    records.create_invitation(&a).await.unwrap();
    records.accept_invitation(&acceptance(&a)).await.unwrap();
    // The bulk is written exactly as the records write it, but loaded in batches: emulators
    // copy their whole state for every transaction, which 5,000 transactions make quadratic.
    let recorder = Arc::new(crate::RecordingItems::default());
    let recording = Records::new(recorder.clone());
    for i in 0..5_000 {
        let inv = invitation(
            &domain,
            &format!("bulk{i}@example.com"),
            1_500,
            &SecretToken::generate(random()),
        );
        recording.create_invitation(&inv).await.unwrap();
    }
    // Two guests sent by one person among the 5,000 members.
    let inviter = random().user_id();
    for i in 0..2 {
        let mut g = invitation(
            &domain,
            &format!("guest{i}@example.com"),
            1_500,
            &SecretToken::generate(random()),
        );
        g.role = InviteeRole::Guest;
        g.invited_by = Some(inviter.clone());
        records.create_invitation(&g).await.unwrap();
    }
    let items = recorder.take();
    assert_eq!(
        items.len(),
        5_000 * 7,
        "claim, invitation, token, three list copies and the due entry each"
    );
    counting.put_many(items).await.unwrap();
    counting.take();

    // At 2200 the specials (deadline ≤ 2002) have expired and the bulk (2500) is live.
    for (status, kind, expected) in [
        (Some(Revoked), None, 3),
        (Some(Accepted), None, 1),
        (Some(Expired), None, 3),
        (Some(Expired), Some(InvitationKind::Uid), 3),
        (Some(Pending), Some(InvitationKind::Uid), 0),
        (Some(Pending), None, 20),
        (None, Some(InvitationKind::Uid), 3),
    ] {
        let page = records
            .invitations(
                &domain,
                &select(status, kind, 2_200),
                &PageRequest {
                    cursor: None,
                    limit: 20,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), expected, "{status:?} {kind:?}");
        let calls = counting.take();
        assert_eq!(
            (calls.gets, calls.queries, calls.writes),
            (0, 1, 0),
            "{status:?} {kind:?}: {calls:?}"
        );
        assert!(calls.items_read <= 20, "{status:?} {kind:?}: {calls:?}");
    }
    // By role and by inviter: one query of the index partition.
    for (role, by) in [
        (Some(InviteeRole::Guest), None),
        (None, Some(inviter.clone())),
        (Some(InviteeRole::Guest), Some(inviter.clone())),
    ] {
        let query = InvitationQuery {
            status: Some(Pending),
            kind: None,
            role,
            invited_by: by.clone(),
            now: Timestamp::from_unix_seconds(2_200),
        };
        let page = records
            .invitations(
                &domain,
                &query,
                &PageRequest {
                    cursor: None,
                    limit: 20,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2, "{role:?} {by:?}");
        assert_eq!(page.next_cursor, None);
        let calls = counting.take();
        assert_eq!(
            (calls.gets, calls.queries, calls.writes, calls.items_read),
            (0, 1, 0, 2),
            "{role:?} {by:?}: {calls:?}"
        );
    }
}

/// Revoking spends the credential and frees the email in one write: there is no moment when the
/// invitation is revoked but its address still blocked.
pub async fn revoking_releases_the_claim_in_the_same_write(store: Arc<dyn ItemStore>) {
    let counting = Arc::new(crate::CountingItems::new(store));
    let records = Records::new(counting.clone());
    let (domain, _) = new_org(&records).await;
    let inv = invitation(
        &domain,
        "rhea@example.com",
        1_500,
        &SecretToken::generate(random()),
    );
    records.create_invitation(&inv).await.unwrap();
    counting.take();
    records
        .update_invitation(&revoked(&inv), &inv)
        .await
        .unwrap();
    assert_eq!(counting.take().writes, 1, "one all-or-nothing write");
    records
        .create_invitation(&invitation(
            &domain,
            "rhea@example.com",
            1_600,
            &SecretToken::generate(random()),
        ))
        .await
        .unwrap();
    // An expired invitation whose address moved on to a new one is revoked without touching
    // the new one's claim.
    let old = invitation(
        &domain,
        "sven@example.com",
        100,
        &SecretToken::generate(random()),
    );
    records.create_invitation(&old).await.unwrap();
    let newer = invitation(
        &domain,
        "sven@example.com",
        1_500,
        &SecretToken::generate(random()),
    );
    records.create_invitation(&newer).await.unwrap();
    records
        .update_invitation(&revoked(&old), &old)
        .await
        .unwrap();
    assert!(matches!(
        records
            .create_invitation(&invitation(
                &domain,
                "sven@example.com",
                1_600,
                &SecretToken::generate(random()),
            ))
            .await,
        Err(WriteError::EmailTaken)
    ));
}

pub async fn updates_refuse_stale_versions(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let mut renamed = admin.clone();
    renamed.first_name = name("Augusta");
    records.update_user(&renamed).await.unwrap();
    let mut settings = records.org(&domain).await.unwrap().unwrap();
    settings.settings.invitation_ttl_days = 7;
    records.update_org(&settings).await.unwrap();
    assert!(
        matches!(records.update_org(&settings).await, Err(WriteError::Stale)),
        "the second write read version 0"
    );
    assert_eq!(
        records
            .org(&domain)
            .await
            .unwrap()
            .unwrap()
            .settings
            .invitation_ttl_days,
        7
    );
    let mut concurrent = admin.clone();
    concurrent.first_name = name("Countess");
    assert!(matches!(
        records.update_user(&concurrent).await,
        Err(WriteError::Stale)
    ));
    let stored = records.user(&domain, &admin.id).await.unwrap().unwrap();
    assert_eq!(stored.first_name, name("Augusta"));
    assert_eq!(stored.version, 1);
}

pub async fn sessions_are_found_only_where_they_were_made(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let (other, _) = new_org(&records).await;
    let session = session_for(&admin);
    records.create_session(&session).await.unwrap();
    assert_eq!(
        records
            .session(&domain, &admin.id, &session.token_hash)
            .await
            .unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        records
            .session(&other, &admin.id, &session.token_hash)
            .await
            .unwrap(),
        None
    );
    let stranger = random().user_id();
    assert_eq!(
        records
            .session(&domain, &stranger, &session.token_hash)
            .await
            .unwrap(),
        None
    );
}

pub async fn groups_are_listed_per_org(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let (other, _) = new_org(&records).await;
    let g = Group {
        id: random().group_id(),
        name: GroupName::parse("Sales").unwrap(),
        created_at: Timestamp::from_unix_seconds(5),
        admins: Vec::new(),
        version: 0,
    };
    records.create_group(&domain, &g).await.unwrap();
    assert!(matches!(
        records.create_group(&domain, &g).await,
        Err(WriteError::AlreadyExists)
    ));
    assert_eq!(records.groups(&domain).await.unwrap(), vec![g.clone()]);
    assert_eq!(
        records.group(&domain, &g.id).await.unwrap(),
        Some(g.clone())
    );
    assert!(records.groups(&other).await.unwrap().is_empty());
    assert_eq!(records.group(&other, &g.id).await.unwrap(), None);
    // Names are unique per organisation, whatever the case; another organisation may reuse one.
    let same_name = Group {
        id: random().group_id(),
        name: GroupName::parse("SALES").unwrap(),
        created_at: Timestamp::from_unix_seconds(6),
        admins: Vec::new(),
        version: 0,
    };
    assert!(matches!(
        records.create_group(&domain, &same_name).await,
        Err(WriteError::AlreadyExists)
    ));
    assert_eq!(records.group(&domain, &same_name.id).await.unwrap(), None);
    records.create_group(&other, &same_name).await.unwrap();
}

pub async fn a_group_changes_only_from_the_version_read(store: Arc<dyn ItemStore>) {
    let records = Records::new(store.clone());
    let (domain, admin) = new_org(&records).await;
    // A group stored before groups had admins and a version reads as version 0 and changes
    // from it.
    let old = random().group_id();
    store
        .write(vec![put(
            item(
                &format!("ORG#{domain}#GROUPS"),
                old.as_str(),
                json!({"id": old, "name": "Legacy", "created_at": 3}),
            ),
            None,
        )])
        .await
        .unwrap();
    let mut legacy = records.group(&domain, &old).await.unwrap().unwrap();
    assert_eq!((legacy.version, legacy.admins.len()), (0, 0));
    legacy.admins.push(admin.id.clone());
    records.update_group(&domain, &legacy).await.unwrap();
    let updated = records.group(&domain, &old).await.unwrap().unwrap();
    assert_eq!((updated.version, updated.admins.len()), (1, 1));
    // Once versioned, a change from version 0 is stale.
    assert!(matches!(
        records.update_group(&domain, &legacy).await,
        Err(WriteError::Stale)
    ));
    let g = Group {
        id: random().group_id(),
        name: GroupName::parse("Design").unwrap(),
        created_at: Timestamp::from_unix_seconds(5),
        admins: Vec::new(),
        version: 0,
    };
    records.create_group(&domain, &g).await.unwrap();
    let mut named = g.clone();
    named.admins.push(admin.id.clone());
    records.update_group(&domain, &named).await.unwrap();
    let stored = records.group(&domain, &g.id).await.unwrap().unwrap();
    assert_eq!(stored.admins, vec![admin.id.clone()]);
    assert_eq!(stored.version, 1);
    // A change made from the version read before is refused and changes nothing.
    let mut stale = g.clone();
    stale.admins.push(random().user_id());
    assert!(matches!(
        records.update_group(&domain, &stale).await,
        Err(WriteError::Stale)
    ));
    assert_eq!(
        records.group(&domain, &g.id).await.unwrap(),
        Some(stored.clone())
    );
    // From the version now stored it lands; the name claim is untouched.
    let mut emptied = stored.clone();
    emptied.admins.clear();
    records.update_group(&domain, &emptied).await.unwrap();
    let again = records.group(&domain, &g.id).await.unwrap().unwrap();
    assert!(again.admins.is_empty());
    assert_eq!(again.version, 2);
    assert!(matches!(
        records
            .create_group(
                &domain,
                &Group {
                    id: random().group_id(),
                    ..g.clone()
                }
            )
            .await,
        Err(WriteError::AlreadyExists)
    ));
}

/// A group's look (its name's TR39 skeleton) is claimed with it: a lookalike is refused
/// (`LookalikeTaken`), whether created or renamed into; renaming or deleting frees the look.
/// Groups made before the claim existed hold none, and still rename and delete.
pub async fn group_names_that_look_alike_are_claimed_once(store: Arc<dyn ItemStore>) {
    let records = Records::new(store.clone());
    let (domain, _) = new_org(&records).await;
    let group = |name: &str| Group {
        id: random().group_id(),
        name: GroupName::parse(name).unwrap(),
        created_at: Timestamp::from_unix_seconds(5),
        admins: Vec::new(),
        version: 0,
    };
    let everyone = group("Everyone");
    records.create_group(&domain, &everyone).await.unwrap();
    let cyrillic = group("\u{0415}veryone");
    assert!(matches!(
        records.create_group(&domain, &cyrillic).await,
        Err(WriteError::LookalikeTaken)
    ));
    assert_eq!(records.group(&domain, &cyrillic.id).await.unwrap(), None);
    let sales = group("Sales");
    records.create_group(&domain, &sales).await.unwrap();
    let mut into = sales.clone();
    into.name = GroupName::parse("Every\u{043E}ne").unwrap();
    assert!(matches!(
        records.rename_group(&domain, &into, &sales.name).await,
        Err(WriteError::LookalikeTaken)
    ));
    // Renamed away, the look is free.
    let mut away = everyone.clone();
    away.name = GroupName::parse("All staff").unwrap();
    records
        .rename_group(&domain, &away, &everyone.name)
        .await
        .unwrap();
    records.create_group(&domain, &cyrillic).await.unwrap();
    // Deleted, too.
    records
        .delete_group(&domain, &cyrillic, None, None)
        .await
        .unwrap();
    records
        .create_group(&domain, &group("Everyone"))
        .await
        .unwrap();
    // A group written before looks were claimed: its look is nobody's; it renames and deletes.
    let legacy = group("Legacy");
    records.create_group(&domain, &legacy).await.unwrap();
    store
        .write(vec![Write::Delete {
            key: crate::records::keys::group_look(&domain, &legacy.name),
            condition: None,
        }])
        .await
        .unwrap();
    let mut renamed = legacy.clone();
    renamed.name = GroupName::parse("Heritage").unwrap();
    records
        .rename_group(&domain, &renamed, &legacy.name)
        .await
        .unwrap();
    renamed.version += 1;
    records
        .delete_group(&domain, &renamed, None, None)
        .await
        .unwrap();
    records
        .create_group(&domain, &group("Heritage"))
        .await
        .unwrap();
}

/// Quota charges ride in the invitation's own write: below their cap both land; a charge at its
/// cap fails the whole write (`QuotaSpent` naming it) and nothing is written.
pub async fn an_invitation_and_its_quota_charges_are_written_together(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let charge = |key: &str, cap: u32| AttemptsChange::Count {
        key: key.to_string(),
        at: Timestamp::from_unix_seconds(1_500),
        cap,
        keep_until: Timestamp::from_unix_seconds(9_999),
    };
    let (roomy, tight) = (unique("quota-roomy"), unique("quota-tight"));
    let charges = [charge(&roomy, 10), charge(&tight, 2)];
    for n in 0..2 {
        let t = SecretToken::generate(random());
        let inv = invitation(&domain, &format!("q{n}@example.com"), 1_500, &t);
        records
            .create_invitation_charged(&inv, &charges)
            .await
            .unwrap();
    }
    let t = SecretToken::generate(random());
    let third = invitation(&domain, "q2@example.com", 1_500, &t);
    assert!(matches!(
        records.create_invitation_charged(&third, &charges).await,
        Err(WriteError::QuotaSpent(1))
    ));
    assert_eq!(records.invitation(&domain, &third.id).await.unwrap(), None);
    let counted = records
        .attempts(&[roomy.clone(), tight.clone()])
        .await
        .unwrap();
    let failures: Vec<u32> = counted
        .iter()
        .map(|a| a.as_ref().unwrap().failures)
        .collect();
    assert_eq!(failures, [2, 2], "the refused write charged nothing");
    // The email is still free: without the spent quota, it is invited.
    records
        .create_invitation_charged(&third, &[charge(&roomy, 10)])
        .await
        .unwrap();
    // An update carries charges the same way.
    let mut renewed = third.clone();
    renewed.expires_at = Timestamp::from_unix_seconds(9_000);
    assert!(matches!(
        records
            .update_invitation_charged(&renewed, &third, &[charge(&tight, 2)])
            .await,
        Err(WriteError::QuotaSpent(0))
    ));
    assert_eq!(
        records.invitation(&domain, &third.id).await.unwrap(),
        Some(third.clone())
    );
    records
        .update_invitation_charged(&renewed, &third, &[charge(&roomy, 10)])
        .await
        .unwrap();
}

/// Thirty uses of a quota of ten at once: exactly ten land, whatever order they commit in.
pub async fn concurrent_quota_counts_stop_exactly_at_the_cap(store: Arc<dyn ItemStore>) {
    let records = Arc::new(Records::new(store));
    let key = unique("quota-race");
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let (records, key) = (records.clone(), key.clone());
            tokio::spawn(async move {
                records
                    .record_attempts(&[AttemptsChange::Count {
                        key,
                        at: Timestamp::from_unix_seconds(1_500),
                        cap: 10,
                        keep_until: Timestamp::from_unix_seconds(9_999),
                    }])
                    .await
            })
        })
        .collect();
    let mut landed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => landed += 1,
            Err(WriteError::Stale) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(landed, 10);
    let counted = records.attempts(std::slice::from_ref(&key)).await.unwrap();
    assert_eq!(counted[0].as_ref().unwrap().failures, 10);
}

pub async fn a_renamed_group_takes_its_name_claim_along(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let group = |name: &str| Group {
        id: random().group_id(),
        name: GroupName::parse(name).unwrap(),
        created_at: Timestamp::from_unix_seconds(5),
        admins: Vec::new(),
        version: 0,
    };
    let design = group("Design");
    let sales = group("Sales");
    records.create_group(&domain, &design).await.unwrap();
    records.create_group(&domain, &sales).await.unwrap();
    // Onto another group's name (any case): refused, nothing changed.
    let mut clash = design.clone();
    clash.name = GroupName::parse("SALES").unwrap();
    assert!(matches!(
        records.rename_group(&domain, &clash, &design.name).await,
        Err(WriteError::AlreadyExists)
    ));
    assert_eq!(
        records.group(&domain, &design.id).await.unwrap(),
        Some(design.clone())
    );
    // To a free name: the old name is free again, the new one taken.
    let mut renamed = design.clone();
    renamed.name = GroupName::parse("Product").unwrap();
    records
        .rename_group(&domain, &renamed, &design.name)
        .await
        .unwrap();
    let stored = records.group(&domain, &design.id).await.unwrap().unwrap();
    assert_eq!((stored.name.as_str(), stored.version), ("Product", 1));
    records
        .create_group(&domain, &group("design"))
        .await
        .unwrap();
    assert!(matches!(
        records.create_group(&domain, &group("PRODUCT")).await,
        Err(WriteError::AlreadyExists)
    ));
    // Another case of its own name; and a rename from a stale read is refused.
    let mut cased = stored.clone();
    cased.name = GroupName::parse("PRODUCT").unwrap();
    records
        .rename_group(&domain, &cased, &stored.name)
        .await
        .unwrap();
    let mut stale = stored.clone();
    stale.name = GroupName::parse("Marketing").unwrap();
    assert!(matches!(
        records.rename_group(&domain, &stale, &stored.name).await,
        Err(WriteError::Stale)
    ));
    records
        .create_group(&domain, &group("Marketing"))
        .await
        .unwrap();
}

pub async fn a_deleted_group_leaves_the_settings_and_link_in_the_same_write(
    store: Arc<dyn ItemStore>,
) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let design = Group {
        id: random().group_id(),
        name: GroupName::parse("Design").unwrap(),
        created_at: Timestamp::from_unix_seconds(5),
        admins: vec![random().user_id()],
        version: 0,
    };
    records.create_group(&domain, &design).await.unwrap();
    let mut settings = records.org(&domain).await.unwrap().unwrap();
    settings.settings.default_groups = vec![design.id.clone()];
    records.update_org(&settings).await.unwrap();
    let secret = SecretToken::generate(random());
    let link = InvitationLink {
        org: domain.clone(),
        token_hash: secret.hash(),
        sealed_token: code_keys().seal_link_token(&secret, random()),
        role: InviteeRole::Member,
        groups: vec![design.id.clone()],
        expires_at: None,
        max_uses: None,
        uses: 0,
        active: true,
        created_by: admin.id.clone(),
        created_at: Timestamp::from_unix_seconds(10),
        version: 0,
    };
    records.save_invitation_link(&link, None).await.unwrap();
    let org_read = records.org(&domain).await.unwrap().unwrap();
    let link_read = records.invitation_link(&domain).await.unwrap().unwrap();
    let without = |mut o: Org| {
        o.settings.default_groups.clear();
        o
    };
    let mut link_without = link_read.clone();
    link_without.groups.clear();

    // From a stale read of the settings, of the link or of the group: nothing happens.
    let mut stale_org = without(org_read.clone());
    stale_org.version -= 1;
    let mut stale_link = link_without.clone();
    stale_link.version += 1;
    let mut stale_group = design.clone();
    stale_group.version = 3;
    for (group, org, link) in [
        (&design, &stale_org, &link_without),
        (&design, &without(org_read.clone()), &stale_link),
        (&stale_group, &without(org_read.clone()), &link_without),
    ] {
        assert!(matches!(
            records
                .delete_group(&domain, group, Some(org), Some(link))
                .await,
            Err(WriteError::Stale)
        ));
        assert_eq!(
            records.group(&domain, &design.id).await.unwrap(),
            Some(design.clone())
        );
        assert_eq!(records.org(&domain).await.unwrap().unwrap(), org_read);
        assert_eq!(
            records.invitation_link(&domain).await.unwrap().unwrap(),
            link_read
        );
    }
    // Done: the group and its name's claim are gone, the settings and link without it.
    records
        .delete_group(
            &domain,
            &design,
            Some(&without(org_read.clone())),
            Some(&link_without),
        )
        .await
        .unwrap();
    assert_eq!(records.group(&domain, &design.id).await.unwrap(), None);
    assert!(records.groups(&domain).await.unwrap().is_empty());
    let org_now = records.org(&domain).await.unwrap().unwrap();
    assert!(org_now.settings.default_groups.is_empty());
    assert_eq!(org_now.version, org_read.version + 1);
    let link_now = records.invitation_link(&domain).await.unwrap().unwrap();
    assert!(link_now.groups.is_empty());
    assert_eq!(link_now.version, link_read.version + 1);
    // Twice: the group is no longer there.
    assert!(matches!(
        records.delete_group(&domain, &design, None, None).await,
        Err(WriteError::Stale)
    ));
    // Its name is free again.
    let again = Group {
        id: random().group_id(),
        version: 0,
        admins: Vec::new(),
        ..design.clone()
    };
    records.create_group(&domain, &again).await.unwrap();
}

pub async fn registrations_through_the_link_count_its_uses(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let secret = SecretToken::generate(random());
    let link = InvitationLink {
        org: domain.clone(),
        token_hash: secret.hash(),
        sealed_token: code_keys().seal_link_token(&secret, random()),
        role: InviteeRole::Member,
        groups: Vec::new(),
        expires_at: None,
        max_uses: Some(2),
        uses: 0,
        active: true,
        created_by: admin.id.clone(),
        created_at: Timestamp::from_unix_seconds(10),
        version: 0,
    };
    assert_eq!(records.invitation_link(&domain).await.unwrap(), None);
    records.save_invitation_link(&link, None).await.unwrap();
    assert!(matches!(
        records.save_invitation_link(&link, None).await,
        Err(WriteError::Stale)
    ));
    let first = invitation(
        &domain,
        "one@example.com",
        20,
        &SecretToken::generate(random()),
    );
    records.register_through_link(&link, &first).await.unwrap();
    let read = records.invitation_link(&domain).await.unwrap().unwrap();
    assert_eq!((read.uses, read.version), (1, 1));
    assert!(records
        .invitation(&domain, &first.id)
        .await
        .unwrap()
        .is_some());
    // The same address again: taken, the use not counted.
    let again = invitation(
        &domain,
        "one@example.com",
        21,
        &SecretToken::generate(random()),
    );
    assert!(matches!(
        records.register_through_link(&link, &again).await,
        Err(WriteError::EmailTaken)
    ));
    let second = invitation(
        &domain,
        "two@example.com",
        22,
        &SecretToken::generate(random()),
    );
    records.register_through_link(&link, &second).await.unwrap();
    // Used up: the third is refused whole.
    let third = invitation(
        &domain,
        "three@example.com",
        23,
        &SecretToken::generate(random()),
    );
    assert!(matches!(
        records.register_through_link(&link, &third).await,
        Err(WriteError::Stale)
    ));
    assert_eq!(records.invitation(&domain, &third.id).await.unwrap(), None);
    assert_eq!(
        records
            .invitation_link(&domain)
            .await
            .unwrap()
            .unwrap()
            .uses,
        2
    );
    // A deactivated link, or one replaced by a new token, takes no registration.
    let current = records.invitation_link(&domain).await.unwrap().unwrap();
    let mut off = current.clone();
    off.active = false;
    off.max_uses = None;
    assert!(matches!(
        records.save_invitation_link(&off, Some(0)).await,
        Err(WriteError::Stale)
    ));
    records
        .save_invitation_link(&off, Some(current.version))
        .await
        .unwrap();
    assert!(matches!(
        records.register_through_link(&off, &third).await,
        Err(WriteError::Stale)
    ));
    let mut replaced = off.clone();
    replaced.active = true;
    replaced.token_hash = SecretToken::generate(random()).hash();
    records
        .save_invitation_link(&replaced, Some(current.version + 1))
        .await
        .unwrap();
    assert!(matches!(
        records.register_through_link(&link, &third).await,
        Err(WriteError::Stale)
    ));
    records
        .register_through_link(&replaced, &third)
        .await
        .unwrap();
}

pub async fn a_uid_invitation_claims_its_uid_and_is_found_by_its_code(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let keys = code_keys();
    let (domain, _) = new_org(&records).await;
    let code = AccessCode::generate(random());
    let inv = uid_invitation(&domain, "E1234", 1_500, &code, &keys);
    records.create_invitation(&inv).await.unwrap();
    let again = uid_invitation(
        &domain,
        "e1234",
        1_600,
        &AccessCode::generate(random()),
        &keys,
    );
    assert!(matches!(
        records.create_invitation(&again).await,
        Err(WriteError::UidTaken)
    ));
    // An email invitation never collides with a uid.
    records
        .create_invitation(&invitation(
            &domain,
            "e1234@example.com",
            1_600,
            &SecretToken::generate(random()),
        ))
        .await
        .unwrap();
    assert_eq!(
        records
            .invitation_by_code(&domain, &keys.lookup_hash(&code))
            .await
            .unwrap(),
        Some(inv.clone())
    );
    let other_code = AccessCode::generate(random());
    assert_eq!(
        records
            .invitation_by_code(&domain, &keys.lookup_hash(&other_code))
            .await
            .unwrap(),
        None
    );
    let (other, _) = new_org(&records).await;
    assert_eq!(
        records
            .invitation_by_code(&other, &keys.lookup_hash(&code))
            .await
            .unwrap(),
        None
    );
    // The same uid may be invited in another organisation.
    records
        .create_invitation(&uid_invitation(
            &other,
            "E1234",
            1_600,
            &AccessCode::generate(random()),
            &keys,
        ))
        .await
        .unwrap();
}

pub async fn accepting_by_access_code_spends_it_once(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let keys = code_keys();
    let (domain, _) = new_org(&records).await;
    let code = AccessCode::generate(random());
    let inv = uid_invitation(&domain, "E77", 1_500, &code, &keys);
    records.create_invitation(&inv).await.unwrap();
    let attempts: Vec<Acceptance> = (0..10).map(|_| acceptance(&inv)).collect();
    let tasks: Vec<_> = attempts
        .iter()
        .cloned()
        .map(|a| {
            let records = records.clone();
            tokio::spawn(async move { records.accept_invitation(&a).await })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => winners += 1,
            Err(WriteError::Stale) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(winners, 1);
    let user = records
        .user_by_uid(&domain, &Uid::parse("e77").unwrap())
        .await
        .unwrap()
        .expect("the account");
    assert!(attempts.iter().any(|a| a.user.id == user.id));
    assert_eq!(user.email, None);
    assert_eq!(
        records
            .invitation_by_code(&domain, &keys.lookup_hash(&code))
            .await
            .unwrap(),
        None,
        "the code is spent"
    );
    let again = uid_invitation(
        &domain,
        "E77",
        1_600,
        &AccessCode::generate(random()),
        &keys,
    );
    assert!(
        matches!(
            records.create_invitation(&again).await,
            Err(WriteError::UidTaken)
        ),
        "the account holds the uid"
    );
}

fn revoked(inv: &Invitation) -> Invitation {
    let mut r = inv.clone();
    r.state = InvitationState::Revoked {
        at: Timestamp::from_unix_seconds(1_700),
    };
    r
}

pub async fn revoking_stops_the_credential_and_frees_the_claim(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let keys = code_keys();
    let (domain, _) = new_org(&records).await;
    let token = SecretToken::generate(random());
    let by_email = invitation(&domain, "olga@example.com", 1_500, &token);
    let code = AccessCode::generate(random());
    let by_uid = uid_invitation(&domain, "P9", 1_500, &code, &keys);
    records.create_invitation(&by_email).await.unwrap();
    records.create_invitation(&by_uid).await.unwrap();

    records
        .update_invitation(&revoked(&by_email), &by_email)
        .await
        .unwrap();
    records
        .update_invitation(&revoked(&by_uid), &by_uid)
        .await
        .unwrap();
    // The link still finds its invitation, which says it was revoked; the code finds nothing.
    let by_link = records
        .invitation_by_token(&domain, &token.hash())
        .await
        .unwrap()
        .expect("a revoked link still names its invitation");
    assert!(matches!(by_link.state, InvitationState::Revoked { .. }));
    assert_eq!(
        records
            .invitation_by_code(&domain, &keys.lookup_hash(&code))
            .await
            .unwrap(),
        None
    );
    let stored = records
        .invitation(&domain, &by_uid.id)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(stored.state, InvitationState::Revoked { .. }));
    // A stale read cannot accept what was revoked.
    assert!(matches!(
        records.accept_invitation(&acceptance(&by_email)).await,
        Err(WriteError::Stale)
    ));
    assert!(matches!(
        records.accept_invitation(&acceptance(&by_uid)).await,
        Err(WriteError::Stale)
    ));
    // Revoking twice from the same read is refused.
    assert!(matches!(
        records
            .update_invitation(&revoked(&by_email), &by_email)
            .await,
        Err(WriteError::Stale)
    ));
    // The email and the uid may be invited again.
    records
        .create_invitation(&invitation(
            &domain,
            "olga@example.com",
            1_600,
            &SecretToken::generate(random()),
        ))
        .await
        .unwrap();
    records
        .create_invitation(&uid_invitation(
            &domain,
            "p9",
            1_600,
            &AccessCode::generate(random()),
            &keys,
        ))
        .await
        .unwrap();
}

pub async fn a_password_reset_is_spent_with_the_password_change(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let token = SecretToken::generate(random());
    let reset = PasswordReset {
        org: domain.clone(),
        user_id: admin.id.clone(),
        token_hash: token.hash(),
        created_at: Timestamp::from_unix_seconds(2_000),
        expires_at: Timestamp::from_unix_seconds(5_600),
        password_epoch: 3,
    };
    records.save_password_reset(&reset).await.unwrap();
    assert_eq!(
        records.password_reset(&token.hash()).await.unwrap(),
        Some(reset.clone())
    );
    let mut changed = admin.clone();
    changed.password = PasswordDigest::from_phc("$argon2id$new".into());
    records
        .change_password(&changed, Some(&token.hash()))
        .await
        .unwrap();
    assert_eq!(
        records.password_reset(&token.hash()).await.unwrap(),
        None,
        "spent"
    );
    let stored = records.user(&domain, &admin.id).await.unwrap().unwrap();
    assert_eq!(stored.password, changed.password);
    // A second use of the token fails and changes nothing.
    let mut again = stored.clone();
    again.password = PasswordDigest::from_phc("$argon2id$other".into());
    assert!(matches!(
        records.change_password(&again, Some(&token.hash())).await,
        Err(WriteError::Stale)
    ));
    assert_eq!(
        records
            .user(&domain, &admin.id)
            .await
            .unwrap()
            .unwrap()
            .password,
        changed.password
    );
    // Without a token, only the version guards the change.
    records.change_password(&again, None).await.unwrap();
    assert!(matches!(
        records.change_password(&again, None).await,
        Err(WriteError::Stale)
    ));
}

pub async fn a_users_sessions_end_together_but_the_kept_one(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let other = user(&domain, "other@example.com", Role::Member);
    let sessions: Vec<Session> = (0..30).map(|_| session_for(&admin)).collect();
    for s in &sessions {
        records.create_session(s).await.unwrap();
    }
    let bystander = session_for(&other);
    records.create_session(&bystander).await.unwrap();
    // Signing out ends one session; twice is no error.
    let signed_out = &sessions[29];
    for _ in 0..2 {
        records
            .end_session(&domain, &admin.id, &signed_out.token_hash)
            .await
            .unwrap();
    }
    assert!(records
        .session(&domain, &admin.id, &signed_out.token_hash)
        .await
        .unwrap()
        .is_none());
    assert!(records
        .session(&domain, &admin.id, &sessions[28].token_hash)
        .await
        .unwrap()
        .is_some());
    let kept = &sessions[7];
    assert_eq!(
        records
            .end_sessions(&domain, &admin.id, Some(&kept.token_hash))
            .await
            .unwrap(),
        28
    );
    for s in &sessions {
        let found = records
            .session(&domain, &admin.id, &s.token_hash)
            .await
            .unwrap();
        assert_eq!(found.is_some(), s == kept);
    }
    assert!(records
        .session(&domain, &other.id, &bystander.token_hash)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        records
            .end_sessions(&domain, &admin.id, None)
            .await
            .unwrap(),
        1
    );
    assert!(records
        .session(&domain, &admin.id, &kept.token_hash)
        .await
        .unwrap()
        .is_none());
}

pub async fn failure_counters_change_only_from_what_was_read(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let key = format!("test#{}", random().user_id());
    let keys = vec![key.clone()];
    assert_eq!(records.attempts(&keys).await.unwrap(), vec![None]);
    let change = |read: Option<u64>, failures: u32| AttemptsChange::Replace {
        key: key.clone(),
        read,
        next: Attempts {
            failures,
            ..Attempts::default()
        },
        keep_until: Timestamp::from_unix_seconds(9_999),
    };
    records.record_attempts(&[change(None, 1)]).await.unwrap();
    assert!(matches!(
        records.record_attempts(&[change(None, 1)]).await,
        Err(WriteError::Stale)
    ));
    let read = records.attempts(&keys).await.unwrap()[0].clone().unwrap();
    assert_eq!(read.failures, 1);
    records
        .record_attempts(&[change(Some(read.version), 2)])
        .await
        .unwrap();
    assert!(matches!(
        records
            .record_attempts(&[change(Some(read.version), 9)])
            .await,
        Err(WriteError::Stale)
    ));
    assert_eq!(
        records.attempts(&keys).await.unwrap()[0]
            .as_ref()
            .unwrap()
            .failures,
        2
    );
    // Parallel charges from the same read: exactly one lands.
    let read = records.attempts(&keys).await.unwrap()[0].clone().unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let records = records.clone();
            let c = change(Some(read.version), 3);
            tokio::spawn(async move { records.record_attempts(&[c]).await.is_ok() })
        })
        .collect();
    let mut landed = 0;
    for t in tasks {
        if t.await.unwrap() {
            landed += 1;
        }
    }
    assert_eq!(landed, 1);
    records.clear_attempts(&key).await.unwrap();
    assert_eq!(records.attempts(&keys).await.unwrap(), vec![None]);
}

pub async fn users_are_listed_in_pages(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, admin) = new_org(&records).await;
    let (other, _) = new_org(&records).await;
    let mut expected = vec![admin.id.clone()];
    for i in 0..6 {
        let token = SecretToken::generate(random());
        let inv = invitation(&domain, &format!("u{i}@example.com"), 1_500, &token);
        records.create_invitation(&inv).await.unwrap();
        let a = acceptance(&inv);
        expected.push(a.user.id.clone());
        records.accept_invitation(&a).await.unwrap();
    }
    expected.sort();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = records
            .users(
                &domain,
                &PageRequest {
                    cursor: cursor.clone(),
                    limit: 4,
                },
            )
            .await
            .unwrap();
        assert!(page.items.len() <= 4);
        seen.extend(page.items.into_iter().map(|u| u.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    assert_eq!(
        records
            .users(
                &other,
                &PageRequest {
                    cursor: None,
                    limit: 100
                }
            )
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let bad = records
        .users(
            &domain,
            &PageRequest {
                cursor: Some("bogus".into()),
                limit: 4,
            },
        )
        .await;
    assert!(matches!(bad, Err(StoreError::BadCursor)));
}

pub async fn renewing_an_invitation_renews_its_claim(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    // Renewed before it expires: the email stays claimed past the first deadline.
    let first = invitation(
        &domain,
        "renew@example.com",
        1_500,
        &SecretToken::generate(random()),
    );
    records.create_invitation(&first).await.unwrap();
    let new_token = SecretToken::generate(random());
    let mut renewed = with_old_token(&first, &new_token);
    renewed.expires_at = Timestamp::from_unix_seconds(9_000);
    records.update_invitation(&renewed, &first).await.unwrap();
    let intruder = invitation(
        &domain,
        "renew@example.com",
        2_600,
        &SecretToken::generate(random()),
    );
    assert!(matches!(
        records.create_invitation(&intruder).await,
        Err(WriteError::EmailTaken)
    ));
    assert!(records
        .invitation_by_token(&domain, &new_token.hash())
        .await
        .unwrap()
        .is_some());

    // Expired and taken by another invitation meanwhile: it cannot be renewed.
    let stale = invitation(
        &domain,
        "late2@example.com",
        1_500,
        &SecretToken::generate(random()),
    );
    records.create_invitation(&stale).await.unwrap();
    let newer = invitation(
        &domain,
        "late2@example.com",
        2_600,
        &SecretToken::generate(random()),
    );
    records.create_invitation(&newer).await.unwrap();
    let mut revived = with_old_token(&stale, &SecretToken::generate(random()));
    revived.expires_at = Timestamp::from_unix_seconds(9_000);
    assert!(matches!(
        records.update_invitation(&revived, &stale).await,
        Err(WriteError::EmailTaken)
    ));
    let kept = records
        .invitation(&domain, &stale.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.expires_at, stale.expires_at, "nothing changed");
}

// ---- idempotency keys ----------------------------------------------------------------------

fn answer(body: &[u8]) -> StoredAnswer {
    StoredAnswer {
        status: 201,
        content_type: Some("application/json".into()),
        cache_control: Some("no-store".into()),
        body: body.to_vec(),
    }
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(seconds)
}

pub async fn a_request_key_is_claimed_once_and_its_answer_kept(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let key = random().user_id().to_string();
    let claim = |fp: &'static str| {
        let records = records.clone();
        let key = key.clone();
        async move {
            records
                .claim_request(&key, fp, at(1_000), at(1_030), at(90_000))
                .await
                .unwrap()
        }
    };
    assert_eq!(claim("fp1").await, RequestClaim::Claimed);
    assert_eq!(
        claim("fp1").await,
        RequestClaim::Running {
            fingerprint: "fp1".into()
        }
    );
    // Bytes of any kind come back as they were kept.
    let kept = answer(b"{\"id\":\"x\"}\n\x00\xff");
    records
        .save_answer(&key, "fp1", &kept, at(90_000))
        .await
        .unwrap();
    assert_eq!(
        claim("fp2").await,
        RequestClaim::Answered {
            fingerprint: "fp1".into(),
            answer: kept.clone()
        }
    );
    // Releasing leaves a kept answer alone; only a running claim is given up.
    records.release_request(&key).await.unwrap();
    assert!(matches!(claim("fp1").await, RequestClaim::Answered { .. }));
    let other = random().user_id().to_string();
    records
        .claim_request(&other, "fp", at(1_000), at(1_030), at(90_000))
        .await
        .unwrap();
    records.release_request(&other).await.unwrap();
    records.release_request(&other).await.unwrap();
    assert_eq!(
        records
            .claim_request(&other, "fp", at(1_000), at(1_030), at(90_000))
            .await
            .unwrap(),
        RequestClaim::Claimed
    );
    // An answer is saved only by the claim it answers.
    assert!(records
        .save_answer(&other, "another fingerprint", &kept, at(90_000))
        .await
        .is_err());
}

pub async fn a_lapsed_or_forgotten_request_key_is_free_again(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let key = random().user_id().to_string();
    let claim_at = |now: i64| {
        let records = records.clone();
        let key = key.clone();
        async move {
            records
                .claim_request(&key, "fp", at(now), at(now + 30), at(now + 86_400))
                .await
                .unwrap()
        }
    };
    assert_eq!(claim_at(1_000).await, RequestClaim::Claimed);
    // Still running before its deadline; lapsed at it (the process that held it died).
    assert!(matches!(
        claim_at(1_029).await,
        RequestClaim::Running { .. }
    ));
    assert_eq!(claim_at(1_030).await, RequestClaim::Claimed);
    records
        .save_answer(&key, "fp", &answer(b"first"), at(2_000))
        .await
        .unwrap();
    // A kept answer outlives any running deadline, until it is forgotten.
    assert!(matches!(
        claim_at(1_999).await,
        RequestClaim::Answered { .. }
    ));
    assert_eq!(claim_at(2_000).await, RequestClaim::Claimed);
}

pub async fn concurrent_claims_of_a_request_key_have_one_winner(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let key = random().user_id().to_string();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let records = records.clone();
            let key = key.clone();
            tokio::spawn(async move {
                records
                    .claim_request(&key, "fp", at(1_000), at(1_030), at(90_000))
                    .await
            })
        })
        .collect();
    let mut claimed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(RequestClaim::Claimed) => claimed += 1,
            Ok(RequestClaim::Running { fingerprint }) => assert_eq!(fingerprint, "fp"),
            // A store may refuse a contended write outright; it never lets two through.
            Err(StoreError::Unavailable(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(claimed, 1);
}

pub async fn a_familiarity_marker_replaces_whatever_was_there(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let key = format!("test#{}", random().user_id());
    let keys = vec![key.clone()];
    let trust = |until: i64| AttemptsChange::Trust {
        key: key.clone(),
        until: at(until),
    };
    records.record_attempts(&[trust(9_000)]).await.unwrap();
    let marker = records.attempts(&keys).await.unwrap()[0].clone().unwrap();
    assert_eq!(marker.trusted_until, at(9_000));
    assert_eq!(marker.failures, 0);
    // Over a counter with failures: they are gone, and a replacement read before is stale.
    let failing = Attempts {
        failures: 7,
        last_failure: at(5_000),
        blocked_until: at(5_060),
        ..Attempts::default()
    };
    records
        .record_attempts(&[AttemptsChange::Replace {
            key: key.clone(),
            read: Some(marker.version),
            next: failing,
            keep_until: at(9_000),
        }])
        .await
        .unwrap();
    let read = records.attempts(&keys).await.unwrap()[0].clone().unwrap();
    assert_eq!(read.failures, 7);
    records.record_attempts(&[trust(12_000)]).await.unwrap();
    let renewed = records.attempts(&keys).await.unwrap()[0].clone().unwrap();
    assert_eq!(
        (
            renewed.failures,
            renewed.blocked_until,
            renewed.trusted_until
        ),
        (0, Timestamp::default(), at(12_000))
    );
    assert!(renewed.version > read.version);
    assert!(matches!(
        records
            .record_attempts(&[AttemptsChange::Replace {
                key: key.clone(),
                read: Some(read.version),
                next: Attempts::default(),
                keep_until: at(9_000),
            }])
            .await,
        Err(WriteError::Stale)
    ));
}

pub async fn charges_within_the_allowance_never_refuse_each_other(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let key = format!("test#{}", random().user_id());
    let keys = vec![key.clone()];
    let now = at(5_000);
    let charge = |free: u32| AttemptsChange::Charge {
        key: key.clone(),
        at: now,
        free,
        keep_until: at(9_000),
    };
    let refund = || AttemptsChange::Refund { key: key.clone() };
    let parallel = |change: AttemptsChange| {
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let records = records.clone();
                let c = change.clone();
                tokio::spawn(async move { records.record_attempts(&[c]).await })
            })
            .collect();
        async move {
            for t in tasks {
                t.await.unwrap().expect("neither refused nor lost");
            }
        }
    };
    parallel(charge(100)).await;
    let counted = records.attempts(&keys).await.unwrap()[0].clone().unwrap();
    assert_eq!(counted.failures, 20);
    assert_eq!(counted.last_failure, now);
    assert_eq!(counted.version, 20, "each addition bumps the version");
    // A replacement read before an addition is stale.
    let replace = AttemptsChange::Replace {
        key: key.clone(),
        read: Some(counted.version),
        next: Attempts::default(),
        keep_until: at(9_000),
    };
    records.record_attempts(&[charge(100)]).await.unwrap();
    assert!(matches!(
        records.record_attempts(&[replace]).await,
        Err(WriteError::Stale)
    ));
    parallel(refund()).await;
    assert_eq!(
        records.attempts(&keys).await.unwrap()[0]
            .as_ref()
            .unwrap()
            .failures,
        1
    );
    // Out of the free allowance, a charge is refused (the caller replaces the counter instead).
    assert!(matches!(
        records.record_attempts(&[charge(2)]).await,
        Err(WriteError::Stale)
    ));
    records.record_attempts(&[refund()]).await.unwrap();
    assert!(matches!(
        records.record_attempts(&[refund()]).await,
        Err(WriteError::Stale)
    ));
    assert_eq!(
        records.attempts(&keys).await.unwrap()[0]
            .as_ref()
            .unwrap()
            .failures,
        0,
        "never below zero"
    );
    // A waiting counter refuses a charge too.
    let read = records.attempts(&keys).await.unwrap()[0].clone().unwrap();
    records
        .record_attempts(&[AttemptsChange::Replace {
            key: key.clone(),
            read: Some(read.version),
            next: Attempts {
                failures: 0,
                last_failure: now,
                blocked_until: at(6_000),
                version: 0,
                trusted_until: Timestamp::default(),
            },
            keep_until: at(9_000),
        }])
        .await
        .unwrap();
    assert!(matches!(
        records.record_attempts(&[charge(100)]).await,
        Err(WriteError::Stale)
    ));
    // Several counters change together or not at all.
    let other = format!("test#{}", random().user_id());
    let both = [
        AttemptsChange::Charge {
            key: other.clone(),
            at: now,
            free: 100,
            keep_until: at(9_000),
        },
        charge(100),
    ];
    assert!(matches!(
        records.record_attempts(&both).await,
        Err(WriteError::Stale)
    ));
    assert_eq!(records.attempts(&[other]).await.unwrap(), vec![None]);
}

pub async fn a_lookup_reads_independent_records_in_one_round_trip(store: Arc<dyn ItemStore>) {
    let counted = Arc::new(CountingItems::new(store));
    let records = Records::new(counted.clone());
    let (domain, admin) = new_org(&records).await;
    let (other, outsider) = new_org(&records).await;
    let session = session_for(&admin);
    records.create_session(&session).await.unwrap();
    let foreign = session_for(&outsider);
    records.create_session(&foreign).await.unwrap();
    let group = Group {
        id: random().group_id(),
        name: GroupName::parse("Looked up").unwrap(),
        created_at: at(5),
        admins: Vec::new(),
        version: 0,
    };
    records.create_group(&domain, &group).await.unwrap();
    let counter = format!("test#{}", random().user_id());
    records
        .record_attempts(&[AttemptsChange::Charge {
            key: counter.clone(),
            at: at(100),
            free: 5,
            keep_until: at(9_000),
        }])
        .await
        .unwrap();
    let unknown_group = random().group_id();
    counted.take();
    let found = records
        .look_up(
            &domain,
            &Lookup {
                org: true,
                session: Some((admin.id.clone(), session.token_hash.clone())),
                user: Some(admin.id.clone()),
                account: Some(AccountKey::Email(admin.email.clone().unwrap())),
                attempts: vec![counter.clone(), format!("test#{}", random().user_id())],
                groups: vec![unknown_group, group.id.clone()],
                ..Lookup::default()
            },
        )
        .await
        .unwrap();
    let calls = counted.take();
    assert_eq!((calls.batch_gets, calls.gets, calls.queries), (1, 0, 0));
    assert_eq!(found.org.unwrap().domain, domain);
    assert_eq!(found.session, Some(session));
    assert_eq!(found.user.unwrap().id, admin.id);
    assert_eq!(found.account, Some(admin.id.clone()));
    assert_eq!(found.attempts.len(), 2);
    assert_eq!(found.attempts[0].as_ref().unwrap().failures, 1);
    assert_eq!(found.attempts[1], None);
    assert_eq!(found.groups, vec![None, Some(group.clone())]);
    // Nothing of another organisation is found from this one.
    let found = records
        .look_up(
            &other,
            &Lookup {
                org: false,
                session: Some((admin.id.clone(), foreign.token_hash.clone())),
                user: Some(admin.id.clone()),
                account: Some(AccountKey::Email(admin.email.clone().unwrap())),
                groups: vec![group.id.clone()],
                ..Lookup::default()
            },
        )
        .await
        .unwrap();
    assert!(found.org.is_none() && found.session.is_none() && found.user.is_none());
    // The same address there is that organisation's own account.
    assert_eq!(found.account, Some(outsider.id.clone()));
    assert_eq!(found.groups, vec![None]);
    // An email held by an invitation is no account.
    let token = SecretToken::generate(random());
    let invited = invitation(&domain, "invitee@example.com", 1_000, &token);
    records.create_invitation(&invited).await.unwrap();
    let found = records
        .look_up(
            &domain,
            &Lookup {
                account: Some(AccountKey::Email(
                    EmailAddress::parse("invitee@example.com").unwrap(),
                )),
                ..Lookup::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found.account, None);
}

pub async fn a_session_opens_with_its_counter_changes_in_one_write(store: Arc<dyn ItemStore>) {
    let counted = Arc::new(CountingItems::new(store));
    let records = Records::new(counted.clone());
    let (domain, admin) = new_org(&records).await;
    let account = format!("test#{}", random().user_id());
    let client = format!("test#{}", random().user_id());
    let charge = |key: &str| AttemptsChange::Charge {
        key: key.to_string(),
        at: at(100),
        free: 5,
        keep_until: at(9_000),
    };
    records
        .record_attempts(&[charge(&account), charge(&client)])
        .await
        .unwrap();
    records.record_attempts(&[charge(&client)]).await.unwrap();
    let session = session_for(&admin);
    counted.take();
    records
        .open_session(
            &session,
            &[
                AttemptsChange::Clear {
                    key: account.clone(),
                },
                AttemptsChange::Refund {
                    key: client.clone(),
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(counted.take().writes, 1);
    assert_eq!(
        records
            .session(&domain, &admin.id, &session.token_hash)
            .await
            .unwrap(),
        Some(session)
    );
    let left = records
        .attempts(&[account.clone(), client.clone()])
        .await
        .unwrap();
    assert_eq!(left[0], None, "the account's counter is cleared");
    assert_eq!(
        left[1].as_ref().unwrap().failures,
        1,
        "one charge taken back"
    );
    // A refund with nothing to take back stops the whole write.
    let nothing = format!("test#{}", random().user_id());
    let second = session_for(&admin);
    assert!(matches!(
        records
            .open_session(&second, &[AttemptsChange::Refund { key: nothing }])
            .await,
        Err(WriteError::Stale)
    ));
    assert_eq!(
        records
            .session(&domain, &admin.id, &second.token_hash)
            .await
            .unwrap(),
        None
    );
}

fn import_of(domain: &OrgDomain, now: i64) -> Import {
    Import {
        id: random().import_id(at(now)),
        org: domain.clone(),
        created_by: random().user_id(),
        created_by_name: Some("Ada Admin".into()),
        created_at: at(now),
        upload_expires_at: at(now + 900),
        dry_run: false,
        state: ImportState::WaitingUpload,
        counts: ImportCounts::default(),
        version: 0,
    }
}

/// `import` moved on to `state`, as written after being read at its version.
fn moved(import: &Import, state: ImportState) -> Import {
    let mut next = import.clone();
    next.state = state;
    next.version = import.version + 1;
    next
}

fn progress(import: &Import) -> ImportProgress<'_> {
    ImportProgress {
        import,
        read_version: import.version - 1,
    }
}

pub async fn an_import_moves_forward_by_conditional_writes(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let (other, _) = new_org(&records).await;
    let first = import_of(&domain, 1_000);
    records.create_import(&first).await.unwrap();
    assert!(matches!(
        records.create_import(&first).await,
        Err(WriteError::AlreadyExists)
    ));
    assert_eq!(
        records.import(&domain, &first.id).await.unwrap().as_ref(),
        Some(&first)
    );
    assert_eq!(records.import(&other, &first.id).await.unwrap(), None);

    let processing = ImportState::Processing {
        started_at: at(1_100),
        lease_until: at(1_400),
        rows: 3,
        rows_done: 0,
    };
    let claimed = moved(&first, processing.clone());
    records.update_import(progress(&claimed)).await.unwrap();
    // A second worker that read the same version loses.
    let rival = moved(&first, processing);
    assert!(matches!(
        records.update_import(progress(&rival)).await,
        Err(WriteError::Stale)
    ));
    let done = moved(
        &claimed,
        ImportState::Completed {
            finished_at: at(1_200),
            rows: 3,
        },
    );
    records.update_import(progress(&done)).await.unwrap();
    assert_eq!(
        records.import(&domain, &first.id).await.unwrap(),
        Some(done)
    );

    // Listed newest first, in pages, and only in their organisation.
    let mut made = vec![first.id.clone()];
    for n in 1..5 {
        let import = import_of(&domain, 1_000 + n);
        records.create_import(&import).await.unwrap();
        made.push(import.id);
    }
    records
        .create_import(&import_of(&other, 2_000))
        .await
        .unwrap();
    let mut listed = Vec::new();
    let mut cursor = None;
    loop {
        let page = records
            .imports(&domain, &PageRequest { cursor, limit: 2 })
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        listed.extend(page.items.into_iter().map(|i| i.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    made.reverse();
    assert_eq!(listed, made);
    assert!(matches!(
        records
            .imports(
                &domain,
                &PageRequest {
                    cursor: Some("bm90IGFuIGlk".into()),
                    limit: 2
                }
            )
            .await,
        Err(StoreError::BadCursor)
    ));
}

pub async fn invitations_are_created_in_batches_each_or_not(store: Arc<dyn ItemStore>) {
    let counted = Arc::new(CountingItems::new(store));
    let records = Records::new(counted.clone());
    let (domain, _) = new_org(&records).await;
    let import = import_of(&domain, 1_000);
    records.create_import(&import).await.unwrap();
    let taken = invitation(
        &domain,
        "taken@example.com",
        1_000,
        &SecretToken::generate(random()),
    );
    records.create_invitation(&taken).await.unwrap();

    let mut batch: Vec<Invitation> = (0..INVITATIONS_PER_WRITE)
        .map(|n| {
            invitation(
                &domain,
                &format!("person{n}@example.com"),
                1_000,
                &SecretToken::generate(random()),
            )
        })
        .collect();
    // All new: one write for the whole batch and the import's progress.
    let step = moved(&import, import.state.clone());
    counted.take();
    let outcomes = records
        .create_invitations(&batch, progress(&step))
        .await
        .unwrap();
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(counted.take().writes, 1);
    for inv in &batch {
        assert_eq!(
            records.invitation(&domain, &inv.id).await.unwrap().as_ref(),
            Some(inv)
        );
    }
    assert_eq!(
        records.import(&domain, &import.id).await.unwrap().as_ref(),
        Some(&step)
    );

    // Another batch where one email is taken and one invitation exists: those two are refused,
    // the others saved.
    batch = (0..6)
        .map(|n| {
            invitation(
                &domain,
                &format!("second{n}@example.com"),
                1_000,
                &SecretToken::generate(random()),
            )
        })
        .collect();
    batch[2].invitee = Invitee::Email {
        email: EmailAddress::parse("TAKEN@example.com").unwrap(),
        token_hash: SecretToken::generate(random()).hash(),
    };
    let existing = invitation(
        &domain,
        "again@example.com",
        1_000,
        &SecretToken::generate(random()),
    );
    records.create_invitation(&existing).await.unwrap();
    batch[4].id = existing.id.clone();
    let next = moved(&step, step.state.clone());
    let outcomes = records
        .create_invitations(&batch, progress(&next))
        .await
        .unwrap();
    let refused: Vec<(usize, &'static str)> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            Ok(()) => None,
            Err(WriteError::EmailTaken) => Some((i, "taken")),
            Err(WriteError::AlreadyExists) => Some((i, "exists")),
            Err(e) => panic!("unexpected {e:?}"),
        })
        .collect();
    assert_eq!(refused, vec![(2, "taken"), (4, "exists")]);
    for (i, inv) in batch.iter().enumerate() {
        let stored = records.invitation(&domain, &inv.id).await.unwrap();
        match i {
            2 => assert_eq!(stored, None),
            4 => assert_eq!(stored, Some(existing.clone())),
            _ => assert_eq!(stored.as_ref(), Some(inv)),
        }
    }
    assert_eq!(
        records.import(&domain, &import.id).await.unwrap(),
        Some(next.clone())
    );

    // A worker holding an old version of the import saves nothing.
    let late = invitation(
        &domain,
        "late@example.com",
        1_000,
        &SecretToken::generate(random()),
    );
    assert!(matches!(
        records
            .create_invitations(std::slice::from_ref(&late), progress(&step))
            .await,
        Err(WriteError::Stale)
    ));
    assert_eq!(records.invitation(&domain, &late.id).await.unwrap(), None);
    assert!(
        matches!(records.create_invitation(&late).await, Ok(()),),
        "its email was not claimed"
    );
}

pub async fn deliveries_are_recorded_in_batches(store: Arc<dyn ItemStore>) {
    let counted = Arc::new(CountingItems::new(store));
    let records = Records::new(counted.clone());
    let (domain, _) = new_org(&records).await;
    let import = import_of(&domain, 1_000);
    records.create_import(&import).await.unwrap();
    let mut sent = Vec::new();
    for n in 0..DELIVERIES_PER_WRITE {
        let inv = invitation(
            &domain,
            &format!("mailed{n}@example.com"),
            1_000,
            &SecretToken::generate(random()),
        );
        records.create_invitation(&inv).await.unwrap();
        let mut marked = inv.clone();
        marked.mark_sent(at(1_001));
        sent.push(DeliveryChange {
            before: inv,
            after: marked,
        });
    }
    // One was resent meanwhile: its record moved on and is left alone.
    let mut resent = sent[3].before.clone();
    resent.expires_at = at(5_000);
    let as_read = sent[3].before.clone();
    records.update_invitation(&resent, &as_read).await.unwrap();

    let step = moved(&import, import.state.clone());
    counted.take();
    let outcomes = records
        .record_deliveries(&sent, progress(&step))
        .await
        .unwrap();
    assert!(
        counted.take().writes <= 2,
        "one write, and one again without the changed one"
    );
    for (i, outcome) in outcomes.iter().enumerate() {
        let stored = records
            .invitation(&domain, &sent[i].after.id)
            .await
            .unwrap()
            .unwrap();
        if i == 3 {
            assert!(matches!(outcome, Err(WriteError::Stale)), "{outcome:?}");
            assert_eq!(stored.delivery, Delivery::Queued);
            assert_eq!(stored.expires_at, at(5_000));
        } else {
            assert!(outcome.is_ok(), "{outcome:?}");
            assert_eq!(stored.delivery, Delivery::Sent);
            assert_eq!(stored.version, 1);
        }
    }
    // The list copies say so too.
    let listed = list_all(
        &records,
        &domain,
        &InvitationQuery {
            status: Some(InvitationStatus::Pending),
            kind: Some(InvitationKind::Email),
            role: None,
            invited_by: None,
            now: at(1_500),
        },
        100,
    )
    .await;
    let sent_listed = listed
        .iter()
        .filter(|i| i.delivery == Delivery::Sent)
        .count();
    assert_eq!(sent_listed, DELIVERIES_PER_WRITE - 1);
    assert_eq!(
        records.import(&domain, &import.id).await.unwrap(),
        Some(step.clone())
    );
    // Stale import: nothing recorded.
    let mut before = sent[0].after.clone();
    before.version = 1;
    let again = DeliveryChange {
        before: before.clone(),
        after: before,
    };
    assert!(matches!(
        records
            .record_deliveries(std::slice::from_ref(&again), progress(&step))
            .await,
        Err(WriteError::Stale)
    ));
    assert_eq!(
        records
            .invitation(&domain, &sent[0].after.id)
            .await
            .unwrap()
            .unwrap()
            .delivery,
        Delivery::Sent
    );
}

pub async fn a_lookup_finds_claims_group_names_and_imports(store: Arc<dyn ItemStore>) {
    let counted = Arc::new(CountingItems::new(store));
    let records = Records::new(counted.clone());
    let (domain, admin) = new_org(&records).await;
    let (other, _) = new_org(&records).await;
    let group = Group {
        id: random().group_id(),
        name: GroupName::parse("Field Sales").unwrap(),
        created_at: at(5),
        admins: Vec::new(),
        version: 0,
    };
    records.create_group(&domain, &group).await.unwrap();
    let pending = invitation(
        &domain,
        "pending@example.com",
        1_000,
        &SecretToken::generate(random()),
    );
    records.create_invitation(&pending).await.unwrap();
    let import = import_of(&domain, 1_000);
    records.create_import(&import).await.unwrap();
    let foreign_import = import_of(&other, 1_000);
    records.create_import(&foreign_import).await.unwrap();
    let email = |e: &str| AccountKey::Email(EmailAddress::parse(e).unwrap());
    counted.take();
    let found = records
        .look_up(
            &domain,
            &Lookup {
                org: true,
                import: Some(import.id.clone()),
                group_names: vec![
                    GroupName::parse("FIELD sales").unwrap(),
                    GroupName::parse("Nobody").unwrap(),
                ],
                claims: vec![
                    email("Pending@example.com"),
                    email("ADMIN@example.com"),
                    email("free@example.com"),
                    AccountKey::Uid(Uid::parse("E1").unwrap()),
                ],
                invitations: vec![pending.id.clone(), random().invitation_id(at(1))],
                ..Lookup::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(counted.take().batch_gets, 1);
    assert!(found.org.is_some());
    assert_eq!(found.import, Some(import));
    assert_eq!(found.group_ids, vec![Some(group.id.clone()), None]);
    assert_eq!(
        found.claims,
        vec![
            Claim::Invitation {
                id: pending.id.clone(),
                expires_at: pending.expires_at
            },
            Claim::Account(admin.id.clone()),
            Claim::Free,
            Claim::Free,
        ]
    );
    assert_eq!(found.invitations, vec![Some(pending), None]);
    // Another organisation's import is not found from this one.
    let found = records
        .look_up(
            &domain,
            &Lookup {
                import: Some(foreign_import.id.clone()),
                ..Lookup::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found.import, None);
}

/// The due entries of one organisation.
async fn due_of(records: &Records, domain: &OrgDomain, now: i64) -> Vec<DueEntry> {
    let mut due = records.due_invitations(at(now), None, 100).await.unwrap();
    due.retain(|d| &d.org == domain);
    due
}

/// The invitations a list of due entries names, as they are now.
fn named(due: &[DueEntry]) -> Vec<Invitation> {
    due.iter()
        .flat_map(|d| d.invitations.iter().filter_map(|(_, i)| i.clone()))
        .collect()
}

pub async fn the_due_index_follows_each_change_of_an_invitation(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let (other, _) = new_org(&records).await;
    // Queued emails are due at their retry (created + 300), whatever the organisation.
    let early = invitation(
        &domain,
        "early@example.com",
        1_000,
        &SecretToken::generate(random()),
    );
    let late = invitation(
        &other,
        "late@example.com",
        1_100,
        &SecretToken::generate(random()),
    );
    records.create_invitation(&late).await.unwrap();
    records.create_invitation(&early).await.unwrap();
    assert!(records
        .due_invitations(at(1_299), None, 100)
        .await
        .unwrap()
        .is_empty());
    let due = records.due_invitations(at(1_400), None, 100).await.unwrap();
    let ids: Vec<_> = named(&due).iter().map(|i| i.id.clone()).collect();
    assert_eq!(
        ids,
        vec![early.id.clone(), late.id.clone()],
        "earliest first, across organisations"
    );
    assert_eq!(named(&due)[0], early, "read as stored");
    assert_eq!(due[1].org, other);
    // Paged: after the first, the second.
    let rest = records
        .due_invitations(at(1_400), Some(&due[0].entry), 100)
        .await
        .unwrap();
    assert_eq!(
        named(&rest)
            .iter()
            .map(|i| i.id.clone())
            .collect::<Vec<_>>(),
        vec![late.id.clone()]
    );

    // Sent, with two reminders: due at the first reminder, the old pointer gone.
    let mut sent = early.clone();
    sent.mark_sent(at(1_001));
    sent.lifecycle.reminders = vec![at(1_500), at(1_700)];
    records.update_invitation(&sent, &early).await.unwrap();
    assert!(due_of(&records, &domain, 1_499).await.is_empty());
    let due = due_of(&records, &domain, 1_500).await;
    assert_eq!(due.len(), 1);
    assert_eq!(named(&due)[0].version, 1);
    assert_eq!(named(&due)[0].delivery, Delivery::Sent);

    // Settling an entry that is no longer its invitation's deletes it and points to the
    // invitation where it is due now; settling the current one keeps it.
    let stale = due[0].clone();
    let read = named(&due)[0].clone();
    let mut reminded = read.clone();
    reminded.lifecycle.reminders.remove(0);
    records.update_invitation(&reminded, &read).await.unwrap();
    let current = records
        .invitation(&domain, &early.id)
        .await
        .unwrap()
        .unwrap();
    records.settle_due_entry(&stale, &[&current]).await.unwrap();
    let now_due = due_of(&records, &domain, 1_700).await;
    assert_eq!(now_due.len(), 1, "{now_due:?}");
    assert_ne!(now_due[0].entry, stale.entry);
    records
        .settle_due_entry(&now_due[0], &[&current])
        .await
        .unwrap();
    assert_eq!(
        due_of(&records, &domain, 1_700).await.len(),
        1,
        "the current entry stays"
    );

    // Accepted: nothing is due any more.
    let accepted = acceptance(&current);
    records.accept_invitation(&accepted).await.unwrap();
    assert!(due_of(&records, &domain, 9_999).await.is_empty());
    // Revoked: likewise.
    let mut revoked = late.clone();
    revoked.state = InvitationState::Revoked { at: at(1_200) };
    records.update_invitation(&revoked, &late).await.unwrap();
    assert!(due_of(&records, &other, 9_999).await.is_empty());
}

pub async fn an_imports_invitations_share_one_due_pointer(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let import = import_of(&domain, 1_000);
    records.create_import(&import).await.unwrap();
    let batch: Vec<Invitation> = (0..5)
        .map(|n| {
            invitation(
                &domain,
                &format!("batch{n}@example.com"),
                1_000,
                &SecretToken::generate(random()),
            )
        })
        .collect();
    let step = moved(&import, import.state.clone());
    records
        .create_invitations(&batch, progress(&step))
        .await
        .unwrap();
    let due = due_of(&records, &domain, 1_300).await;
    assert_eq!(due.len(), 1, "one pointer for the batch: {due:?}");
    assert_eq!(named(&due).len(), 5);
    // Recording their deliveries leaves the pointer where it is.
    let changes: Vec<DeliveryChange> = batch
        .iter()
        .map(|inv| {
            let mut after = inv.clone();
            after.mark_sent(at(1_001));
            after.lifecycle.reminders = vec![at(2_000)];
            DeliveryChange {
                before: inv.clone(),
                after,
            }
        })
        .collect();
    let next = moved(&step, step.state.clone());
    records
        .record_deliveries(&changes, progress(&next))
        .await
        .unwrap();
    let due = due_of(&records, &domain, 1_300).await;
    assert_eq!(due.len(), 1);
    assert!(named(&due).iter().all(|i| i.delivery == Delivery::Sent));
    // Settled: each gets its own pointer at its reminder, the batch's is gone.
    let current = named(&due);
    let current: Vec<&Invitation> = current.iter().collect();
    records.settle_due_entry(&due[0], &current).await.unwrap();
    assert!(due_of(&records, &domain, 1_999).await.is_empty());
    let reminders = due_of(&records, &domain, 2_000).await;
    assert_eq!(reminders.len(), 5);
    assert!(reminders.iter().all(|d| d.invitations.len() == 1));
}

pub async fn removing_an_expired_invitation_frees_its_email(store: Arc<dyn ItemStore>) {
    let records = Records::new(store);
    let (domain, _) = new_org(&records).await;
    let token = SecretToken::generate(random());
    let inv = invitation(&domain, "gone@example.com", 1_000, &token);
    records.create_invitation(&inv).await.unwrap();
    // A stale read is refused and removes nothing.
    let mut stale = inv.clone();
    stale.version = 7;
    assert!(matches!(
        records.remove_invitation(&stale).await,
        Err(WriteError::Stale)
    ));
    assert!(records
        .invitation(&domain, &inv.id)
        .await
        .unwrap()
        .is_some());
    records.remove_invitation(&inv).await.unwrap();
    assert_eq!(records.invitation(&domain, &inv.id).await.unwrap(), None);
    assert_eq!(
        records
            .invitation_by_token(&domain, &token.hash())
            .await
            .unwrap(),
        None,
        "its link is gone"
    );
    assert!(
        due_of(&records, &domain, 99_999).await.is_empty(),
        "its due entry is gone"
    );
    let listed = list_all(
        &records,
        &domain,
        &InvitationQuery {
            status: None,
            kind: Some(InvitationKind::Email),
            role: None,
            invited_by: None,
            now: at(2_000),
        },
        100,
    )
    .await;
    assert!(listed.is_empty(), "its list copies are gone: {listed:?}");
    // Its email is free for a new invitation, even before the old deadline.
    let again = invitation(
        &domain,
        "gone@example.com",
        1_010,
        &SecretToken::generate(random()),
    );
    records.create_invitation(&again).await.unwrap();
    // Removing an expired invitation whose email moved on to a newer one (after its deadline)
    // leaves the newer one's claim alone.
    let newer = invitation(
        &domain,
        "gone@example.com",
        2_100,
        &SecretToken::generate(random()),
    );
    records.create_invitation(&newer).await.unwrap();
    records.remove_invitation(&again).await.unwrap();
    let fourth = invitation(
        &domain,
        "gone@example.com",
        2_200,
        &SecretToken::generate(random()),
    );
    assert!(matches!(
        records.create_invitation(&fourth).await,
        Err(WriteError::EmailTaken)
    ));
    assert!(records
        .invitation(&domain, &newer.id)
        .await
        .unwrap()
        .is_some());
}
