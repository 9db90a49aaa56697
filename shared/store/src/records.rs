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
use gatehouse_domain::model::Invitee;
use gatehouse_domain::model::{
    Group, Import, Invitation, InvitationLink, InvitationState, InvitationStatus, Org, OrgEntry,
    PasswordReset, Session, User,
};
use gatehouse_domain::ports::{
    Acceptance, AccountKey, AttemptStore, AttemptsChange, Claim, Credential, DeliveryChange,
    DueEntry, Found, GroupStore, ImportProgress, ImportStore, InvitationQuery, InvitationStore,
    LinkStore, Lookup, LookupStore, OrgStore, Page, PageRequest, RequestClaim, RequestStore,
    ScheduleStore, SessionStore, StoreError, StoredAnswer, UserStore, WriteError,
};
use gatehouse_domain::secret::TokenHash;
use gatehouse_domain::throttle::Attempts;
use gatehouse_domain::types::{
    EmailAddress, GroupId, GroupName, ImportId, InvitationId, InviteeRole, OrgDomain, Uid, UserId,
};

use crate::items::{Attrs, Condition, Index, Item, ItemError, ItemStore, Key, Query, Write};

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
    /// `record_key` is already a hash of the caller and their key.
    pub fn request(record_key: &str) -> Key {
        Key::new(format!("REQUEST#{record_key}"), "#")
    }
}

/// The attribute DynamoDB's TTL deletes expired items by (epoch seconds). Set on items that are
/// useless once expired: link tokens and sessions.
pub const TTL_ATTRIBUTE: &str = "ttl";
const VERSION: &str = "version";

/// Gatehouse's records over an item store.
#[derive(Clone)]
pub struct Records {
    items: Arc<dyn ItemStore>,
}

impl Records {
    pub fn new(items: Arc<dyn ItemStore>) -> Self {
        Self { items }
    }

    /// Runs a batch, retrying a few times when a concurrent transaction conflicted.
    async fn write(&self, writes: Vec<Write>) -> Result<(), ItemError> {
        let mut delay = Duration::from_millis(10);
        for _ in 0..5 {
            match self.items.write(writes.clone()).await {
                Err(ItemError::Conflict) => {
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
    StoreError::Unavailable(e.to_string())
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
    serde_json::from_value(Value::Object(attrs))
        .map_err(|e| StoreError::Unavailable(format!("corrupt record: {e}")))
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

#[async_trait]
impl OrgStore for Records {
    async fn create_org(
        &self,
        org: &Org,
        groups: &[Group],
        admin: &User,
    ) -> Result<(), WriteError> {
        let mut writes = vec![put(
            keys::org(&org.domain),
            encode(org),
            Some(Condition::NotExists),
        )];
        writes.push(put(
            keys::org_entry(&org.domain),
            encode(&OrgEntry {
                domain: org.domain.clone(),
                created_at: org.created_at,
            }),
            Some(Condition::NotExists),
        ));
        for g in groups {
            writes.push(put(
                keys::group(&org.domain, &g.id),
                encode(g),
                Some(Condition::NotExists),
            ));
            writes.push(put(
                keys::group_name(&org.domain, &g.name),
                group_name_claim(g),
                Some(Condition::NotExists),
            ));
            writes.push(put(
                keys::group_look(&org.domain, &g.name),
                group_name_claim(g),
                Some(Condition::NotExists),
            ));
        }
        writes.push(put(
            keys::user(&org.domain, &admin.id),
            encode(admin),
            Some(Condition::NotExists),
        ));
        for claim in user_claims(admin) {
            writes.push(put(
                claim,
                user_claim_attrs(admin),
                Some(Condition::NotExists),
            ));
        }
        match self.write(writes).await {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { index: 0 }) => Err(WriteError::AlreadyExists),
            Err(e) => Err(write_error(e)),
        }
    }

    async fn org(&self, domain: &OrgDomain) -> Result<Option<Org>, StoreError> {
        self.get(&keys::org(domain)).await
    }

    async fn update_org(&self, org: &Org) -> Result<(), WriteError> {
        let (attrs, unchanged) = versioned(org, org.version);
        self.write(vec![put(keys::org(&org.domain), attrs, Some(unchanged))])
            .await
            .map_err(write_error)
    }

    async fn orgs(&self, page: &PageRequest) -> Result<Page<OrgEntry>, StoreError> {
        self.page_of(keys::ORGS_PK.into(), page, false, |sk| {
            OrgDomain::parse(sk).is_ok()
        })
        .await
    }
}

#[async_trait]
impl GroupStore for Records {
    async fn create_group(&self, org: &OrgDomain, group: &Group) -> Result<(), WriteError> {
        match self
            .write(vec![
                put(
                    keys::group(org, &group.id),
                    encode(group),
                    Some(Condition::NotExists),
                ),
                put(
                    keys::group_name(org, &group.name),
                    group_name_claim(group),
                    Some(Condition::NotExists),
                ),
                put(
                    keys::group_look(org, &group.name),
                    group_name_claim(group),
                    Some(Condition::NotExists),
                ),
            ])
            .await
        {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { index: 2 }) => Err(WriteError::LookalikeTaken),
            Err(ItemError::ConditionFailed { .. }) => Err(WriteError::AlreadyExists),
            Err(e) => Err(write_error(e)),
        }
    }

    async fn groups(&self, org: &OrgDomain) -> Result<Vec<Group>, StoreError> {
        let mut groups = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .items
                .query(&Query {
                    index: None,
                    pk: keys::groups_pk(org),
                    sk_prefix: String::new(),
                    after,
                    limit: 500,
                    descending: false,
                })
                .await
                .map_err(unavailable)?;
            for item in page.items {
                groups.push(decode(item.attrs)?);
            }
            match page.last_sk {
                Some(sk) => after = Some(sk),
                None => return Ok(groups),
            }
        }
    }

    async fn group(&self, org: &OrgDomain, id: &GroupId) -> Result<Option<Group>, StoreError> {
        self.get(&keys::group(org, id)).await
    }

    async fn rename_group(
        &self,
        org: &OrgDomain,
        group: &Group,
        previous: &GroupName,
    ) -> Result<(), WriteError> {
        let (attrs, mut unchanged) = versioned(group, group.version);
        if group.version == 0 {
            unchanged = Condition::Any(vec![unchanged, Condition::Lacks(VERSION.into())]);
        }
        let mut writes = vec![put(keys::group(org, &group.id), attrs, Some(unchanged))];
        let (old_claim, new_claim) = (
            keys::group_name(org, previous),
            keys::group_name(org, &group.name),
        );
        // Another case of the same name keeps its claim.
        let renamed_claim = old_claim != new_claim;
        if renamed_claim {
            writes.push(put(
                new_claim,
                group_name_claim(group),
                Some(Condition::NotExists),
            ));
            writes.push(Write::Delete {
                key: old_claim,
                condition: Some(owned_by(&group.id)),
            });
        }
        let (old_look, new_look) = (
            keys::group_look(org, previous),
            keys::group_look(org, &group.name),
        );
        let look_index = writes.len();
        if old_look != new_look {
            writes.push(put(
                new_look,
                group_name_claim(group),
                Some(Condition::NotExists),
            ));
            writes.push(Write::Delete {
                key: old_look,
                condition: Some(own_look(&group.id)),
            });
        }
        match self.write(writes).await {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { index: 1 }) if renamed_claim => {
                Err(WriteError::AlreadyExists)
            }
            Err(ItemError::ConditionFailed { index }) if index == look_index => {
                Err(WriteError::LookalikeTaken)
            }
            Err(e) => Err(write_error(e)),
        }
    }

    async fn delete_group(
        &self,
        org: &OrgDomain,
        group: &Group,
        settings: Option<&Org>,
        link: Option<&InvitationLink>,
    ) -> Result<(), WriteError> {
        let mut unchanged = Condition::Equals(VERSION.into(), json!(group.version));
        if group.version == 0 {
            unchanged = Condition::Any(vec![unchanged, Condition::Lacks(VERSION.into())]);
        }
        let mut writes = vec![
            Write::Delete {
                key: keys::group(org, &group.id),
                condition: Some(unchanged),
            },
            Write::Delete {
                key: keys::group_name(org, &group.name),
                condition: Some(owned_by(&group.id)),
            },
            Write::Delete {
                key: keys::group_look(org, &group.name),
                condition: Some(own_look(&group.id)),
            },
        ];
        if let Some(settings) = settings {
            let (attrs, unchanged) = versioned(settings, settings.version);
            writes.push(put(keys::org(org), attrs, Some(unchanged)));
        }
        if let Some(link) = link {
            let (attrs, unchanged) = versioned(link, link.version);
            writes.push(put(keys::invitation_link(org), attrs, Some(unchanged)));
        }
        self.write(writes).await.map_err(write_error)
    }

    async fn update_group(&self, org: &OrgDomain, group: &Group) -> Result<(), WriteError> {
        let (attrs, mut unchanged) = versioned(group, group.version);
        if group.version == 0 {
            // Groups written before they had a version read as version 0.
            unchanged = Condition::Any(vec![unchanged, Condition::Lacks(VERSION.into())]);
        }
        self.write(vec![put(
            keys::group(org, &group.id),
            attrs,
            Some(unchanged),
        )])
        .await
        .map_err(write_error)
    }
}

#[async_trait]
impl InvitationStore for Records {
    async fn create_invitation_charged(
        &self,
        invitation: &Invitation,
        charges: &[AttemptsChange],
    ) -> Result<(), WriteError> {
        let mut writes = invitation_writes(invitation, true);
        let first_charge = writes.len();
        writes.extend(charges.iter().map(attempts_write));
        match self.write(writes).await {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { index: 0 }) => Err(taken(&invitation.invitee)),
            Err(ItemError::ConditionFailed { index }) if index >= first_charge => {
                Err(WriteError::QuotaSpent(index - first_charge))
            }
            Err(ItemError::ConditionFailed { .. }) => Err(WriteError::AlreadyExists),
            Err(e) => Err(write_error(e)),
        }
    }

    async fn invitation(
        &self,
        org: &OrgDomain,
        id: &InvitationId,
    ) -> Result<Option<Invitation>, StoreError> {
        self.get(&keys::invitation(org, id)).await
    }

    async fn invitation_holding(
        &self,
        org: &OrgDomain,
        id: &InvitationId,
        credential: &Credential,
    ) -> Result<Option<Invitation>, StoreError> {
        let holds = |invitee: &Invitee| match (invitee, credential) {
            (Invitee::Email { token_hash, .. }, Credential::LinkToken(t)) => token_hash == t,
            (Invitee::Uid { code_hash, .. }, Credential::AccessCode(c)) => code_hash == c,
            _ => false,
        };
        Ok(self
            .invitation(org, id)
            .await?
            .filter(|inv| holds(&inv.invitee)))
    }

    async fn update_invitation_charged(
        &self,
        invitation: &Invitation,
        previous: &Invitation,
        charges: &[AttemptsChange],
    ) -> Result<(), WriteError> {
        let (attrs, unchanged) = versioned(invitation, previous.version);
        let mut writes = vec![invitation_put(invitation, &attrs, Some(unchanged))];
        writes.extend(list_writes(Some(previous), invitation, &attrs));
        let old_credential = credential_key(&previous.invitee);
        let new_credential = credential_key(&invitation.invitee);
        let revoked = matches!(invitation.state, InvitationState::Revoked { .. })
            && !matches!(previous.state, InvitationState::Revoked { .. });
        // A revoked link keeps pointing at its invitation, so that following it says "revoked"
        // (the invitation's state stops it); a revoked access code is forgotten, so that guessing
        // learns nothing.
        let forget_code = revoked && matches!(previous.invitee, Invitee::Uid { .. });
        if forget_code || old_credential != new_credential {
            writes.push(Write::Delete {
                key: old_credential,
                condition: None,
            });
        }
        if !revoked && credential_key(&previous.invitee) != new_credential {
            writes.push(Write::Put {
                item: credential_item(invitation),
                condition: Some(Condition::NotExists),
            });
        } else if !revoked && previous.expires_at != invitation.expires_at {
            // Same credential, new deadline (a resend): keep the credential item in step.
            writes.push(Write::Put {
                item: credential_item(invitation),
                condition: Some(Condition::Equals(
                    "invitation_id".into(),
                    json!(invitation.id),
                )),
            });
        }
        let mut claim_index = None;
        if !revoked && previous.expires_at != invitation.expires_at {
            // A new deadline (a resend) renews the claim on the email or uid: still this
            // invitation's, or free again (nobody else's).
            claim_index = Some(writes.len());
            writes.push(put(
                invitation_claim(invitation),
                invitation_claim_attrs(invitation),
                Some(Condition::Any(vec![
                    Condition::NotExists,
                    owned_by(&invitation.id),
                ])),
            ));
        }
        if revoked {
            writes.extend(self.claim_release(invitation).await?);
        }
        let first_charge = writes.len();
        writes.extend(charges.iter().map(attempts_write));
        match self.write(writes).await {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { index }) if Some(index) == claim_index => {
                Err(taken(&invitation.invitee))
            }
            Err(ItemError::ConditionFailed { index }) if index >= first_charge => {
                Err(WriteError::QuotaSpent(index - first_charge))
            }
            Err(e) => Err(write_error(e)),
        }
    }

    async fn invitations(
        &self,
        org: &OrgDomain,
        query: &InvitationQuery,
        page: &PageRequest,
    ) -> Result<Page<Invitation>, StoreError> {
        let by_index = match (&query.invited_by, query.role) {
            (Some(inviter), _) => {
                Some((Index::Second, keys::invitations_by_inviter_pk(org, inviter)))
            }
            (None, Some(role)) => Some((Index::First, keys::invitations_by_role_pk(org, role))),
            (None, None) => None,
        };
        if let Some((index, pk)) = by_index {
            return self.invitations_by_index(index, pk, query, page).await;
        }
        let kind = query.kind.map(|k| k.as_str());
        let state = query.status.map(|s| match s {
            InvitationStatus::Pending | InvitationStatus::Expired => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Revoked => "revoked",
        });
        let by_deadline = state == Some("pending");
        let pk = keys::invitation_list_pk(org, state, kind);
        let after = match &page.cursor {
            Some(c) => Some(decode_cursor(c, |sk| {
                if by_deadline {
                    is_deadline_sk(sk)
                } else {
                    InvitationId::parse(sk).is_ok()
                }
            })?),
            None => None,
        };
        // Live invitations have the latest deadlines: newest deadline first, until the first
        // expired one. Expired ones have the earliest: earliest first, until the first live one.
        let expired_wanted = query.status == Some(InvitationStatus::Expired);
        let chunk = self
            .items
            .query(&Query {
                index: None,
                pk,
                sk_prefix: String::new(),
                after,
                limit: page.limit.max(1),
                descending: !expired_wanted,
            })
            .await
            .map_err(unavailable)?;
        let mut items = Vec::with_capacity(chunk.items.len());
        for item in chunk.items {
            let invitation: Invitation = decode(item.attrs)?;
            if let Some(wanted) = query.status.filter(|_| by_deadline) {
                if invitation.status_at(query.now) != wanted {
                    // Past the boundary between live and expired: nothing more to list.
                    return Ok(Page {
                        items,
                        next_cursor: None,
                    });
                }
            }
            items.push(invitation);
        }
        Ok(Page {
            items,
            next_cursor: chunk.last_sk.as_deref().map(encode_cursor),
        })
    }

    async fn accept_invitation(&self, acceptance: &Acceptance) -> Result<(), WriteError> {
        let Acceptance {
            invitation,
            user,
            session,
        } = acceptance;
        let InvitationState::Accepted { .. } = invitation.state else {
            return Err(WriteError::Stale);
        };
        let org = &invitation.org;
        let (inv_attrs, unchanged) = versioned(invitation, invitation.version);
        let mut as_read = invitation.clone();
        as_read.state = InvitationState::Pending;
        let copies = list_writes(Some(&as_read), invitation, &inv_attrs);
        let mut writes = vec![
            Write::Delete {
                key: credential_key(&invitation.invitee),
                condition: Some(Condition::Equals(
                    "invitation_id".into(),
                    json!(invitation.id),
                )),
            },
            invitation_put(invitation, &inv_attrs, Some(unchanged)),
            put(
                keys::user(org, &user.id),
                encode(user),
                Some(Condition::NotExists),
            ),
            session_put(session),
        ];
        writes.extend(copies);
        // The account takes over the invitation's claim; any other claim of the account must be free.
        let handed_over = invitation_claim(invitation);
        let first_claim = writes.len();
        for claim in user_claims(user) {
            let condition = if claim == handed_over {
                Condition::All(vec![
                    Condition::Equals("owner".into(), json!("invitation")),
                    owned_by(&invitation.id),
                ])
            } else {
                Condition::NotExists
            };
            writes.push(put(claim, user_claim_attrs(user), Some(condition)));
        }
        match self.write(writes).await {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { index }) if index >= first_claim => {
                Err(taken(&invitation.invitee))
            }
            Err(e) => Err(write_error(e)),
        }
    }
}

fn credential_item_key(credential: &Credential) -> Key {
    match credential {
        Credential::LinkToken(token) => keys::link_token(token),
        Credential::AccessCode(code) => keys::access_code(code),
    }
}

/// The invitation a credential item points to, if the item is there and of `org`.
fn credential_target(org: &OrgDomain, item: Option<Item>) -> Option<InvitationId> {
    let item = item?;
    if item.attrs.get("org").and_then(Value::as_str) != Some(org.as_str()) {
        return None;
    }
    item.attrs
        .get("invitation_id")
        .and_then(Value::as_str)
        .and_then(|s| InvitationId::parse(s).ok())
}

/// The id of the account holding a claim item, if an account holds it.
fn claimant(claim: Option<Item>) -> Result<Option<UserId>, StoreError> {
    let Some(claim) = claim else {
        return Ok(None);
    };
    if claim.attrs.get("owner").and_then(Value::as_str) != Some("user") {
        return Ok(None);
    }
    claim
        .attrs
        .get("owner_id")
        .and_then(Value::as_str)
        .and_then(|s| UserId::parse(s).ok())
        .map(Some)
        .ok_or_else(|| StoreError::Unavailable("corrupt claim".into()))
}

/// Who holds a claim item.
fn claim_of(claim: Option<Item>) -> Result<Claim, StoreError> {
    let Some(claim) = claim else {
        return Ok(Claim::Free);
    };
    let corrupt = || StoreError::Unavailable("corrupt claim".into());
    let owner_id = claim.attrs.get("owner_id").and_then(Value::as_str);
    match claim.attrs.get("owner").and_then(Value::as_str) {
        Some("user") => owner_id
            .and_then(|s| UserId::parse(s).ok())
            .map(Claim::Account)
            .ok_or_else(corrupt),
        Some("invitation") => {
            let id = owner_id
                .and_then(|s| InvitationId::parse(s).ok())
                .ok_or_else(corrupt)?;
            let expires_at = claim
                .attrs
                .get("expires_at")
                .cloned()
                .map(serde_json::from_value)
                .transpose()
                .map_err(|_| corrupt())?
                .ok_or_else(corrupt)?;
            Ok(Claim::Invitation { id, expires_at })
        }
        _ => Err(corrupt()),
    }
}

#[async_trait]
impl LookupStore for Records {
    async fn look_up(&self, org: &OrgDomain, lookup: &Lookup) -> Result<Found, StoreError> {
        let mut keys = Vec::new();
        if lookup.org {
            keys.push(keys::org(org));
        }
        if let Some((user, token)) = &lookup.session {
            keys.push(keys::session(org, user, token));
        }
        if let Some(user) = &lookup.user {
            keys.push(keys::user(org, user));
        }
        match &lookup.account {
            Some(AccountKey::Email(email)) => keys.push(keys::email_claim(org, email)),
            Some(AccountKey::Uid(uid)) => keys.push(keys::uid_claim(org, uid)),
            None => {}
        }
        keys.extend(lookup.attempts.iter().map(|k| attempts_key(k)));
        keys.extend(lookup.groups.iter().map(|g| keys::group(org, g)));
        if let Some(credential) = &lookup.credential {
            keys.push(credential_item_key(credential));
        }
        if let Some(id) = &lookup.import {
            keys.push(keys::import(org, id));
        }
        keys.extend(lookup.group_names.iter().map(|n| keys::group_name(org, n)));
        keys.extend(lookup.claims.iter().map(|c| match c {
            AccountKey::Email(email) => keys::email_claim(org, email),
            AccountKey::Uid(uid) => keys::uid_claim(org, uid),
        }));
        keys.extend(lookup.invitations.iter().map(|i| keys::invitation(org, i)));
        let mut items = self
            .items
            .get_many(&keys)
            .await
            .map_err(unavailable)?
            .into_iter();
        let mut next = || items.next().flatten();
        let mut found = Found::default();
        if lookup.org {
            found.org = next().map(|i| decode(i.attrs)).transpose()?;
        }
        if lookup.session.is_some() {
            found.session = next()
                .map(|i| decode::<Session>(i.attrs))
                .transpose()?
                .filter(|s| &s.org == org);
        }
        if lookup.user.is_some() {
            found.user = next().map(|i| decode(i.attrs)).transpose()?;
        }
        if lookup.account.is_some() {
            found.account = claimant(next())?;
        }
        for _ in &lookup.attempts {
            found
                .attempts
                .push(next().map(|i| decode(i.attrs)).transpose()?);
        }
        for _ in &lookup.groups {
            found
                .groups
                .push(next().map(|i| decode(i.attrs)).transpose()?);
        }
        if lookup.credential.is_some() {
            found.credential_of = credential_target(org, next());
        }
        if lookup.import.is_some() {
            found.import = next()
                .map(|i| decode::<Import>(i.attrs))
                .transpose()?
                .filter(|i| &i.org == org);
        }
        for _ in &lookup.group_names {
            found.group_ids.push(
                next()
                    .and_then(|i| i.attrs.get("owner_id").cloned())
                    .map(serde_json::from_value)
                    .transpose()
                    .map_err(|e| StoreError::Unavailable(format!("corrupt group name: {e}")))?,
            );
        }
        for _ in &lookup.claims {
            found.claims.push(claim_of(next())?);
        }
        for _ in &lookup.invitations {
            found
                .invitations
                .push(next().map(|i| decode(i.attrs)).transpose()?);
        }
        Ok(found)
    }
}

impl Records {
    /// The account holding a claim (email or uid), if an account holds it.
    async fn user_by_claim(
        &self,
        org: &OrgDomain,
        claim: &Key,
    ) -> Result<Option<User>, StoreError> {
        match claimant(self.items.get(claim).await.map_err(unavailable)?)? {
            Some(id) => self.user(org, &id).await,
            None => Ok(None),
        }
    }
}

/// Index chunks a filtered page reads at most before it answers what it found (maybe less than
/// a page, with a cursor to go on).
const INDEX_CHUNKS: usize = 4;

impl Records {
    /// The invitations of one inviter (`gsi2`) or of one role (`gsi1`), newest first, with the
    /// other filters applied to what the index partition holds.
    async fn invitations_by_index(
        &self,
        index: Index,
        pk: String,
        query: &InvitationQuery,
        page: &PageRequest,
    ) -> Result<Page<Invitation>, StoreError> {
        let mut after = match &page.cursor {
            Some(c) => Some(decode_cursor(c, |sk| InvitationId::parse(sk).is_ok())?),
            None => None,
        };
        let limit = page.limit.max(1);
        let wanted = |i: &Invitation| {
            query.role.is_none_or(|r| i.role == r)
                && query.kind.is_none_or(|k| i.invitee.kind() == k)
                && query.status.is_none_or(|s| i.status_at(query.now) == s)
        };
        let mut items = Vec::with_capacity(limit);
        for _ in 0..INDEX_CHUNKS {
            let chunk = self
                .items
                .query(&Query {
                    index: Some(index),
                    pk: pk.clone(),
                    sk_prefix: String::new(),
                    after: after.clone(),
                    limit,
                    descending: true,
                })
                .await
                .map_err(unavailable)?;
            let mut unread = chunk.items.into_iter();
            for item in unread.by_ref() {
                let sk = item.key.sk.clone();
                let invitation: Invitation = decode(item.attrs)?;
                if wanted(&invitation) {
                    items.push(invitation);
                }
                after = Some(sk);
                if items.len() == limit {
                    break;
                }
            }
            if chunk.last_sk.is_none() && unread.next().is_none() {
                // The partition ended.
                return Ok(Page {
                    items,
                    next_cursor: None,
                });
            }
            if items.len() == limit {
                break;
            }
        }
        Ok(Page {
            items,
            next_cursor: after.as_deref().map(encode_cursor),
        })
    }
}

fn encode_cursor(sk: &str) -> String {
    URL_SAFE_NO_PAD.encode(sk.as_bytes())
}

/// The sort key a cursor continues after, if it is one `valid` accepts.
impl Records {
    /// A page of the records of partition `pk`, in sort-key order (`descending`: reversed),
    /// after the cursor, whose sort key must be `valid`.
    async fn page_of<T: DeserializeOwned>(
        &self,
        pk: String,
        page: &PageRequest,
        descending: bool,
        valid: impl Fn(&str) -> bool,
    ) -> Result<Page<T>, StoreError> {
        let after = match &page.cursor {
            Some(c) => Some(decode_cursor(c, valid)?),
            None => None,
        };
        let chunk = self
            .items
            .query(&Query {
                index: None,
                pk,
                sk_prefix: String::new(),
                after,
                limit: page.limit.max(1),
                descending,
            })
            .await
            .map_err(unavailable)?;
        let items = chunk
            .items
            .into_iter()
            .map(|i| decode(i.attrs))
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next_cursor: chunk.last_sk.as_deref().map(encode_cursor),
        })
    }
}

fn decode_cursor(cursor: &str, valid: impl Fn(&str) -> bool) -> Result<String, StoreError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|s| valid(s))
        .ok_or(StoreError::BadCursor)
}

fn session_put(session: &Session) -> Write {
    let mut attrs = encode(session);
    attrs.insert(TTL_ATTRIBUTE.into(), json!(session.expires_at));
    put(
        keys::session(&session.org, &session.user_id, &session.token_hash),
        attrs,
        Some(Condition::NotExists),
    )
}

#[async_trait]
impl UserStore for Records {
    async fn user(&self, org: &OrgDomain, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get(&keys::user(org, id)).await
    }

    async fn user_by_email(
        &self,
        org: &OrgDomain,
        email: &EmailAddress,
    ) -> Result<Option<User>, StoreError> {
        self.user_by_claim(org, &keys::email_claim(org, email))
            .await
    }

    async fn update_user(&self, user: &User) -> Result<(), WriteError> {
        let (attrs, unchanged) = versioned(user, user.version);
        self.write(vec![put(
            keys::user(&user.org, &user.id),
            attrs,
            Some(unchanged),
        )])
        .await
        .map_err(write_error)
    }

    async fn save_password_reset(&self, reset: &PasswordReset) -> Result<(), WriteError> {
        let mut attrs = encode(reset);
        attrs.insert(TTL_ATTRIBUTE.into(), json!(reset.expires_at));
        self.write(vec![put(
            keys::password_reset(&reset.token_hash),
            attrs,
            Some(Condition::NotExists),
        )])
        .await
        .map_err(write_error)
    }

    async fn password_reset(&self, token: &TokenHash) -> Result<Option<PasswordReset>, StoreError> {
        self.get(&keys::password_reset(token)).await
    }

    async fn change_password(
        &self,
        user: &User,
        reset: Option<&TokenHash>,
    ) -> Result<(), WriteError> {
        let (attrs, unchanged) = versioned(user, user.version);
        let mut writes = vec![put(keys::user(&user.org, &user.id), attrs, Some(unchanged))];
        if let Some(token) = reset {
            writes.push(Write::Delete {
                key: keys::password_reset(token),
                condition: Some(Condition::Equals("user_id".into(), json!(user.id))),
            });
        }
        self.write(writes).await.map_err(write_error)
    }

    async fn users(&self, org: &OrgDomain, page: &PageRequest) -> Result<Page<User>, StoreError> {
        let after = match &page.cursor {
            Some(c) => Some(decode_cursor(c, |sk| UserId::parse(sk).is_ok())?),
            None => None,
        };
        let chunk = self
            .items
            .query(&Query {
                index: None,
                pk: keys::users_pk(org),
                sk_prefix: String::new(),
                after,
                limit: page.limit.max(1),
                descending: false,
            })
            .await
            .map_err(unavailable)?;
        let items = chunk
            .items
            .into_iter()
            .map(|i| decode(i.attrs))
            .collect::<Result<Vec<User>, _>>()?;
        Ok(Page {
            items,
            next_cursor: chunk.last_sk.as_deref().map(encode_cursor),
        })
    }
}

#[async_trait]
impl SessionStore for Records {
    async fn create_session(&self, session: &Session) -> Result<(), WriteError> {
        self.write(vec![session_put(session)])
            .await
            .map_err(write_error)
    }

    async fn open_session(
        &self,
        session: &Session,
        attempts: &[AttemptsChange],
    ) -> Result<(), WriteError> {
        let mut writes = vec![session_put(session)];
        writes.extend(attempts.iter().map(attempts_write));
        self.write(writes).await.map_err(write_error)
    }

    async fn session(
        &self,
        org: &OrgDomain,
        user: &UserId,
        token: &TokenHash,
    ) -> Result<Option<Session>, StoreError> {
        Ok(self
            .get::<Session>(&keys::session(org, user, token))
            .await?
            .filter(|s| &s.org == org && &s.user_id == user))
    }

    async fn end_session(
        &self,
        org: &OrgDomain,
        user: &UserId,
        token: &TokenHash,
    ) -> Result<(), StoreError> {
        self.items
            .write(vec![Write::Delete {
                key: keys::session(org, user, token),
                condition: None,
            }])
            .await
            .map_err(unavailable)
    }

    async fn end_sessions(
        &self,
        org: &OrgDomain,
        user: &UserId,
        keep: Option<&TokenHash>,
    ) -> Result<usize, StoreError> {
        let mut ended = 0;
        loop {
            // Always from the start: what was deleted is gone, what was kept is skipped.
            let page = self
                .items
                .query(&Query {
                    index: None,
                    pk: keys::sessions_pk(org, user),
                    sk_prefix: String::new(),
                    after: None,
                    limit: 100,
                    descending: false,
                })
                .await
                .map_err(unavailable)?;
            let doomed: Vec<Write> = page
                .items
                .iter()
                .filter(|i| keep.is_none_or(|k| i.key.sk != k.as_str()))
                .map(|i| Write::Delete {
                    key: i.key.clone(),
                    condition: None,
                })
                .collect();
            if doomed.is_empty() {
                return Ok(ended);
            }
            ended += doomed.len();
            for chunk in doomed.chunks(25) {
                self.write(chunk.to_vec()).await.map_err(unavailable)?;
            }
        }
    }
}

fn attempts_key(key: &str) -> Key {
    Key::new(format!("ATTEMPTS#{key}"), "#")
}

const FAILURES: &str = "failures";

/// A failure counter's change as a write: a versioned replacement, or an in-place addition that
/// bumps the version too, so that a replacement read before it fails as stale.
/// One more on a counter at `at`, as an addition (racing additions all land), on condition that
/// the counter is new or `allowed` holds for it.
fn one_more(key: &str, at: Timestamp, keep_until: Timestamp, allowed: Condition) -> Write {
    let mut set = Attrs::new();
    set.insert("last_failure".into(), json!(at));
    set.insert("blocked_until".into(), json!(at));
    set.insert(TTL_ATTRIBUTE.into(), json!(keep_until));
    Write::Update {
        key: attempts_key(key),
        add: vec![(FAILURES.into(), 1), (VERSION.into(), 1)],
        set,
        condition: Some(Condition::Any(vec![Condition::NotExists, allowed])),
    }
}

fn attempts_write(change: &AttemptsChange) -> Write {
    match change {
        AttemptsChange::Replace {
            key,
            read,
            next,
            keep_until,
        } => {
            let mut attrs = encode(next);
            let version = read.map_or(0, |v| v + 1);
            attrs.insert(VERSION.into(), json!(version));
            attrs.insert(TTL_ATTRIBUTE.into(), json!(keep_until));
            let condition = match read {
                Some(v) => Condition::Equals(VERSION.into(), json!(v)),
                None => Condition::NotExists,
            };
            put(attempts_key(key), attrs, Some(condition))
        }
        AttemptsChange::Charge {
            key,
            at,
            free,
            keep_until,
        } => {
            // Still within the free allowance, and not waiting.
            one_more(
                key,
                *at,
                *keep_until,
                Condition::All(vec![
                    Condition::Below(FAILURES.into(), i64::from(*free) - 1),
                    Condition::Below("blocked_until".into(), at.unix_seconds() + 1),
                ]),
            )
        }
        AttemptsChange::Count {
            key,
            at,
            cap,
            keep_until,
        } => one_more(
            key,
            *at,
            *keep_until,
            Condition::Below(FAILURES.into(), i64::from(*cap)),
        ),
        AttemptsChange::Clear { key } => Write::Delete {
            key: attempts_key(key),
            condition: None,
        },
        AttemptsChange::Trust { key, until } => {
            let marker = Attempts {
                trusted_until: *until,
                ..Attempts::default()
            };
            let mut set = encode(&marker);
            set.remove(VERSION);
            set.insert(TTL_ATTRIBUTE.into(), json!(until));
            // An update, not a put: the version moves on, so a replacement read before fails.
            Write::Update {
                key: attempts_key(key),
                add: vec![(VERSION.into(), 1)],
                set,
                condition: None,
            }
        }
        AttemptsChange::Refund { key } => Write::Update {
            key: attempts_key(key),
            add: vec![(FAILURES.into(), -1), (VERSION.into(), 1)],
            set: Attrs::new(),
            condition: Some(Condition::AtLeast(FAILURES.into(), 1)),
        },
    }
}

#[async_trait]
impl AttemptStore for Records {
    async fn attempts(&self, keys: &[String]) -> Result<Vec<Option<Attempts>>, StoreError> {
        let keys: Vec<Key> = keys.iter().map(|k| attempts_key(k)).collect();
        self.items
            .get_many(&keys)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|item| item.map(|i| decode(i.attrs)).transpose())
            .collect()
    }

    async fn record_attempts(&self, changes: &[AttemptsChange]) -> Result<(), WriteError> {
        let writes = changes.iter().map(attempts_write).collect();
        // No retry on conflict here: the caller re-reads and decides again.
        self.items.write(writes).await.map_err(write_error)
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        self.write(vec![Write::Delete {
            key: attempts_key(key),
            condition: None,
        }])
        .await
        .map_err(unavailable)
    }
}

/// The stored form of an idempotency key's record.
#[derive(serde::Serialize, serde::Deserialize)]
struct RequestRecord {
    fingerprint: String,
    /// `running`, or `answered` with the answer below.
    state: String,
    running_until: Timestamp,
    forget_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_control: Option<String>,
    /// The answer's body, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
}

const RUNNING: &str = "running";
const ANSWERED: &str = "answered";

impl RequestRecord {
    fn attrs(&self) -> Attrs {
        let mut attrs = encode(self);
        attrs.insert(TTL_ATTRIBUTE.into(), json!(self.forget_at));
        attrs
    }
}

#[async_trait]
impl RequestStore for Records {
    async fn claim_request(
        &self,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
        running_until: Timestamp,
        forget_at: Timestamp,
    ) -> Result<RequestClaim, StoreError> {
        let record = RequestRecord {
            fingerprint: fingerprint.into(),
            state: RUNNING.into(),
            running_until,
            forget_at,
            status: None,
            content_type: None,
            cache_control: None,
            body: None,
        };
        // Free: no record, one past its keeping (TTL deletes lazily), or a running claim that
        // lapsed (its process died).
        let after_now = now.unix_seconds().saturating_add(1);
        let free = Condition::Any(vec![
            Condition::NotExists,
            Condition::Below("forget_at".into(), after_now),
            Condition::All(vec![
                Condition::Equals("state".into(), json!(RUNNING)),
                Condition::Below("running_until".into(), after_now),
            ]),
        ]);
        for _ in 0..3 {
            let claim = put(keys::request(key), record.attrs(), Some(free.clone()));
            match self.write(vec![claim]).await {
                Ok(()) => return Ok(RequestClaim::Claimed),
                Err(ItemError::ConditionFailed { .. }) => {}
                Err(e) => return Err(unavailable(e)),
            }
            // Held: by whom? (Gone again meanwhile: try to claim once more.)
            let Some(held) = self.get::<RequestRecord>(&keys::request(key)).await? else {
                continue;
            };
            if held.state != ANSWERED {
                return Ok(RequestClaim::Running {
                    fingerprint: held.fingerprint,
                });
            }
            let body = held
                .body
                .as_deref()
                .map(|b| base64::engine::general_purpose::STANDARD.decode(b))
                .transpose()
                .map_err(|_| StoreError::Unavailable("corrupt request record".into()))?
                .unwrap_or_default();
            return Ok(RequestClaim::Answered {
                fingerprint: held.fingerprint,
                answer: StoredAnswer {
                    status: held.status.unwrap_or(200),
                    content_type: held.content_type,
                    cache_control: held.cache_control,
                    body,
                },
            });
        }
        Err(StoreError::Unavailable(
            "an idempotency record kept changing".into(),
        ))
    }

    async fn save_answer(
        &self,
        key: &str,
        fingerprint: &str,
        answer: &StoredAnswer,
        forget_at: Timestamp,
    ) -> Result<(), StoreError> {
        let record = RequestRecord {
            fingerprint: fingerprint.into(),
            state: ANSWERED.into(),
            running_until: forget_at,
            forget_at,
            status: Some(answer.status),
            content_type: answer.content_type.clone(),
            cache_control: answer.cache_control.clone(),
            body: Some(base64::engine::general_purpose::STANDARD.encode(&answer.body)),
        };
        let mine = Condition::All(vec![
            Condition::Equals("state".into(), json!(RUNNING)),
            Condition::Equals("fingerprint".into(), json!(fingerprint)),
        ]);
        self.write(vec![put(keys::request(key), record.attrs(), Some(mine))])
            .await
            .map_err(|e| match e {
                ItemError::ConditionFailed { .. } => {
                    StoreError::Unavailable("the request's claim was taken over".into())
                }
                e => unavailable(e),
            })
    }

    async fn release_request(&self, key: &str) -> Result<(), StoreError> {
        let running = Condition::Equals("state".into(), json!(RUNNING));
        match self
            .write(vec![Write::Delete {
                key: keys::request(key),
                condition: Some(running),
            }])
            .await
        {
            Ok(()) | Err(ItemError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[async_trait]
impl ImportStore for Records {
    async fn create_import(&self, import: &Import) -> Result<(), WriteError> {
        let mut attrs = encode(import);
        attrs.insert(VERSION.into(), json!(0));
        match self
            .write(vec![put(
                keys::import(&import.org, &import.id),
                attrs,
                Some(Condition::NotExists),
            )])
            .await
        {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { .. }) => Err(WriteError::AlreadyExists),
            Err(e) => Err(write_error(e)),
        }
    }

    async fn import(&self, org: &OrgDomain, id: &ImportId) -> Result<Option<Import>, StoreError> {
        self.get(&keys::import(org, id)).await
    }

    async fn imports(
        &self,
        org: &OrgDomain,
        page: &PageRequest,
    ) -> Result<Page<Import>, StoreError> {
        self.page_of(keys::imports_pk(org), page, true, |sk| {
            ImportId::parse(sk).is_ok()
        })
        .await
    }

    async fn update_import(&self, progress: ImportProgress<'_>) -> Result<(), WriteError> {
        self.write(vec![import_write(progress)])
            .await
            .map_err(write_error)
    }

    async fn create_invitations(
        &self,
        invitations: &[Invitation],
        progress: ImportProgress<'_>,
    ) -> Result<Vec<Result<(), WriteError>>, WriteError> {
        self.write_each(
            invitations,
            progress,
            |invitation, index| {
                let writes = invitation_writes(invitation, false);
                let refusal = match index {
                    Some(0) => taken(&invitation.invitee),
                    _ => WriteError::AlreadyExists,
                };
                (writes, refusal)
            },
            batch_pointer,
        )
        .await
    }

    async fn record_deliveries(
        &self,
        changes: &[DeliveryChange],
        progress: ImportProgress<'_>,
    ) -> Result<Vec<Result<(), WriteError>>, WriteError> {
        self.write_each(
            changes,
            progress,
            |change, _| {
                let DeliveryChange { before, after } = change;
                let (attrs, unchanged) = versioned(after, before.version);
                let mut writes = vec![invitation_put(after, &attrs, Some(unchanged))];
                // The batch's due pointer stays: the email's retry time, which the cleanup's visit
                // then finds sent and points to its reminders.
                writes.extend(copy_writes(Some(before), after, &attrs));
                (writes, WriteError::Stale)
            },
            |_| Vec::new(),
        )
        .await
    }
}

impl Records {
    /// Releases an invitation's email or uid in the same write, if it still holds it. If it had
    /// expired and moved on to another invitation, it is left alone; should it move on between
    /// this read and the write, the write fails as stale and is retried.
    async fn claim_release(&self, invitation: &Invitation) -> Result<Option<Write>, WriteError> {
        let claim = invitation_claim(invitation);
        let held = self
            .items
            .get(&claim)
            .await
            .map_err(write_error)?
            .is_some_and(|c| c.attrs.get("owner_id") == Some(&json!(invitation.id)));
        Ok(held.then(|| Write::Delete {
            key: claim,
            condition: Some(owned_by(&invitation.id)),
        }))
    }

    /// Writes every record's writes and the import's progress in one batch; when a record's
    /// condition fails, that record is answered with the refusal `writes_of` gives for the failing
    /// write's index within it, and the batch is tried again without it. The import's own
    /// condition failing stops everything (`Stale`).
    async fn write_each<T>(
        &self,
        records: &[T],
        progress: ImportProgress<'_>,
        writes_of: impl Fn(&T, Option<usize>) -> (Vec<Write>, WriteError),
        shared: impl Fn(&[&T]) -> Vec<Write>,
    ) -> Result<Vec<Result<(), WriteError>>, WriteError> {
        let mut refused: Vec<Option<WriteError>> = records.iter().map(|_| None).collect();
        loop {
            let mut writes = vec![import_write(progress)];
            // For each write after the first: whose it is, and its index among that record's.
            let mut owners = vec![(usize::MAX, 0)];
            let mut written = Vec::with_capacity(records.len());
            for (i, record) in records.iter().enumerate() {
                if refused[i].is_some() {
                    continue;
                }
                let (own, _) = writes_of(record, None);
                owners.extend((0..own.len()).map(|j| (i, j)));
                writes.extend(own);
                written.push(record);
            }
            // Writes of the batch as a whole come last, owned by nobody.
            writes.extend(shared(&written));
            match self.write(writes).await {
                Ok(()) => break,
                Err(ItemError::ConditionFailed { index: 0 }) => return Err(WriteError::Stale),
                Err(ItemError::ConditionFailed { index }) => match owners.get(index) {
                    Some(&(i, j)) if i < records.len() => {
                        refused[i] = Some(writes_of(&records[i], Some(j)).1);
                    }
                    _ => return Err(WriteError::Stale),
                },
                Err(e) => return Err(write_error(e)),
            }
        }
        Ok(refused
            .into_iter()
            .map(|r| match r {
                None => Ok(()),
                Some(e) => Err(e),
            })
            .collect())
    }
}

#[async_trait]
impl LinkStore for Records {
    async fn invitation_link(&self, org: &OrgDomain) -> Result<Option<InvitationLink>, StoreError> {
        self.get(&keys::invitation_link(org)).await
    }

    async fn save_invitation_link(
        &self,
        link: &InvitationLink,
        read_version: Option<u64>,
    ) -> Result<(), WriteError> {
        let (attrs, condition) = match read_version {
            None => {
                let mut attrs = encode(link);
                attrs.insert(VERSION.into(), json!(0));
                (attrs, Condition::NotExists)
            }
            Some(v) => versioned(link, v),
        };
        self.write(vec![put(
            keys::invitation_link(&link.org),
            attrs,
            Some(condition),
        )])
        .await
        .map_err(write_error)
    }

    async fn register_through_link(
        &self,
        link: &InvitationLink,
        invitation: &Invitation,
    ) -> Result<(), WriteError> {
        let mut writes = invitation_writes(invitation, true);
        let mut still = vec![
            Condition::Equals("token_hash".into(), json!(link.token_hash)),
            Condition::Equals("active".into(), json!(true)),
        ];
        if let Some(max) = link.max_uses {
            still.push(Condition::Below("uses".into(), i64::from(max)));
        }
        writes.push(Write::Update {
            key: keys::invitation_link(&link.org),
            add: vec![("uses".into(), 1), (VERSION.into(), 1)],
            set: Attrs::new(),
            condition: Some(Condition::All(still)),
        });
        let last = writes.len() - 1;
        match self.write(writes).await {
            Ok(()) => Ok(()),
            Err(ItemError::ConditionFailed { index: 0 }) => Err(taken(&invitation.invitee)),
            Err(ItemError::ConditionFailed { index }) if index == last => Err(WriteError::Stale),
            Err(ItemError::ConditionFailed { .. }) => Err(WriteError::AlreadyExists),
            Err(e) => Err(write_error(e)),
        }
    }
}

#[async_trait]
impl ScheduleStore for Records {
    async fn due_invitations(
        &self,
        now: Timestamp,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DueEntry>, StoreError> {
        let chunk = self
            .items
            .query(&Query {
                index: None,
                pk: keys::DUE_PK.into(),
                sk_prefix: String::new(),
                after: after.map(str::to_string),
                limit: limit.max(1),
                descending: false,
            })
            .await
            .map_err(unavailable)?;
        let mut pointers = Vec::with_capacity(chunk.items.len());
        for item in chunk.items {
            let due = item
                .key
                .sk
                .split_once('#')
                .and_then(|(t, _)| t.parse::<i64>().ok());
            if due.is_none_or(|t| t > now.unix_seconds()) {
                break;
            }
            let org: OrgDomain =
                serde_json::from_value(item.attrs.get("org").cloned().unwrap_or(Value::Null))
                    .map_err(|e| StoreError::Unavailable(format!("corrupt due entry: {e}")))?;
            let ids: Vec<InvitationId> = serde_json::from_value(
                item.attrs
                    .get("invitations")
                    .cloned()
                    .unwrap_or(Value::Null),
            )
            .map_err(|e| StoreError::Unavailable(format!("corrupt due entry: {e}")))?;
            pointers.push((item.key.sk, org, ids));
        }
        let keys: Vec<Key> = pointers
            .iter()
            .flat_map(|(_, org, ids)| ids.iter().map(|id| keys::invitation(org, id)))
            .collect();
        let mut found = Vec::with_capacity(keys.len());
        for part in keys.chunks(100) {
            found.extend(self.items.get_many(part).await.map_err(unavailable)?);
        }
        let mut found = found.into_iter();
        let mut due = Vec::with_capacity(pointers.len());
        for (entry, org, ids) in pointers {
            let mut invitations = Vec::with_capacity(ids.len());
            for id in ids {
                let invitation = match found.next().flatten() {
                    Some(item) => Some(decode::<Invitation>(item.attrs)?),
                    None => None,
                };
                invitations.push((id, invitation));
            }
            due.push(DueEntry {
                entry,
                org,
                invitations,
            });
        }
        Ok(due)
    }

    async fn settle_due_entry(
        &self,
        entry: &DueEntry,
        current: &[&Invitation],
    ) -> Result<(), StoreError> {
        let key = Key::new(keys::DUE_PK, entry.entry.as_str());
        let mut writes = Vec::new();
        let mut kept = false;
        for invitation in current {
            if let Some(own) = due_key(invitation) {
                kept |= own == key;
                writes.push(due_pointer(own, &invitation.org, &[&invitation.id]));
            }
        }
        if !kept {
            writes.push(Write::Delete {
                key,
                condition: None,
            });
        }
        for part in writes.chunks(100) {
            self.write(part.to_vec()).await.map_err(unavailable)?;
        }
        Ok(())
    }

    async fn remove_invitation(&self, invitation: &Invitation) -> Result<(), WriteError> {
        let mut writes = vec![Write::Delete {
            key: keys::invitation(&invitation.org, &invitation.id),
            condition: Some(Condition::Equals(VERSION.into(), json!(invitation.version))),
        }];
        writes.extend(
            list_keys(invitation)
                .into_iter()
                .chain(due_key(invitation))
                .map(|key| Write::Delete {
                    key,
                    condition: None,
                }),
        );
        writes.push(Write::Delete {
            key: credential_key(&invitation.invitee),
            condition: None,
        });
        writes.extend(self.claim_release(invitation).await?);
        self.write(writes).await.map_err(write_error)
    }
}
