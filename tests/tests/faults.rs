//! Faults injected between the bundle and AWS (moto behind [`FaultyAws`], a proxy that refuses a
//! share of calls as AWS does: throttling, internal errors, batch items left unprocessed), and
//! workers dying half-way. Each suite prints a report — calls made, faults injected,
//! invitations lost, emails sent twice — and asserts the last two are zero. The figures are in
//! BENCHMARKS.md ("Fault injection").

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use gatehouse_domain::usecase::cleanup::CleanupReport;
use gatehouse_e2e::{aws_endpoint, Bundle, Fault, FaultyAws, Reply, ADMIN_PASSWORD};
use serde_json::json;

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

/// How many invitation emails (not reminders) each address got.
async fn invitation_mails(b: &Bundle, emails: &[String]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for email in emails {
        let n = b
            .mailbox
            .messages_to(email)
            .await
            .iter()
            .filter(|m| !m.subject.starts_with("Reminder"))
            .count();
        counts.insert(email.clone(), n);
    }
    counts
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

/// 30 % of the emails refused by SES through all of the SDK's attempts (so that the failure
/// reaches Gatehouse), 30 % of DynamoDB calls throttled and 30 % of batch reads left partly
/// unprocessed, while an admin invites 60 people one by one (retrying as a client does) and the
/// cleanup retries what did not go out. Everyone is invited once and mailed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_invitations_under_faults_are_neither_lost_nor_mailed_twice() {
    let proxy = FaultyAws::start(&aws_endpoint(), 0x5eed_0001).await;
    let b = Bundle::start_through(&proxy.endpoint, "eu-west-2", |items| items).await;
    proxy.fail_persistently(
        "SES.SendEmail",
        Fault::Throttle,
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
