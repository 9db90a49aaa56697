//! The scheduled cleanup: sends due reminders, retries emails that did not go out, notes
//! expiries and removes invitations past their grace (see [`crate::lifecycle`]). It finds its
//! work in the due index, a bounded batch at a time, and changes each invitation only from the
//! version it read, sending after the write that records the send: two cleanups at once, or a
//! retried one, send each reminder and each retry once.

use std::collections::HashMap;

use crate::events::of_invitation;
use crate::lifecycle::{EventKind, Work};
use crate::model::{Invitation, Org};
use crate::ports::{DueEntry, StoreError, WriteError};
use crate::services::Services;
use crate::types::OrgDomain;
use crate::usecase::invite;

/// Entries read per query of the due index.
pub const BATCH: usize = 50;
/// How many times an invitation's work is tried when another worker changed it meanwhile.
pub const HANDLE_ATTEMPTS: u32 = 3;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanupReport {
    pub reminded: u32,
    /// Queued emails sent on a retry.
    pub retried: u32,
    /// Reminders and retries whose email failed (a retry is tried again later).
    pub mail_failed: u32,
    pub expired: u32,
    pub removed: u32,
    /// Entries another worker (or a person) had dealt with first.
    pub superseded: u32,
    /// Batches read from the due index.
    pub batches: u32,
    /// Whether the run stopped because its time was up, with work left.
    pub stopped_early: bool,
    /// Erasures whose remaining work (the log's redaction) this run completed.
    pub erasures_completed: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

/// Runs until no work is due or `time_left` answers false (checked before each batch).
pub async fn run_cleanup(
    services: &Services,
    time_left: &(dyn Fn() -> bool + Send + Sync),
) -> Result<CleanupReport, CleanupError> {
    let now = services.clock.now();
    let mut report = CleanupReport::default();
    let mut orgs: HashMap<OrgDomain, Option<Org>> = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        if !time_left() {
            report.stopped_early = true;
            break;
        }
        let due = services
            .store
            .due_invitations(now, after.as_deref(), BATCH)
            .await?;
        report.batches += 1;
        let Some(last) = due.last() else { break };
        after = Some(last.entry.clone());
        let full = due.len() == BATCH;
        for entry in &due {
            let org = match orgs.get(&entry.org) {
                Some(org) => org.clone(),
                None => {
                    let org = services.store.org(&entry.org).await?;
                    orgs.insert(entry.org.clone(), org.clone());
                    org
                }
            };
            let Some(org) = org else {
                tracing::warn!(org = %entry.org, "a due entry of an organisation that does not exist; dropped");
                services.store.settle_due_entry(entry, &[]).await?;
                continue;
            };
            if !settle(services, &org, entry, &mut report, time_left).await? {
                report.stopped_early = true;
                return Ok(report);
            }
        }
        if !full {
            break;
        }
    }
    Ok(report)
}

/// Does the work due on each invitation an entry names, then settles the entry (each
/// invitation left pointed to at its next due time). An invitation whose work failed keeps the
/// entry, to be tried on the next run. `false` when time ran out before an invitation (an
/// import's batch entry names up to 24): the entry is left as it is, and the next run does what
/// is still due (work done is written, so it is not done twice).
async fn settle(
    services: &Services,
    org: &Org,
    entry: &DueEntry,
    report: &mut CleanupReport,
    time_left: &(dyn Fn() -> bool + Send + Sync),
) -> Result<bool, StoreError> {
    let mut current = Vec::with_capacity(entry.invitations.len());
    let mut all_written = true;
    let mut failed = false;
    for (_, invitation) in &entry.invitations {
        let Some(invitation) = invitation else {
            continue;
        };
        if !time_left() {
            return Ok(false);
        }
        match handle(services, org, invitation.clone(), report).await {
            Ok(Handled::Written(now)) => current.push(now),
            Ok(Handled::Untouched(now)) => {
                all_written = false;
                current.push(now);
            }
            Ok(Handled::Gone) => {}
            Err(e) => {
                tracing::warn!(invitation = %invitation.id, cause = %crate::Chain(&e), "cleanup of an invitation failed; it stays due");
                failed = true;
            }
        }
    }
    // One invitation's own pointer moves with the write that did its work.
    let moved = all_written && entry.invitations.len() == 1;
    if !failed && !moved {
        let current: Vec<&Invitation> = current.iter().collect();
        services.store.settle_due_entry(entry, &current).await?;
    }
    Ok(true)
}

/// What became of one invitation: written by this run (as it is now), left as it was (nothing
/// due, or another worker did it), or removed.
enum Handled {
    Written(Invitation),
    Untouched(Invitation),
    Gone,
}

/// Does the work due on an invitation as read; when someone else changed it first, on the
/// invitation as it is now, if that is still due.
async fn handle(
    services: &Services,
    org: &Org,
    mut invitation: Invitation,
    report: &mut CleanupReport,
) -> Result<Handled, StoreError> {
    let now = services.clock.now();
    for attempt in 0..HANDLE_ATTEMPTS {
        let Some(work) = invitation.work_at(now, &org.settings) else {
            if attempt > 0 {
                report.superseded += 1;
            }
            return Ok(Handled::Untouched(invitation));
        };
        match step(services, org, &invitation, work, report).await {
            Ok(Some(done)) => return Ok(Handled::Written(done)),
            Ok(None) => return Ok(Handled::Gone),
            Err(WriteError::Stale) => {
                match services
                    .store
                    .invitation(&invitation.org, &invitation.id)
                    .await?
                {
                    Some(current) => invitation = current,
                    None => {
                        report.superseded += 1;
                        return Ok(Handled::Gone);
                    }
                }
            }
            Err(e) => return Err(StoreError::Unavailable(e.into())),
        }
    }
    Ok(Handled::Untouched(invitation))
}

/// Replaces `previous` with `next`, with the events of what its history gained.
async fn save(
    services: &Services,
    next: &Invitation,
    previous: &Invitation,
) -> Result<(), WriteError> {
    let events = of_invitation(services, Some(previous), next);
    services
        .store
        .update_invitation(next, previous, &events)
        .await
}

/// One piece of work on `invitation` as read, answering the invitation as written (`None`:
/// removed); `Stale` when it changed meanwhile (nothing done).
async fn step(
    services: &Services,
    org: &Org,
    invitation: &Invitation,
    work: Work,
    report: &mut CleanupReport,
) -> Result<Option<Invitation>, WriteError> {
    let now = services.clock.now();
    let store = &services.store;
    let mut next = invitation.clone();
    next.version = invitation.version + 1;
    match work {
        Work::Remove => {
            store.remove_invitation(invitation).await?;
            report.removed += 1;
            tracing::info!(invitation = %invitation.id, org = %invitation.org, "expired invitation removed");
            return Ok(None);
        }
        Work::NoteExpiry => {
            next.lifecycle.expiry_noted = true;
            next.record(EventKind::Expired, invitation.expires_at, None);
            save(services, &next, invitation).await?;
            report.expired += 1;
            return Ok(Some(next));
        }
        Work::DropReminders => {
            next.lifecycle.reminders.clear();
            save(services, &next, invitation).await?;
            return Ok(Some(next));
        }
        Work::Retry | Work::Remind => {}
    }
    let token = next
        .lifecycle
        .sealed_token
        .as_ref()
        .and_then(|s| services.access_codes.open_link_token(s));
    let Some(token) = token else {
        // Its link cannot be rebuilt (saved before links were kept sealed, or under another
        // key): nothing to mail; an admin's resend makes a new one.
        tracing::warn!(invitation = %invitation.id, "a due email whose link cannot be rebuilt; left for a resend");
        next.lifecycle.retry_at = None;
        next.lifecycle.reminders.clear();
        save(services, &next, invitation).await?;
        return Ok(Some(next));
    };
    // Record the send first, from the version read: of two workers only one gets past here.
    let reminder = work == Work::Remind;
    if reminder {
        next.lifecycle.reminders.remove(0);
        next.record(EventKind::Reminded, now, None);
    } else {
        // A lease: should this worker die after sending, the retry comes again after the wait.
        next.lifecycle.retry_at =
            Some(now.plus(Invitation::retry_wait(next.lifecycle.failed_sends + 1)));
    }
    save(services, &next, invitation).await?;
    let sent = match invite::email_of(services, org, &next, &token, reminder) {
        Ok(mail) => services
            .mailer
            .send(&mail)
            .await
            .map_err(crate::Cause::from),
        Err(e) => Err(e.into()),
    };
    let mut after = next.clone();
    after.version = next.version + 1;
    match sent {
        Ok(()) if reminder => {
            report.reminded += 1;
            return Ok(Some(next));
        }
        Ok(()) => {
            after.mark_sent(services.clock.now());
            report.retried += 1;
        }
        Err(cause) => {
            tracing::warn!(invitation = %invitation.id, cause = %crate::Chain(&*cause), reminder, "a cleanup email was not sent");
            if reminder {
                after.record(EventKind::DeliveryFailed, services.clock.now(), None);
            } else {
                after.mark_failed(services.clock.now());
            }
            report.mail_failed += 1;
        }
    }
    let events = of_invitation(services, Some(&next), &after);
    let recorded = crate::usecase::sent_record::recording_sent(|| {
        store.update_invitation(&after, &next, &events)
    })
    .await;
    match recorded {
        Ok(()) => Ok(Some(after)),
        Err(e) => {
            tracing::warn!(invitation = %invitation.id, cause = %crate::Chain(&e), "the outcome of a cleanup email was not recorded");
            Ok(Some(next))
        }
    }
}
