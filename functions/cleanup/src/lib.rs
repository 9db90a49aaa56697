//! `cleanup`: started by a schedule (every 5 minutes), it sends due reminders, retries emails
//! that did not go out, notes expiries and removes invitations past their grace
//! (`gatehouse_domain::usecase::cleanup`). It stops starting batches when the invocation's time
//! runs short; what is left is due on the next run. Two runs at once, or a retried one, send
//! nothing twice. With the time left, it carries on with erasures whose request could not
//! redact everything (`gatehouse_domain::usecase::erasure`). `gatehouse-local` runs the same
//! code on a timer and on demand.

use std::time::{Duration, Instant};

use gatehouse_domain::usecase::cleanup::{run_cleanup, CleanupError, CleanupReport};
use gatehouse_domain::usecase::erasure::advance_erasures;
use gatehouse_domain::Services;

/// Time kept free at the end of an invocation: the invitation whose work started just before
/// it finishes (its tries, each a send and a write, its re-reads and the entry's settle; derived
/// in `local/tests/template_timeouts.rs`).
pub const MARGIN: Duration = Duration::from_secs(80);

/// The time a run may take, from the invocation's deadline (milliseconds since the epoch).
pub fn budget(services: &Services, deadline_ms: u64) -> Duration {
    let now_ms = u64::try_from(services.clock.now().unix_seconds())
        .unwrap_or(0)
        .saturating_mul(1000);
    Duration::from_millis(deadline_ms.saturating_sub(now_ms)).saturating_sub(MARGIN)
}

/// Runs the cleanup for at most `budget` (checked between batches).
pub async fn run(services: &Services, budget: Duration) -> Result<CleanupReport, CleanupError> {
    let started = Instant::now();
    let time_left = move || started.elapsed() < budget;
    let mut report = run_cleanup(services, &time_left).await?;
    match advance_erasures(services, &time_left).await {
        Ok(completed) => report.erasures_completed = completed as u32,
        // Its progress is saved step by step: the next run goes on from there.
        Err(e) => {
            tracing::warn!(cause = %gatehouse_domain::Chain(&e), "an erasure did not advance")
        }
    }
    tracing::info!(
        reminded = report.reminded,
        retried = report.retried,
        mail_failed = report.mail_failed,
        expired = report.expired,
        removed = report.removed,
        superseded = report.superseded,
        batches = report.batches,
        stopped_early = report.stopped_early,
        erasures_completed = report.erasures_completed,
        "cleanup ran"
    );
    Ok(report)
}

/// The report as the invocation's answer (and the local run's).
pub fn report_json(report: &CleanupReport) -> serde_json::Value {
    serde_json::json!({
        "reminded": report.reminded,
        "retried": report.retried,
        "mail_failed": report.mail_failed,
        "expired": report.expired,
        "removed": report.removed,
        "superseded": report.superseded,
        "batches": report.batches,
        "stopped_early": report.stopped_early,
        "erasures_completed": report.erasures_completed,
    })
}
