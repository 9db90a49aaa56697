//! Running an import once its file is uploaded: started by the upload event (S3 in AWS, the
//! local server's upload route locally), at least once, perhaps twice at the same time.
//!
//! Safe to repeat: the import is taken with a lease by a conditional write (a second delivery
//! while it runs is told [`RunError::Busy`] and retried later; after a dead worker's lease lapses
//! it takes over), each row's invitation id is derived from the import and the person (so the
//! invitations an earlier delivery saved are recognised as this import's own), and every batch
//! is written on condition that the import is still at the version this worker wrote last.
//! Invitations saved but not yet mailed are mailed by the next delivery, with the link they were
//! saved with (kept sealed), which costs no write.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::access_code::AccessCode;
use crate::clock::Timestamp;
use crate::events::{ChangeEvents, EventType};
use crate::lifecycle::{reminder_times, Lifecycle};
use crate::model::{
    Delivery, Import, ImportCounts, ImportState, Invitation, InvitationState, Invitee, Org,
};
use crate::ports::{
    AccountKey, Claim, DeliveryChange, FileError, ImportProgress, Lookup, OutgoingEmail,
    StoreError, WriteError, DELIVERIES_PER_WRITE, INVITATIONS_PER_WRITE,
};
use crate::secret::SecretToken;
use crate::services::Services;
use crate::types::{EmailAddress, GroupName, ImportId, InvitationId, InviteeRole, OrgDomain, Uid};
use crate::usecase::imports::{
    classify_rows, identity_of, report_key, upload_key, GroupsByName, ImportRow, PlannedInvitation,
    RowVerdict, MAX_UPLOAD_BYTES,
};
use crate::usecase::invite::{self, InviteeRequest};

/// A worker holds an import this long after each of its writes; a delivery of the upload event
/// that finds the lease lapsed takes the import over.
pub const LEASE: Duration = Duration::from_secs(120);
/// How many invitation emails are handed to the mailer at once.
pub const MAILS_IN_FLIGHT: usize = 8;

/// Reads uploaded spreadsheets and writes reports: the spreadsheet library, outside the domain.
pub trait Spreadsheets: Send + Sync {
    /// The data rows of a file, or why the file as a whole is refused.
    fn read(&self, bytes: &[u8]) -> Result<Vec<ImportRow>, FileRefusal>;
    /// The report of an import: one line per row, in the file's order.
    fn report(&self, org_name: &str, lines: &[ReportLine]) -> Result<Vec<u8>, crate::Cause>;
}

/// Why a whole file is refused (nothing is created from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRefusal {
    pub code: &'static str,
    pub message: String,
}

/// What became of a row, as the report says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowResult {
    /// Its invitation was created: mailed, or given an access code (counted `created`).
    Created,
    /// Invited, but the email could not be sent yet: the invitation is kept, queued.
    Queued,
    Skipped,
    /// A dry run: would be invited.
    Valid,
    /// Not decided yet (never in a finished report).
    Pending,
}

impl RowResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Queued => "queued",
            Self::Skipped => "skipped",
            Self::Valid => "valid",
            Self::Pending => "pending",
        }
    }
}

/// One line of an import's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    pub row: u32,
    pub email: Option<String>,
    pub uid: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub result: RowResult,
    /// A stable code for a skipped or queued row.
    pub code: Option<&'static str>,
    pub message: String,
    /// What an identifier invitee signs in with (`uid:domain`).
    pub sign_in: Option<String>,
    /// The access code an admin hands to an identifier invitee.
    pub access_code: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Another delivery holds the import; try again after its lease.
    #[error("another worker is running this import")]
    Busy,
    /// Another worker took the import over meanwhile; this one stopped.
    #[error("the import was taken over by another worker")]
    TakenOver,
    #[error("storage failed")]
    Store(#[source] crate::Cause),
    #[error("file storage failed")]
    Files(#[source] crate::Cause),
}

impl From<StoreError> for RunError {
    fn from(e: StoreError) -> Self {
        Self::Store(e.into())
    }
}

impl From<FileError> for RunError {
    fn from(e: FileError) -> Self {
        Self::Files(e.into())
    }
}

fn write_failed(e: WriteError) -> RunError {
    match e {
        WriteError::Stale => RunError::TakenOver,
        e => RunError::Store(e.into()),
    }
}

/// What a delivery of the upload event did.
#[derive(Debug, Clone)]
pub enum Ran {
    /// The import ran to its end (completed or refused) now.
    Finished(Import),
    /// It had finished before: nothing done.
    AlreadyFinished(Import),
    /// No import has this id in this organisation (or the organisation is gone).
    NoSuchImport,
    /// The import's file is not there (deleted since the event): it keeps waiting for one.
    NoFile,
}

/// The invitation id of `identity`'s row in `import`: the same for every delivery of the event.
pub fn row_invitation_id(import: &Import, identity: &str) -> InvitationId {
    let digest = Sha256::new()
        .chain_update(import.id.as_str().as_bytes())
        .chain_update(b"\n")
        .chain_update(identity.as_bytes())
        .finalize();
    let mut bytes = [0u8; 10];
    bytes.copy_from_slice(&digest[..10]);
    InvitationId::from_uuid(crate::secret::time_ordered(import.created_at, &bytes))
}

/// Runs the import `id` of `org` from its uploaded file, once, however often it is called.
pub async fn run_import(
    services: &Services,
    sheets: &dyn Spreadsheets,
    org: &OrgDomain,
    id: &ImportId,
) -> Result<Ran, RunError> {
    let file = match services
        .files
        .read(&upload_key(org, id), MAX_UPLOAD_BYTES)
        .await
    {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => return Ok(Ran::NoFile),
        Err(FileError::TooLarge { .. }) => Err(FileRefusal {
            code: "file_too_large",
            message: format!(
                "the file is larger than {} MiB",
                MAX_UPLOAD_BYTES / 1024 / 1024
            ),
        }),
        Err(e) => return Err(e.into()),
    };
    let rows = file.and_then(|bytes| sheets.read(&bytes));
    let rows = match rows {
        Ok(rows) => rows,
        Err(refusal) => return refuse(services, org, id, refusal).await,
    };

    // One batched read: the organisation, the import, its author, the groups the rows name and
    // who holds each row's email or uid.
    let group_names = distinct_group_names(&rows);
    let claims = claim_keys(&rows);
    let lookup = Lookup {
        org: true,
        import: Some(id.clone()),
        group_names: group_names.clone(),
        claims: claims.iter().map(|(_, k)| k.clone()).collect(),
        ..Lookup::default()
    };
    let found = services.store.look_up(org, &lookup).await?;
    let (Some(found_org), Some(import)) = (found.org, found.import) else {
        return Ok(Ran::NoSuchImport);
    };
    let now = services.clock.now();
    let import = match take(services, import, now, rows.len()).await? {
        Taken::Now(import) => import,
        Taken::Finished(import) => return Ok(Ran::AlreadyFinished(import)),
    };
    let groups: GroupsByName = group_names
        .iter()
        .zip(found.group_ids)
        .filter_map(|(name, id)| Some((name.as_str().to_lowercase(), id?)))
        .collect();
    let held: HashMap<String, Claim> = claims
        .into_iter()
        .map(|(identity, _)| identity)
        .zip(found.claims)
        .collect();
    let inviter = import.created_by_name.clone();
    let inviter_email = import.created_by_email.clone();
    let mut run = Run {
        services,
        sheets,
        org: found_org,
        inviter,
        inviter_email,
        import,
        now,
    };
    run.rows(&rows, &groups, &held).await
}

/// Refuses the whole file: the import ends `refused` with the reason, nothing created.
async fn refuse(
    services: &Services,
    org: &OrgDomain,
    id: &ImportId,
    refusal: FileRefusal,
) -> Result<Ran, RunError> {
    let Some(import) = services.store.import(org, id).await? else {
        return Ok(Ran::NoSuchImport);
    };
    let now = services.clock.now();
    let import = match take(services, import, now, 0).await? {
        Taken::Now(import) => import,
        Taken::Finished(import) => return Ok(Ran::AlreadyFinished(import)),
    };
    tracing::info!(import = %id, %org, code = refusal.code, "import file refused");
    let mut next = import.clone();
    next.version += 1;
    next.state = ImportState::Refused {
        finished_at: now,
        code: refusal.code.to_string(),
        message: refusal.message,
    };
    let mut events = ChangeEvents::new(&*services.random, now);
    events.import_finished(&next);
    services
        .store
        .update_import(
            ImportProgress {
                import: &next,
                read_version: import.version,
            },
            &events,
        )
        .await
        .map_err(write_failed)?;
    Ok(Ran::Finished(next))
}

enum Taken {
    /// This worker holds the import now (at the returned version).
    Now(Import),
    Finished(Import),
}

/// Takes the import for this worker: waiting for its upload, or left by a worker whose lease
/// lapsed. `Busy` while another holds it.
async fn take(
    services: &Services,
    import: Import,
    now: Timestamp,
    rows: usize,
) -> Result<Taken, RunError> {
    match &import.state {
        ImportState::Completed { .. } | ImportState::Refused { .. } => {
            return Ok(Taken::Finished(import))
        }
        ImportState::Processing { lease_until, .. } if *lease_until > now => {
            return Err(RunError::Busy)
        }
        ImportState::Processing { .. } | ImportState::WaitingUpload => {}
    }
    let mut next = import.clone();
    next.version += 1;
    next.counts = ImportCounts::default();
    next.state = ImportState::Processing {
        started_at: now,
        lease_until: now.plus(LEASE),
        rows: u32::try_from(rows).unwrap_or(u32::MAX),
        rows_done: 0,
    };
    match services
        .store
        .update_import(
            ImportProgress {
                import: &next,
                read_version: import.version,
            },
            &ChangeEvents::none(),
        )
        .await
    {
        Ok(()) => Ok(Taken::Now(next)),
        // Another delivery took it first.
        Err(WriteError::Stale) => Err(RunError::Busy),
        Err(e) => Err(RunError::Store(e.into())),
    }
}

fn distinct_group_names(rows: &[ImportRow]) -> Vec<GroupName> {
    let mut names: Vec<GroupName> = Vec::new();
    for wanted in rows.iter().flat_map(|r| &r.groups) {
        if let Ok(name) = GroupName::parse(wanted) {
            let lower = name.as_str().to_lowercase();
            if !names.iter().any(|n| n.as_str().to_lowercase() == lower) {
                names.push(name);
            }
        }
    }
    names
}

/// The email or uid of each row that names one validly, once each, with its identity.
fn claim_keys(rows: &[ImportRow]) -> Vec<(String, AccountKey)> {
    let mut keys: Vec<(String, AccountKey)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for row in rows {
        let invitee = match (&row.email, &row.uid) {
            (Some(e), None) => EmailAddress::parse(e).ok().map(InviteeRequest::Email),
            (None, Some(u)) => Uid::parse(u).ok().map(InviteeRequest::Uid),
            _ => None,
        };
        let Some(invitee) = invitee else { continue };
        let identity = identity_of(&invitee);
        if seen.insert(identity.clone()) {
            let key = match invitee {
                InviteeRequest::Email(e) => AccountKey::Email(e),
                InviteeRequest::Uid(u) => AccountKey::Uid(u),
            };
            keys.push((identity, key));
        }
    }
    keys
}

mod rows;
use rows::Run;
