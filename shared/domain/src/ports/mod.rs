//! What the use cases need from the outside world, named after what it does. Adapters implement
//! these: DynamoDB and SES in AWS, an embedded store and a file outbox locally.

use async_trait::async_trait;
use thiserror::Error;

use crate::access_code::CodeHash;
use crate::clock::Timestamp;
use crate::events::ChangeEvents;
use crate::model::{
    Group, Import, Invitation, InvitationKind, InvitationStatus, Org, OrgEntry, Session, User,
};
use crate::secret::TokenHash;
use crate::throttle::Attempts;
use crate::types::{
    ClientId, EmailAddress, GroupId, GroupName, ImportId, InvitationId, InviteeRole, OrgDomain,
    Uid, UserId,
};

/// A store could not answer (network, throttling, corrupt data). Logged, never shown.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("storage unavailable")]
    Unavailable(#[source] crate::Cause),
    #[error("the page cursor is not one this store handed out")]
    BadCursor,
}

/// Why a write was refused. Every write is all-or-nothing: a refused write changed nothing.
#[derive(Debug, Error)]
pub enum WriteError {
    /// The email belongs to an account or a live invitation in this organisation already.
    #[error("the email address is already taken in this organisation")]
    EmailTaken,
    /// The uid belongs to an account or a live invitation in this organisation already.
    #[error("the identifier is already taken in this organisation")]
    UidTaken,
    /// A record with this identity exists already.
    #[error("it exists already")]
    AlreadyExists,
    /// A group's name looks like another group's (Unicode TR39 skeletons match).
    #[error("another group's name looks the same")]
    LookalikeTaken,
    /// The quota charge at this index (of those given with the write) would pass its cap:
    /// nothing was written.
    #[error("a quota is used up")]
    QuotaSpent(usize),
    /// The record changed since it was read, or a single-use token was used meanwhile.
    #[error("it changed meanwhile")]
    Stale,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// Opaque; from a previous [`Page::next_cursor`].
    pub cursor: Option<String>,
    pub limit: usize,
}

/// Which invitations a list shows. Each combination is served from one partition of the key
/// design, so a page costs about one page of reads whatever the organisation's size.
/// A role or inviter filter reads an index partition of the invitations of that role or
/// inviter instead (newest first), the other filters applied to what it holds.
#[derive(Debug, Clone)]
pub struct InvitationQuery {
    pub status: Option<InvitationStatus>,
    pub kind: Option<InvitationKind>,
    pub role: Option<InviteeRole>,
    /// Who sent them.
    pub invited_by: Option<UserId>,
    /// What `pending` and `expired` are decided against.
    pub now: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[async_trait]
pub trait OrgStore: Send + Sync {
    /// Creates the organisation with its first groups and its first admin, all or nothing.
    /// `AlreadyExists` if the domain is taken.
    async fn create_org(
        &self,
        org: &Org,
        groups: &[Group],
        admin: &User,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    async fn org(&self, domain: &OrgDomain) -> Result<Option<Org>, StoreError>;
    /// Replaces an organisation read at `org.version` (its settings); `Stale` if it changed since.
    async fn update_org(&self, org: &Org, events: &ChangeEvents) -> Result<(), WriteError>;
    /// Every organisation, in the order of their domains, a page at a time.
    async fn orgs(&self, page: &PageRequest) -> Result<Page<OrgEntry>, StoreError>;
}

#[async_trait]
pub trait GroupStore: Send + Sync {
    async fn create_group(
        &self,
        org: &OrgDomain,
        group: &Group,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    async fn groups(&self, org: &OrgDomain) -> Result<Vec<Group>, StoreError>;
    async fn group(&self, org: &OrgDomain, id: &GroupId) -> Result<Option<Group>, StoreError>;
    /// Replaces a group read at `group.version` (its admins); `Stale` if it changed since. The
    /// name is not changed here (its claim would have to move with it).
    async fn update_group(
        &self,
        org: &OrgDomain,
        group: &Group,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    /// Renames a group read at `group.version` to `group`'s new name (`previous` its name as
    /// read): the name's claim moves with it. `AlreadyExists` if another group has the name;
    /// `Stale` if the group changed since it was read.
    async fn rename_group(
        &self,
        org: &OrgDomain,
        group: &Group,
        previous: &GroupName,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    /// Deletes a group read at `group.version` and frees its name, and in the same write saves
    /// the organisation (its default groups) and the invitation link (its groups) without it
    /// when given, each as read at its `version`. `Stale` if any of them changed since.
    async fn delete_group(
        &self,
        org: &OrgDomain,
        group: &Group,
        settings: Option<&Org>,
        link: Option<&crate::model::InvitationLink>,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
}

/// Everything that happens at once when an invitation is accepted.
#[derive(Debug, Clone)]
pub struct Acceptance {
    /// The invitation as read, with its state set to accepted; its `version` is the one read.
    /// Its credential (link token or access code) is spent.
    pub invitation: Invitation,
    pub user: User,
    pub session: Session,
    pub events: ChangeEvents,
}

#[async_trait]
pub trait InvitationStore: Send + Sync {
    /// Saves a new invitation, claims its email or uid in the organisation (unless an account or
    /// another live invitation holds it: `EmailTaken` / `UidTaken`) and records its credential,
    /// all or nothing.
    async fn create_invitation(
        &self,
        invitation: &Invitation,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        self.create_invitation_charged(invitation, &[], events)
            .await
    }
    /// [`Self::create_invitation`] with quota charges in the same write (each an
    /// [`AttemptsChange::Count`]): if one would pass its cap, nothing is written
    /// (`QuotaSpent` with its index).
    async fn create_invitation_charged(
        &self,
        invitation: &Invitation,
        charges: &[AttemptsChange],
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    async fn invitation(
        &self,
        org: &OrgDomain,
        id: &InvitationId,
    ) -> Result<Option<Invitation>, StoreError>;
    /// The invitation `id` if it still holds `credential` (a replaced or revoked one does not).
    async fn invitation_holding(
        &self,
        org: &OrgDomain,
        id: &InvitationId,
        credential: &Credential,
    ) -> Result<Option<Invitation>, StoreError>;
    /// Replaces `previous` (as read, at its `version`) with `invitation`; `Stale` if it changed
    /// since. A new credential replaces the old one, which stops working; a revoked invitation's
    /// credential stops working and its email or uid is released.
    async fn update_invitation(
        &self,
        invitation: &Invitation,
        previous: &Invitation,
        events: &ChangeEvents,
    ) -> Result<(), WriteError> {
        self.update_invitation_charged(invitation, previous, &[], events)
            .await
    }
    /// [`Self::update_invitation`] with quota charges in the same write, as
    /// [`Self::create_invitation_charged`].
    async fn update_invitation_charged(
        &self,
        invitation: &Invitation,
        previous: &Invitation,
        charges: &[AttemptsChange],
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    /// A page of the invitations `query` selects: newest first, except `pending` (latest
    /// deadline first) and `expired` (earliest deadline first). A page may hold fewer than
    /// `limit` items; `next_cursor` is absent at the end.
    async fn invitations(
        &self,
        org: &OrgDomain,
        query: &InvitationQuery,
        page: &PageRequest,
    ) -> Result<Page<Invitation>, StoreError>;
    /// Spends the credential, marks the invitation accepted, creates the account (taking over the
    /// invitation's email or uid claim) and its first session, all or nothing: `Stale` if the
    /// credential was spent or the invitation changed meanwhile.
    async fn accept_invitation(&self, acceptance: &Acceptance) -> Result<(), WriteError>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &Session) -> Result<(), WriteError>;
    /// Creates the session, notes the sign-in on the account and applies the failure-counter
    /// changes of the sign-in that opened it, all in one write: `Stale` (nothing written) if a
    /// change's condition does not hold or the account is no longer active.
    async fn open_session(
        &self,
        session: &Session,
        attempts: &[AttemptsChange],
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    async fn session(
        &self,
        org: &OrgDomain,
        user: &UserId,
        token: &TokenHash,
    ) -> Result<Option<Session>, StoreError>;
    /// Ends one session (signing out); ending one that is gone is no error.
    async fn end_session(
        &self,
        org: &OrgDomain,
        user: &UserId,
        token: &TokenHash,
    ) -> Result<(), StoreError>;
    /// Ends every session of a user but `keep`, and with them their OpenID Connect grants (kept
    /// in the same partition); answers how many records ended.
    async fn end_sessions(
        &self,
        org: &OrgDomain,
        user: &UserId,
        keep: Option<&TokenHash>,
    ) -> Result<usize, StoreError>;
}

/// A change to one failure counter.
#[derive(Debug, Clone)]
pub enum AttemptsChange {
    /// Replaces the counter, only if it is still at the version read (`None`: there was none).
    Replace {
        key: String,
        read: Option<u64>,
        next: Attempts,
        /// When the store may forget the counter.
        keep_until: Timestamp,
    },
    /// One more failure at `at`, counted whatever other attempts change meanwhile, as long as
    /// the counter has fewer than `free - 1` failures (so no wait follows this one) and is not
    /// waiting; `Stale` otherwise. Contention-free: many people behind one address never refuse each other.
    Charge {
        key: String,
        at: Timestamp,
        free: u32,
        keep_until: Timestamp,
    },
    /// One more use of a quota, counted whatever other uses land meanwhile, as long as the
    /// counter holds fewer than `cap`; `Stale` otherwise. Unlike [`Self::Charge`], it carries no
    /// time, so requests that committed out of the order of their clocks never refuse each other.
    Count {
        key: String,
        /// When it was used (kept as the counter's last use; no condition on it).
        at: Timestamp,
        cap: u32,
        keep_until: Timestamp,
    },
    /// One failure taken back (a charged attempt turned out right), whatever else changed
    /// meanwhile; `Stale` if the counter has none.
    Refund { key: String },
    /// The counter forgotten (a success ends a run of failures).
    Clear { key: String },
    /// A familiarity marker set (or renewed) whatever was there: no failures, trusted until
    /// `until`, and forgotten then.
    Trust { key: String, until: Timestamp },
}

impl AttemptsChange {
    pub fn key(&self) -> &str {
        match self {
            Self::Replace { key, .. }
            | Self::Charge { key, .. }
            | Self::Count { key, .. }
            | Self::Refund { key }
            | Self::Clear { key }
            | Self::Trust { key, .. } => key,
        }
    }
}

#[async_trait]
pub trait AttemptStore: Send + Sync {
    /// The counters under these keys, in order.
    async fn attempts(&self, keys: &[String]) -> Result<Vec<Option<Attempts>>, StoreError>;
    /// Applies all changes or none: `Stale` if a replaced counter changed since it was read or
    /// a charge found its counter out of the free allowance.
    async fn record_attempts(
        &self,
        changes: &[AttemptsChange],
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    /// Forgets a counter (after a success).
    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError>;
}

/// The first successful answer to a request made with an idempotency key, kept to answer the
/// request's retries as it was answered the first time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub body: Vec<u8>,
}

/// What is known of an idempotency key when a request with it arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestClaim {
    /// The key is this request's now: run it.
    Claimed,
    /// A request with this key is running (and its claim has not lapsed).
    Running { fingerprint: String },
    /// A request with this key was answered.
    Answered {
        fingerprint: String,
        answer: StoredAnswer,
    },
}

/// One record per idempotency key (already scoped to its caller by the use case).
#[async_trait]
pub trait RequestStore: Send + Sync {
    /// Claims `key` for a request with `fingerprint`, unless a record holds it: an answer whose
    /// `forget_at` is after `now`, or a running request whose `running_until` is after `now`. The
    /// claim holds until `running_until`; the record is forgotten at `forget_at`. Concurrent
    /// claims have one winner.
    async fn claim_request(
        &self,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
        running_until: Timestamp,
        forget_at: Timestamp,
    ) -> Result<RequestClaim, StoreError>;
    /// Keeps the answer of the request that claimed `key` with `fingerprint`, until `forget_at`.
    async fn save_answer(
        &self,
        key: &str,
        fingerprint: &str,
        answer: &StoredAnswer,
        forget_at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Gives a running request's claim up (it failed), so that a retry runs again. Leaves a kept
    /// answer alone.
    async fn release_request(&self, key: &str) -> Result<(), StoreError>;
}

/// Records a request needs that do not depend on each other, asked for together so that they
/// cost one round trip (one DynamoDB `BatchGetItem`). Everything named is in `org`.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    /// The organisation itself.
    pub org: bool,
    /// The session of this user with this token hash.
    pub session: Option<(UserId, TokenHash)>,
    /// A user by id.
    pub user: Option<UserId>,
    /// The account holding this sign-in identifier, if an account holds it.
    pub account: Option<AccountKey>,
    /// Failure counters, by key.
    pub attempts: Vec<String>,
    /// Groups by id.
    pub groups: Vec<GroupId>,
    /// Which invitation a sign-up credential points to.
    pub credential: Option<Credential>,
    /// A bulk import by id.
    pub import: Option<ImportId>,
    /// Groups by name (names are unique in an organisation, whatever their case).
    pub group_names: Vec<GroupName>,
    /// Who holds these emails and uids: an account, a live or expired invitation, or nobody.
    pub claims: Vec<AccountKey>,
    /// Invitations by id.
    pub invitations: Vec<InvitationId>,
    /// An OpenID Connect client by id.
    pub client: Option<ClientId>,
    /// An authorization code by its hash.
    pub code: Option<TokenHash>,
    /// A refresh token by its hash.
    pub refresh_token: Option<TokenHash>,
    /// A grant: its user, and its id.
    pub grant: Option<(UserId, String)>,
    /// A sign-in challenge by its token's hash.
    pub challenge: Option<TokenHash>,
}

/// Who holds an email or a uid in an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    Free,
    Account(UserId),
    /// An invitation holds it until `expires_at`; after that a new invitation may take it over.
    Invitation {
        id: InvitationId,
        expires_at: Timestamp,
    },
}

/// What an invitee signs up with, as stored: the hash of a link token or of an access code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    LinkToken(TokenHash),
    AccessCode(CodeHash),
}

/// An account's unique sign-in identifier in an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountKey {
    Email(EmailAddress),
    Uid(Uid),
}

/// What a [`Lookup`] found, each part as asked.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub org: Option<Org>,
    pub session: Option<Session>,
    pub user: Option<User>,
    /// The id of the account holding the identifier; read the user with it.
    pub account: Option<UserId>,
    pub attempts: Vec<Option<Attempts>>,
    /// In the order asked; `None` for an id that is no group of the organisation.
    pub groups: Vec<Option<Group>>,
    /// The invitation the credential points to; read it with
    /// [`InvitationStore::invitation_holding`], which checks that it still holds it.
    pub credential_of: Option<InvitationId>,
    pub import: Option<Import>,
    /// In the order asked; `None` for a name no group of the organisation has.
    pub group_ids: Vec<Option<GroupId>>,
    /// In the order asked.
    pub claims: Vec<Claim>,
    /// In the order asked.
    pub invitations: Vec<Option<Invitation>>,
    pub client: Option<crate::oidc::Client>,
    /// Only one issued in this organisation.
    pub code: Option<crate::oidc::grant::AuthorizationCode>,
    /// Only one issued in this organisation.
    pub refresh_token: Option<crate::oidc::grant::RefreshToken>,
    pub grant: Option<crate::oidc::grant::Grant>,
    /// Only one of this organisation.
    pub challenge: Option<crate::challenge::Challenge>,
}

#[async_trait]
pub trait LookupStore: Send + Sync {
    async fn look_up(&self, org: &OrgDomain, lookup: &Lookup) -> Result<Found, StoreError>;
}

/// How many invitations [`ImportStore::create_invitations`] is given at once, at most, so that
/// each call is one write (a DynamoDB transaction holds 100 items; an invitation is 6: claim,
/// item, credential, three list copies; the batch shares one due pointer, and the import's record).
pub const INVITATIONS_PER_WRITE: usize = 16;
/// How many deliveries [`ImportStore::record_deliveries`] is given at once, at most (4 items
/// each: the item and its copies; and the import's record).
pub const DELIVERIES_PER_WRITE: usize = 24;

/// An import's record as it stands after a batch, written with the batch on condition that the
/// stored one is still at `read_version`: a worker that lost the import to another stops there.
#[derive(Debug, Clone, Copy)]
pub struct ImportProgress<'a> {
    pub import: &'a Import,
    pub read_version: u64,
}

/// A recorded delivery: the invitation with its new `delivery`, otherwise as read at `version`.
/// An invitation of an import as saved (`before`) and with its email recorded as sent (`after`).
#[derive(Debug, Clone)]
pub struct DeliveryChange {
    pub before: Invitation,
    pub after: Invitation,
}

#[async_trait]
pub trait ImportStore: Send + Sync {
    /// `AlreadyExists` if an import with this id exists.
    async fn create_import(&self, import: &Import) -> Result<(), WriteError>;
    async fn import(&self, org: &OrgDomain, id: &ImportId) -> Result<Option<Import>, StoreError>;
    /// The organisation's imports, newest first.
    async fn imports(
        &self,
        org: &OrgDomain,
        page: &PageRequest,
    ) -> Result<Page<Import>, StoreError>;
    /// Replaces the import as `progress` says: `Stale` if it changed since it was read.
    async fn update_import(
        &self,
        progress: ImportProgress<'_>,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    /// Saves up to [`INVITATIONS_PER_WRITE`] new invitations as
    /// [`InvitationStore::create_invitation`] would, each or not, with the import's progress, in
    /// one write when none is refused. Answers each invitation's outcome, in order (`EmailTaken`,
    /// `UidTaken`, `AlreadyExists`); the others are saved all the same. `Stale` (nothing saved)
    /// if the import changed since it was read.
    /// `events` are the invitations' events, each by the place of its invitation; the events
    /// of those not saved are left out. Events placed after the last invitation are the
    /// batch's own, always written.
    async fn create_invitations(
        &self,
        invitations: &[Invitation],
        progress: ImportProgress<'_>,
        events: &ChangeEvents,
    ) -> Result<Vec<Result<(), WriteError>>, WriteError>;
    /// Records the new `delivery` of up to [`DELIVERIES_PER_WRITE`] invitations (each otherwise
    /// as read at its `version`) with the import's progress. An invitation that changed
    /// meanwhile (accepted, revoked, resent) is left as it is, answered `Stale`; `Stale` as a
    /// whole (nothing written) if the import changed.
    /// `events` as in [`Self::create_invitations`].
    async fn record_deliveries(
        &self,
        changes: &[DeliveryChange],
        progress: ImportProgress<'_>,
        events: &ChangeEvents,
    ) -> Result<Vec<Result<(), WriteError>>, WriteError>;
}

/// The organisation's invitation link.
#[async_trait]
pub trait LinkStore: Send + Sync {
    async fn invitation_link(
        &self,
        org: &OrgDomain,
    ) -> Result<Option<crate::model::InvitationLink>, StoreError>;
    /// Saves the link: new (`read_version` `None`: there was none) or replacing the one read at
    /// `read_version`; `Stale` if it changed since.
    async fn save_invitation_link(
        &self,
        link: &crate::model::InvitationLink,
        read_version: Option<u64>,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    /// A registration through `link` (as read): the invitation is created and the link's use
    /// counted, together, on condition the link is still the one read and has a use left.
    /// `EmailTaken` if the address has an account or a pending invitation; `Stale` if the link
    /// changed (deactivated, replaced, used up) since it was read.
    async fn register_through_link(
        &self,
        link: &crate::model::InvitationLink,
        invitation: &Invitation,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
}

/// An entry of the due index: a pointer to invitations of one organisation (one, or a batch of
/// an import's) that may have work due, with the invitations as they are stored now.
#[derive(Debug, Clone)]
pub struct DueEntry {
    /// The entry's place in the index (opaque).
    pub entry: String,
    pub org: OrgDomain,
    /// Each invitation named, as stored now (`None`: it is gone).
    pub invitations: Vec<(InvitationId, Option<Invitation>)>,
}

/// The cleanup's view of invitations: what is due, and removing what is past its grace.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Up to `limit` entries of the due index, of every organisation, due at `now` or before,
    /// earliest first, continuing after `after` (an entry's `entry`), with the invitations they
    /// name: one query and one read of the invitations (per 100).
    async fn due_invitations(
        &self,
        now: Timestamp,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DueEntry>, StoreError>;
    /// Done with `entry`: points to each of `current` (invitations as they are now) that is
    /// still pending at its own next due time, and deletes `entry` unless it is one of those
    /// pointers; one write.
    async fn settle_due_entry(
        &self,
        entry: &DueEntry,
        current: &[&Invitation],
    ) -> Result<(), StoreError>;
    /// Deletes a pending invitation read at its `version`, its list copies and due pointer, its
    /// credential, and its email or uid claim if it still holds it: `Stale` if it changed.
    async fn remove_invitation(&self, invitation: &Invitation) -> Result<(), WriteError>;
}

pub use crate::oidc::ports::{ClientStore, GrantStore};

/// Everything Gatehouse keeps.
mod users;
pub use users::*;

pub trait Store:
    OrgStore
    + GroupStore
    + InvitationStore
    + UserStore
    + SessionStore
    + AttemptStore
    + RequestStore
    + LookupStore
    + ImportStore
    + LinkStore
    + ScheduleStore
    + ClientStore
    + GrantStore
    + crate::events::EventLog
    + crate::webhooks::WebhookStore
    + crate::webhooks::DeliveryStore
    + ErasureStore
    + crate::challenge::ChallengeStore
{
}
impl<
        T: OrgStore
            + GroupStore
            + InvitationStore
            + UserStore
            + SessionStore
            + AttemptStore
            + RequestStore
            + LookupStore
            + ImportStore
            + LinkStore
            + ScheduleStore
            + ClientStore
            + GrantStore
            + crate::events::EventLog
            + crate::webhooks::WebhookStore
            + crate::webhooks::DeliveryStore
            + ErasureStore
            + crate::challenge::ChallengeStore,
    > Store for T
{
}

/// A message ready to send: both parts rendered, user text already escaped in the HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: EmailAddress,
    /// The name the message comes from (the organisation's), shown with the sender's address.
    pub sender_name: Option<String>,
    /// Where a reply goes (the inviter), when not to the sender's address.
    pub reply_to: Option<EmailAddress>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The link the message asks its reader to follow (a local outbox prints it).
    pub action_link: Option<String>,
    /// The invitation the message is about, carried with it so that the mail service's later
    /// reports (bounces, complaints) find their way back (SES: message tags).
    pub about: Option<MailTopic>,
}

/// What a message is about: one invitation of one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailTopic {
    pub org: OrgDomain,
    pub invitation: InvitationId,
}

#[derive(Debug, Error)]
#[error("the mail could not be sent")]
pub struct MailError(#[source] pub crate::Cause);

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError>;
}

/// Where a file is kept: `uploads/…`, `reports/…`, `exports/…` (see `usecase::imports`).
pub type FileKey = str;

#[derive(Debug, Error)]
pub enum FileError {
    /// The file is bigger than the reader accepts; nothing was read past the limit.
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("file storage failed")]
    Unavailable(#[source] crate::Cause),
}

/// Uploaded spreadsheets and the reports and exports made from them: S3 in AWS, a directory
/// locally. Files are reached by people through short-lived URLs that carry their permission.
#[async_trait]
pub trait FileStore: Send + Sync {
    /// A URL to `PUT` the file at `key` to, for `valid_for` from `now`.
    async fn upload_url(
        &self,
        key: &FileKey,
        now: Timestamp,
        valid_for: std::time::Duration,
    ) -> Result<String, FileError>;
    /// A URL to `GET` the file at `key` from, for `valid_for` from `now`, downloaded as
    /// `filename`.
    async fn download_url(
        &self,
        key: &FileKey,
        filename: &str,
        now: Timestamp,
        valid_for: std::time::Duration,
    ) -> Result<String, FileError>;
    /// The file's bytes, `None` if there is none; `TooLarge` past `max_bytes`.
    async fn read(&self, key: &FileKey, max_bytes: u64) -> Result<Option<Vec<u8>>, FileError>;
    async fn write(
        &self,
        key: &FileKey,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), FileError>;
    /// Deletes the file (there or not).
    async fn delete(&self, key: &FileKey) -> Result<(), FileError>;
}
