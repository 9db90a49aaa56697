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
use crate::events::{Event, SHARDS};
use crate::model::{ErasureJob, Import, Invitation, InvitationState, Invitee, User};
use crate::ports::{ImportProgress, InvitationQuery, PageRequest, StoreError, WriteError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{
    EmailAddress, ImportId, InvitationId, OrgDomain, PersonName, Role, Uid, UserId,
};
use crate::usecase::bulk_import::row_invitation_id;
use crate::usecase::guard::hashed;
use crate::usecase::imports::{report_key, upload_key};
use crate::usecase::password::{check_current_password, PasswordChangeError};
use crate::usecase::session::AuthError;
use crate::usecase::{caller_in, Along, OrgLookupError};

/// Days the bucket keeps an upload and a report after they were written (the template's
/// lifecycle rules), and S3's rounding of an expiry to the next midnight (UTC).
const UPLOAD_DAYS: u64 = 2;
const REPORT_DAYS: u64 = 30;
const EXPORT_DAYS: u64 = 1;
/// How long an erasure's request goes on redacting before it leaves the rest to the cleanup.
const IN_REQUEST: std::time::Duration = std::time::Duration::from_secs(8);
/// Log records read per query of a shard.
const LOG_PAGE: usize = 100;
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
    /// Whether the log's and the deliveries' records of them are redacted already (else the
    /// scheduled cleanup finishes within minutes).
    pub complete: bool,
    /// Imports whose record named them as their admin, the name taken out.
    pub imports: usize,
    /// Imports that invited them: their upload and report were deleted from the bucket.
    pub deleted_files: Vec<ImportId>,
    /// Other files that may name them (an import whose rows named them without inviting them, a
    /// dry run), left to expire.
    pub files: Vec<FileDue>,
    /// Every export made before the erasure (a spreadsheet of invitations an admin downloaded)
    /// is gone from the bucket by then: deleted with the log's redaction, which finds them.
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
    let job = ErasureJob {
        org: org.clone(),
        user_id: id.clone(),
        hashes: address_hashes(&user),
        started_at: services.clock.now(),
        invitations: None,
        log_after: vec![None; usize::from(SHARDS)],
        log_done: vec![false; usize::from(SHARDS)],
        version: 0,
    };
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
            .erase_account(&user, other_admin.as_ref(), &job, &events)
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
    let imports = forget_imports(services, org, id).await?;
    // The rest as far as the request's time allows; the scheduled cleanup does what is left.
    let until = tokio::time::Instant::now() + IN_REQUEST;
    let left = move || tokio::time::Instant::now() < until;
    // The account is gone whatever happens next: a failure here leaves the rest to the cleanup.
    let progress = match advance_erasure(services, job, &left).await {
        Ok(progress) => progress,
        Err(e) => {
            tracing::warn!(org = %org, user = %id, cause = %crate::Chain(&e), "an erasure goes on in the cleanup");
            ErasureProgress {
                invitations: 0,
                deleted: Vec::new(),
                complete: false,
            }
        }
    };
    tracing::info!(org = %org, user = %id, imports, complete = progress.complete, "an account was erased");
    let files = files_due(services, org, &progress.deleted).await?;
    Ok(Erasure {
        user_id: id.clone(),
        invitations: progress.invitations,
        complete: progress.complete,
        imports,
        deleted_files: progress.deleted,
        files,
        exports_expire_by: services
            .clock
            .now()
            .plus(std::time::Duration::from_secs((EXPORT_DAYS + 1) * DAY)),
    })
}

/// The hashes an erasure finds the person's address by (their email's and uid's, normalised).
fn address_hashes(user: &User) -> Vec<String> {
    let mut hashes: Vec<String> = user.email.iter().map(|e| hashed(&e.normalized())).collect();
    hashes.extend(user.uid.iter().map(|u| hashed(&u.normalized())));
    hashes
}

/// Whether an invitation held the person's email or uid, or was accepted by them.
fn held_by(invitation: &Invitation, job: &ErasureJob) -> bool {
    let accepted_by = matches!(&invitation.state, InvitationState::Accepted { user_id, .. } if user_id == &job.user_id);
    let address = match &invitation.invitee {
        Invitee::Email { email, .. } => hashed(&email.normalized()),
        Invitee::Uid { uid, .. } => hashed(&uid.normalized()),
    };
    accepted_by || job.hashes.contains(&address)
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

/// Removes the person's pending invitations and redacts the others, and deletes the files of the
/// imports that invited them; answers the invitations' ids and those imports. Reads the
/// organisation's invitations a page at a time (an erasure is rare; no index names people).
async fn forget_invitations(
    services: &Services,
    org: &OrgDomain,
    job: &ErasureJob,
) -> Result<(Vec<InvitationId>, Vec<ImportId>), ErasureError> {
    let query = InvitationQuery {
        status: None,
        kind: None,
        role: None,
        invited_by: None,
        now: services.clock.now(),
    };
    let mut found = Vec::new();
    let mut sent = Vec::new();
    let mut cursor = None;
    loop {
        let page = PageRequest { cursor, limit: 100 };
        let page = services.store.invitations(org, &query, &page).await?;
        for invitation in page.items {
            if held_by(&invitation, job) {
                found.push(invitation);
            } else if names_inviter(&invitation, job) {
                sent.push(invitation);
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let imports = imports_of(services, org, &found).await?;
    for import in &imports {
        for key in [upload_key(org, import), report_key(org, import)] {
            services
                .files
                .delete(&key)
                .await
                .map_err(|e| ErasureError::Internal(e.into()))?;
        }
    }
    let none = ChangeEvents::none();
    // Theirs: removed while pending, else redacted. Sent by them: kept, without their name or
    // address as the inviter (their id stays).
    let theirs = found.iter().cloned().map(|i| (i, true));
    let sent_by_them = sent.into_iter().map(|i| (i, false));
    for (mut invitation, of_them) in theirs.chain(sent_by_them) {
        for attempt in 0..3 {
            let written = match (of_them, &invitation.state) {
                (true, InvitationState::Pending) => {
                    services.store.remove_invitation(&invitation).await
                }
                (true, _) => {
                    let next = redacted(&invitation);
                    services
                        .store
                        .update_invitation(&next, &invitation, &none)
                        .await
                }
                (false, _) => {
                    let mut next = invitation.clone();
                    next.lifecycle.inviter_name = None;
                    next.lifecycle.inviter_email = None;
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
    Ok((found.into_iter().map(|i| i.id).collect(), imports))
}

/// Whether an invitation the person sent still names them as its inviter.
fn names_inviter(invitation: &Invitation, job: &ErasureJob) -> bool {
    invitation.invited_by.as_ref() == Some(&job.user_id)
        && (invitation.lifecycle.inviter_name.is_some()
            || invitation.lifecycle.inviter_email.is_some())
}

/// The imports that made any of these invitations (an import's invitation ids are derived from
/// it and the person: [`row_invitation_id`]).
async fn imports_of(
    services: &Services,
    org: &OrgDomain,
    invitations: &[Invitation],
) -> Result<Vec<ImportId>, ErasureError> {
    let identities: Vec<(String, &InvitationId)> = invitations
        .iter()
        .map(|i| {
            let identity = match &i.invitee {
                Invitee::Email { email, .. } => format!("email:{}", email.normalized()),
                Invitee::Uid { uid, .. } => format!("uid:{}", uid.normalized()),
            };
            (identity, &i.id)
        })
        .collect();
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let page = PageRequest { cursor, limit: 100 };
        let page = services.store.imports(org, &page).await?;
        for import in page.items {
            if identities
                .iter()
                .any(|(who, id)| &row_invitation_id(&import, who) == *id)
            {
                found.push(import.id);
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(found),
        }
    }
}

/// The files of the imports the bucket still keeps (uploads and reports may name the person),
/// but those of `deleted`.
async fn files_due(
    services: &Services,
    org: &OrgDomain,
    deleted: &[ImportId],
) -> Result<Vec<FileDue>, ErasureError> {
    let now = services.clock.now();
    let mut files = Vec::new();
    let mut cursor = None;
    loop {
        let page = PageRequest { cursor, limit: 100 };
        let page = services.store.imports(org, &page).await?;
        for import in page.items.iter().filter(|i| !deleted.contains(&i.id)) {
            files.extend(files_of(import, now));
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(files),
        }
    }
}

/// Takes the person's name out of the imports they made; how many.
async fn forget_imports(
    services: &Services,
    org: &OrgDomain,
    id: &UserId,
) -> Result<usize, ErasureError> {
    let mut named = 0;
    let mut cursor = None;
    loop {
        let page = PageRequest { cursor, limit: 100 };
        let page = services.store.imports(org, &page).await?;
        for import in page.items {
            if &import.created_by == id
                && (import.created_by_name.is_some() || import.created_by_email.is_some())
            {
                let mut next = import.clone();
                next.created_by_name = None;
                next.created_by_email = None;
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
            None => return Ok(named),
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

/// How far an erasure's remaining work went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureProgress {
    pub invitations: usize,
    /// Imports whose upload and report were deleted (they invited the person).
    pub deleted: Vec<ImportId>,
    pub complete: bool,
}

/// Goes on with an erasure's remaining work while `time_left` says so, saving its progress after
/// each step: the person's invitations, then each shard of the log (their events redacted there
/// and in webhook deliveries, the addresses they signed in from forgotten). Done: its record goes.
pub async fn advance_erasure(
    services: &Services,
    mut job: ErasureJob,
    time_left: &(dyn Fn() -> bool + Send + Sync),
) -> Result<ErasureProgress, ErasureError> {
    let mut deleted = Vec::new();
    let invitations = match job.invitations.clone() {
        Some(found) => found,
        None => {
            let (found, imports) = forget_invitations(services, &job.org, &job).await?;
            deleted = imports;
            job.invitations = Some(found.clone());
            job = saved(services, job).await?;
            found
        }
    };
    let webhooks: Vec<_> = services
        .store
        .webhooks(&job.org)
        .await?
        .into_iter()
        .map(|w| w.id)
        .collect();
    for shard in 0..SHARDS {
        let at = usize::from(shard);
        while !job.log_done.get(at).copied().unwrap_or(false) {
            if !time_left() {
                return Ok(ErasureProgress {
                    invitations: invitations.len(),
                    deleted,
                    complete: false,
                });
            }
            let after = job.log_after.get(at).cloned().flatten();
            let (records, more) = services
                .store
                .log_records(&job.org, shard, after.as_deref(), LOG_PAGE)
                .await?;
            for (sk, events) in &records {
                redact_record(services, &job, &invitations, &webhooks, shard, sk, events).await?;
                forget_exports(services, &job, events).await?;
            }
            if let Some(slot) = job.log_after.get_mut(at) {
                *slot = records.last().map(|(sk, _)| sk.clone()).or(after);
            }
            if let Some(done) = job.log_done.get_mut(at) {
                *done = !more;
            }
            job = saved(services, job).await?;
        }
    }
    services.store.finish_erasure(&job).await?;
    tracing::info!(org = %job.org, user = %job.user_id, "an erasure is complete");
    Ok(ErasureProgress {
        invitations: invitations.len(),
        deleted,
        complete: true,
    })
}

/// The erasures with work left, each advanced while `time_left` says so (the scheduled cleanup's
/// share); how many were completed.
pub async fn advance_erasures(
    services: &Services,
    time_left: &(dyn Fn() -> bool + Send + Sync),
) -> Result<usize, ErasureError> {
    let mut completed = 0;
    for job in services.store.erasures(10).await? {
        if !time_left() {
            break;
        }
        match advance_erasure(services, job, time_left).await {
            Ok(progress) => completed += usize::from(progress.complete),
            // Another worker moved it on: it carries on there.
            Err(ErasureError::Changed) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(completed)
}

/// The job saved at its next version (`Changed` if another worker moved it on).
async fn saved(services: &Services, job: ErasureJob) -> Result<ErasureJob, ErasureError> {
    match services.store.save_erasure(&job).await {
        Ok(()) => Ok(ErasureJob {
            version: job.version + 1,
            ..job
        }),
        Err(WriteError::Stale) => Err(ErasureError::Changed),
        Err(e) => Err(ErasureError::Internal(e.into())),
    }
}

/// Deletes the exports these events made that the bucket may still keep: each holds every
/// invitation of the organisation, theirs too.
async fn forget_exports(
    services: &Services,
    job: &ErasureJob,
    events: &[Event],
) -> Result<(), ErasureError> {
    let kept_since = job
        .started_at
        .unix_seconds()
        .saturating_sub(i64::try_from((EXPORT_DAYS + 1) * DAY).unwrap_or(i64::MAX));
    for event in events {
        if event.kind != crate::events::EventType::ExportCreated
            || event.occurred_at.unix_seconds() < kept_since
        {
            continue;
        }
        if let Some(export) = event.data["export_id"].as_str() {
            let key = crate::usecase::export::export_key(&job.org, export);
            services
                .files
                .delete(&key)
                .await
                .map_err(|e| ErasureError::Internal(e.into()))?;
        }
    }
    Ok(())
}

/// Whether an event is about the erased person: their account's events, their invitations'
/// events, and any event naming their address.
fn about(event: &Event, job: &ErasureJob, invitations: &[InvitationId]) -> bool {
    let id = event.data["id"].as_str().unwrap_or("");
    let kind = event.kind.as_str();
    let address = ["email", "uid"].iter().any(|field| {
        event.data[*field]
            .as_str()
            .is_some_and(|a| job.hashes.contains(&hashed(&a.to_lowercase())))
    });
    (kind.starts_with("user.") && id == job.user_id.as_str())
        || (kind.starts_with("invitation.") && invitations.iter().any(|i| i.as_str() == id))
        || address
}

/// The event with nothing of the person left: its id, type, time and who acted stay; its data
/// keeps the id of what it was about, and no client address.
fn redacted_event(event: &Event) -> Event {
    let mut next = event.clone();
    next.data = serde_json::json!({ "id": event.data["id"].clone() });
    next.actor.client_address = None;
    next
}

/// Redacts one change record of the log where it is about the person, with the deliveries of
/// its events, and forgets the addresses their sign-ins made familiar.
async fn redact_record(
    services: &Services,
    job: &ErasureJob,
    invitations: &[InvitationId],
    webhooks: &[crate::types::WebhookId],
    shard: u8,
    sk: &str,
    events: &[Event],
) -> Result<(), ErasureError> {
    let touched: Vec<&Event> = events
        .iter()
        .filter(|e| about(e, job, invitations) && redacted_event(e) != **e)
        .collect();
    if touched.is_empty() {
        return Ok(());
    }
    for event in &touched {
        if let Some(marker) = familiarity_of(&job.org, event) {
            services.store.clear_attempts(&marker).await?;
        }
    }
    let next: Vec<Event> = events
        .iter()
        .map(|e| {
            if touched.contains(&e) {
                redacted_event(e)
            } else {
                e.clone()
            }
        })
        .collect();
    services
        .store
        .redact_log_record(&job.org, shard, sk, &next)
        .await?;
    let changed: Vec<Event> = touched.iter().map(|e| redacted_event(e)).collect();
    services
        .store
        .redact_deliveries(&job.org, webhooks, &changed)
        .await?;
    Ok(())
}

/// The familiarity marker a sign-in event's address made (the person's identifier and the
/// address, as the sign-in keyed it).
fn familiarity_of(org: &OrgDomain, event: &Event) -> Option<String> {
    if event.kind != crate::events::EventType::UserSignedIn {
        return None;
    }
    let address = event.actor.client_address.as_deref()?;
    let identifier = match (event.data["email"].as_str(), event.data["uid"].as_str()) {
        (Some(email), _) => email.to_lowercase(),
        (None, Some(uid)) => format!("{}:{org}", uid.to_lowercase()),
        (None, None) => return None,
    };
    Some(crate::usecase::sign_in::familiarity_key_for(
        org,
        &identifier,
        address,
    ))
}
