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
    /// Invited: mailed, or given an access code.
    Invited,
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
            Self::Invited => "invited",
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
    let mut run = Run {
        services,
        sheets,
        org: found_org,
        inviter,
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
    services
        .store
        .update_import(ImportProgress {
            import: &next,
            read_version: import.version,
        })
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
        .update_import(ImportProgress {
            import: &next,
            read_version: import.version,
        })
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

/// One row on its way: what the report will say of it, and the invitation it made.
struct RowState {
    line: ReportLine,
    /// To mail: the invitation as saved and its link.
    to_mail: Option<(Invitation, SecretToken)>,
}

struct Run<'a> {
    services: &'a Services,
    sheets: &'a dyn Spreadsheets,
    org: Org,
    inviter: Option<String>,
    /// As this worker last wrote it.
    import: Import,
    now: Timestamp,
}

impl Run<'_> {
    async fn rows(
        &mut self,
        rows: &[ImportRow],
        groups: &GroupsByName,
        held: &HashMap<String, Claim>,
    ) -> Result<Ran, RunError> {
        let verdicts = classify_rows(rows, &self.org.settings, groups);
        let mut states: Vec<RowState> = Vec::with_capacity(rows.len());
        // Rows to invite now, and rows this import invited on an earlier delivery.
        let mut new: Vec<(usize, PlannedInvitation, InvitationId)> = Vec::new();
        let mut earlier: Vec<(usize, InvitationId)> = Vec::new();
        for (row, (_, verdict)) in rows.iter().zip(verdicts) {
            let index = states.len();
            let mut state = RowState {
                line: line_of(row),
                to_mail: None,
            };
            match verdict {
                RowVerdict::Skipped { code, message } => skip(&mut state.line, code, message),
                RowVerdict::Planned(planned) => {
                    let identity = identity_of(&planned.invitee);
                    let row_id = row_invitation_id(&self.import, &identity);
                    match held.get(&identity).unwrap_or(&Claim::Free) {
                        Claim::Account(_) => skip(
                            &mut state.line,
                            "already_registered",
                            "this person already has an account here",
                        ),
                        Claim::Invitation { id, .. } if *id == row_id => {
                            earlier.push((index, row_id))
                        }
                        Claim::Invitation { expires_at, .. } if *expires_at > self.now => skip(
                            &mut state.line,
                            "already_invited",
                            "this person already has a pending invitation here",
                        ),
                        _ if self.import.dry_run => {
                            state.line.result = RowResult::Valid;
                            state.line.message = "would be invited".into();
                        }
                        _ => new.push((index, planned, row_id)),
                    }
                }
            }
            states.push(state);
        }
        if !earlier.is_empty() {
            self.resume(&mut states, &earlier).await?;
        }
        self.create(&mut states, new).await?;
        self.mail_and_finish(states).await
    }

    /// The invitations an earlier delivery saved: already mailed, or mailed now.
    async fn resume(
        &mut self,
        states: &mut [RowState],
        earlier: &[(usize, InvitationId)],
    ) -> Result<(), RunError> {
        let services = self.services;
        let ids: Vec<InvitationId> = earlier.iter().map(|(_, id)| id.clone()).collect();
        let found = services
            .store
            .look_up(
                &self.org.domain,
                &Lookup {
                    invitations: ids,
                    ..Lookup::default()
                },
            )
            .await?;
        for ((index, _), invitation) in earlier.iter().zip(found.invitations) {
            let state = &mut states[*index];
            let Some(invitation) = invitation else {
                skip(
                    &mut state.line,
                    "already_invited",
                    "this person already has a pending invitation here",
                );
                continue;
            };
            if invitation.delivery != Delivery::Queued
                || invitation.state != InvitationState::Pending
            {
                self.invited(state, &invitation, None);
                continue;
            }
            // Saved, not mailed: mailed now with the link it was saved with (kept sealed), which
            // costs no write; one that cannot be opened (sealed under another key) gets a new
            // link, its old one never having been seen.
            if let Some(token) = invitation
                .lifecycle
                .sealed_token
                .as_ref()
                .and_then(|s| services.access_codes.open_link_token(s))
            {
                state.to_mail = Some((invitation, token));
                continue;
            }
            let token = SecretToken::generate(services.random.as_ref());
            let mut renewed = invitation.clone();
            if let Invitee::Email { token_hash, .. } = &mut renewed.invitee {
                *token_hash = token.hash();
            }
            renewed.lifecycle.sealed_token = Some(invite::seal(services, &token));
            match services
                .store
                .update_invitation(&renewed, &invitation)
                .await
            {
                Ok(()) => {
                    renewed.version += 1;
                    state.to_mail = Some((renewed, token));
                }
                Err(WriteError::Stale) => self.invited(state, &invitation, None),
                Err(e) => return Err(RunError::Store(e.into())),
            }
        }
        Ok(())
    }

    /// Saves the new invitations, [`INVITATIONS_PER_WRITE`] at a time with the import's progress.
    async fn create(
        &mut self,
        states: &mut [RowState],
        new: Vec<(usize, PlannedInvitation, InvitationId)>,
    ) -> Result<(), RunError> {
        let services = self.services;
        let ttl = self.org.settings.invitation_ttl();
        let mut pending = new.into_iter().peekable();
        while pending.peek().is_some() {
            let chunk: Vec<_> = pending.by_ref().take(INVITATIONS_PER_WRITE).collect();
            let mut made = Vec::with_capacity(chunk.len());
            for (index, planned, id) in chunk {
                let (invitee, token, code) = match planned.invitee {
                    InviteeRequest::Email(email) => {
                        let token = SecretToken::generate(services.random.as_ref());
                        let invitee = Invitee::Email {
                            email,
                            token_hash: token.hash(),
                        };
                        (invitee, Some(token), None)
                    }
                    InviteeRequest::Uid(uid) => {
                        let code = AccessCode::generate(services.random.as_ref());
                        let invitee = Invitee::Uid {
                            uid,
                            access_code: services
                                .access_codes
                                .seal(&code, services.random.as_ref()),
                            code_hash: services.access_codes.lookup_hash(&code),
                        };
                        (invitee, None, Some(code))
                    }
                };
                let invitation = Invitation {
                    id,
                    org: self.org.domain.clone(),
                    delivery: if token.is_some() {
                        Delivery::Queued
                    } else {
                        Delivery::Manual
                    },
                    invitee,
                    role: InviteeRole::Member,
                    first_name: planned.first_name,
                    last_name: planned.last_name,
                    groups: planned.groups,
                    message: self.org.settings.invitation_message.clone(),
                    invited_by: Some(self.import.created_by.clone()),
                    created_at: self.now,
                    expires_at: self.now.plus(ttl),
                    state: InvitationState::Pending,
                    lifecycle: Lifecycle {
                        inviter_name: self.inviter.clone(),
                        language: self.org.settings.language,
                        ..Lifecycle::for_new(
                            self.now,
                            Some(self.import.created_by.clone()),
                            token.as_ref().map(|t| invite::seal(services, t)),
                            if token.is_some() {
                                reminder_times(&self.org.settings, self.now, self.now.plus(ttl))
                            } else {
                                Vec::new()
                            },
                        )
                    },
                    version: 0,
                };
                made.push((index, invitation, token, code));
            }
            let invitations: Vec<Invitation> = made.iter().map(|(_, i, _, _)| i.clone()).collect();
            let next = self.step(states);
            let outcomes = services
                .store
                .create_invitations(
                    &invitations,
                    ImportProgress {
                        import: &next,
                        read_version: self.import.version,
                    },
                )
                .await
                .map_err(write_failed)?;
            self.import = next;
            for ((index, invitation, token, code), outcome) in made.into_iter().zip(outcomes) {
                let state = &mut states[index];
                match outcome {
                    Ok(()) => match token {
                        Some(token) => state.to_mail = Some((invitation, token)),
                        None => self.invited(state, &invitation, code),
                    },
                    Err(WriteError::EmailTaken | WriteError::UidTaken) => skip(
                        &mut state.line,
                        "already_invited",
                        "this person was invited or registered meanwhile",
                    ),
                    Err(e) => {
                        tracing::warn!(import = %self.import.id, row = state.line.row, cause = %crate::Chain(&e), "an import row was not saved");
                        skip(
                            &mut state.line,
                            "not_saved",
                            "the invitation could not be saved; upload the row again",
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// Mails the saved invitations and records their delivery, [`DELIVERIES_PER_WRITE`] at a
    /// time; then keeps the report and completes the import (with the last deliveries).
    async fn mail_and_finish(&mut self, mut states: Vec<RowState>) -> Result<Ran, RunError> {
        let services = self.services;
        let to_mail: Vec<usize> = (0..states.len())
            .filter(|i| states[*i].to_mail.is_some())
            .collect();
        let chunks: Vec<&[usize]> = to_mail.chunks(DELIVERIES_PER_WRITE).collect();
        if chunks.is_empty() {
            self.save_report(&states).await?;
            let next = self.finished(&states);
            services
                .store
                .update_import(ImportProgress {
                    import: &next,
                    read_version: self.import.version,
                })
                .await
                .map_err(write_failed)?;
            self.count_finished(&next);
            return Ok(Ran::Finished(next));
        }
        let last = chunks.len() - 1;
        for (n, chunk) in chunks.into_iter().enumerate() {
            let mails: Vec<Option<OutgoingEmail>> =
                chunk
                    .iter()
                    .map(|i| {
                        let (invitation, token) = states[*i].to_mail.as_ref()?;
                        invite::email_of(services, &self.org, invitation, token, false)
                    .map_err(|e| tracing::error!(cause = %crate::Chain(&e), "an invitation email did not render"))
                    .ok()
                    })
                    .collect();
            let sent = send_all(services.mailer.clone(), mails).await;
            let mut changes = Vec::new();
            for (i, ok) in chunk.iter().zip(sent) {
                let state = &mut states[*i];
                let Some((mut invitation, _)) = state.to_mail.take() else {
                    continue;
                };
                if ok {
                    let before = invitation.clone();
                    invitation.mark_sent(self.now);
                    changes.push(DeliveryChange {
                        before,
                        after: invitation.clone(),
                    });
                    self.invited(state, &invitation, None);
                } else {
                    state.line.result = RowResult::Queued;
                    state.line.code = Some("mail_not_sent");
                    state.line.message =
                        "invited, but the email could not be sent yet; it is tried again automatically"
                            .into();
                }
            }
            let next = if n == last {
                self.save_report(&states).await?;
                self.finished(&states)
            } else {
                self.step(&states)
            };
            if !changes.is_empty() || n == last {
                crate::usecase::sent_record::recording_sent(|| {
                    services.store.record_deliveries(
                        &changes,
                        ImportProgress {
                            import: &next,
                            read_version: self.import.version,
                        },
                    )
                })
                .await
                .map_err(write_failed)?;
                if n == last {
                    self.count_finished(&next);
                }
                self.import = next;
            }
        }
        Ok(Ran::Finished(self.import.clone()))
    }

    async fn save_report(&self, states: &[RowState]) -> Result<(), RunError> {
        let lines: Vec<ReportLine> = states.iter().map(|s| s.line.clone()).collect();
        let bytes = self
            .sheets
            .report(self.org.name(), &lines)
            .map_err(RunError::Files)?;
        self.services
            .files
            .write(
                &report_key(&self.org.domain, &self.import.id),
                bytes,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            .await?;
        Ok(())
    }

    /// Marks a row invited (for an identifier, with its access code).
    fn invited(&self, state: &mut RowState, invitation: &Invitation, code: Option<AccessCode>) {
        state.line.result = RowResult::Invited;
        state.line.code = None;
        match &invitation.invitee {
            Invitee::Email { .. } => {
                state.line.message = match invitation.delivery {
                    Delivery::Sent => "invited; the invitation email was sent".into(),
                    _ => "invited".into(),
                }
            }
            Invitee::Uid {
                uid, access_code, ..
            } => {
                let code = code.or_else(|| self.services.access_codes.open(access_code));
                state.line.sign_in = Some(format!("{uid}:{}", invitation.org));
                state.line.access_code = code.map(|c| c.grouped());
                state.line.message = "invited; hand over the access code".into();
            }
        }
    }

    /// The import as the next write leaves it: its counts and rows done so far (rows whose
    /// outcome is final), its lease renewed.
    fn step(&self, states: &[RowState]) -> Import {
        let mut next = self.import.clone();
        next.version += 1;
        next.counts = tally(states);
        let done = next.counts.created + next.counts.failed + next.counts.skipped;
        let renewed = self.services.clock.now().plus(LEASE);
        if let ImportState::Processing {
            rows_done,
            lease_until,
            ..
        } = &mut next.state
        {
            *rows_done = done;
            *lease_until = renewed;
        }
        next
    }

    /// The finished import's rows, counted once: only the delivery whose write completed the
    /// import (a conditional write, so one of any at once) gets here.
    fn count_finished(&self, import: &Import) {
        use crate::metrics::Metric;
        let metrics = &self.services.metrics;
        let counts = &import.counts;
        metrics.count(Metric::ImportRowsCreated, u64::from(counts.created));
        metrics.count(Metric::ImportRowsSkipped, u64::from(counts.skipped));
        metrics.count(Metric::ImportRowsFailed, u64::from(counts.failed));
        metrics.count(
            Metric::InvitationsCreated,
            u64::from(counts.created) + u64::from(counts.failed),
        );
    }

    fn finished(&self, states: &[RowState]) -> Import {
        let mut next = self.step(states);
        let rows = match self.import.state {
            ImportState::Processing { rows, .. } => rows,
            _ => 0,
        };
        next.state = ImportState::Completed {
            finished_at: self.services.clock.now(),
            rows,
        };
        next
    }
}

/// The counts the rows' results make.
fn tally(states: &[RowState]) -> ImportCounts {
    let of = |result: RowResult| count(states.iter().filter(|s| s.line.result == result).count());
    let skipped = of(RowResult::Skipped);
    ImportCounts {
        valid: count(states.len()) - skipped,
        created: of(RowResult::Invited),
        failed: of(RowResult::Queued),
        skipped,
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn line_of(row: &ImportRow) -> ReportLine {
    ReportLine {
        row: row.number,
        email: row.email.clone(),
        uid: row.uid.clone(),
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        result: RowResult::Pending,
        code: None,
        message: String::new(),
        sign_in: None,
        access_code: None,
    }
}

fn skip(line: &mut ReportLine, code: &'static str, message: impl Into<String>) {
    line.result = RowResult::Skipped;
    line.code = Some(code);
    line.message = message.into();
}

/// Sends the mails, [`MAILS_IN_FLIGHT`] at a time; answers which went out (`None`: not sent).
async fn send_all(
    mailer: Arc<dyn crate::ports::Mailer>,
    mails: Vec<Option<OutgoingEmail>>,
) -> Vec<bool> {
    let total = mails.len();
    let gate = Arc::new(tokio::sync::Semaphore::new(MAILS_IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mail) in mails.into_iter().enumerate() {
        let Some(mail) = mail else { continue };
        let (mailer, gate) = (mailer.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let sent = mailer.send(&mail).await;
            if let Err(e) = &sent {
                tracing::warn!(cause = %crate::Chain(e), "an import's invitation email was not sent; left queued");
            }
            (i, sent.is_ok())
        });
    }
    let mut sent = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(done) = done {
            sent.push(done);
        }
    }
    let mut out = vec![false; total];
    for (i, ok) in sent {
        out[i] = ok;
    }
    out
}
