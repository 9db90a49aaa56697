//! The records Gatehouse keeps: organisations and their settings, groups, users, invitations and
//! sessions. Records carry a `version` so that stores can refuse lost updates.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::access_code::{CodeHash, SealedCode};
use crate::clock::Timestamp;
use crate::password::{PasswordDigest, PasswordPolicy};
use crate::secret::TokenHash;
use crate::types::{
    EmailAddress, EmailDomain, GroupId, GroupName, InvitationId, InviteeRole, OrgDomain, OrgName,
    PersonName, PersonalMessage, Role, Uid, UserId,
};

/// An organisation ("platform").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Org {
    pub domain: OrgDomain,
    pub settings: Settings,
    pub created_at: Timestamp,
    #[serde(default)]
    pub version: u64,
}

/// An organisation in the operators' list of every organisation (`gatehouse-admin list-orgs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgEntry {
    pub domain: OrgDomain,
    pub created_at: Timestamp,
}

impl Org {
    /// How people read the organisation's name: its display name, else its domain.
    pub fn name(&self) -> &str {
        self.settings
            .display_name
            .as_ref()
            .map_or(self.domain.as_str(), |n| n.as_str())
    }
}

/// What an organisation's admins decide ("authorisations").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Enables identifier (uid) invitations, access codes and `uid:domain` sign-in.
    pub sign_up_without_email: bool,
    /// If non-empty, member invitations by email go only to these domains.
    pub allowed_email_domains: Vec<EmailDomain>,
    /// Groups every new member joins (guests never do).
    pub default_groups: Vec<GroupId>,
    /// Default personal message put in invitation emails.
    pub invitation_message: Option<PersonalMessage>,
    /// How long an invitation stays valid, in days.
    pub invitation_ttl_days: u32,
    /// Minimum password length in characters (never below 8).
    pub password_min_length: u32,
    /// The organisation's name as people read it in emails and pages; its domain when unset.
    pub display_name: Option<OrgName>,
    /// Members may invite by email, as members or guests (see [`crate::permissions`]).
    pub members_can_invite: bool,
    /// Group admins may invite by email into the groups they administer.
    pub group_admins_can_invite: bool,
    /// Visitors may register themselves as members (confirming their email address first).
    pub self_registration: bool,
    /// Days after sending when a pending invitation is reminded, ascending; empty: no reminders.
    pub reminder_days: Vec<u32>,
    /// The language of emails when nobody chose one (an invitation may choose its own).
    pub language: crate::types::Language,
    /// Invitations (and resends) a member or group admin may send in an hour.
    pub invitations_per_hour: u32,
    /// Invitations (and resends) an admin may send in an hour (imports have their own budget).
    pub admin_invitations_per_hour: u32,
    /// Times one address (or identifier) may be invited or re-invited in a day, whoever asks.
    pub invitations_per_address_per_day: u32,
    /// Networks (an office's NAT) whose sign-ins share a larger allowance of failures than a
    /// single stranger's address.
    pub trusted_networks: Vec<crate::types::TrustedNetwork>,
    /// The application people are signed in to right after signing up (OpenID Connect
    /// third-party-initiated login at its `initiate_login_uri`); the welcome page when unset.
    pub sign_up_client: Option<crate::types::ClientId>,
    /// The roles whose people must have a second factor: one without is asked to set one up
    /// right after their password, before any session.
    pub mfa_required_for: Vec<Role>,
}

impl Settings {
    pub const DEFAULT_INVITATION_TTL_DAYS: u32 = 30;
    pub const MAX_INVITATION_TTL_DAYS: u32 = 365;
    /// The largest minimum password length an organisation may require.
    pub const MAX_PASSWORD_MIN_LENGTH: u32 = 64;
    pub const DEFAULT_REMINDER_DAYS: [u32; 4] = [1, 2, 7, 14];
    /// At most this many reminders, each 1 to 365 days after sending.
    pub const MAX_REMINDERS: usize = 8;
    pub const DEFAULT_INVITATIONS_PER_HOUR: u32 = 20;
    pub const MAX_INVITATIONS_PER_HOUR: u32 = 1_000;
    pub const DEFAULT_ADMIN_INVITATIONS_PER_HOUR: u32 = 500;
    pub const MAX_ADMIN_INVITATIONS_PER_HOUR: u32 = 10_000;
    pub const DEFAULT_INVITATIONS_PER_ADDRESS_PER_DAY: u32 = 3;
    pub const MAX_INVITATIONS_PER_ADDRESS_PER_DAY: u32 = 20;
    pub const MAX_TRUSTED_NETWORKS: usize = 20;

    pub fn invitation_ttl(&self) -> Duration {
        Duration::from_secs(
            u64::from(
                self.invitation_ttl_days
                    .clamp(1, Self::MAX_INVITATION_TTL_DAYS),
            ) * 86_400,
        )
    }

    pub fn password_policy(&self) -> PasswordPolicy {
        PasswordPolicy::new(
            usize::try_from(self.password_min_length).unwrap_or(PasswordPolicy::DEFAULT_MIN),
        )
    }

    /// Whether a member may be invited at this address.
    pub fn allows_member_email(&self, email: &EmailAddress) -> bool {
        self.allowed_email_domains.is_empty()
            || self
                .allowed_email_domains
                .iter()
                .any(|d| d.as_str() == email.domain())
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            sign_up_without_email: false,
            allowed_email_domains: Vec::new(),
            default_groups: Vec::new(),
            invitation_message: None,
            invitation_ttl_days: Self::DEFAULT_INVITATION_TTL_DAYS,
            password_min_length: u32::try_from(PasswordPolicy::DEFAULT_MIN).unwrap_or(12),
            display_name: None,
            members_can_invite: false,
            group_admins_can_invite: false,
            self_registration: false,
            reminder_days: Self::DEFAULT_REMINDER_DAYS.to_vec(),
            language: crate::types::Language::En,
            invitations_per_hour: Self::DEFAULT_INVITATIONS_PER_HOUR,
            admin_invitations_per_hour: Self::DEFAULT_ADMIN_INVITATIONS_PER_HOUR,
            invitations_per_address_per_day: Self::DEFAULT_INVITATIONS_PER_ADDRESS_PER_DAY,
            trusted_networks: Vec::new(),
            mfa_required_for: Vec::new(),
            sign_up_client: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub name: GroupName,
    pub created_at: Timestamp,
    /// Members who administer the group (see [`crate::permissions`]).
    #[serde(default)]
    pub admins: Vec<UserId>,
    #[serde(default)]
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub org: OrgDomain,
    pub email: Option<EmailAddress>,
    /// Users without email sign in with `uid:domain`.
    #[serde(default)]
    pub uid: Option<Uid>,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub role: Role,
    pub groups: Vec<GroupId>,
    pub password: PasswordDigest,
    pub created_at: Timestamp,
    #[serde(default)]
    pub version: u64,
    /// Moves on at every password change (reset, own change, set by an admin): a reset link
    /// works only while the password it was issued against is still the one in place.
    #[serde(default)]
    pub password_epoch: u64,
    /// Deactivated accounts cannot sign in, and none of their sessions or grants works.
    #[serde(default)]
    pub status: UserStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivated_at: Option<Timestamp>,
    /// When they last opened a session with their password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sign_in_at: Option<Timestamp>,
    /// Their authenticator app, once they began to enrol one. On the account's own record, so
    /// that a sign-in reads it with the password, and a code is used once by the record's
    /// version condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpFactor>,
    /// Their passkeys (at most [`crate::passkey::MAX_PASSKEYS`]): each signs them in alone, and
    /// stands as a second factor behind their password.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passkeys: Vec<crate::passkey::PasskeyCredential>,
}

/// An authenticator app (TOTP) of a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpFactor {
    /// The shared secret, encrypted with the access-code key.
    pub sealed_secret: crate::access_code::SealedCode,
    pub created_at: Timestamp,
    /// When a first code proved the app holds the secret; until then it is not a factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<Timestamp>,
    /// The step of the last code accepted: no code of it or of an earlier step counts again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_step: Option<u64>,
    /// The unused recovery codes, hashed (SHA-256 of the code as normalised); each goes when used.
    #[serde(default)]
    pub recovery_hashes: Vec<String>,
}

impl TotpFactor {
    pub fn is_confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

impl User {
    /// Whether an enrolled authenticator app or a passkey stands behind their password.
    pub fn has_second_factor(&self) -> bool {
        !self.second_factors().is_empty()
    }

    /// The kinds of second factor they have, as the API names them.
    pub fn second_factors(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        if self.totp.as_ref().is_some_and(TotpFactor::is_confirmed) {
            kinds.push("totp");
        }
        if !self.passkeys.is_empty() {
            kinds.push("passkey");
        }
        kinds
    }

    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }

    /// What the person is found by in a list's search: their full name, each name, their email
    /// and their uid, as [`search_prefix`] writes a search — leaving out any that begins another
    /// (the first name begins the full name), so that fewer entries match one search twice.
    pub fn search_terms(&self) -> Vec<String> {
        let first = search_prefix(self.first_name.as_str());
        let last = search_prefix(self.last_name.as_str());
        let mut terms = vec![format!("{first} {last}"), first, last];
        terms.extend(self.email.as_ref().map(|e| e.normalized()));
        terms.extend(self.uid.as_ref().map(|u| u.normalized()));
        terms.sort();
        terms.dedup();
        let all = terms.clone();
        terms.retain(|t| !all.iter().any(|o| o != t && o.starts_with(t.as_str())));
        terms
    }
}

/// A search as the entries are written: lower case, words separated by one space.
pub fn search_prefix(raw: &str) -> String {
    raw.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Whether an account may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    #[default]
    Active,
    /// Suspended by an admin (someone who left): no sign-in, no session, no mail.
    Deactivated,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deactivated => "deactivated",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, crate::types::ParseError> {
        match raw {
            "active" => Ok(Self::Active),
            "deactivated" => Ok(Self::Deactivated),
            _ => Err(crate::types::ParseError::new(
                "invalid_status",
                "status must be `active` or `deactivated`",
            )),
        }
    }
}

/// Who is invited, and the single-use credential they sign up with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Invitee {
    /// Reached by email; signs up through the link, whose token's hash this is.
    Email {
        email: EmailAddress,
        token_hash: TokenHash,
    },
    /// Without email (needs `sign_up_without_email`); signs up with an access code that only
    /// admins see. The code is kept encrypted and found by its keyed hash.
    Uid {
        uid: Uid,
        access_code: SealedCode,
        code_hash: CodeHash,
    },
}

impl Invitee {
    pub fn kind(&self) -> InvitationKind {
        match self {
            Invitee::Email { .. } => InvitationKind::Email,
            Invitee::Uid { .. } => InvitationKind::Uid,
        }
    }

    pub fn email(&self) -> Option<&EmailAddress> {
        match self {
            Invitee::Email { email, .. } => Some(email),
            Invitee::Uid { .. } => None,
        }
    }

    pub fn uid(&self) -> Option<&Uid> {
        match self {
            Invitee::Uid { uid, .. } => Some(uid),
            Invitee::Email { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationKind {
    Email,
    Uid,
}

impl InvitationKind {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "email" => Some(Self::Email),
            "uid" => Some(Self::Uid),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Uid => "uid",
        }
    }
}

/// The stored state: pending → accepted | revoked. `Expired` is not stored; it is what a pending
/// invitation past its `expires_at` is (see [`Invitation::status_at`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum InvitationState {
    Pending,
    Accepted { user_id: UserId, at: Timestamp },
    Revoked { at: Timestamp },
}

/// What a client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl InvitationStatus {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "accepted" => Some(Self::Accepted),
            "revoked" => Some(Self::Revoked),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

/// Whether the invitation email went out. `Queued` means it was saved but not (yet) handed to
/// the mail service: a resend or a retry sends it; it is never lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Queued,
    Sent,
    /// Nothing is mailed: an admin hands the access code over (identifier invitations).
    Manual,
    /// The mail service reported that the address does not take mail: no reminders follow.
    Bounced,
    /// The invitee marked the email as spam: no reminders follow.
    Complained,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Manual => "manual",
            Self::Bounced => "bounced",
            Self::Complained => "complained",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: InvitationId,
    pub org: OrgDomain,
    pub invitee: Invitee,
    pub role: InviteeRole,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub groups: Vec<GroupId>,
    pub message: Option<PersonalMessage>,
    /// Who invited (`None`: the person registered themselves).
    pub invited_by: Option<UserId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub state: InvitationState,
    pub delivery: Delivery,
    /// History, reminders, retries and expiry (see [`crate::lifecycle`]).
    #[serde(default)]
    pub lifecycle: crate::lifecycle::Lifecycle,
    #[serde(default)]
    pub version: u64,
}

impl Invitation {
    pub fn status_at(&self, now: Timestamp) -> InvitationStatus {
        match self.state {
            InvitationState::Pending if now >= self.expires_at => InvitationStatus::Expired,
            InvitationState::Pending => InvitationStatus::Pending,
            InvitationState::Accepted { .. } => InvitationStatus::Accepted,
            InvitationState::Revoked { .. } => InvitationStatus::Revoked,
        }
    }

    /// The groups an account made from this invitation joins: a member joins the org's default
    /// groups and the invited ones; a guest only the invited ones.
    pub fn groups_on_acceptance(&self, settings: &Settings) -> Vec<GroupId> {
        let mut groups = Vec::new();
        if self.role == InviteeRole::Member {
            groups.extend(settings.default_groups.iter().cloned());
        }
        groups.extend(self.groups.iter().cloned());
        let mut seen = std::collections::HashSet::new();
        groups.retain(|g| seen.insert(g.clone()));
        groups
    }
}

/// A signed-in session. Stored under its token's hash; the clear token is only ever in the
/// client's hands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub org: OrgDomain,
    pub user_id: UserId,
    pub role: Role,
    pub token_hash: TokenHash,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// How the person proved who they are (RFC 8176 values: `pwd`, `otp`, `mfa`…); empty for
    /// sessions made before it was kept (a password).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gid(n: u8) -> GroupId {
        GroupId::parse(&format!("{n:032x}")).unwrap()
    }

    fn invitation(role: InviteeRole, groups: Vec<GroupId>) -> Invitation {
        Invitation {
            id: InvitationId::parse(&"1".repeat(32)).unwrap(),
            org: OrgDomain::parse("demo").unwrap(),
            invitee: Invitee::Email {
                email: EmailAddress::parse("a@example.com").unwrap(),
                token_hash: serde_json::from_value(serde_json::json!("00")).unwrap(),
            },
            role,
            first_name: PersonName::parse("A").unwrap(),
            last_name: PersonName::parse("B").unwrap(),
            groups,
            message: None,
            invited_by: Some(UserId::parse(&"2".repeat(32)).unwrap()),
            created_at: Timestamp::from_unix_seconds(0),
            expires_at: Timestamp::from_unix_seconds(100),
            state: InvitationState::Pending,
            delivery: Delivery::Queued,
            lifecycle: crate::lifecycle::Lifecycle::default(),
            version: 0,
        }
    }

    #[test]
    fn members_join_default_groups_and_guests_do_not() {
        let settings = Settings {
            default_groups: vec![gid(1)],
            ..Settings::default()
        };
        assert_eq!(
            invitation(InviteeRole::Member, vec![gid(2), gid(1)]).groups_on_acceptance(&settings),
            vec![gid(1), gid(2)]
        );
        assert_eq!(
            invitation(InviteeRole::Guest, vec![gid(2)]).groups_on_acceptance(&settings),
            vec![gid(2)]
        );
    }

    #[test]
    fn pending_invitations_expire_at_their_deadline() {
        let inv = invitation(InviteeRole::Member, vec![]);
        assert_eq!(
            inv.status_at(Timestamp::from_unix_seconds(99)),
            InvitationStatus::Pending
        );
        assert_eq!(
            inv.status_at(Timestamp::from_unix_seconds(100)),
            InvitationStatus::Expired
        );
    }

    #[test]
    fn allowed_domains_restrict_member_emails() {
        let mut s = Settings::default();
        let e = EmailAddress::parse("x@Partner.org").unwrap();
        assert!(s.allows_member_email(&e));
        s.allowed_email_domains = vec![EmailDomain::parse("example.com").unwrap()];
        assert!(!s.allows_member_email(&e));
        s.allowed_email_domains
            .push(EmailDomain::parse("partner.org").unwrap());
        assert!(s.allows_member_email(&e));
    }
}

/// A pending password reset: the hash of the token mailed to the user, valid for an hour, once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasswordReset {
    pub org: OrgDomain,
    pub user_id: UserId,
    pub token_hash: TokenHash,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The user's [`User::password_epoch`] when the link was issued; any password change since
    /// voids the link.
    #[serde(default)]
    pub password_epoch: u64,
}

/// A change of a person's email waiting for its confirmation: the hash of the token mailed to the
/// new address, valid for 24 hours, once, and only while the account still has the address it had
/// when the change was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailChange {
    pub org: OrgDomain,
    pub user_id: UserId,
    pub token_hash: TokenHash,
    /// The address the account had when the change was asked for.
    pub from: EmailAddress,
    pub to: EmailAddress,
    /// The admin who asked for it (`None`: the person themselves).
    pub requested_by: Option<UserId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What is left to do of an erasure once the account is gone: finding the invitations that held
/// the person's address (by its hash: the address itself is not kept) and redacting their
/// events in the log and in webhook deliveries, shard by shard. Written with the account's
/// erasure, moved on from the `version` read, deleted when done; the erasure's request goes as far
/// as its time allows and the scheduled cleanup does the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErasureJob {
    pub org: OrgDomain,
    pub user_id: UserId,
    /// sha256 of each normalised email and uid the account had.
    pub hashes: Vec<String>,
    pub started_at: Timestamp,
    /// The invitations that held the person's address or were accepted by them, once found.
    #[serde(default)]
    pub invitations: Option<Vec<InvitationId>>,
    /// Per shard of the log, the last record looked at.
    #[serde(default)]
    pub log_after: Vec<Option<String>>,
    /// Shards swept to the end.
    #[serde(default)]
    pub log_done: Vec<bool>,
    #[serde(default)]
    pub version: u64,
}

/// A bulk import of invitations from a spreadsheet: asked for by an admin, filled by one upload,
/// processed once (at least once delivered, at most once applied), kept with its counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Import {
    pub id: crate::types::ImportId,
    pub org: OrgDomain,
    pub created_by: UserId,
    /// The admin's name as the invitation emails give it.
    #[serde(default)]
    pub created_by_name: Option<String>,
    /// The admin's address, where replies to the invitation emails go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_email: Option<crate::types::EmailAddress>,
    pub created_at: Timestamp,
    /// The upload URL works until then.
    pub upload_expires_at: Timestamp,
    /// Only check the rows and report; create nothing.
    pub dry_run: bool,
    pub state: ImportState,
    pub counts: ImportCounts,
    /// The first rows skipped or not mailed, with their reasons (the report has them all).
    /// Row numbers and codes only: nothing of the people named in the file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<RowProblem>,
    #[serde(default)]
    pub version: u64,
}

/// A row of an import that was skipped or whose invitation email did not go out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowProblem {
    /// The row's number in the spreadsheet (the header is row 1).
    pub row: u32,
    /// Why: a skipped row's reason (`invalid_email`, `unknown_group`, …), or `mail_not_sent`.
    pub code: String,
    /// Invited, but its email not sent yet (else skipped).
    pub failed: bool,
}

/// How many problem rows an import keeps for its page and API answer.
pub const ROW_PROBLEMS_KEPT: usize = 50;

/// Where an import is. `waiting_upload` → `processing` → `completed`, or → `refused` when the
/// file as a whole cannot be read. Moves only forward, each step a conditional write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ImportState {
    WaitingUpload,
    Processing {
        started_at: Timestamp,
        /// Another delivery of the upload event may take over after this instant (the worker
        /// that held it is presumed dead); before it, it leaves the import alone.
        lease_until: Timestamp,
        /// Data rows in the file, and how many of them are decided and saved so far.
        rows: u32,
        rows_done: u32,
    },
    Completed {
        finished_at: Timestamp,
        rows: u32,
    },
    Refused {
        finished_at: Timestamp,
        code: String,
        message: String,
    },
}

impl ImportState {
    pub fn name(&self) -> &'static str {
        match self {
            Self::WaitingUpload => "waiting_upload",
            Self::Processing { .. } => "processing",
            Self::Completed { .. } => "completed",
            Self::Refused { .. } => "refused",
        }
    }
}

/// What became of an import's rows. `valid` rows passed every check; of those, `created` were
/// invited (and mailed, or given an access code) and `failed` were invited but their email could
/// not be sent yet (the invitation is kept, queued for a resend). `skipped` rows were not
/// invited, each with its reason in the report. A dry run only counts `valid` and `skipped`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCounts {
    pub valid: u32,
    pub created: u32,
    pub failed: u32,
    pub skipped: u32,
}

/// The organisation's invitation link: whoever holds it may register (confirming their email
/// address first). One per organisation; activating again makes a new token, so the old link
/// stays dead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationLink {
    pub org: OrgDomain,
    pub token_hash: crate::secret::TokenHash,
    /// The token, sealed with the access-code key, so that admins can see the link again.
    pub sealed_token: crate::access_code::SealedCode,
    /// What a registration through it grants.
    pub role: InviteeRole,
    pub groups: Vec<GroupId>,
    pub expires_at: Option<Timestamp>,
    pub max_uses: Option<u32>,
    /// Registrations through it so far.
    #[serde(default)]
    pub uses: u32,
    pub active: bool,
    pub created_by: UserId,
    pub created_at: Timestamp,
    #[serde(default)]
    pub version: u64,
}

impl InvitationLink {
    /// Whether it can be used at `now` (active, before its expiry, uses left).
    pub fn usable_at(&self, now: Timestamp) -> Result<(), LinkUnusable> {
        if !self.active {
            return Err(LinkUnusable::Inactive);
        }
        if self.expires_at.is_some_and(|e| now >= e) {
            return Err(LinkUnusable::Expired);
        }
        if self.max_uses.is_some_and(|max| self.uses >= max) {
            return Err(LinkUnusable::UsedUp);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkUnusable {
    Inactive,
    Expired,
    UsedUp,
}
