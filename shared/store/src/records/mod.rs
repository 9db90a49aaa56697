//! The domain's store ports over an [`ItemStore`], with Gatehouse's key design (see `KEYS.md`).

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::access_code::CodeHash;
use gatehouse_domain::clock::Timestamp;
use gatehouse_domain::events::{ChangeEvents, Event, EventId, EventLog};
use gatehouse_domain::model::Invitee;
use gatehouse_domain::model::{
    EmailChange, Group, Import, Invitation, InvitationLink, InvitationState, InvitationStatus, Org,
    OrgEntry, PasswordReset, Session, User,
};
use gatehouse_domain::oidc::Client;
use gatehouse_domain::ports::{
    Acceptance, AccountKey, AttemptStore, AttemptsChange, Claim, ClientStore, Credential,
    DeliveryChange, DueEntry, Found, GrantStore, GroupStore, ImportProgress, ImportStore,
    InvitationQuery, InvitationStore, LinkStore, Lookup, LookupStore, OrgStore, Page, PageRequest,
    RequestClaim, RequestStore, ScheduleStore, SessionStore, StoreError, StoredAnswer, UserStore,
    UserUpdate, WriteError,
};
use gatehouse_domain::secret::TokenHash;
use gatehouse_domain::throttle::Attempts;
use gatehouse_domain::types::{
    ClientId, EmailAddress, GroupId, GroupName, ImportId, InvitationId, InviteeRole, OrgDomain,
    Role, Uid, UserId, WebhookId,
};

use crate::items::{Attrs, Condition, Index, Item, ItemError, ItemStore, Key, Query, Write};

mod attempts;
mod challenges;
mod clients;
mod erasures;
mod events;
mod grants;
mod groups;
mod imports;
mod invitations;
mod links;
mod lists;
mod lookup;
mod orgs;
mod requests;
mod schedule;
mod sessions;
mod user_lists;
mod users;
mod webhooks;

#[allow(unused_imports)]
use attempts::*;
#[allow(unused_imports)]
use clients::*;
#[allow(unused_imports)]
use erasures::*;
#[allow(unused_imports)]
use events::*;
pub use events::{events_in, EVENTS_PK_PREFIX};
#[allow(unused_imports)]
use grants::*;
#[allow(unused_imports)]
use groups::*;
#[allow(unused_imports)]
use imports::*;
#[allow(unused_imports)]
use invitations::*;
#[allow(unused_imports)]
use links::*;
#[allow(unused_imports)]
use lists::*;
#[allow(unused_imports)]
use lookup::*;
#[allow(unused_imports)]
use orgs::*;
#[allow(unused_imports)]
use requests::*;
#[allow(unused_imports)]
use schedule::*;
#[allow(unused_imports)]
use sessions::*;
#[allow(unused_imports)]
use users::*;

/// Keys of every record. One place, so the layout can be read at a glance.
pub mod keys {
    use super::*;

    pub fn org(org: &OrgDomain) -> Key {
        Key::new(format!("ORG#{org}"), "#")
    }
    /// Every organisation's entry in the directory operators list.
    pub const ORGS_PK: &str = "ORGS";
    pub fn org_entry(org: &OrgDomain) -> Key {
        Key::new(ORGS_PK, org.as_str())
    }
    pub fn group(org: &OrgDomain, id: &GroupId) -> Key {
        Key::new(groups_pk(org), id.as_str())
    }
    /// Group names are unique per organisation, case-insensitively.
    pub fn group_name(org: &OrgDomain, name: &GroupName) -> Key {
        Key::new(
            format!("ORG#{org}#GROUPNAME#{}", name.as_str().to_lowercase()),
            "#",
        )
    }
    /// What a group's name looks like ([`GroupName::look`]): held by one group, so that no two
    /// groups of an organisation can be taken for one another.
    pub fn group_look(org: &OrgDomain, name: &GroupName) -> Key {
        Key::new(format!("ORG#{org}#GROUPLOOK#{}", name.look()), "#")
    }
    /// The organisation's one invitation link.
    pub fn invitation_link(org: &OrgDomain) -> Key {
        Key::new(format!("ORG#{org}#LINK"), "#")
    }
    pub fn groups_pk(org: &OrgDomain) -> String {
        format!("ORG#{org}#GROUPS")
    }
    pub fn user(org: &OrgDomain, id: &UserId) -> Key {
        Key::new(users_pk(org), id.as_str())
    }
    pub fn users_pk(org: &OrgDomain) -> String {
        format!("ORG#{org}#USERS")
    }
    /// Users by role: the partition of index `gsi1` their record is placed in.
    pub fn users_by_role_pk(org: &OrgDomain, role: Role) -> String {
        format!("ORG#{org}#USERS#role#{}", role.as_str())
    }
    /// Deactivated users: the partition of index `gsi2` their record is placed in (active users
    /// are in none).
    pub fn deactivated_users_pk(org: &OrgDomain) -> String {
        format!("ORG#{org}#USERS#deactivated")
    }
    /// One person's membership of one group, made and removed with their record.
    pub fn member(org: &OrgDomain, group: &GroupId, user: &UserId) -> Key {
        Key::new(members_pk(org, group), user.as_str())
    }
    pub fn members_pk(org: &OrgDomain, group: &GroupId) -> String {
        format!("ORG#{org}#GROUP#{group}#MEMBERS")
    }
    /// One of the terms a person is found by (a name, their full name, email or uid, in lower
    /// case), made and removed with their record.
    pub fn user_search(org: &OrgDomain, term: &str, user: &UserId) -> Key {
        Key::new(user_search_pk(org), format!("{term}#{user}"))
    }
    pub fn user_search_pk(org: &OrgDomain) -> String {
        format!("ORG#{org}#USERSEARCH")
    }
    pub fn email_claim(org: &OrgDomain, email: &EmailAddress) -> Key {
        Key::new(format!("ORG#{org}#EMAIL#{}", email.normalized()), "#")
    }
    pub fn uid_claim(org: &OrgDomain, uid: &Uid) -> Key {
        Key::new(format!("ORG#{org}#UID#{}", uid.normalized()), "#")
    }
    pub fn access_code(hash: &CodeHash) -> Key {
        Key::new(format!("ACCESSCODE#{}", hash.as_str()), "#")
    }
    pub fn invitation(org: &OrgDomain, id: &InvitationId) -> Key {
        Key::new(invitations_pk(org), id.as_str())
    }
    pub fn invitations_pk(org: &OrgDomain) -> String {
        format!("ORG#{org}#INVITATIONS")
    }
    /// A list partition: the invitations of one kind, of one state, or of one state and kind.
    /// `pending` partitions sort by deadline (`{expires_at:012}#{id}`), the others by id.
    pub fn invitation_list_pk(org: &OrgDomain, state: Option<&str>, kind: Option<&str>) -> String {
        let mut pk = invitations_pk(org);
        for part in [state, kind].into_iter().flatten() {
            pk.push('#');
            pk.push_str(part);
        }
        pk
    }
    /// The partition of index `gsi1` holding an organisation's invitations of one role.
    pub fn invitations_by_role_pk(org: &OrgDomain, role: InviteeRole) -> String {
        format!("ORG#{org}#INVITATIONS#role#{}", role.as_role().as_str())
    }
    /// The partition of index `gsi2` holding the invitations one person sent.
    pub fn invitations_by_inviter_pk(org: &OrgDomain, inviter: &UserId) -> String {
        format!("ORG#{org}#INVITATIONS#by#{inviter}")
    }
    pub fn link_token(hash: &TokenHash) -> Key {
        Key::new(format!("TOKEN#{}", hash.as_str()), "#")
    }
    pub fn session(org: &OrgDomain, user: &UserId, hash: &TokenHash) -> Key {
        Key::new(sessions_pk(org, user), hash.as_str())
    }
    pub fn sessions_pk(org: &OrgDomain, user: &UserId) -> String {
        format!("SESSION#{org}#{user}")
    }
    /// Every erasure under way, in one partition (they are rare).
    pub const ERASURES_PK: &str = "ERASURES";
    pub fn erasure(org: &OrgDomain, user: &UserId) -> Key {
        Key::new(ERASURES_PK, format!("{org}#{user}"))
    }
    pub fn challenge(org: &OrgDomain, hash: &TokenHash) -> Key {
        Key::new(format!("CHALLENGE#{org}#{}", hash.as_str()), "#")
    }
    pub fn email_change(hash: &TokenHash) -> Key {
        Key::new(format!("EMAILCHANGE#{}", hash.as_str()), "#")
    }
    pub fn password_reset(hash: &TokenHash) -> Key {
        Key::new(format!("RESET#{}", hash.as_str()), "#")
    }
    pub fn import(org: &OrgDomain, id: &ImportId) -> Key {
        Key::new(imports_pk(org), id.as_str())
    }
    pub fn imports_pk(org: &OrgDomain) -> String {
        format!("ORG#{org}#IMPORTS")
    }
    /// The due index: pointers to every organisation's pending invitations by the time the
    /// cleanup has something to do with them. `name` is the invitation's id, or for a batch
    /// of an import's invitations its first id and `#batch`.
    pub const DUE_PK: &str = "DUE";
    pub fn due(due: Timestamp, org: &OrgDomain, name: &str) -> Key {
        Key::new(
            DUE_PK,
            format!("{:012}#{org}#{name}", due.unix_seconds().max(0)),
        )
    }
    /// An application registered for OpenID Connect sign-in.
    pub fn client(org: &OrgDomain, id: &ClientId) -> Key {
        Key::new(clients_pk(org), id.as_str())
    }
    pub fn clients_pk(org: &OrgDomain) -> String {
        format!("ORG#{org}#CLIENTS")
    }
    /// An authorization code, by the hash of the code.
    pub fn authorization_code(hash: &TokenHash) -> Key {
        Key::new(format!("CODE#{}", hash.as_str()), "#")
    }
    /// A refresh token, by its hash.
    pub fn refresh_token(hash: &TokenHash) -> Key {
        Key::new(format!("REFRESH#{}", hash.as_str()), "#")
    }
    /// A grant, in its user's session partition (ended with their sessions).
    pub fn grant(org: &OrgDomain, user: &UserId, id: &str) -> Key {
        Key::new(sessions_pk(org, user), format!("GRANT#{id}"))
    }
    /// An event, in its shard of the organisation's log, by its time-ordered id.
    pub fn event(org: &OrgDomain, id: &EventId) -> Key {
        Key::new(events_pk(org, id.shard()), id.as_str())
    }
    pub fn events_pk(org: &OrgDomain, shard: u8) -> String {
        format!("{EVENTS_PK_PREFIX}{org}#{shard:02}")
    }
    /// A webhook endpoint of the organisation.
    pub fn webhook(org: &OrgDomain, id: &WebhookId) -> Key {
        Key::new(webhooks_pk(org), id.as_str())
    }
    pub fn webhooks_pk(org: &OrgDomain) -> String {
        format!("ORG#{org}#WEBHOOKS")
    }
    /// One event's delivery to one endpoint, in the endpoint's partition by the event's id.
    pub fn delivery(org: &OrgDomain, webhook: &WebhookId, event: &EventId) -> Key {
        Key::new(deliveries_pk(org, webhook), event.as_str())
    }
    pub fn deliveries_pk(org: &OrgDomain, webhook: &WebhookId) -> String {
        format!("ORG#{org}#WEBHOOK#{webhook}#DELIVERIES")
    }
    /// The due index of pending deliveries, sharded as the event log is (by the event's shard).
    pub fn deliveries_due_pk(shard: u8) -> String {
        format!("DELIVERYDUE#{shard:02}")
    }
    pub fn delivery_due(delivery: &gatehouse_domain::webhooks::Delivery, due: Timestamp) -> Key {
        Key::new(
            deliveries_due_pk(delivery.event.id.shard()),
            format!(
                "{:012}#{}#{}#{}",
                due.unix_seconds().max(0),
                delivery.org,
                delivery.webhook,
                delivery.event.id
            ),
        )
    }
    /// `record_key` is already a hash of the caller and their key.
    pub fn request(record_key: &str) -> Key {
        Key::new(format!("REQUEST#{record_key}"), "#")
    }
}

/// The attribute DynamoDB's TTL deletes expired items by (epoch seconds). Set on items that are
/// useless once expired: link tokens and sessions.
pub const TTL_ATTRIBUTE: &str = "ttl";
const VERSION: &str = "version";
/// How long after its first attempt a write may still be tried again.
const RETRY_WITHIN: Duration = Duration::from_secs(2);

/// Gatehouse's records over an item store.
#[derive(Clone)]
pub struct Records {
    items: Arc<dyn ItemStore>,
}

impl Records {
    pub fn new(items: Arc<dyn ItemStore>) -> Self {
        Self { items }
    }

    /// Runs a batch, retrying a few times when a concurrent transaction conflicted, but never
    /// starting an attempt more than [`RETRY_WITHIN`] after the first: a change commits soon
    /// after its events got their ids, which the event log's order relies on (`KEYS.md`).
    async fn write(&self, writes: Vec<Write>) -> Result<(), ItemError> {
        let started = std::time::Instant::now();
        let mut delay = Duration::from_millis(10);
        for _ in 0..5 {
            match self.items.write(writes.clone()).await {
                Err(ItemError::Conflict) if started.elapsed() + delay < RETRY_WITHIN => {
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                other => return other,
            }
        }
        self.items.write(writes).await
    }

    async fn get<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, StoreError> {
        match self.items.get(key).await.map_err(unavailable)? {
            Some(item) => decode(item.attrs).map(Some),
            None => Ok(None),
        }
    }
}

fn unavailable(e: ItemError) -> StoreError {
    StoreError::Unavailable(e.into())
}

fn write_error(e: ItemError) -> WriteError {
    match e {
        ItemError::ConditionFailed { .. } | ItemError::Conflict => WriteError::Stale,
        e => WriteError::Store(unavailable(e)),
    }
}

fn encode<T: Serialize>(record: &T) -> Attrs {
    match serde_json::to_value(record) {
        Ok(Value::Object(map)) => map,
        // Every record is a struct; anything else is a programming error caught by the tests.
        other => panic!("records serialise to JSON objects, got {other:?}"),
    }
}

fn decode<T: DeserializeOwned>(attrs: Attrs) -> Result<T, StoreError> {
    serde_json::from_value(Value::Object(attrs)).map_err(corrupt("record"))
}

/// An item that does not read as the record it should be.
#[derive(Debug, thiserror::Error)]
#[error("corrupt {what}")]
struct Corrupt {
    what: &'static str,
    #[source]
    source: serde_json::Error,
}

/// Maps a decoding failure of `what` to an unavailable store, keeping the decoder's error.
fn corrupt(what: &'static str) -> impl Fn(serde_json::Error) -> StoreError {
    move |source| StoreError::Unavailable(Box::new(Corrupt { what, source }))
}

fn put(key: Key, attrs: Attrs, condition: Option<Condition>) -> Write {
    Write::Put {
        item: Item { key, attrs },
        condition,
    }
}

/// An invitation's own item, written as `attrs`, placed in the indexes by role (`gsi1`) and by
/// inviter (`gsi2`). Its list copies carry neither attribute, so each index holds it once.
fn invitation_put(invitation: &Invitation, attrs: &Attrs, condition: Option<Condition>) -> Write {
    let mut attrs = attrs.clone();
    attrs.insert(
        Index::First.attribute().into(),
        json!(keys::invitations_by_role_pk(
            &invitation.org,
            invitation.role
        )),
    );
    if let Some(inviter) = &invitation.invited_by {
        attrs.insert(
            Index::Second.attribute().into(),
            json!(keys::invitations_by_inviter_pk(&invitation.org, inviter)),
        );
    }
    put(
        keys::invitation(&invitation.org, &invitation.id),
        attrs,
        condition,
    )
}

/// The record as it will be stored: its version one past the version it was read at, and a
/// condition that the stored one is still at the version read.
fn versioned<T: Serialize>(record: &T, read_version: u64) -> (Attrs, Condition) {
    let mut attrs = encode(record);
    attrs.insert(VERSION.into(), json!(read_version + 1));
    (
        attrs,
        Condition::Equals(VERSION.into(), json!(read_version)),
    )
}

fn group_name_claim(group: &Group) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("owner_id".into(), json!(group.id));
    attrs
}

fn user_claim_attrs(user: &User) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("owner".into(), json!("user"));
    attrs.insert("owner_id".into(), json!(user.id));
    attrs
}

/// The claims an account holds: its email and its uid, each unique in the organisation.
fn user_claims(user: &User) -> Vec<Key> {
    let mut claims = Vec::new();
    if let Some(email) = &user.email {
        claims.push(keys::email_claim(&user.org, email));
    }
    if let Some(uid) = &user.uid {
        claims.push(keys::uid_claim(&user.org, uid));
    }
    claims
}

/// The claim an invitation holds while it is live: its email or its uid.
fn invitation_claim(invitation: &Invitation) -> Key {
    match &invitation.invitee {
        Invitee::Email { email, .. } => keys::email_claim(&invitation.org, email),
        Invitee::Uid { uid, .. } => keys::uid_claim(&invitation.org, uid),
    }
}

fn invitation_claim_attrs(invitation: &Invitation) -> Attrs {
    let mut claim = Attrs::new();
    claim.insert("owner".into(), json!("invitation"));
    claim.insert("owner_id".into(), json!(invitation.id));
    claim.insert("expires_at".into(), json!(invitation.expires_at));
    claim
}

fn taken(invitee: &Invitee) -> WriteError {
    match invitee {
        Invitee::Email { .. } => WriteError::EmailTaken,
        Invitee::Uid { .. } => WriteError::UidTaken,
    }
}

/// The item an invitation's credential (link token or access code) is found by.
fn credential_key(invitee: &Invitee) -> Key {
    match invitee {
        Invitee::Email { token_hash, .. } => keys::link_token(token_hash),
        Invitee::Uid { code_hash, .. } => keys::access_code(code_hash),
    }
}

fn credential_item(invitation: &Invitation) -> Item {
    let mut attrs = Attrs::new();
    attrs.insert("org".into(), json!(invitation.org));
    attrs.insert("invitation_id".into(), json!(invitation.id));
    attrs.insert("expires_at".into(), json!(invitation.expires_at));
    attrs.insert(TTL_ATTRIBUTE.into(), json!(invitation.expires_at));
    Item {
        key: credential_key(&invitation.invitee),
        attrs,
    }
}

/// A new invitation's writes: its claim on the email or uid first (free, or held by an
/// invitation that has expired by its creation), then the invitation, its credential and its
/// list copies, each new, and its due pointer (unless a batch's pointer names it).
fn invitation_writes(invitation: &Invitation, own_pointer: bool) -> Vec<Write> {
    let claim = invitation_claim_attrs(invitation);
    let free = Condition::Any(vec![
        Condition::NotExists,
        Condition::All(vec![
            Condition::Equals("owner".into(), json!("invitation")),
            Condition::Below(
                "expires_at".into(),
                invitation.created_at.unix_seconds() + 1,
            ),
        ]),
    ]);
    let attrs = encode(invitation);
    let mut writes = vec![
        put(invitation_claim(invitation), claim, Some(free)),
        invitation_put(invitation, &attrs, Some(Condition::NotExists)),
        Write::Put {
            item: credential_item(invitation),
            condition: Some(Condition::NotExists),
        },
    ];
    writes.extend(copy_writes(None, invitation, &attrs));
    if own_pointer {
        writes.extend(due_writes(None, invitation));
    }
    writes
}

/// An import's record written at the version after the one read, on condition it is still there.
fn import_write(progress: ImportProgress<'_>) -> Write {
    let (attrs, unchanged) = versioned(progress.import, progress.read_version);
    put(
        keys::import(&progress.import.org, &progress.import.id),
        attrs,
        Some(unchanged),
    )
}

fn owned_by(id: &impl Serialize) -> Condition {
    Condition::Equals("owner_id".into(), json!(id))
}

/// A group's lookalike claim, or none: groups made before the claim existed hold none.
fn own_look(id: &GroupId) -> Condition {
    Condition::Any(vec![Condition::NotExists, owned_by(id)])
}

/// The stored state's name in list partitions: expiry is not stored, so expired invitations are
/// in the `pending` partitions, below the live ones.
fn state_name(state: &InvitationState) -> &'static str {
    match state {
        InvitationState::Pending => "pending",
        InvitationState::Accepted { .. } => "accepted",
        InvitationState::Revoked { .. } => "revoked",
    }
}

/// The sort key of a pending invitation in its list partitions: by deadline, then id.
fn deadline_sk(expires_at: Timestamp, id: &InvitationId) -> String {
    format!("{:012}#{id}", expires_at.unix_seconds().max(0))
}

fn is_deadline_sk(sk: &str) -> bool {
    sk.split_once('#').is_some_and(|(t, id)| {
        t.len() == 12 && t.bytes().all(|b| b.is_ascii_digit()) && InvitationId::parse(id).is_ok()
    })
}

/// The list partitions an invitation is copied into, besides its own item: by kind, by state,
/// and by state and kind; and while it is pending, the due index. See KEYS.md.
fn list_keys(invitation: &Invitation) -> Vec<Key> {
    let org = &invitation.org;
    let kind = invitation.invitee.kind().as_str();
    let state = state_name(&invitation.state);
    let by_state = match invitation.state {
        InvitationState::Pending => deadline_sk(invitation.expires_at, &invitation.id),
        _ => invitation.id.to_string(),
    };
    let keys = vec![
        Key::new(
            keys::invitation_list_pk(org, None, Some(kind)),
            invitation.id.as_str(),
        ),
        Key::new(
            keys::invitation_list_pk(org, Some(state), None),
            by_state.clone(),
        ),
        Key::new(
            keys::invitation_list_pk(org, Some(state), Some(kind)),
            by_state,
        ),
    ];
    keys
}

/// An invitation's own pointer in the due index, while it is pending.
fn due_key(invitation: &Invitation) -> Option<Key> {
    invitation
        .next_due_at()
        .map(|due| keys::due(due, &invitation.org, invitation.id.as_str()))
}

/// A due-index pointer to `invitations` (of one organisation) at `due`.
fn due_pointer(key: Key, org: &OrgDomain, invitations: &[&InvitationId]) -> Write {
    let mut attrs = Attrs::new();
    attrs.insert("org".into(), json!(org));
    attrs.insert("invitations".into(), json!(invitations));
    put(key, attrs, None)
}

/// One due pointer for a batch of an import's new invitations, at the earliest of their due
/// times: one item instead of one each.
fn batch_pointer(invitations: &[&Invitation]) -> Vec<Write> {
    let Some(first) = invitations.first() else {
        return Vec::new();
    };
    let Some(due) = invitations.iter().filter_map(|i| i.next_due_at()).min() else {
        return Vec::new();
    };
    let ids: Vec<&InvitationId> = invitations.iter().map(|i| &i.id).collect();
    let name = format!("{}#batch", first.id);
    vec![due_pointer(
        keys::due(due, &first.org, &name),
        &first.org,
        &ids,
    )]
}

/// Moves an invitation's due pointer when its due time changes: the old one deleted, the new
/// one written. Pointers carry no state, so one left behind (a race, a batch) only makes the
/// cleanup look at the invitation once more.
fn due_writes(previous: Option<&Invitation>, next: &Invitation) -> Vec<Write> {
    let old = previous.and_then(due_key);
    let new = due_key(next);
    if old == new && previous.is_some() {
        return Vec::new();
    }
    let mut writes: Vec<Write> = old
        .into_iter()
        .map(|key| Write::Delete {
            key,
            condition: None,
        })
        .collect();
    writes.extend(new.map(|key| due_pointer(key, &next.org, &[&next.id])));
    writes
}

/// Keeps the list copies and the due pointer in step with an invitation written as `attrs`.
fn list_writes(previous: Option<&Invitation>, next: &Invitation, attrs: &Attrs) -> Vec<Write> {
    let mut writes = copy_writes(previous, next, attrs);
    writes.extend(due_writes(previous, next));
    writes
}

/// Keeps the list copies in step with an invitation written as `attrs`: copies it no longer
/// belongs in are deleted, the others (re)written. Part of the same batch as the invitation, whose
/// own condition guards them all.
fn copy_writes(previous: Option<&Invitation>, next: &Invitation, attrs: &Attrs) -> Vec<Write> {
    let new_keys = list_keys(next);
    let mut writes: Vec<Write> = previous
        .map(list_keys)
        .into_iter()
        .flatten()
        .filter(|old| !new_keys.contains(old))
        .map(|key| Write::Delete {
            key,
            condition: None,
        })
        .collect();
    writes.extend(
        new_keys
            .into_iter()
            .map(|key| put(key, attrs.clone(), None)),
    );
    writes
}
