//! Erasure (GDPR art. 17): an admin, or the person with their current password, erases an
//! account. Gone at once, in one write: the account, what it derives (memberships, search
//! entries) and its email and uid claims (both free again), with `user.deleted` (its id only)
//! for the audit trail. Then its sessions and grants, its failure counters, the invitations that
//! held its email, uid, names or message (pending ones removed, the others redacted) and the name
//! its imports recorded. Files that may name it (import uploads and reports, exports) are listed
//! with the day they expire from the bucket.

use crate::clock::Timestamp;
use crate::error::{Rejection, RejectionClass};
use crate::events::{ChangeEvents, EventType};
use crate::model::{Import, Invitation, InvitationState, Invitee, User};
use crate::ports::{ImportProgress, InvitationQuery, PageRequest, StoreError, WriteError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{EmailAddress, ImportId, OrgDomain, PersonName, Role, Uid, UserId};
use crate::usecase::password::{check_current_password, PasswordChangeError};
use crate::usecase::session::AuthError;
use crate::usecase::{caller_in, Along, OrgLookupError};

/// Days the bucket keeps an upload and a report after they were written (the template's
/// lifecycle rules), and S3's rounding of an expiry to the next midnight (UTC).
const UPLOAD_DAYS: u64 = 2;
const REPORT_DAYS: u64 = 30;
const EXPORT_DAYS: u64 = 1;
const DAY: u64 = 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins can erase someone else's account")]
    Forbidden,
    #[error("no such user")]
    NotFound,
    /// The person's current password was missing, wrong or guessed too often.
    #[error(transparent)]
    CurrentPassword(PasswordChangeError),
    #[error("the organisation's last active admin must stay one")]
    LastAdmin,
    #[error("the account kept changing; try again")]
    Changed,
    #[error("erasing the account failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for ErasureError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl Rejection for ErasureError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::NotFound => "user_not_found",
            Self::CurrentPassword(e) => e.code(),
            Self::LastAdmin => "last_admin",
            Self::Changed => "user_changed",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::NotFound => RejectionClass::NotFound,
            Self::CurrentPassword(e) => e.class(),
            Self::LastAdmin | Self::Changed => RejectionClass::Conflict,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::CurrentPassword(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// A file of the bucket that may name the person, and when the bucket's lifecycle removes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDue {
    /// `upload` (a spreadsheet an admin sent) or `report` (what an import answered).
    pub kind: &'static str,
    pub import_id: ImportId,
    pub expires_by: Timestamp,
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub user_id: UserId,
    /// Invitations that held their email, uid, names or message: removed (pending) or redacted.
    pub invitations: usize,
    /// Imports whose record named them as their admin, the name taken out.
    pub imports: usize,
    /// Files that may name them, left to expire.
    pub files: Vec<FileDue>,
    /// Every export made before the erasure (a spreadsheet of invitations an admin downloaded)
    /// is gone from the bucket by then.
    pub exports_expire_by: Timestamp,
}

pub async fn erase_user(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
    current_password: Option<&str>,
) -> Result<Erasure, ErasureError> {
    let caller = caller_in::<ErasureError>(services, org, token, Along::default()).await?;
    let own = &caller.actor.user_id == id;
    let admin = crate::permissions::decide(
        caller.standing(),
        &caller.org.settings,
        crate::permissions::Action::ManageUsers,
    )
    .is_ok();
    if !own && !admin {
        return Err(ErasureError::Forbidden);
    }
    let mut user = services
        .store
        .user(org, id)
        .await?
        .ok_or(ErasureError::NotFound)?;
    if own {
        check_current_password(services, &user, current_password)
            .await
            .map_err(ErasureError::CurrentPassword)?;
    }
    let by = (!own).then(|| caller.actor.user_id.clone());
    let mut erased = false;
    for _ in 0..3 {
        let other_admin = if user.role == Role::Admin && user.is_active() {
            let admins = services.store.active_admins(org).await?;
            let other = admins.into_iter().find(|a| &a.id != id);
            Some(other.ok_or(ErasureError::LastAdmin)?)
        } else {
            None
        };
        let mut events = ChangeEvents::new(&*services.random, services.clock.now());
        let data = serde_json::json!({ "id": id });
        events.resource(org, EventType::UserDeleted, by.as_ref(), &data);
        match services
            .store
            .erase_account(&user, other_admin.as_ref(), &events)
            .await
        {
            Ok(()) => {
                erased = true;
                break;
            }
            Err(WriteError::Stale) => {
                user = services
                    .store
                    .user(org, id)
                    .await?
                    .ok_or(ErasureError::NotFound)?;
            }
            Err(e) => return Err(ErasureError::Internal(e.into())),
        }
    }
    if !erased {
        return Err(ErasureError::Changed);
    }
    services.store.end_sessions(org, id, None).await?;
    for counter in crate::usecase::sign_in::user_counters(&user) {
        services.store.clear_attempts(&counter.key).await?;
    }
    if let Some(email) = &user.email {
        let key = crate::usecase::password::reset_mail_counter(org, email).key;
        services.store.clear_attempts(&key).await?;
    }
    let invitations = forget_invitations(services, org, &user).await?;
    let (imports, files) = forget_imports(services, org, id).await?;
    tracing::info!(org = %org, user = %id, invitations, imports, "an account was erased");
    Ok(Erasure {
        user_id: id.clone(),
        invitations,
        imports,
        files,
        exports_expire_by: services
            .clock
            .now()
            .plus(std::time::Duration::from_secs((EXPORT_DAYS + 1) * DAY)),
    })
}

/// Whether an invitation held the person's email, uid or acceptance.
fn held_by(invitation: &Invitation, user: &User) -> bool {
    let accepted_by = matches!(&invitation.state, InvitationState::Accepted { user_id, .. } if user_id == &user.id);
    let address = match &invitation.invitee {
        Invitee::Email { email, .. } => user
            .email
            .as_ref()
            .is_some_and(|e| e.normalized() == email.normalized()),
        Invitee::Uid { uid, .. } => user
            .uid
            .as_ref()
            .is_some_and(|u| u.normalized() == uid.normalized()),
    };
    accepted_by || address
}

/// The invitation with nothing of the person left: an address, identifier and names that say so,
/// no message.
fn redacted(invitation: &Invitation) -> Invitation {
    let mut next = invitation.clone();
    let placeholder = format!("erased{}", invitation.id);
    next.invitee = match &invitation.invitee {
        Invitee::Email { token_hash, .. } => Invitee::Email {
            email: EmailAddress::parse(&format!("{placeholder}@erased.invalid"))
                .expect("a placeholder address parses"),
            token_hash: token_hash.clone(),
        },
        Invitee::Uid {
            access_code,
            code_hash,
            ..
        } => Invitee::Uid {
            uid: Uid::parse(&placeholder).expect("a placeholder identifier parses"),
            access_code: access_code.clone(),
            code_hash: code_hash.clone(),
        },
    };
    let erased = PersonName::parse("(erased)").expect("a placeholder name parses");
    next.first_name = erased.clone();
    next.last_name = erased;
    next.message = None;
    next
}

/// Removes the person's pending invitations and redacts the others; how many. Reads the
/// organisation's invitations a page at a time (an erasure is rare; no index names people).
async fn forget_invitations(
    services: &Services,
    org: &OrgDomain,
    user: &User,
) -> Result<usize, ErasureError> {
    let query = InvitationQuery {
        status: None,
        kind: None,
        role: None,
        invited_by: None,
        now: services.clock.now(),
    };
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let page = PageRequest { cursor, limit: 100 };
        let page = services.store.invitations(org, &query, &page).await?;
        found.extend(page.items.into_iter().filter(|i| held_by(i, user)));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let none = ChangeEvents::none();
    for mut invitation in found.iter().cloned() {
        for attempt in 0..3 {
            let written = match invitation.state {
                InvitationState::Pending => services.store.remove_invitation(&invitation).await,
                _ => {
                    let next = redacted(&invitation);
                    services
                        .store
                        .update_invitation(&next, &invitation, &none)
                        .await
                }
            };
            match written {
                Ok(()) => break,
                Err(WriteError::Stale) if attempt < 2 => {
                    match services.store.invitation(org, &invitation.id).await? {
                        Some(again) => invitation = again,
                        None => break,
                    }
                }
                Err(e) => return Err(ErasureError::Internal(e.into())),
            }
        }
    }
    Ok(found.len())
}

/// Takes the person's name out of the imports they made, and lists the files of the imports the
/// bucket still keeps (uploads and reports may name them).
async fn forget_imports(
    services: &Services,
    org: &OrgDomain,
    id: &UserId,
) -> Result<(usize, Vec<FileDue>), ErasureError> {
    let now = services.clock.now();
    let mut named = 0;
    let mut files = Vec::new();
    let mut cursor = None;
    loop {
        let page = PageRequest { cursor, limit: 100 };
        let page = services.store.imports(org, &page).await?;
        for import in page.items {
            files.extend(files_of(&import, now));
            if &import.created_by == id && import.created_by_name.is_some() {
                let mut next = import.clone();
                next.created_by_name = None;
                let progress = ImportProgress {
                    import: &next,
                    read_version: import.version,
                };
                match services
                    .store
                    .update_import(progress, &ChangeEvents::none())
                    .await
                {
                    Ok(()) => named += 1,
                    // It moved on meanwhile (still running): its record keeps the name until it
                    // is done; the name is an admin's, shown to admins only.
                    Err(WriteError::Stale) => {
                        tracing::warn!(import = %import.id, "an import changed while its admin was erased")
                    }
                    Err(e) => return Err(ErasureError::Internal(e.into())),
                }
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok((named, files)),
        }
    }
}

/// The files of an import the bucket may still keep, and the latest they expire.
fn files_of(import: &Import, now: Timestamp) -> Vec<FileDue> {
    let by = |days: u64| {
        let seconds = (days + 1) * DAY;
        import
            .created_at
            .plus(std::time::Duration::from_secs(seconds))
    };
    let mut due = Vec::new();
    for (kind, days) in [("upload", UPLOAD_DAYS), ("report", REPORT_DAYS)] {
        let expires_by = by(days);
        let reported = !matches!(import.state, crate::model::ImportState::WaitingUpload);
        if now < expires_by && (kind == "upload" || reported) {
            due.push(FileDue {
                kind,
                import_id: import.id.clone(),
                expires_by,
            });
        }
    }
    due
}
