//! The organisation's event log: one record per change, written in the same store transaction
//! as the change (a transactional outbox over the item store), kept [`KEPT`], read oldest first
//! by a cursor that never skips or repeats. It is the organisation's audit trail, and what
//! webhooks and EventBridge deliver from.
//!
//! Ordering. An event's id is time-ordered (a UUIDv7 of the second it happened, then random
//! bits), and the log is sharded ([`SHARDS`] partitions, the shard taken from the id's random
//! bits) so that a sign-in storm does not make one hot partition. Readers merge the shards by id.
//! A change's transaction commits within seconds of its event getting its id (the store bounds
//! its retries and requests: `KEYS.md`, "Event log"), and the functions' clocks agree to well
//! within the rest of [`SETTLE`]; so a reader is shown
//! only events at least [`SETTLE`] old, and once it has passed an id no older event can still
//! appear. The price is that the log runs [`SETTLE`] behind the present (webhooks do not: they
//! are delivered from the store's stream).

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Timestamp;
use crate::lifecycle::EventKind;
use crate::model::{Group, Invitation, User};
use crate::ports::StoreError;
use crate::secret::Randomness;
use crate::types::{OrgDomain, ParseError, UserId};
use crate::views::{GroupView, InvitationView, UserView};

/// Partitions of one organisation's log: 16 × DynamoDB's 1,000 writes a second per partition.
pub const SHARDS: u8 = 16;
/// How old an event must be before readers see it (see the module's documentation).
pub const SETTLE: Duration = Duration::from_secs(10);
/// How long the log keeps an event.
pub const KEPT: Duration = Duration::from_secs(400 * 24 * 3600);

/// An event's id: 32 lowercase hex digits, a UUIDv7 of the second it happened; ids sort in the
/// order events happened (events of one second in the order of their random bits).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventId(String);

impl EventId {
    pub fn new(random: &dyn Randomness, now: Timestamp) -> Self {
        let mut bytes = [0u8; 10];
        random.fill(&mut bytes);
        Self(
            crate::secret::time_ordered(now, &bytes)
                .simple()
                .to_string(),
        )
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let ok = raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(ParseError::new(
                "invalid_event_id",
                "not an event id (32 lowercase hexadecimal digits)",
            ))
        }
    }

    /// The smallest id of the second `at`: every event of an earlier second sorts before it.
    pub fn first_of(at: Timestamp) -> Self {
        Self(
            crate::secret::time_ordered(at, &[0; 10])
                .simple()
                .to_string(),
        )
    }

    /// Which partition of the log it is written to (from its random bits).
    pub fn shard(&self) -> u8 {
        let last = u8::from_str_radix(&self.0[30..], 16).unwrap_or(0);
        last % SHARDS
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EventId {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        Self::parse(&raw)
    }
}

impl From<EventId> for String {
    fn from(id: EventId) -> String {
        id.0
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happened: the catalogue of event types (later issues add theirs here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// `invitation.created`: an invitation was made (by an admin, a member, a group admin, a link or an import).
    #[serde(rename = "invitation.created")]
    InvitationCreated,
    /// `invitation.sent`: its email was handed to the mail service.
    #[serde(rename = "invitation.sent")]
    InvitationSent,
    /// `invitation.resent`: it was sent again, with a new link or the same code and a new deadline.
    #[serde(rename = "invitation.resent")]
    InvitationResent,
    /// `invitation.reminded`: a reminder was sent.
    #[serde(rename = "invitation.reminded")]
    InvitationReminded,
    /// `invitation.delivery_failed`: the mail service refused its email after every retry.
    #[serde(rename = "invitation.delivery_failed")]
    InvitationDeliveryFailed,
    /// `invitation.bounced`: its email bounced.
    #[serde(rename = "invitation.bounced")]
    InvitationBounced,
    /// `invitation.complained`: its recipient marked it as spam.
    #[serde(rename = "invitation.complained")]
    InvitationComplained,
    /// `invitation.accepted`: it was accepted: the new user's id is in `data`.
    #[serde(rename = "invitation.accepted")]
    InvitationAccepted,
    /// `invitation.revoked`: it was withdrawn.
    #[serde(rename = "invitation.revoked")]
    InvitationRevoked,
    /// `invitation.expired`: its deadline passed unaccepted.
    #[serde(rename = "invitation.expired")]
    InvitationExpired,
    /// `user.created`: an account was made.
    #[serde(rename = "user.created")]
    UserCreated,
    /// `user.updated`: an account's names changed.
    #[serde(rename = "user.updated")]
    UserUpdated,
    /// `user.password_changed`: a password was changed, reset or set by an admin.
    #[serde(rename = "user.password_changed")]
    UserPasswordChanged,
    /// `user.signed_in`: someone signed in.
    #[serde(rename = "user.signed_in")]
    UserSignedIn,
    /// `user.sign_in_failed`: a sign-in was refused.
    #[serde(rename = "user.sign_in_failed")]
    UserSignInFailed,
    /// `user.locked`: an account was locked after too many failures.
    #[serde(rename = "user.locked")]
    UserLocked,
    /// `user.role_changed`: an admin made someone a guest, a member or an admin.
    #[serde(rename = "user.role_changed")]
    UserRoleChanged,
    /// `user.deactivated`: an admin suspended an account; its sessions ended.
    #[serde(rename = "user.deactivated")]
    UserDeactivated,
    /// `user.reactivated`: an admin let a deactivated account sign in again.
    #[serde(rename = "user.reactivated")]
    UserReactivated,
    /// `user.signed_out`: every session (and grant) of a person was ended, by them or an admin.
    #[serde(rename = "user.signed_out")]
    UserSignedOut,
    /// `user.email_changed`: a person confirmed a new email address.
    #[serde(rename = "user.email_changed")]
    UserEmailChanged,
    /// `user.uid_changed`: an admin gave a person without email a new identifier.
    #[serde(rename = "user.uid_changed")]
    UserUidChanged,
    /// `user.mfa_enabled`: a person confirmed a second factor (an authenticator app) or added a
    /// passkey.
    #[serde(rename = "user.mfa_enabled")]
    UserMfaEnabled,
    /// `user.mfa_disabled`: a second factor was removed, by its owner or an admin.
    #[serde(rename = "user.mfa_disabled")]
    UserMfaDisabled,
    /// `user.deleted`: an account was erased; `data` holds its id only.
    #[serde(rename = "user.deleted")]
    UserDeleted,
    /// `group.created`: a group was made.
    #[serde(rename = "group.created")]
    GroupCreated,
    /// `group.renamed`: a group was renamed.
    #[serde(rename = "group.renamed")]
    GroupRenamed,
    /// `group.deleted`: a group was deleted.
    #[serde(rename = "group.deleted")]
    GroupDeleted,
    /// `group.admin_added`: a member became one of a group's admins.
    #[serde(rename = "group.admin_added")]
    GroupAdminAdded,
    /// `group.admin_removed`: a group admin stepped down or was removed.
    #[serde(rename = "group.admin_removed")]
    GroupAdminRemoved,
    /// `group.member_added`: someone joined a group after signing up.
    #[serde(rename = "group.member_added")]
    GroupMemberAdded,
    /// `group.member_removed`: someone left a group.
    #[serde(rename = "group.member_removed")]
    GroupMemberRemoved,
    /// `settings.updated`: the organisation's settings changed.
    #[serde(rename = "settings.updated")]
    SettingsUpdated,
    /// `invitation_link.activated`: an invitation link was made (it replaces any other).
    #[serde(rename = "invitation_link.activated")]
    InvitationLinkActivated,
    /// `invitation_link.deactivated`: the invitation link was turned off.
    #[serde(rename = "invitation_link.deactivated")]
    InvitationLinkDeactivated,
    /// `import.completed`: a bulk import finished.
    #[serde(rename = "import.completed")]
    ImportCompleted,
    /// `export.created`: an export was made.
    #[serde(rename = "export.created")]
    ExportCreated,
    /// `webhook.created`: an endpoint was registered.
    #[serde(rename = "webhook.created")]
    WebhookCreated,
    /// `webhook.updated`: an endpoint was changed, its secret rotated, or it was disabled
    /// (after failing for five days) or enabled again.
    #[serde(rename = "webhook.updated")]
    WebhookUpdated,
    /// `webhook.deleted`: an endpoint was removed.
    #[serde(rename = "webhook.deleted")]
    WebhookDeleted,
}

impl EventType {
    pub const ALL: [EventType; 40] = [
        Self::InvitationCreated,
        Self::InvitationSent,
        Self::InvitationResent,
        Self::InvitationReminded,
        Self::InvitationDeliveryFailed,
        Self::InvitationBounced,
        Self::InvitationComplained,
        Self::InvitationAccepted,
        Self::InvitationRevoked,
        Self::InvitationExpired,
        Self::UserCreated,
        Self::UserUpdated,
        Self::UserPasswordChanged,
        Self::UserSignedIn,
        Self::UserSignInFailed,
        Self::UserLocked,
        Self::UserRoleChanged,
        Self::UserDeactivated,
        Self::UserReactivated,
        Self::UserSignedOut,
        Self::UserEmailChanged,
        Self::UserUidChanged,
        Self::UserMfaEnabled,
        Self::UserMfaDisabled,
        Self::UserDeleted,
        Self::GroupCreated,
        Self::GroupRenamed,
        Self::GroupDeleted,
        Self::GroupAdminAdded,
        Self::GroupAdminRemoved,
        Self::GroupMemberAdded,
        Self::GroupMemberRemoved,
        Self::SettingsUpdated,
        Self::InvitationLinkActivated,
        Self::InvitationLinkDeactivated,
        Self::ImportCompleted,
        Self::ExportCreated,
        Self::WebhookCreated,
        Self::WebhookUpdated,
        Self::WebhookDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvitationCreated => "invitation.created",
            Self::InvitationSent => "invitation.sent",
            Self::InvitationResent => "invitation.resent",
            Self::InvitationReminded => "invitation.reminded",
            Self::InvitationDeliveryFailed => "invitation.delivery_failed",
            Self::InvitationBounced => "invitation.bounced",
            Self::InvitationComplained => "invitation.complained",
            Self::InvitationAccepted => "invitation.accepted",
            Self::InvitationRevoked => "invitation.revoked",
            Self::InvitationExpired => "invitation.expired",
            Self::UserCreated => "user.created",
            Self::UserUpdated => "user.updated",
            Self::UserPasswordChanged => "user.password_changed",
            Self::UserSignedIn => "user.signed_in",
            Self::UserSignInFailed => "user.sign_in_failed",
            Self::UserLocked => "user.locked",
            Self::UserRoleChanged => "user.role_changed",
            Self::UserDeactivated => "user.deactivated",
            Self::UserReactivated => "user.reactivated",
            Self::UserSignedOut => "user.signed_out",
            Self::UserEmailChanged => "user.email_changed",
            Self::UserUidChanged => "user.uid_changed",
            Self::UserMfaEnabled => "user.mfa_enabled",
            Self::UserMfaDisabled => "user.mfa_disabled",
            Self::UserDeleted => "user.deleted",
            Self::GroupCreated => "group.created",
            Self::GroupRenamed => "group.renamed",
            Self::GroupDeleted => "group.deleted",
            Self::GroupAdminAdded => "group.admin_added",
            Self::GroupAdminRemoved => "group.admin_removed",
            Self::GroupMemberAdded => "group.member_added",
            Self::GroupMemberRemoved => "group.member_removed",
            Self::SettingsUpdated => "settings.updated",
            Self::InvitationLinkActivated => "invitation_link.activated",
            Self::InvitationLinkDeactivated => "invitation_link.deactivated",
            Self::ImportCompleted => "import.completed",
            Self::ExportCreated => "export.created",
            Self::WebhookCreated => "webhook.created",
            Self::WebhookUpdated => "webhook.updated",
            Self::WebhookDeleted => "webhook.deleted",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

/// Who made a change: a person (`None` for the person themself signing up or in, and for the
/// schedule), and for security events the client address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventActor {
    pub user_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_address: Option<String>,
}

impl EventActor {
    pub fn by(user: Option<&UserId>) -> Self {
        Self {
            user_id: user.cloned(),
            client_address: None,
        }
    }
}

/// One change, as the platform is told of it. `data` is the resource as the API shows it,
/// never a password, token, access code or secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub org: OrgDomain,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub occurred_at: Timestamp,
    pub actor: EventActor,
    pub data: Value,
}

/// The events of one change, written with it as one record of the log. Their ids are a block:
/// the same second and random bits, then each event's place in the change, and the same shard;
/// so no other event's id falls between two of them, and the record can be filed under its
/// last id (the log's reader relies on both: `KEYS.md`, "Event log").
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvents {
    now: Timestamp,
    prefix: [u8; 10],
    events: Vec<Event>,
}

impl ChangeEvents {
    /// No events yet; those pushed happen at `now`. Changes made one after another in one
    /// process sort in that order within their second (a counter takes UUIDv7's first 18
    /// random bits, as RFC 9562 §6.2 allows), so a reader sees an invitation created before it
    /// was sent; changes of one second in different processes sort in no particular order.
    pub fn new(random: &dyn Randomness, now: Timestamp) -> Self {
        static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let made = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed) & 0x3_ffff;
        let mut prefix = [0u8; 10];
        random.fill(&mut prefix);
        // The builder keeps the low nibble of the first byte and the low six bits of the third
        // (the version and variant take the rest).
        prefix[0] = (made >> 14) as u8 & 0x0f;
        prefix[1] = (made >> 6) as u8;
        prefix[2] = made as u8 & 0x3f;
        Self {
            now,
            prefix,
            events: Vec::new(),
        }
    }

    /// No events: for writes that make none (and tests of the store).
    pub fn none() -> Self {
        Self {
            now: Timestamp::from_unix_seconds(0),
            prefix: [0; 10],
            events: Vec::new(),
        }
    }

    /// Adds an event of `org`: `data` is the resource as the API shows it, without its secrets.
    pub fn push(&mut self, org: &OrgDomain, kind: EventType, actor: EventActor, data: Value) {
        let place = u16::try_from(self.events.len()).unwrap_or(u16::MAX);
        let mut bytes = self.prefix;
        bytes[7..9].copy_from_slice(&place.to_be_bytes());
        let id = EventId(
            crate::secret::time_ordered(self.now, &bytes)
                .simple()
                .to_string(),
        );
        self.events.push(Event {
            id,
            org: org.clone(),
            kind,
            occurred_at: self.now,
            actor,
            data,
        });
    }

    /// [`Self::push`], returning the events.
    pub fn with(
        mut self,
        org: &OrgDomain,
        kind: EventType,
        actor: EventActor,
        data: Value,
    ) -> Self {
        self.push(org, kind, actor, data);
        self
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Only the events `keep` answers true for (by their place): still a block.
    pub fn only(&self, keep: impl Fn(usize, &Event) -> bool) -> Self {
        Self {
            now: self.now,
            prefix: self.prefix,
            events: self
                .events
                .iter()
                .enumerate()
                .filter(|(n, e)| keep(*n, e))
                .map(|(_, e)| e.clone())
                .collect(),
        }
    }
}

/// The events a use case records, by the resource they are about.
impl ChangeEvents {
    /// An invitation event: the invitation as the API shows it at the change (no access code).
    pub fn invitation(&mut self, kind: EventType, by: Option<&UserId>, invitation: &Invitation) {
        let data = InvitationView::new(invitation, self.now, None);
        self.push(&invitation.org, kind, EventActor::by(by), to_data(&data));
    }

    /// A user event; `client` the address of a security event (sign-ins, passwords).
    pub fn user(
        &mut self,
        kind: EventType,
        by: Option<&UserId>,
        user: &User,
        client: Option<&str>,
    ) {
        let actor = EventActor {
            user_id: by.cloned(),
            client_address: client.map(str::to_string),
        };
        self.push(&user.org, kind, actor, to_data(&UserView::from(user)));
    }

    /// The events of an invitation's change: one for each entry its history gained since
    /// `previous` as read (`None`: every entry of a new invitation), with whoever the entry
    /// names as the actor.
    pub fn invitation_history(&mut self, previous: Option<&Invitation>, next: &Invitation) {
        let history = &next.lifecycle.events;
        let known = previous.and_then(|p| p.lifecycle.events.last());
        let new_from = match known {
            Some(last) => history.iter().rposition(|e| e == last).map_or(0, |i| i + 1),
            None => 0,
        };
        for entry in &history[new_from..] {
            let kind = match entry.kind {
                EventKind::Created => EventType::InvitationCreated,
                EventKind::Sent => EventType::InvitationSent,
                EventKind::Resent => EventType::InvitationResent,
                EventKind::Reminded => EventType::InvitationReminded,
                EventKind::DeliveryFailed => EventType::InvitationDeliveryFailed,
                EventKind::Bounced => EventType::InvitationBounced,
                EventKind::Complained => EventType::InvitationComplained,
                EventKind::Accepted => EventType::InvitationAccepted,
                EventKind::Revoked => EventType::InvitationRevoked,
                EventKind::Expired => EventType::InvitationExpired,
            };
            // Accepting is the invitee's own doing: no actor.
            let by = entry
                .by
                .as_ref()
                .filter(|_| entry.kind != EventKind::Accepted);
            self.invitation(kind, by, next);
        }
    }

    /// An event about another resource: `view` as the API shows it (without its secrets).
    pub fn resource(
        &mut self,
        org: &OrgDomain,
        kind: EventType,
        by: Option<&UserId>,
        view: &impl Serialize,
    ) {
        self.push(org, kind, EventActor::by(by), to_data(view));
    }

    /// `import.completed`: a bulk import finished (or its file was refused), by its admin.
    pub fn import_finished(&mut self, import: &crate::model::Import) {
        let view = crate::views::ImportStatusView::of(import);
        let by = Some(&import.created_by);
        self.resource(&import.org, EventType::ImportCompleted, by, &view);
    }

    /// A group event; `admin` the person who became or stopped being one of its admins.
    pub fn group(
        &mut self,
        org: &OrgDomain,
        kind: EventType,
        by: Option<&UserId>,
        group: &Group,
        admin: Option<&UserId>,
    ) {
        let mut data = to_data(&GroupView::from(group));
        if let (Some(admin), Value::Object(fields)) = (admin, &mut data) {
            fields.insert("user_id".into(), Value::String(admin.to_string()));
        }
        self.push(org, kind, EventActor::by(by), data);
    }
}

fn to_data(view: &impl Serialize) -> Value {
    serde_json::to_value(view).unwrap_or(Value::Null)
}

/// The events of an invitation's change ([`ChangeEvents::invitation_history`]), happening now.
pub fn of_invitation(
    services: &crate::Services,
    previous: Option<&Invitation>,
    next: &Invitation,
) -> ChangeEvents {
    let mut events = ChangeEvents::new(&*services.random, services.clock.now());
    events.invitation_history(previous, next);
    events
}

/// Where events are kept and read from.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Records the events of a change that writes nothing else to the store (an export, a
    /// failed sign-in that charged no counter). Appending them again changes nothing.
    async fn append_events(&self, events: &ChangeEvents) -> Result<(), StoreError>;
    /// Up to `limit` events of `org` after `after` (all when `None`) and before `before`
    /// (exclusive), oldest first, merged from every shard.
    async fn read_log(
        &self,
        org: &OrgDomain,
        after: Option<&EventId>,
        before: &EventId,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Bytes(u8);
    impl Randomness for Bytes {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    /// Randomness that counts up, so that two changes get different bits.
    struct Counting(std::sync::atomic::AtomicU8);
    impl Randomness for Counting {
        fn fill(&self, buf: &mut [u8]) {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            buf.fill(n.wrapping_mul(37));
        }
    }

    #[test]
    fn a_changes_events_are_a_block_of_one_shard() {
        let org = OrgDomain::parse("acme").unwrap();
        let t = Timestamp::from_unix_seconds(1_800_000_000);
        let random = Counting(std::sync::atomic::AtomicU8::new(1));
        let make = |count: usize| {
            let mut change = ChangeEvents::new(&random, t);
            for n in 0..count {
                let data = serde_json::json!({ "n": n });
                change.push(&org, EventType::UserSignedIn, EventActor::default(), data);
            }
            change
        };
        let (a, b) = (make(300), make(5));
        for change in [&a, &b] {
            let ids: Vec<&EventId> = change.events().iter().map(|e| &e.id).collect();
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "in the order made");
            assert!(
                ids.iter().all(|id| id.shard() == ids[0].shard()),
                "one shard"
            );
            assert!(ids.iter().all(|id| EventId::parse(id.as_str()).is_ok()));
        }
        // Nothing of one change falls between the first and last of the other.
        let (a_first, a_last) = (&a.events()[0].id, &a.events()[299].id);
        assert!(b.events().iter().all(|e| e.id < *a_first || e.id > *a_last));
        // A part of a change is still a block, in order.
        let odd = a.only(|n, _| n % 2 == 1);
        assert_eq!(odd.events().len(), 150);
        assert_eq!(odd.events()[0], a.events()[1]);
        assert!(ChangeEvents::none().is_empty());
        // Made one after another, they sort in that order, whatever their random bits.
        let one = |fill: u8| {
            ChangeEvents::new(&Bytes(fill), t).with(
                &org,
                EventType::UserSignedIn,
                EventActor::default(),
                serde_json::json!({}),
            )
        };
        let (first, second) = (one(0xff), one(0x00));
        assert!(first.events()[0].id < second.events()[0].id);
    }

    #[test]
    fn every_type_reads_back_by_its_name_as_serde_writes_it() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(EventType::parse("invitation.nope"), None);
    }

    #[test]
    fn ids_sort_by_second_then_spread_over_the_shards() {
        let t = Timestamp::from_unix_seconds(1_800_000_000);
        let a = EventId::new(&Bytes(0xff), t);
        let b = EventId::new(&Bytes(0x00), t.plus(Duration::from_secs(1)));
        assert!(
            a < b,
            "a later second sorts after, whatever the random bits"
        );
        assert!(EventId::first_of(t) <= EventId::new(&Bytes(0), t));
        assert!(EventId::new(&Bytes(0xff), t) < EventId::first_of(t.plus(Duration::from_secs(1))));
        let shards: std::collections::HashSet<u8> = (0..=255u8)
            .map(|n| EventId::new(&Bytes(n), t).shard())
            .collect();
        assert_eq!(shards.len(), usize::from(SHARDS));
        assert_eq!(EventId::parse(a.as_str()), Ok(a.clone()));
        assert!(EventId::parse("not-an-id").is_err());
    }
}
