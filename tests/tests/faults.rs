//! Faults injected between the bundle and AWS (moto behind [`FaultyAws`], a proxy that refuses a
//! share of calls as AWS does: throttling, internal errors, batch items left unprocessed), and
//! workers dying half-way. Each suite prints a report — calls made, faults injected,
//! invitations lost, emails sent twice — and asserts the last two are zero. The figures are in
//! BENCHMARKS.md ("Fault injection").

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use gatehouse_domain::ports::{MailError, Mailer, OutgoingEmail};
use gatehouse_domain::usecase::cleanup::CleanupReport;
use gatehouse_e2e::{
    aws_endpoint, on_both_backends, Backend, Bundle, Fault, FaultyAws, Reply, ADMIN_PASSWORD,
};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

on_both_backends!(a_cleanup_that_dies_half_way_is_finished_by_the_next);

/// One line of the report, for BENCHMARKS.md.
fn report(suite: &str, proxy: &FaultyAws, lost: usize, duplicated: usize, extra: &str) {
    let dynamo = proxy.total("DynamoDB.");
    let ses = proxy.total("SES.");
    let s3 = proxy.total("S3.");
    println!(
        "FAULTS | {suite} | DynamoDB {} calls, {} faults | SES {} calls, {} faults | S3 {} calls, {} faults | lost {lost} | sent twice {duplicated} | {extra}",
        dynamo.calls, dynamo.faults, ses.calls, ses.faults, s3.calls, s3.faults
    );
    println!("  per operation: {:?}", proxy.tallies());
}

/// An admin's request as a careful client sends it: with an Idempotency-Key, sent again (after
/// a pause, here the clock moved on) while the answer is 503 or the key is still in use.
async fn keyed_until_answered(
    b: &Bundle,
    path: &str,
    key: &str,
    body: &serde_json::Value,
) -> Reply {
    for _ in 0..30 {
        let reply = b
            .gateway
            .raw(
                "POST",
                path,
                vec![
                    ("content-type".into(), "application/json".into()),
                    ("authorization".into(), format!("Bearer {}", b.admin_token)),
                    ("idempotency-key".into(), key.into()),
                ],
                Some(body.to_string()),
            )
            .await;
        match (reply.status, reply.code()) {
            (503, _) | (409, "idempotency_key_in_use") => {
                b.advance(Duration::from_secs(60));
            }
            _ => return reply,
        }
    }
    panic!("{path} never answered");
}

/// Runs the cleanup (as the schedule does) until nothing it can do is left: each pass moves the
/// clock an hour, so that every retry wait passes. Faults may fail a pass; the next one goes on.
async fn clean_up_until_quiet(b: &Bundle) -> (CleanupReport, usize) {
    let mut total = CleanupReport::default();
    let mut failed_passes = 0;
    let mut quiet = 0;
    for _ in 0..60 {
        b.advance(Duration::from_secs(3600));
        match gatehouse_cleanup::run(&b.services, Duration::from_secs(60)).await {
            Ok(r) => {
                if r.retried == 0 && r.mail_failed == 0 && r.reminded == 0 {
                    quiet += 1;
                    if quiet == 2 {
                        break;
                    }
                } else {
                    quiet = 0;
                }
                total.retried += r.retried;
                total.mail_failed += r.mail_failed;
                total.reminded += r.reminded;
            }
            Err(_) => failed_passes += 1,
        }
    }
    (total, failed_passes)
}

/// How many emails whose subject does (`reminders`) or does not start with "Reminder" each
/// address got; the mailbox is read once.
async fn mails_to(b: &Bundle, emails: &[String], reminders: bool) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> =
        emails.iter().map(|e| (e.to_lowercase(), 0)).collect();
    for mail in b.mailbox.all().await {
        if mail.subject.starts_with("Reminder") != reminders {
            continue;
        }
        for to in &mail.to {
            let to = to.to_lowercase();
            if let Some((_, n)) = counts.iter_mut().find(|(e, _)| to.contains(e.as_str())) {
                *n += 1;
            }
        }
    }
    counts
}

async fn invitation_mails(b: &Bundle, emails: &[String]) -> BTreeMap<String, usize> {
    mails_to(b, emails, false).await
}

/// The invitations of the organisation, by email, as an admin lists them (signed in afresh:
/// these suites move the clock by days).
async fn invited_emails(b: &Bundle) -> Vec<String> {
    let signed_in = b.sign_in(&b.admin_email, ADMIN_PASSWORD).await;
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    let token = signed_in.json["token"].as_str().unwrap().to_string();
    let mut emails = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(c) => format!("/v1/orgs/demo/invitations?limit=100&cursor={c}"),
            None => "/v1/orgs/demo/invitations?limit=100".into(),
        };
        let page = b.gateway.get(&path, Some(&token)).await;
        assert_eq!(page.status, 200, "{page:?}");
        for item in page.json["items"].as_array().unwrap() {
            if let Some(e) = item["email"].as_str() {
                emails.push(e.to_string());
            }
        }
        match page.json["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_string()),
            None => return emails,
        }
    }
}

/// 30 % of the emails failed by SES (500 `InternalFailure`) through all of the SDK's attempts
/// (so that the failure reaches Gatehouse), 30 % of DynamoDB calls throttled and 30 % of batch reads left partly
/// unprocessed, while an admin invites 60 people one by one (retrying as a client does) and the
/// cleanup retries what did not go out. Everyone is invited once and mailed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_invitations_under_faults_are_neither_lost_nor_mailed_twice() {
    let proxy = FaultyAws::start(&aws_endpoint(), 0x5eed_0001).await;
    let b = Bundle::start_through(&proxy.endpoint, "eu-west-2", |items| items).await;
    proxy.fail_persistently(
        "SES.SendEmail",
        Fault::ServerError,
        0.3,
        gatehouse_aws::ses::SES_ATTEMPTS,
    );
    proxy.fail("DynamoDB.BatchGetItem", Fault::Unprocessed, 0.3);
    proxy.fail("DynamoDB.*", Fault::Throttle, 0.3);
    let emails: Vec<String> = (0..60).map(|n| b.email(&format!("f{n}"))).collect();
    let mut answers = BTreeMap::<(u16, String), usize>::new();
    for (n, email) in emails.iter().enumerate() {
        let body = json!({"email": email, "role": "member", "first_name": "Fay", "last_name": format!("Fault{n}")});
        let reply =
            keyed_until_answered(&b, "/v1/orgs/demo/invitations", &format!("inv-{n}"), &body).await;
        assert!(
            matches!(
                (reply.status, reply.code()),
                (201, _) | (409, "email_taken")
            ),
            "{reply:?}"
        );
        *answers
            .entry((reply.status, reply.code().to_string()))
            .or_default() += 1;
    }
    let (cleaned, failed_passes) = clean_up_until_quiet(&b).await;
    proxy.heal();
    // And once more without faults: whatever is still due goes out now.
    let (healed, _) = clean_up_until_quiet(&b).await;
    let invited = invited_emails(&b).await;
    let lost = emails.iter().filter(|e| !invited.contains(e)).count();
    let twice_invited = invited.len() - invited.iter().collect::<HashSet<_>>().len();
    let mails = invitation_mails(&b, &emails).await;
    let unmailed = mails.values().filter(|n| **n == 0).count();
    let duplicated: usize = mails.values().map(|n| n.saturating_sub(1)).sum();
    report(
        "60 single invitations",
        &proxy,
        lost,
        duplicated,
        &format!(
            "answers {answers:?}; cleanup under faults: {} retried, {} failed sends, {failed_passes} passes failed; after healing {} retried",
            cleaned.retried, cleaned.mail_failed, healed.retried
        ),
    );
    assert!(proxy.total("DynamoDB.").faults > 0 && proxy.total("SES.").faults > 0);
    assert_eq!(lost, 0, "invitations lost");
    assert_eq!(twice_invited, 0, "invitations made twice");
    assert_eq!(unmailed, 0, "people never mailed: {mails:?}");
    assert_eq!(duplicated, 0, "emails sent twice: {mails:?}");
}

/// A 500-row import while 30 % of DynamoDB calls are throttled, 30 % of batch reads come back
/// partly unprocessed, 30 % of S3 calls are slowed down and 30 % of the emails are refused by
/// SES through all of the SDK's attempts. The S3 event is delivered again whenever a delivery
/// fails (as Lambda retries it), after the dead worker's lease; the cleanup retries the emails.
/// Everyone is invited once and mailed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_500_row_import_under_faults_invites_and_mails_everyone_once() {
    use gatehouse_domain::usecase::bulk_import::LEASE;
    let proxy = FaultyAws::start(&aws_endpoint(), 0x5eed_0500).await;
    let b = Bundle::start_through(&proxy.endpoint, "eu-west-3", |items| items).await;
    let emails: Vec<String> = (0..500).map(|n| b.email(&format!("bulk{n}"))).collect();
    let file = gatehouse_e2e::import_sheet(&emails);
    let (id, url) = b.start_import(false).await;
    let key = b.upload_to_s3(&url, file.clone()).await;

    proxy.fail_persistently(
        "SES.SendEmail",
        Fault::Throttle,
        0.3,
        gatehouse_aws::ses::SES_ATTEMPTS,
    );
    proxy.fail("DynamoDB.BatchGetItem", Fault::Unprocessed, 0.3);
    proxy.fail("DynamoDB.*", Fault::Throttle, 0.3);
    proxy.fail("S3.*", Fault::Throttle, 0.3);
    let (mut deliveries, mut failed) = (0, 0);
    loop {
        deliveries += 1;
        assert!(deliveries <= 20, "the import never finished");
        match b.deliver_upload_event(&key, file.len()).await {
            Ok(outcomes) => {
                let finished = outcomes.iter().any(|o| {
                    matches!(
                        o,
                        gatehouse_bulk_import::Outcome::Ran(
                            gatehouse_domain::usecase::bulk_import::Ran::Finished(_)
                                | gatehouse_domain::usecase::bulk_import::Ran::AlreadyFinished(_)
                        )
                    )
                });
                if finished {
                    break;
                }
            }
            Err(e) => {
                eprintln!(
                    "delivery {deliveries} failed: {} after {:?}",
                    e.chars().take(60).collect::<String>(),
                    proxy.tallies()
                );
                failed += 1
            }
        }
        // Lambda delivers the event again later; by then the failed worker's lease is over.
        b.advance(LEASE + Duration::from_secs(1));
    }
    let (cleaned, failed_passes) = clean_up_until_quiet(&b).await;
    proxy.heal();
    let (healed, _) = clean_up_until_quiet(&b).await;

    let signed_in = b.sign_in(&b.admin_email, ADMIN_PASSWORD).await;
    let token = signed_in.json["token"].as_str().unwrap().to_string();
    let done = b
        .gateway
        .get(&format!("/v1/orgs/demo/imports/{id}"), Some(&token))
        .await;
    assert_eq!(done.json["status"], "completed", "{done:?}");
    // Every row invited: mailed then, or queued ("failed" in the counts: the email is retried).
    let counts = &done.json["counts"];
    assert_eq!(
        counts["created"].as_u64().unwrap() + counts["failed"].as_u64().unwrap(),
        500,
        "{done:?}"
    );
    let invited = invited_emails(&b).await;
    let unique: HashSet<String> = invited.iter().map(|e| e.to_lowercase()).collect();
    let lost = emails
        .iter()
        .filter(|e| !unique.contains(&e.to_lowercase()))
        .count();
    let mails = invitation_mails(&b, &emails).await;
    let unmailed = mails.values().filter(|n| **n == 0).count();
    let duplicated: usize = mails.values().map(|n| n.saturating_sub(1)).sum();
    report(
        "500-row import",
        &proxy,
        lost,
        duplicated,
        &format!(
            "{deliveries} deliveries of the S3 event, {failed} failed and delivered again; rows mailed at once {}, queued {}; cleanup under faults: {} retried, {} failed sends, {failed_passes} passes failed; after healing {} retried",
            counts["created"], counts["failed"], cleaned.retried, cleaned.mail_failed, healed.retried
        ),
    );
    assert!(proxy.total("SES.").faults > 0 && proxy.total("DynamoDB.").faults > 0);
    assert_eq!(lost, 0, "invitations lost");
    assert_eq!(invited.len(), unique.len(), "invitations made twice");
    assert_eq!(unmailed, 0, "people never mailed");
    assert_eq!(duplicated, 0, "emails sent twice");
}

/// The S3 event for an upload that was deleted before it was read (a second event for an
/// object replaced since, a bucket emptied by hand): the delivery succeeds — nothing to retry —
/// and the import goes on waiting for a file, which a real upload then completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_for_a_deleted_upload_changes_nothing() {
    let proxy = FaultyAws::start(&aws_endpoint(), 0x5eed_0de1).await;
    let b = Bundle::start_through(&proxy.endpoint, "us-east-1", |items| items).await;
    let emails: Vec<String> = (0..3).map(|n| b.email(&format!("gone{n}"))).collect();
    let file = gatehouse_e2e::import_sheet(&emails);
    let (id, url) = b.start_import(false).await;
    let key = b.upload_to_s3(&url, file.clone()).await;
    let gatehouse_e2e::FileHost::S3 { bucket } = &b.files else {
        unreachable!("the AWS backend")
    };
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&gatehouse_e2e::aws_config().await)
            .force_path_style(true)
            .build(),
    );
    s3.delete_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .expect("deleted on moto");
    for _ in 0..2 {
        let outcome = b
            .deliver_upload_event(&key, file.len())
            .await
            .expect("nothing to retry");
        assert!(
            matches!(
                outcome.as_slice(),
                [gatehouse_bulk_import::Outcome::Ran(
                    gatehouse_domain::usecase::bulk_import::Ran::NoFile
                )]
            ),
            "{outcome:?}"
        );
    }
    let waiting = b
        .gateway
        .get(&format!("/v1/orgs/demo/imports/{id}"), Some(&b.admin_token))
        .await;
    assert_eq!(waiting.json["status"], "waiting_upload", "{waiting:?}");
    assert_eq!(b.invitation_count().await, 0);
    let (put, delivered) = b.upload(&url, file).await;
    assert_eq!(put.status, 200);
    delivered.expect("an event").expect("the import ran");
    let done = b.finished_import(&id).await;
    assert_eq!(done.json["counts"]["created"], 3, "{done:?}");
    report(
        "event for a deleted upload",
        &proxy,
        0,
        0,
        "2 events for the deleted object: NoFile, nothing retried",
    );
}

/// Bulk writes (`BatchWriteItem`, used to load items in bulk) while half of each batch comes
/// back unprocessed in 40 % of calls and 30 % of the others are throttled: every item is
/// written, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batch_writes_with_unprocessed_items_write_everything() {
    use gatehouse_store::{Attrs, Item, ItemStore, Key};
    let proxy = FaultyAws::start(&aws_endpoint(), 0x5eed_0ba7).await;
    let (items, _) = gatehouse_e2e::dynamo_table_at(&proxy.endpoint, "us-east-1").await;
    proxy.fail("DynamoDB.BatchWriteItem", Fault::Unprocessed, 0.4);
    proxy.fail("DynamoDB.*", Fault::Throttle, 0.3);
    let written: Vec<Item> = (0..300)
        .map(|n| {
            let mut attrs = Attrs::new();
            attrs.insert("n".into(), json!(n));
            Item {
                key: Key::new(format!("BULK#{n:04}"), "#"),
                attrs,
            }
        })
        .collect();
    items.put_many(written.clone()).await.expect("all written");
    proxy.heal();
    let keys: Vec<Key> = written.iter().map(|i| i.key.clone()).collect();
    let read = items.get_many(&keys).await.expect("read back");
    let lost = read.iter().filter(|i| i.is_none()).count();
    for (item, back) in written.iter().zip(&read) {
        if let Some(back) = back {
            assert_eq!(back.attrs["n"], item.attrs["n"]);
        }
    }
    report(
        "300 items in batch writes",
        &proxy,
        lost,
        0,
        &format!(
            "BatchWriteItem: {:?}",
            proxy.tallies().get("DynamoDB.BatchWriteItem")
        ),
    );
    assert!(proxy.tallies()["DynamoDB.BatchWriteItem"].faults > 0);
    assert_eq!(lost, 0, "items lost");
}

/// A mail service that refuses while `refusing`, and, once armed, takes `sends_left` more
/// emails and then never answers the next one: the worker sending it is stuck there, as a Lambda
/// that times out or dies mid-send.
struct DyingMail {
    inner: Arc<dyn Mailer>,
    refusing: AtomicBool,
    sends_left: AtomicI64,
    stuck: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl Mailer for DyingMail {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        if self.refusing.load(Ordering::SeqCst) {
            return Err(MailError("refusing for the test".into()));
        }
        if self.sends_left.fetch_sub(1, Ordering::SeqCst) == 0 {
            self.stuck.notify_one();
            std::future::pending::<()>().await;
        }
        self.inner.send(email).await
    }
}

/// The cleanup dies in the middle of its work, twice (a worker stuck in a send, then gone),
/// with 20 queued invitation emails and 40 first reminders due. The next runs send every queued
/// invitation exactly once. Reminders are recorded before they are sent, so a death can skip
/// the one reminder in flight, never send one twice.
async fn a_cleanup_that_dies_half_way_is_finished_by_the_next(backend: Backend) {
    let mut dying = None;
    let b = Bundle::start_with(backend, |inner| {
        let mail = Arc::new(DyingMail {
            inner,
            refusing: AtomicBool::new(true),
            sends_left: AtomicI64::new(-1),
            stuck: tokio::sync::Notify::new(),
        });
        dying = Some(mail.clone());
        mail
    })
    .await;
    let mail = dying.unwrap();
    let invite = |email: String| {
        let b = &b;
        async move {
            let reply = b.invite(&email, "member", &[]).await;
            assert_eq!(reply.status, 201, "{reply:?}");
        }
    };
    let queued: Vec<String> = (0..20).map(|n| b.email(&format!("queued{n}"))).collect();
    for email in &queued {
        invite(email.clone()).await;
    }
    mail.refusing.store(false, Ordering::SeqCst);
    let reminded: Vec<String> = (0..20).map(|n| b.email(&format!("remind{n}"))).collect();
    for email in &reminded {
        invite(email.clone()).await;
    }
    // A day on: the queued emails' retries and the first reminders are due. A worker sends 15,
    // is stuck in the 16th (a retry) and is gone; the next sends 10 more, is stuck in the 11th
    // (by then a reminder) and is gone too.
    b.advance(Duration::from_secs(86_400 + 60));
    for sends in [15, 10] {
        mail.sends_left.store(sends, Ordering::SeqCst);
        let services = b.services.clone();
        let worker = tokio::spawn(async move {
            gatehouse_cleanup::run(&services, Duration::from_secs(60)).await
        });
        tokio::time::timeout(Duration::from_secs(60), mail.stuck.notified())
            .await
            .expect("the worker got stuck");
        worker.abort();
        assert!(worker.await.unwrap_err().is_cancelled());
    }
    mail.sends_left.store(-1, Ordering::SeqCst);
    // The next runs, every 11 minutes for an hour (still day 1: no second reminder is due).
    let mut after = CleanupReport::default();
    for _ in 0..6 {
        b.advance(Duration::from_secs(11 * 60));
        let r = gatehouse_cleanup::run(&b.services, Duration::from_secs(60))
            .await
            .expect("the next cleanup runs");
        after.retried += r.retried;
        after.reminded += r.reminded;
    }
    let invitations = invitation_mails(&b, &queued).await;
    let lost = invitations.values().filter(|n| **n == 0).count();
    let duplicated: usize = invitations.values().map(|n| n.saturating_sub(1)).sum();
    let reminders = mails_to(&b, &reminded, true).await;
    let mut skipped = reminders.values().filter(|n| **n == 0).count();
    // The queued people's invitations were sent a day late; their first reminders were due too.
    let queued_reminders = mails_to(&b, &queued, true).await;
    skipped += queued_reminders.values().filter(|n| **n == 0).count();
    let twice: usize = reminders.values().map(|n| n.saturating_sub(1)).sum();
    println!(
        "FAULTS | cleanup dying half-way ({backend:?}) | two workers stuck mid-send and gone (after 15 and 10 sends) | lost {lost} | sent twice {} | next runs: {} retried, {} reminded; reminders skipped by the death {skipped}",
        duplicated + twice,
        after.retried,
        after.reminded
    );
    assert_eq!(lost, 0, "queued invitations never mailed: {invitations:?}");
    assert_eq!(duplicated, 0, "invitations mailed twice: {invitations:?}");
    assert_eq!(twice, 0, "reminders sent twice: {reminders:?}");
    assert!(
        skipped <= 1,
        "at most the reminder in flight: {reminders:?}"
    );
    // Invitation emails of the reminded people went out once, at invitation time.
    let first = invitation_mails(&b, &reminded).await;
    assert!(first.values().all(|n| *n == 1), "{first:?}");
}

/// SES stops answering (every attempt of every send hangs): an invitation is still answered
/// within API Gateway's 29 seconds — saved, its email queued — and the cleanup sends it, once,
/// when SES answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mail_service_that_hangs_holds_no_request_past_its_timeout() {
    let proxy = FaultyAws::start(&aws_endpoint(), 0x5eed_0a11).await;
    let b = Bundle::start_through(&proxy.endpoint, "us-east-1", |items| items).await;
    proxy.fail("SES.SendEmail", Fault::Hang, 1.0);
    let hung = b.email("hung");
    let started = std::time::Instant::now();
    let reply = b.invite(&hung, "member", &[]).await;
    let took = started.elapsed();
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json["delivery"], "queued", "{reply:?}");
    assert!(
        took < Duration::from_secs(29),
        "answered after {took:?}, past API Gateway's limit"
    );
    proxy.heal();
    let (cleaned, _) = clean_up_until_quiet(&b).await;
    let mails = invitation_mails(&b, std::slice::from_ref(&hung)).await;
    report(
        "SES hanging",
        &proxy,
        0,
        mails.values().map(|n| n.saturating_sub(1)).sum(),
        &format!(
            "invite answered 201 queued after {:.1} s; the cleanup sent {} when SES answered again",
            took.as_secs_f64(),
            cleaned.retried
        ),
    );
    assert_eq!(
        mails.values().copied().collect::<Vec<_>>(),
        [1],
        "{mails:?}"
    );
}
