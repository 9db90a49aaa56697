//! No function is killed before its own budgets run out (issue 23): each function's `Timeout`
//! exceeds the worst case of the time limits its code sets itself, and the HTTP functions stay
//! under API Gateway's 29 seconds. Derived from the code's constants and the template, so that
//! changing either without the other fails here.
//!
//! - HTTP functions: the edge answers every request within `REQUEST_BUDGET` (a request over it is
//!   answered `503 over_budget`, nothing more done); a mail send and the store writes on either
//!   side of it (the invitation saved `queued`, then marked sent) fit inside it, so "201 queued"
//!   is answered even when SES hangs.
//! - `cleanup`: stops before each invitation once less than `MARGIN` is left; one invitation's
//!   work (its tries, each a send and a write, the re-reads, the entry's settle) fits in it.
//! - `bulk-import`: between two writes of its progress a worker mails one chunk
//!   (`DELIVERIES_PER_WRITE`, `MAILS_IN_FLIGHT` at a time); that fits in its lease (else a
//!   redelivery would take over a live worker) and in its timeout.
//! - `mail-events`: one bounce or complaint is a read and a write of the invitation.

mod template;

use std::time::Duration;

use gatehouse_aws::ses::SES_SEND_TIMEOUT;
use gatehouse_aws::DYNAMO_CALL_TIMEOUT;
use gatehouse_domain::ports::DELIVERIES_PER_WRITE;
use gatehouse_domain::usecase::bulk_import::{LEASE, MAILS_IN_FLIGHT};
use gatehouse_http::REQUEST_BUDGET;

/// API Gateway's integration timeout, which an HTTP function must stay under.
const GATEWAY_TIMEOUT: Duration = Duration::from_secs(29);
/// Time for an answer already made to reach API Gateway and the logs to be flushed.
const ANSWER: Duration = Duration::from_secs(1);

/// Each function's timeout (its own, else the Globals'), and whether API Gateway calls it.
fn timeouts() -> Vec<(String, Duration, bool)> {
    let global: u64 = template::global("Timeout")
        .expect("Globals set a timeout")
        .parse()
        .unwrap();
    template::functions()
        .into_iter()
        .map(|(code, _, block)| {
            let seconds = template::value(&block, "Timeout")
                .map(|v| v.parse().unwrap())
                .unwrap_or(global);
            let http = block.iter().any(|l| l.trim() == "Type: HttpApi");
            (code, Duration::from_secs(seconds), http)
        })
        .collect()
}

fn timeout_of(name: &str) -> Duration {
    timeouts()
        .into_iter()
        .find(|(code, ..)| code == name)
        .unwrap_or_else(|| panic!("{name} is deployed"))
        .1
}

#[test]
fn http_functions_answer_within_their_budget_and_before_api_gateway_gives_up() {
    // A send that hangs, with a write before and after it, is still answered within budget.
    assert!(
        SES_SEND_TIMEOUT + 2 * DYNAMO_CALL_TIMEOUT <= REQUEST_BUDGET,
        "{SES_SEND_TIMEOUT:?} + 2 × {DYNAMO_CALL_TIMEOUT:?} must fit in {REQUEST_BUDGET:?}"
    );
    let http: Vec<_> = timeouts().into_iter().filter(|(.., http)| *http).collect();
    assert!(http.len() >= 10, "the HTTP functions: {http:?}");
    for (code, timeout, _) in http {
        assert!(
            REQUEST_BUDGET + ANSWER <= timeout,
            "{code} times out at {timeout:?}, before its answer at {REQUEST_BUDGET:?} + {ANSWER:?}"
        );
        assert!(
            timeout < GATEWAY_TIMEOUT,
            "{code} times out at {timeout:?}, after API Gateway's {GATEWAY_TIMEOUT:?}"
        );
    }
}

#[test]
fn the_cleanup_stops_with_time_left_for_the_invitation_in_hand() {
    // Each try a send and its write, a re-read after each, and the entry's settle.
    let tries = gatehouse_domain::usecase::cleanup::HANDLE_ATTEMPTS;
    let one_invitation = tries * (SES_SEND_TIMEOUT + DYNAMO_CALL_TIMEOUT)
        + tries * DYNAMO_CALL_TIMEOUT
        + DYNAMO_CALL_TIMEOUT;
    assert!(
        one_invitation <= gatehouse_cleanup::MARGIN,
        "an invitation's work ({one_invitation:?}) fits in the margin"
    );
    let timeout = timeout_of("cleanup");
    assert!(
        gatehouse_cleanup::MARGIN * 2 <= timeout,
        "{timeout:?} leaves time for work, not only the margin"
    );
}

#[test]
fn a_bulk_import_worker_writes_its_progress_within_its_lease_and_its_timeout() {
    let rounds = DELIVERIES_PER_WRITE.div_ceil(MAILS_IN_FLIGHT) as u32;
    let between_writes = rounds * SES_SEND_TIMEOUT + DYNAMO_CALL_TIMEOUT;
    assert!(
        between_writes < LEASE,
        "a chunk ({between_writes:?}) is written within the lease ({LEASE:?})"
    );
    let timeout = timeout_of("bulk-import");
    assert!(
        LEASE + between_writes <= timeout,
        "{timeout:?} holds a lease's worth of work and one more chunk"
    );
}

#[test]
fn a_mail_event_is_handled_within_its_timeout() {
    let timeout = timeout_of("mail-events");
    assert!(2 * DYNAMO_CALL_TIMEOUT + ANSWER <= timeout, "{timeout:?}");
}
