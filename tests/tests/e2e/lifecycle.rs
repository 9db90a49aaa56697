//! The life of an invitation after it is sent, end to end on both backends, with the `cleanup`
//! function's own code run as the schedule would: reminders (each once, with the invitation's
//! own link, even with two cleanups at once; none once accepted or while off), retries of an
//! email that did not go out, expiry noted in the history and removal after the grace, and the
//! races the cleanup meets (an acceptance, a revocation).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::ports::{MailError, Mailer, OutgoingEmail};
use gatehouse_domain::usecase::cleanup::CleanupReport;
use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply, ADMIN_PASSWORD};
use serde_json::{json, Value};

on_both_backends!(
    reminders_go_out_once_each_with_the_same_link,
    two_cleanups_at_once_send_each_reminder_once,
    an_accepted_invitation_is_reminded_no_more,
    reminders_off_send_none_and_bad_days_are_refused,
    a_queued_email_is_retried_until_it_goes_out,
    an_expired_invitation_is_noted_then_removed_freeing_its_email,
    cleanup_racing_an_acceptance_leaves_one_outcome,
    revoke_and_accept_racing_have_one_winner,
    a_cleanup_out_of_time_stops_before_the_next_invitation_and_the_next_run_does_the_rest,
);

const DAY: Duration = Duration::from_secs(86_400);

async fn cleanup(b: &Bundle) -> CleanupReport {
    gatehouse_cleanup::run(&b.services, Duration::from_secs(60))
        .await
        .expect("cleanup runs")
}

/// The admin's session, signed in afresh (sessions last 12 hours; these tests move days).
async fn admin(b: &Bundle) -> String {
    let reply = b.sign_in(&b.admin_email, ADMIN_PASSWORD).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json["token"].as_str().unwrap().to_string()
}

async fn invitation(b: &Bundle, id: &str) -> Reply {
    b.gateway
        .get(
            &format!("/v1/orgs/demo/invitations/{id}"),
            Some(&admin(b).await),
        )
        .await
}

async fn invite(b: &Bundle, email: &str) -> Reply {
    b.gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&admin(b).await),
            json!({"email": email, "role": "member", "first_name": "Pat", "last_name": "Doe"}),
        )
        .await
}

async fn change_settings(b: &Bundle, body: Value) -> Reply {
    b.gateway
        .send(
            "PATCH",
            "/v1/orgs/demo/settings",
            Some(&admin(b).await),
            Some(body.to_string()),
        )
        .await
}

fn event_kinds(view: &Value) -> Vec<String> {
    view["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

async fn reminders_to(b: &Bundle, email: &str) -> usize {
    b.mailbox
        .messages_to(email)
        .await
        .iter()
        .filter(|m| m.subject.starts_with("Reminder: "))
        .count()
}

async fn invited(b: &Bundle, name: &str) -> (String, String) {
    let email = b.email(name);
    let reply = invite(b, &email).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json["delivery"], "sent");
    (email, reply.json["id"].as_str().unwrap().to_string())
}

async fn reminders_go_out_once_each_with_the_same_link(backend: Backend) {
    let b = Bundle::start(backend).await;
    let (alice, id) = invited(&b, "alice").await;
    let first_link = b.sign_up_token(&alice).await;
    let shown = invitation(&b, &id).await;
    assert_eq!(event_kinds(&shown.json), ["created", "sent"]);
    assert!(
        shown.json["events"][0]["by"].is_string(),
        "the inviting admin"
    );
    let created = shown.json["created_at"].as_str().unwrap().to_string();
    assert!(shown.json["next_reminder_at"].is_string(), "{shown:?}");

    // Before a day: nothing to do.
    b.advance(DAY - Duration::from_secs(60));
    assert_eq!(cleanup(&b).await.reminded, 0);
    assert_eq!(reminders_to(&b, &alice).await, 0);

    // A day after sending: one reminder, carrying the invitation's own link.
    b.advance(Duration::from_secs(61));
    assert_eq!(cleanup(&b).await.reminded, 1);
    assert_eq!(reminders_to(&b, &alice).await, 1);
    assert_eq!(b.sign_up_token(&alice).await, first_link);
    // Run again at once: nothing more.
    assert_eq!(cleanup(&b).await.reminded, 0);
    assert_eq!(reminders_to(&b, &alice).await, 1);
    let shown = invitation(&b, &id).await;
    assert_eq!(event_kinds(&shown.json), ["created", "sent", "reminded"]);
    assert_eq!(shown.json["created_at"], created.as_str());

    // Days 2, 7 and 14: the rest, each once, however often the cleanup runs.
    b.advance(DAY); // day 2
    cleanup(&b).await;
    cleanup(&b).await;
    assert_eq!(reminders_to(&b, &alice).await, 2);
    b.advance(DAY * 5); // day 7
    cleanup(&b).await;
    assert_eq!(reminders_to(&b, &alice).await, 3);
    b.advance(DAY * 7); // day 14
    cleanup(&b).await;
    assert_eq!(reminders_to(&b, &alice).await, 4);
    b.advance(DAY * 6); // day 20
    assert_eq!(cleanup(&b).await.reminded, 0);
    assert_eq!(reminders_to(&b, &alice).await, 4);
    let shown = invitation(&b, &id).await;
    assert!(shown.json["next_reminder_at"].is_null(), "{shown:?}");
    // The link still signs up.
    assert_eq!(
        b.sign_up(&first_link, "a fine passphrase").await.status,
        201
    );
}

async fn two_cleanups_at_once_send_each_reminder_once(backend: Backend) {
    let b = Bundle::start(backend).await;
    let mut people = Vec::new();
    for n in 0..6 {
        people.push(invited(&b, &format!("p{n}")).await.0);
    }
    b.advance(DAY + Duration::from_secs(1));
    let (one, two) = tokio::join!(cleanup(&b), cleanup(&b));
    assert_eq!(one.reminded + two.reminded, 6, "{one:?} {two:?}");
    for p in &people {
        assert_eq!(reminders_to(&b, p).await, 1, "{p}");
    }
    let (one, two) = tokio::join!(cleanup(&b), cleanup(&b));
    assert_eq!(one.reminded + two.reminded, 0);
}

async fn an_accepted_invitation_is_reminded_no_more(backend: Backend) {
    let b = Bundle::start(backend).await;
    let (bob, id) = invited(&b, "bob").await;
    let token = b.sign_up_token(&bob).await;
    assert_eq!(b.sign_up(&token, "a fine passphrase").await.status, 201);
    for _ in 0..4 {
        b.advance(DAY * 4);
        assert_eq!(
            cleanup(&b).await,
            CleanupReport {
                batches: 1,
                ..CleanupReport::default()
            }
        );
    }
    assert_eq!(reminders_to(&b, &bob).await, 0);
    let shown = invitation(&b, &id).await;
    assert_eq!(event_kinds(&shown.json), ["created", "sent", "accepted"]);
    assert_eq!(
        shown.json["events"][2]["by"], shown.json["accepted_user_id"],
        "the invitee accepted"
    );
}

async fn reminders_off_send_none_and_bad_days_are_refused(backend: Backend) {
    let b = Bundle::start(backend).await;
    let settings = |body: Value| change_settings(&b, body);
    for bad in [
        json!([0]),
        json!([400]),
        json!([1, 2, 3, 4, 5, 6, 7, 8, 9]),
        json!("1"),
    ] {
        let refused = settings(json!({ "reminder_days": bad })).await;
        assert_eq!(refused.status, 422, "{bad}: {refused:?}");
    }
    let unchanged = b
        .gateway
        .get("/v1/orgs/demo/settings", Some(&admin(&b).await))
        .await;
    assert_eq!(unchanged.json["reminder_days"], json!([1, 2, 7, 14]));
    let sorted = settings(json!({"reminder_days": [3, 1, 3]})).await;
    assert_eq!(sorted.json["reminder_days"], json!([1, 3]));

    // Planned under [1, 3]; reminders turned off before the first: none is sent.
    let (carol, id) = invited(&b, "carol").await;
    let off = settings(json!({"reminder_days": []})).await;
    assert_eq!(off.status, 200, "{off:?}");
    b.advance(DAY * 4);
    cleanup(&b).await;
    assert_eq!(reminders_to(&b, &carol).await, 0);
    assert!(invitation(&b, &id).await.json["next_reminder_at"].is_null());
    // Invited while off: nothing is planned.
    let (dan, id) = invited(&b, "dan").await;
    assert!(invitation(&b, &id).await.json["next_reminder_at"].is_null());
    b.advance(DAY * 15);
    cleanup(&b).await;
    assert_eq!(reminders_to(&b, &dan).await, 0);
}

/// The backend's mailer, failing while `down` is set.
struct Flaky {
    inner: Arc<dyn Mailer>,
    down: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl Mailer for Flaky {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(MailError("the mail service is down".into()));
        }
        self.inner.send(email).await
    }
}

async fn a_queued_email_is_retried_until_it_goes_out(backend: Backend) {
    let down = Arc::new(AtomicBool::new(true));
    let switch = down.clone();
    let b = Bundle::start_with(backend, move |inner| {
        Arc::new(Flaky {
            inner,
            down: switch,
        })
    })
    .await;
    let erin = b.email("erin");
    let reply = invite(&b, &erin).await;
    assert_eq!(reply.json["delivery"], "queued");
    let id = reply.json["id"].as_str().unwrap().to_string();

    // Retried 5 minutes after the invitation; still down: noted, and tried again later.
    b.advance(Duration::from_secs(4 * 60));
    assert_eq!(cleanup(&b).await.mail_failed, 0, "not yet due");
    b.advance(Duration::from_secs(60));
    assert_eq!(cleanup(&b).await.mail_failed, 1);
    let shown = invitation(&b, &id).await;
    assert_eq!(shown.json["delivery"], "queued");
    assert_eq!(event_kinds(&shown.json), ["created", "delivery_failed"]);
    // The next try 5 minutes later fails too; the one after waits 10.
    b.advance(Duration::from_secs(5 * 60));
    assert_eq!(cleanup(&b).await.mail_failed, 1);
    b.advance(Duration::from_secs(9 * 60));
    assert_eq!(
        cleanup(&b).await,
        CleanupReport {
            batches: 1,
            ..CleanupReport::default()
        }
    );

    // Back up: the next retry sends it, once.
    down.store(false, Ordering::SeqCst);
    b.advance(Duration::from_secs(60));
    let report = cleanup(&b).await;
    assert_eq!(report.retried, 1, "{report:?}");
    assert_eq!(cleanup(&b).await.retried, 0);
    let mails = b.mailbox.messages_to(&erin).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        !mails[0].subject.starts_with("Reminder"),
        "the invitation itself"
    );
    let shown = invitation(&b, &id).await;
    assert_eq!(shown.json["delivery"], "sent");
    assert_eq!(
        event_kinds(&shown.json),
        ["created", "delivery_failed", "delivery_failed", "sent"]
    );
    // Its link signs up.
    let token = b.sign_up_token(&erin).await;
    assert_eq!(b.sign_up(&token, "a fine passphrase").await.status, 201);
}

async fn an_expired_invitation_is_noted_then_removed_freeing_its_email(backend: Backend) {
    let b = Bundle::start(backend).await;
    let set = change_settings(&b, json!({"invitation_ttl_days": 2})).await;
    assert_eq!(set.status, 200);
    let (fay, id) = invited(&b, "fay").await;
    b.advance(DAY * 2);
    let report = cleanup(&b).await;
    assert_eq!(report.expired, 1, "{report:?}");
    assert_eq!(
        report.reminded, 0,
        "the reminder due at the deadline is not sent"
    );
    let shown = invitation(&b, &id).await;
    assert_eq!(shown.json["status"], "expired");
    // The day-1 reminder fell due with the deadline passed: the expiry comes first.
    assert_eq!(event_kinds(&shown.json), ["created", "sent", "expired"]);
    assert_eq!(cleanup(&b).await.expired, 0, "noted once");

    // Listed as expired until the grace (30 days) is over, then gone for good.
    b.advance(DAY * 29);
    assert_eq!(cleanup(&b).await.removed, 0);
    assert_eq!(invitation(&b, &id).await.status, 200);
    b.advance(DAY);
    assert_eq!(cleanup(&b).await.removed, 1);
    assert_eq!(invitation(&b, &id).await.status, 404);
    let expired = b
        .gateway
        .get(
            "/v1/orgs/demo/invitations?status=expired",
            Some(&admin(&b).await),
        )
        .await;
    assert_eq!(expired.json["items"], json!([]));
    let token = b.sign_up_token(&fay).await;
    let late = b.sign_up(&token, "a fine passphrase").await;
    late.assert_problem(422, "invalid_token");
    // Fay can be invited afresh.
    assert_eq!(invite(&b, &fay).await.status, 201);
    assert_eq!(cleanup(&b).await.removed, 0);
}

async fn cleanup_racing_an_acceptance_leaves_one_outcome(backend: Backend) {
    let b = Bundle::start(backend).await;
    for round in 0..4 {
        let (gus, id) = invited(&b, &format!("gus{round}")).await;
        let token = b.sign_up_token(&gus).await;
        b.advance(DAY + Duration::from_secs(1));
        let (report, signed_up) = tokio::join!(cleanup(&b), b.sign_up(&token, "a fine passphrase"));
        assert_eq!(signed_up.status, 201, "{signed_up:?}");
        assert!(report.reminded <= 1);
        let shown = invitation(&b, &id).await;
        assert_eq!(shown.json["status"], "accepted");
        let kinds = event_kinds(&shown.json);
        assert_eq!(
            kinds.last().map(String::as_str),
            Some("accepted"),
            "{kinds:?}"
        );
        // Nothing is left due for it.
        b.advance(DAY * 20);
        let after = cleanup(&b).await;
        assert_eq!((after.reminded, after.expired), (0, 0), "{after:?}");
        assert_eq!(
            reminders_to(&b, &gus).await,
            kinds.iter().filter(|k| *k == "reminded").count()
        );
    }
}

async fn revoke_and_accept_racing_have_one_winner(backend: Backend) {
    let b = Bundle::start(backend).await;
    for round in 0..4 {
        let (hal, id) = invited(&b, &format!("hal{round}")).await;
        let token = b.sign_up_token(&hal).await;
        let path = format!("/v1/orgs/demo/invitations/{id}");
        let token_of_admin = admin(&b).await;
        let (revoked, signed_up) = tokio::join!(
            b.gateway.send("DELETE", &path, Some(&token_of_admin), None),
            b.sign_up(&token, "a fine passphrase")
        );
        let shown = invitation(&b, &id).await;
        match (revoked.status, signed_up.status) {
            (200, s) => {
                assert!(
                    [409, 410, 422].contains(&s),
                    "sign-up refused once revoked: {signed_up:?}"
                );
                assert_eq!(shown.json["status"], "revoked");
                assert_eq!(b.sign_in(&hal, "a fine passphrase").await.status, 401);
            }
            (409, 201) => {
                assert_eq!(revoked.json["code"], "invitation_accepted", "{revoked:?}");
                assert_eq!(shown.json["status"], "accepted");
                assert_eq!(b.sign_in(&hal, "a fine passphrase").await.status, 200);
            }
            other => panic!("both or neither won: {other:?} {revoked:?} {signed_up:?}"),
        }
    }
}

/// The cleanup looks at the clock before each invitation (its margin holds one invitation's
/// work, `template_timeouts.rs`): a run whose time is up stops there, and the next one does what
/// is left, nothing twice.
async fn a_cleanup_out_of_time_stops_before_the_next_invitation_and_the_next_run_does_the_rest(
    backend: Backend,
) {
    let b = Bundle::start(backend).await;
    let mut people = Vec::new();
    for name in ["ann", "ben", "cat"] {
        people.push(invited(&b, name).await.0);
    }
    b.advance(DAY + Duration::from_secs(1));
    // Time for the batch and one invitation, then none.
    let checks = std::sync::atomic::AtomicUsize::new(0);
    let report = gatehouse_domain::usecase::cleanup::run_cleanup(&b.services, &|| {
        checks.fetch_add(1, Ordering::SeqCst) < 2
    })
    .await
    .unwrap();
    assert!(report.stopped_early, "{report:?}");
    assert_eq!(report.reminded, 1, "{report:?}");
    let mut reminded = 0;
    for email in &people {
        reminded += reminders_to(&b, email).await;
    }
    assert_eq!(reminded, 1);
    // The next run, with time: the two left, and the first not again.
    let report = cleanup(&b).await;
    assert!(!report.stopped_early, "{report:?}");
    assert_eq!(report.reminded, 2, "{report:?}");
    for email in &people {
        assert_eq!(reminders_to(&b, email).await, 1, "{email}");
    }
}
