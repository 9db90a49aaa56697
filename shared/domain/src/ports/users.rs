//! The ports of people's accounts: the account records, their lists and changes, and erasures.

use async_trait::async_trait;

use super::{Page, PageRequest, StoreError, WriteError};
use crate::clock::Timestamp;
use crate::events::ChangeEvents;
use crate::model::{EmailChange, PasswordReset, User};
use crate::secret::TokenHash;
use crate::types::{EmailAddress, GroupId, OrgDomain, UserId};

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn user(&self, org: &OrgDomain, id: &UserId) -> Result<Option<User>, StoreError>;
    async fn user_by_email(
        &self,
        org: &OrgDomain,
        email: &EmailAddress,
    ) -> Result<Option<User>, StoreError>;
    /// Replaces a user read as `change.before` with `change.after` (its group memberships
    /// and search entries with it); `Stale` if it changed since, or if `change.other_admin` is
    /// no longer the active admin it was read as.
    async fn update_user(
        &self,
        change: &UserUpdate<'_>,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    /// The organisation's users, a page at a time (in id order).
    async fn users(&self, org: &OrgDomain, page: &PageRequest) -> Result<Page<User>, StoreError>;
    /// Erases an account read as `user`: its record, what it derives (memberships, search
    /// entries) and its email and uid claims (the addresses are free at once), on condition that
    /// it is unchanged and that `other_admin`, when given, is still the active admin it was read
    /// as; `Stale` otherwise. The change's events in the same write.
    async fn erase_account(
        &self,
        user: &User,
        other_admin: Option<&User>,
        job: &crate::model::ErasureJob,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    /// Records a change of email waiting for its confirmation (token hashed).
    async fn save_email_change(&self, change: &EmailChange) -> Result<(), WriteError>;
    async fn email_change(&self, token: &TokenHash) -> Result<Option<EmailChange>, StoreError>;
    /// Replaces the account with its new email (as [`UserStore::update_user`]: the claims move,
    /// the old address is free at once) and spends the change's token, in one write: `Stale` if
    /// either changed meanwhile or the token is spent, `EmailTaken` if the new address is held.
    async fn confirm_email_change(
        &self,
        change: &UserUpdate<'_>,
        token: &TokenHash,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    /// Writes a user's record again as read (its `version` moved on) with every item it derives:
    /// for records written before the indexes by role and status, the member items and the
    /// search entries existed. `Stale` if it changed since it was read.
    async fn rewrite_user(&self, user: &User) -> Result<(), WriteError>;
    /// The organisation's users that `query` picks, a page at a time: through the index, the
    /// members or the search entries its most selective filter names (never the whole
    /// partition when a filter is given), the other filters applied to what that reads. With
    /// `q`, in the order of the entries matched (each person once); otherwise in id order.
    async fn find_users(
        &self,
        org: &OrgDomain,
        query: &UserQuery,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError>;
    /// The organisation's active admins, read from their records as they are now (found through
    /// the index by role: an admin made a moment ago may be missing for a moment).
    async fn active_admins(&self, org: &OrgDomain) -> Result<Vec<User>, StoreError>;

    /// Records a password reset token (hashed).
    async fn save_password_reset(&self, reset: &PasswordReset) -> Result<(), WriteError>;
    async fn password_reset(&self, token: &TokenHash) -> Result<Option<PasswordReset>, StoreError>;
    /// Replaces a user read at `user.version` with its new password, spending `reset` (which must
    /// still exist) in the same write when given: `Stale` if either changed meanwhile.
    async fn change_password(
        &self,
        user: &User,
        reset: Option<&TokenHash>,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
}

/// Which users a list shows: every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserQuery {
    pub status: Option<crate::model::UserStatus>,
    pub role: Option<crate::types::Role>,
    pub group: Option<GroupId>,
    /// The beginning of a search term ([`User::search_terms`]), as [`crate::model::search_prefix`]
    /// writes it.
    pub q: Option<String>,
}

impl UserQuery {
    /// Whether `user` is one this query picks (`q` aside: the entries read decide it).
    pub fn picks(&self, user: &User) -> bool {
        self.status.is_none_or(|s| user.status == s)
            && self.role.is_none_or(|r| user.role == r)
            && self.group.as_ref().is_none_or(|g| user.groups.contains(g))
    }
}

/// One change of an account, as [`UserStore::update_user`] writes it.
#[derive(Debug, Clone, Copy)]
pub struct UserUpdate<'a> {
    /// The account as read: its version is the condition, and what it derived (memberships,
    /// search entries) is what the change replaces.
    pub before: &'a User,
    pub after: &'a User,
    /// Another active admin as read, who must still be one, unchanged, when the change lands:
    /// given when the change takes an admin away, so that the last one never goes.
    pub other_admin: Option<&'a User>,
    /// When the change happens: an address or uid the change takes may then be held by an
    /// invitation that expired by this time (else it must be free).
    pub at: Option<Timestamp>,
}

impl<'a> UserUpdate<'a> {
    pub fn new(before: &'a User, after: &'a User) -> Self {
        Self {
            before,
            after,
            other_admin: None,
            at: None,
        }
    }
}

/// Erasures under way, and the log's records as an erasure redacts them.
#[async_trait]
pub trait ErasureStore: Send + Sync {
    /// Replaces an erasure's record read at `job.version` (the first one is written by
    /// [`UserStore::erase_account`]); `Stale` if it changed or went since.
    async fn save_erasure(&self, job: &crate::model::ErasureJob) -> Result<(), WriteError>;
    /// Erasures with work left, oldest first, at most `limit`.
    async fn erasures(&self, limit: usize) -> Result<Vec<crate::model::ErasureJob>, StoreError>;
    /// Done: its record goes.
    async fn finish_erasure(&self, job: &crate::model::ErasureJob) -> Result<(), StoreError>;
    /// Up to `limit` change records of one shard of the log after `after` (a record's sort key),
    /// each with its sort key and events; and whether more may follow.
    async fn log_records(
        &self,
        org: &OrgDomain,
        shard: u8,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<(String, Vec<crate::events::Event>)>, bool), StoreError>;
    /// Replaces a change record's events with `events`, marked redacted: it is not told to the
    /// platform again (the stream and the local feed pass it by).
    async fn redact_log_record(
        &self,
        org: &OrgDomain,
        shard: u8,
        sk: &str,
        events: &[crate::events::Event],
    ) -> Result<(), StoreError>;
    /// Replaces the event of each delivery of `events` to `webhooks` that exists; how many.
    async fn redact_deliveries(
        &self,
        org: &OrgDomain,
        webhooks: &[crate::types::WebhookId],
        events: &[crate::events::Event],
    ) -> Result<usize, StoreError>;
}
