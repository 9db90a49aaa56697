//! What the checks share: the imports every module uses, fresh keys and records, and the reads
//! the use cases make.

#![allow(unused_imports)]

pub use serde_json::{json, Value};
pub use std::sync::Arc;

pub use gatehouse_domain::access_code::{AccessCode, AccessCodeKeys};
pub use gatehouse_domain::clock::Timestamp;
pub use gatehouse_domain::events::ChangeEvents;
pub use gatehouse_domain::lifecycle::Lifecycle;
pub use gatehouse_domain::model::{
    Delivery, EmailChange, Group, Import, ImportCounts, ImportState, Invitation, InvitationKind,
    InvitationLink, InvitationState, InvitationStatus, Invitee, Org, PasswordReset, Session,
    Settings, User,
};
pub use gatehouse_domain::password::PasswordDigest;
pub use gatehouse_domain::ports::{
    Acceptance, AccountKey, AttemptStore, AttemptsChange, Claim, Credential, DeliveryChange,
    DueEntry, GroupStore, ImportProgress, ImportStore, InvitationQuery, InvitationStore, LinkStore,
    Lookup, LookupStore, OrgStore, PageRequest, RequestClaim, RequestStore, ScheduleStore,
    SessionStore, StoreError, StoredAnswer, UserQuery, UserStore, UserUpdate, WriteError,
    DELIVERIES_PER_WRITE, INVITATIONS_PER_WRITE,
};
pub use gatehouse_domain::secret::{OsRandomness, Randomness, SecretToken};
pub use gatehouse_domain::throttle::Attempts;
pub use gatehouse_domain::types::{
    EmailAddress, GroupName, InviteeRole, OrgDomain, PersonName, Role, Uid, UserId,
};

pub use gatehouse_store::{
    Attrs, Condition, CountingItems, Index, Item, ItemError, ItemStore, Key, Query, Records, Write,
};

pub(crate) fn random() -> &'static dyn Randomness {
    &OsRandomness
}

/// A partition key no other test uses, so tests may share a backend.
pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}#{}", random().user_id())
}

pub(crate) fn item(pk: &str, sk: &str, attrs: Value) -> Item {
    let Value::Object(attrs) = attrs else {
        panic!("attrs must be an object")
    };
    Item {
        key: Key::new(pk, sk),
        attrs,
    }
}

pub(crate) fn put(item: Item, condition: Option<Condition>) -> Write {
    Write::Put { item, condition }
}

/// The lookups the use cases make, as they make them: a credential or an identifier found in one
/// batched read ([`LookupStore::look_up`]), then the record it names.
pub(crate) trait UseCaseReads {
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

/// The invitation a credential names, found as the use cases find it.
pub(crate) async fn invitation_by(
    records: &Records,
    org: &OrgDomain,
    credential: Credential,
) -> Result<Option<Invitation>, StoreError> {
    let lookup = Lookup {
        credential: Some(credential.clone()),
        ..Lookup::default()
    };
    match records.look_up(org, &lookup).await?.credential_of {
        Some(id) => records.invitation_holding(org, &id, &credential).await,
        None => Ok(None),
    }
}

impl UseCaseReads for Records {
    async fn invitation_by_token(
        &self,
        org: &OrgDomain,
        token: &gatehouse_domain::secret::TokenHash,
    ) -> Result<Option<Invitation>, StoreError> {
        invitation_by(self, org, Credential::LinkToken(token.clone())).await
    }

    async fn invitation_by_code(
        &self,
        org: &OrgDomain,
        code: &gatehouse_domain::access_code::CodeHash,
    ) -> Result<Option<Invitation>, StoreError> {
        invitation_by(self, org, Credential::AccessCode(code.clone())).await
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

pub(crate) fn org_domain() -> OrgDomain {
    let id = random().user_id();
    OrgDomain::parse(&format!("o{}", &id.as_str()[..12])).unwrap()
}

pub(crate) fn name(s: &str) -> PersonName {
    PersonName::parse(s).unwrap()
}

pub(crate) fn org(domain: &OrgDomain) -> Org {
    Org {
        domain: domain.clone(),
        settings: Settings::default(),
        created_at: Timestamp::from_unix_seconds(1_000),
        version: 0,
    }
}

pub(crate) fn user(domain: &OrgDomain, email: &str, role: Role) -> User {
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
        status: Default::default(),
        deactivated_at: None,
        last_sign_in_at: None,
        totp: None,
        passkeys: Vec::new(),
    }
}

pub(crate) fn invitation(
    domain: &OrgDomain,
    email: &str,
    now: i64,
    token: &SecretToken,
) -> Invitation {
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

pub(crate) async fn new_org(records: &Records) -> (OrgDomain, User) {
    let domain = org_domain();
    let admin = user(&domain, "admin@example.com", Role::Admin);
    records
        .create_org(&org(&domain), &[], &admin, &ChangeEvents::none())
        .await
        .unwrap();
    (domain, admin)
}

pub(crate) fn session_for(user: &User) -> Session {
    Session {
        org: user.org.clone(),
        user_id: user.id.clone(),
        role: user.role,
        token_hash: SecretToken::generate(random()).hash(),
        created_at: Timestamp::from_unix_seconds(2_000),
        expires_at: Timestamp::from_unix_seconds(9_000),
        amr: vec!["pwd".into()],
    }
}

/// The acceptance of `inv` as read: its credential is spent, an account with its email or uid made.
pub(crate) fn acceptance(inv: &Invitation) -> Acceptance {
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
        events: ChangeEvents::none(),
    }
}

pub(crate) fn uid_invitation(
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
pub(crate) fn with_old_token(inv: &Invitation, token: &SecretToken) -> Invitation {
    let mut changed = inv.clone();
    changed.invitee = Invitee::Email {
        email: inv.invitee.email().unwrap().clone(),
        token_hash: token.hash(),
    };
    changed
}

pub(crate) fn code_keys() -> AccessCodeKeys {
    AccessCodeKeys::from_text(&AccessCodeKeys::generate_secret(random())).unwrap()
}
