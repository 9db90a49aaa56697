//! Resources as the API shows them: the bodies of its answers, and the `data` of events (which
//! never carry a secret: an invitation's access code is the API's alone, a link's URL too).
//! Their OpenAPI schemas are derived with the `openapi` feature.

use serde::Serialize;

use crate::access_code::AccessCode;
use crate::clock::Timestamp;
use crate::model::{
    Delivery, Group, Import, ImportCounts, ImportState, Invitation, InvitationLink,
    InvitationState, Settings, User,
};

/// An account as clients see it (never its password digest).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: String,
    pub org: String,
    pub email: Option<String>,
    /// For users without email: their identifier…
    pub uid: Option<String>,
    /// …and what they sign in with (`uid:domain`).
    pub sign_in_identifier: Option<String>,
    pub first_name: String,
    pub last_name: String,
    /// `admin`, `member` or `guest`.
    pub role: String,
    pub groups: Vec<String>,
    pub created_at: String,
    /// `active` or `deactivated`.
    pub status: String,
    /// When an admin deactivated the account (absent while it is active).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deactivated_at: Option<String>,
    /// When they last signed in with their password (absent if never).
    pub last_sign_in_at: Option<String>,
    /// What stands behind their password: `totp` (an authenticator app). Empty: the password
    /// alone.
    pub second_factors: Vec<String>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            org: u.org.to_string(),
            email: u.email.as_ref().map(|e| e.to_string()),
            uid: u.uid.as_ref().map(|x| x.to_string()),
            sign_in_identifier: u.uid.as_ref().map(|x| x.sign_in_identifier(&u.org)),
            first_name: u.first_name.to_string(),
            last_name: u.last_name.to_string(),
            role: u.role.as_str().to_string(),
            groups: u.groups.iter().map(|g| g.to_string()).collect(),
            created_at: u.created_at.to_rfc3339(),
            status: u.status.as_str().to_string(),
            deactivated_at: u.deactivated_at.map(|t| t.to_rfc3339()),
            last_sign_in_at: u.last_sign_in_at.map(|t| t.to_rfc3339()),
            second_factors: u.second_factors().iter().map(|f| f.to_string()).collect(),
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

impl From<&Group> for GroupView {
    fn from(g: &Group) -> Self {
        Self {
            id: g.id.to_string(),
            name: g.name.to_string(),
            created_at: g.created_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationView {
    id: String,
    /// `email` or `uid`.
    kind: String,
    email: Option<String>,
    uid: Option<String>,
    /// For `uid` invitations: what the user signs in with once signed up (`uid:domain`).
    sign_in_identifier: Option<String>,
    /// For `uid` invitations, to admins, while the invitation is pending: the code to hand over.
    access_code: Option<String>,
    role: String,
    first_name: String,
    last_name: String,
    groups: Vec<String>,
    message: Option<String>,
    /// `pending`, `accepted`, `revoked` or `expired`.
    status: String,
    /// `sent`; `queued` when the email has not gone out yet (it is retried, never lost);
    /// `manual` for `uid` invitations, whose code an admin hands over; `bounced` or `complained`
    /// when the mail service reported so (no reminders follow).
    #[cfg_attr(feature = "openapi", schema(value_type = DeliveryName))]
    delivery: String,
    /// The inviter's user id; `null` for a self-registration.
    invited_by: Option<String>,
    created_at: String,
    expires_at: String,
    accepted_user_id: Option<String>,
    /// When the next reminder goes out, if one is due before the deadline.
    next_reminder_at: Option<String>,
    /// What happened to it, oldest first (the first and the latest 50 events).
    events: Vec<HistoryEntryView>,
}

/// One entry of an invitation's history.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntryView {
    /// `created`, `sent`, `resent`, `reminded`, `delivery_failed`, `bounced`, `complained`,
    /// `accepted`, `revoked` or `expired`.
    #[cfg_attr(feature = "openapi", schema(value_type = HistoryKindName))]
    kind: String,
    at: String,
    /// Who did it (a user id); `null` for Gatehouse itself, the mail service or the invitee.
    by: Option<String>,
}

/// The kinds of invitation events.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[allow(dead_code)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKindName {
    Created,
    Sent,
    Resent,
    Reminded,
    DeliveryFailed,
    Bounced,
    Complained,
    Accepted,
    Revoked,
    Expired,
}

/// What became of an invitation's email.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[allow(dead_code)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryName {
    Queued,
    Sent,
    Manual,
    Bounced,
    Complained,
}

impl InvitationView {
    /// The invitation at `now`, with its access code when it is given (to admins, through the
    /// API; never in an event).
    pub fn new(i: &Invitation, now: Timestamp, access_code: Option<&AccessCode>) -> Self {
        Self {
            id: i.id.to_string(),
            kind: i.invitee.kind().as_str().into(),
            email: i.invitee.email().map(|e| e.to_string()),
            uid: i.invitee.uid().map(|u| u.to_string()),
            sign_in_identifier: i.invitee.uid().map(|u| u.sign_in_identifier(&i.org)),
            access_code: access_code.map(AccessCode::grouped),
            role: i.role.as_role().as_str().into(),
            first_name: i.first_name.to_string(),
            last_name: i.last_name.to_string(),
            groups: i.groups.iter().map(|g| g.to_string()).collect(),
            message: i.message.as_ref().map(|m| m.to_string()),
            status: i.status_at(now).as_str().into(),
            delivery: i.delivery.as_str().into(),
            invited_by: i.invited_by.as_ref().map(|u| u.to_string()),
            created_at: i.created_at.to_rfc3339(),
            expires_at: i.expires_at.to_rfc3339(),
            accepted_user_id: match &i.state {
                InvitationState::Accepted { user_id, .. } => Some(user_id.to_string()),
                _ => None,
            },
            next_reminder_at: match (&i.state, i.delivery) {
                (InvitationState::Pending, Delivery::Sent) => {
                    i.lifecycle.reminders.first().map(|t| t.to_rfc3339())
                }
                _ => None,
            },
            events: i
                .lifecycle
                .events
                .iter()
                .map(|e| HistoryEntryView {
                    kind: e.kind.as_str().into(),
                    at: e.at.to_rfc3339(),
                    by: e.by.as_ref().map(|u| u.to_string()),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsView {
    /// Identifier (uid) invitations, access codes and `uid:domain` sign-in.
    sign_up_without_email: bool,
    /// If non-empty, member invitations by email only to these domains.
    allowed_email_domains: Vec<String>,
    /// Groups every new member joins.
    default_groups: Vec<String>,
    /// Default personal message in invitation emails.
    invitation_message: Option<String>,
    /// Days an invitation stays valid (1–365).
    invitation_ttl_days: u32,
    /// Minimum password length (8–64).
    password_min_length: u32,
    /// The organisation's name in emails and pages ("Acme"); the domain when absent.
    display_name: Option<String>,
    /// Members may invite by email (as members or guests).
    members_can_invite: bool,
    /// Group admins may invite by email into the groups they administer.
    group_admins_can_invite: bool,
    /// Visitors may register themselves as members, confirming their email address first.
    self_registration: bool,
    /// Days after sending when pending invitations are reminded; empty: no reminders.
    reminder_days: Vec<u32>,
    /// The language of emails when an invitation does not choose one: `en` or `fr`.
    #[cfg_attr(feature = "openapi", schema(value_type = LanguageName))]
    language: String,
    /// Invitations (and resends) a member or group admin may send in an hour (1–1000).
    invitations_per_hour: u32,
    /// Invitations (and resends) an admin may send in an hour (1–10000); imports have their own.
    admin_invitations_per_hour: u32,
    /// Times one address or identifier may be invited or re-invited in a day (1–20).
    invitations_per_address_per_day: u32,
    /// Networks (CIDRs) whose sign-ins share a larger allowance of wrong passwords than one
    /// stranger's address: an office behind one NAT.
    trusted_networks: Vec<String>,
    /// The application (`client_id`) people are signed in to right after signing up, through
    /// its `initiate_login_uri`; absent: the welcome page.
    sign_up_client: Option<String>,
    /// The roles (`admin`, `member`, `guest`) whose people must have a second factor: one without
    /// sets up an authenticator app right after their password, before any session.
    mfa_required_for: Vec<String>,
}

impl From<&Settings> for SettingsView {
    fn from(s: &Settings) -> Self {
        Self {
            sign_up_without_email: s.sign_up_without_email,
            allowed_email_domains: s
                .allowed_email_domains
                .iter()
                .map(|d| d.to_string())
                .collect(),
            default_groups: s.default_groups.iter().map(|g| g.to_string()).collect(),
            invitation_message: s.invitation_message.as_ref().map(|m| m.to_string()),
            invitation_ttl_days: s.invitation_ttl_days,
            password_min_length: s.password_min_length,
            display_name: s.display_name.as_ref().map(|n| n.to_string()),
            members_can_invite: s.members_can_invite,
            group_admins_can_invite: s.group_admins_can_invite,
            self_registration: s.self_registration,
            reminder_days: s.reminder_days.clone(),
            language: s.language.as_str().to_string(),
            invitations_per_hour: s.invitations_per_hour,
            admin_invitations_per_hour: s.admin_invitations_per_hour,
            invitations_per_address_per_day: s.invitations_per_address_per_day,
            trusted_networks: s.trusted_networks.iter().map(|n| n.to_string()).collect(),
            sign_up_client: s.sign_up_client.as_ref().map(|c| c.to_string()),
            mfa_required_for: s
                .mfa_required_for
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkView {
    /// The link to hand out, while it is active.
    url: Option<String>,
    active: bool,
    role: String,
    groups: Vec<String>,
    expires_at: Option<String>,
    max_uses: Option<u32>,
    /// Registrations through it so far.
    uses: u32,
    created_at: String,
    created_by: String,
}

impl From<crate::usecase::invitation_link::LinkView> for LinkView {
    fn from(v: crate::usecase::invitation_link::LinkView) -> Self {
        let l = v.link;
        Self {
            url: v.url,
            active: l.active,
            role: l.role.as_role().as_str().to_string(),
            groups: l.groups.iter().map(|g| g.to_string()).collect(),
            expires_at: l.expires_at.map(|t| t.to_rfc3339()),
            max_uses: l.max_uses,
            uses: l.uses,
            created_at: l.created_at.to_rfc3339(),
            created_by: l.created_by.to_string(),
        }
    }
}

impl LinkView {
    /// The link without its URL (which carries its token): as events show it.
    pub fn without_url(link: &InvitationLink) -> Self {
        Self::from(crate::usecase::invitation_link::LinkView {
            link: link.clone(),
            url: None,
        })
    }
}

/// A language Gatehouse writes emails in: `en` or `fr`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LanguageName {
    En,
    Fr,
}

/// What became of the rows so far.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountsView {
    /// Rows that passed every check (for a dry run: would be invited).
    valid: u32,
    /// Invited: mailed, or given an access code.
    created: u32,
    /// Invited, but the email could not be sent yet (kept queued; resend later).
    failed: u32,
    /// Not invited, each with its reason in the report.
    skipped: u32,
}

impl From<ImportCounts> for CountsView {
    fn from(c: ImportCounts) -> Self {
        Self {
            valid: c.valid,
            created: c.created,
            failed: c.failed,
            skipped: c.skipped,
        }
    }
}

/// Why a whole file was refused.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefusalView {
    /// `file_too_large`, `file_unpacks_too_large`, `not_a_spreadsheet`, `file_encrypted`,
    /// `file_corrupt`, `no_header_row`, `too_many_rows`.
    code: String,
    message: String,
}

/// An import as it stands.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportStatusView {
    import_id: String,
    /// `waiting_upload`, `processing`, `completed` or `refused`.
    status: &'static str,
    dry_run: bool,
    created_at: String,
    /// The admin who started it.
    created_by: String,
    /// The upload URL works until then.
    upload_expires_at: String,
    /// Data rows in the file, once it is read.
    rows: Option<u32>,
    /// Rows decided so far (while processing; all of them once completed).
    rows_done: Option<u32>,
    counts: CountsView,
    finished_at: Option<String>,
    /// Set when `refused`.
    refusal: Option<RefusalView>,
    /// The first 50 rows skipped or not mailed, in row order, with their reasons (once
    /// completed; the report has every row).
    problems: Vec<RowProblemView>,
    /// The Excel report (one line per row: result, reason, access codes), once completed.
    report_url: Option<String>,
    report_url_expires_at: Option<String>,
}

/// A row that was skipped, or invited without its email sent yet.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowProblemView {
    /// The row's number in the spreadsheet (the header is row 1).
    row: u32,
    /// `skipped`, or `failed` (invited; the email is tried again).
    result: &'static str,
    /// The reason: `invalid_email`, `unknown_group`, `already_invited`, … or `mail_not_sent`.
    code: String,
}

impl ImportStatusView {
    /// The import; its report's URL when given (through the API; never in an event).
    pub fn new(
        import: &Import,
        report_url: Option<String>,
        report_expires: Option<String>,
    ) -> Self {
        let (rows, rows_done, finished_at, refusal) = match &import.state {
            ImportState::WaitingUpload => (None, None, None, None),
            ImportState::Processing {
                rows, rows_done, ..
            } => (Some(*rows), Some(*rows_done), None, None),
            ImportState::Completed { finished_at, rows } => (
                Some(*rows),
                Some(*rows),
                Some(finished_at.to_rfc3339()),
                None,
            ),
            ImportState::Refused {
                finished_at,
                code,
                message,
            } => (
                None,
                None,
                Some(finished_at.to_rfc3339()),
                Some(RefusalView {
                    code: code.clone(),
                    message: message.clone(),
                }),
            ),
        };
        Self {
            import_id: import.id.to_string(),
            status: import.state.name(),
            dry_run: import.dry_run,
            created_at: import.created_at.to_rfc3339(),
            created_by: import.created_by.to_string(),
            upload_expires_at: import.upload_expires_at.to_rfc3339(),
            rows,
            rows_done,
            counts: import.counts.into(),
            finished_at,
            refusal,
            problems: import
                .problems
                .iter()
                .map(|p| RowProblemView {
                    row: p.row,
                    result: if p.failed { "failed" } else { "skipped" },
                    code: p.code.clone(),
                })
                .collect(),
            report_url,
            report_url_expires_at: report_expires,
        }
    }
}

impl From<crate::usecase::imports::ImportView> for ImportStatusView {
    fn from(v: crate::usecase::imports::ImportView) -> Self {
        Self::new(
            &v.import,
            v.report_url,
            v.report_url_expires_at.map(|t| t.to_rfc3339()),
        )
    }
}

impl ImportStatusView {
    /// As events show it: no report URL.
    pub fn of(import: &Import) -> Self {
        Self::new(import, None, None)
    }
}

/// A webhook endpoint as admins see it (never its secret).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    /// The event types it receives; empty: every type.
    pub types: Vec<String>,
    pub description: Option<String>,
    /// `false` once disabled (by an admin, or after five days of failed deliveries).
    pub enabled: bool,
    pub disabled_at: Option<String>,
    /// Since when every delivery has failed; `null` while it answers.
    pub failing_since: Option<String>,
    pub created_at: String,
    pub created_by: String,
}

impl From<&crate::webhooks::Webhook> for WebhookView {
    fn from(w: &crate::webhooks::Webhook) -> Self {
        Self {
            id: w.id.to_string(),
            url: w.url.as_str().to_string(),
            types: w.types.iter().map(|t| t.as_str().to_string()).collect(),
            description: w.description.clone(),
            enabled: w.disabled_at.is_none(),
            disabled_at: w.disabled_at.map(|t| t.to_rfc3339()),
            failing_since: w.failing_since.map(|t| t.to_rfc3339()),
            created_at: w.created_at.to_rfc3339(),
            created_by: w.created_by.to_string(),
        }
    }
}
