//! Export every invitation of an organisation to a spreadsheet (admins): read page by page and
//! written row by row into a sheet whose memory does not grow with the rows, kept as a file and
//! offered through a short-lived download URL. Pending identifier invitations carry their access
//! code, so that an admin can hand the codes out.

use crate::events::{ChangeEvents, EventType};
use std::collections::HashMap;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::error::{Rejection, RejectionClass};
use crate::model::{Invitation, InvitationState, InvitationStatus, Invitee};
use crate::permissions::Action;
use crate::ports::{FileError, InvitationQuery, PageRequest, StoreError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{OrgDomain, UserId};
use crate::usecase::session::AuthError;
use crate::usecase::{admin_of, OrgLookupError};

/// How long an export's download URL works.
pub const DOWNLOAD_VALID_FOR: Duration = Duration::from_secs(15 * 60);
/// Invitations read per page.
const PAGE: usize = 1000;

/// The export's columns, in order.
pub const EXPORT_HEADERS: [&str; 16] = [
    "Kind",
    "Email",
    "Identifier",
    "Sign-in identifier",
    "First name",
    "Last name",
    "Role",
    "Groups",
    "Status",
    "Delivery",
    "Invited at",
    "Expires at",
    "Accepted at",
    "Revoked at",
    "Invited by",
    "Access code",
];

/// Writes an export as rows come: the spreadsheet library, outside the domain.
pub trait ExportSheet: Send {
    /// One invitation's cells, in [`EXPORT_HEADERS`] order.
    fn row(&mut self, cells: &[String; 16]) -> Result<(), crate::Cause>;
    /// The finished file.
    fn finish(self: Box<Self>) -> Result<Vec<u8>, crate::Cause>;
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins export invitations")]
    Forbidden,
    #[error("exporting failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for ExportError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<FileError> for ExportError {
    fn from(e: FileError) -> Self {
        Self::Internal(e.into())
    }
}

impl Rejection for ExportError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

/// A finished export.
#[derive(Debug, Clone)]
pub struct Exported {
    pub export_id: String,
    pub download_url: String,
    pub expires_at: Timestamp,
    pub invitations: usize,
}

/// Where an export is kept.
pub fn export_key(org: &OrgDomain, id: &str) -> String {
    format!("exports/{org}/{id}.xlsx")
}

/// Exports every invitation of the organisation, newest first, into `sheet`.
pub async fn export_invitations(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    mut sheet: Box<dyn ExportSheet>,
) -> Result<Exported, ExportError> {
    let (found, actor) =
        admin_of(services, org, token, Action::Export, ExportError::Forbidden).await?;
    let now = services.clock.now();
    let groups: HashMap<_, _> = services
        .store
        .groups(org)
        .await?
        .into_iter()
        .map(|g| (g.id, g.name.to_string()))
        .collect();
    let mut inviters: HashMap<UserId, String> = HashMap::new();
    let query = InvitationQuery {
        status: None,
        kind: None,
        role: None,
        invited_by: None,
        now,
    };
    let mut cursor = None;
    let mut count = 0;
    loop {
        let page = services
            .store
            .invitations(
                org,
                &query,
                &PageRequest {
                    cursor,
                    limit: PAGE,
                },
            )
            .await?;
        for invitation in &page.items {
            if let Some(inviter) = invitation
                .invited_by
                .as_ref()
                .filter(|i| !inviters.contains_key(*i))
            {
                let name = services
                    .store
                    .user(org, inviter)
                    .await?
                    .map(|u| {
                        let who = u
                            .email
                            .map(|e| e.to_string())
                            .or(u.uid.map(|u| u.to_string()))
                            .unwrap_or_default();
                        format!("{} {} <{who}>", u.first_name, u.last_name)
                    })
                    .unwrap_or_else(|| inviter.to_string());
                inviters.insert(inviter.clone(), name);
            }
            let cells = cells(services, invitation, now, &groups, &inviters);
            sheet.row(&cells).map_err(ExportError::Internal)?;
            count += 1;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let bytes = sheet.finish().map_err(ExportError::Internal)?;
    let mut id_bytes = [0u8; 10];
    services.random.fill(&mut id_bytes);
    let export_id = crate::secret::time_ordered(now, &id_bytes)
        .simple()
        .to_string();
    let key = export_key(org, &export_id);
    services
        .files
        .write(
            &key,
            bytes,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .await?;
    let filename = format!("gatehouse-invitations-{}.xlsx", found.domain);
    let download_url = services
        .files
        .download_url(&key, &filename, now, DOWNLOAD_VALID_FOR)
        .await?;
    // Who took the access codes out, and when: recorded before the file is handed over.
    let mut events = ChangeEvents::new(&*services.random, now);
    let data = serde_json::json!({ "export_id": export_id, "invitations": count });
    events.resource(org, EventType::ExportCreated, Some(&actor.user_id), &data);
    services.store.append_events(&events).await?;
    Ok(Exported {
        export_id,
        download_url,
        expires_at: now.plus(DOWNLOAD_VALID_FOR),
        invitations: count,
    })
}

fn cells(
    services: &Services,
    invitation: &Invitation,
    now: Timestamp,
    groups: &HashMap<crate::types::GroupId, String>,
    inviters: &HashMap<UserId, String>,
) -> [String; 16] {
    let status = invitation.status_at(now);
    let (kind, email, uid, identifier, code) = match &invitation.invitee {
        Invitee::Email { email, .. } => ("email", email.to_string(), "", String::new(), None),
        Invitee::Uid {
            uid, access_code, ..
        } => (
            "uid",
            String::new(),
            uid.as_str(),
            format!("{uid}:{}", invitation.org),
            // Only a code that still signs someone up is worth handing out.
            (status == InvitationStatus::Pending)
                .then(|| services.access_codes.open(access_code))
                .flatten(),
        ),
    };
    let (accepted_at, revoked_at) = match invitation.state {
        InvitationState::Accepted { at, .. } => (at.to_rfc3339(), String::new()),
        InvitationState::Revoked { at } => (String::new(), at.to_rfc3339()),
        InvitationState::Pending => (String::new(), String::new()),
    };
    let group_names: Vec<&str> = invitation
        .groups
        .iter()
        .map(|g| groups.get(g).map_or(g.as_str(), String::as_str))
        .collect();
    [
        kind.to_string(),
        email,
        uid.to_string(),
        identifier,
        invitation.first_name.to_string(),
        invitation.last_name.to_string(),
        match invitation.role {
            crate::types::InviteeRole::Member => "member",
            crate::types::InviteeRole::Guest => "guest",
        }
        .to_string(),
        group_names.join(", "),
        status.as_str().to_string(),
        invitation.delivery.as_str().to_string(),
        invitation.created_at.to_rfc3339(),
        invitation.expires_at.to_rfc3339(),
        accepted_at,
        revoked_at,
        match &invitation.invited_by {
            Some(inviter) => inviters.get(inviter).cloned().unwrap_or_default(),
            None => "(registered themselves)".to_string(),
        },
        code.map(|c| c.grouped()).unwrap_or_default(),
    ]
}
