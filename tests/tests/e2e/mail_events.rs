//! Bounces and complaints, end to end on both backends: the invitation email carries the SES
//! message tags naming its invitation (made by the SES mailer's own code), SES's notification of
//! a bounce or complaint built from those tags is handed to the `mail-events` function inside an
//! SNS delivery, and the invitation shows `bounced`/`complained` with the event in its history,
//! gets no reminder from the cleanup, and a resend starts it again. Repeated, foreign and stale
//! notifications change nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_domain::ports::{MailError, Mailer, OutgoingEmail};
use gatehouse_domain::usecase::mail_feedback::FeedbackOutcome;
use gatehouse_e2e::{on_both_backends, Backend, Bundle, Reply, ADMIN_PASSWORD};
use gatehouse_mail_events::{handle, Dropped, Handled, SnsEvent};
use serde_json::{json, Value};

on_both_backends!(
    a_hard_bounce_marks_the_invitation_and_stops_its_reminders,
    a_complaint_is_recorded_once_however_often_it_arrives,
    notifications_about_someone_else_or_nothing_change_nothing,
    a_bounce_after_acceptance_changes_nothing,
);

const DAY: Duration = Duration::from_secs(86_400);

/// The backend's mailer, keeping the SES message tags of every message it sends.
struct Tagged {
    inner: Arc<dyn Mailer>,
    sent: Arc<Mutex<Vec<(String, Value)>>>,
}

#[async_trait::async_trait]
impl Mailer for Tagged {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let mut tags = serde_json::Map::new();
        tags.insert("ses:configuration-set".into(), json!(["gatehouse"]));
        for tag in gatehouse_aws::ses::tags_of(email)? {
            tags.insert(tag.name().to_string(), json!([tag.value()]));
        }
        self.sent
            .lock()
            .unwrap()
            .push((email.to.as_str().to_string(), Value::Object(tags)));
        self.inner.send(email).await
    }
}

struct Setup {
    b: Bundle,
    sent: Arc<Mutex<Vec<(String, Value)>>>,
}

async fn start(backend: Backend) -> Setup {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let kept = sent.clone();
    let b = Bundle::start_with(backend, move |inner| Arc::new(Tagged { inner, sent: kept })).await;
    Setup { b, sent }
}

impl Setup {
    /// The tags of the last message sent to `email`.
    fn tags_of_last_to(&self, email: &str) -> Value {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(to, _)| to == email)
            .map(|(_, tags)| tags.clone())
            .unwrap_or_else(|| panic!("nothing sent to {email}"))
    }
}

/// SES's event-publishing JSON for a bounce or complaint of a message with `tags`.
fn notification(kind: &str, recipient: &str, tags: &Value) -> String {
    let mut n = json!({
        "eventType": kind,
        "mail": {
            "timestamp": "2026-12-02T10:00:00.000Z",
            "source": "Gatehouse <no-reply@example.com>",
            "messageId": "0100018c-1",
            "destination": [recipient],
            "tags": tags,
        },
    });
    match kind {
        "Bounce" => {
            n["bounce"] = json!({
                "bounceType": "Permanent", "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": recipient, "action": "failed",
                                       "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                "timestamp": "2026-12-02T10:00:01.000Z", "feedbackId": "0100018c-2",
            })
        }
        _ => {
            n["complaint"] = json!({
                "complainedRecipients": [{"emailAddress": recipient}],
                "complaintFeedbackType": "abuse",
                "timestamp": "2026-12-02T10:00:01.000Z", "feedbackId": "0100018c-3",
            })
        }
    }
    n.to_string()
}

/// An SNS delivery of `messages`, as Lambda receives it.
fn sns(messages: &[String]) -> SnsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "EventSource": "aws:sns", "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:mail-events:1",
                "Sns": {
                    "Type": "Notification", "MessageId": "95df01b4", "Subject": null,
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:mail-events",
                    "Message": m, "Timestamp": "2026-12-02T10:00:02.000Z",
                    "SignatureVersion": "1", "Signature": "x", "SigningCertUrl": "https://x",
                    "UnsubscribeUrl": "https://x", "MessageAttributes": {},
                }
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("an SNS event")
}

async fn deliver(b: &Bundle, messages: &[String]) -> Vec<Handled> {
    handle(&b.services, &sns(messages))
        .await
        .expect("the notifications are handled")
}

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

async fn invited(b: &Bundle, name: &str) -> (String, String) {
    let email = b.email(name);
    let reply = b
        .gateway
        .post(
            "/v1/orgs/demo/invitations",
            Some(&admin(b).await),
            json!({"email": email, "role": "member", "first_name": "Pat", "last_name": "Doe"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json["delivery"], "sent");
    (email, reply.json["id"].as_str().unwrap().to_string())
}

fn event_kinds(view: &Value) -> Vec<String> {
    view["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

async fn mails_to(b: &Bundle, email: &str) -> usize {
    b.mailbox.messages_to(email).await.len()
}

async fn a_hard_bounce_marks_the_invitation_and_stops_its_reminders(backend: Backend) {
    let s = start(backend).await;
    let b = &s.b;
    let (ann, id) = invited(b, "ann").await;
    let tags = s.tags_of_last_to(&ann);
    assert_eq!(tags["gatehouse-org"], json!(["demo"]));
    assert_eq!(tags["gatehouse-invitation"], json!([id]));

    let handled = deliver(b, &[notification("Bounce", &ann, &tags)]).await;
    assert_eq!(handled, [Handled::Applied(FeedbackOutcome::Marked)]);
    let shown = invitation(b, &id).await;
    assert_eq!(shown.json["delivery"], "bounced", "{shown:?}");
    assert_eq!(shown.json["status"], "pending");
    assert_eq!(event_kinds(&shown.json), ["created", "sent", "bounced"]);
    assert!(shown.json["next_reminder_at"].is_null(), "{shown:?}");
    // Listed so too.
    let listed = b
        .gateway
        .get(
            "/v1/orgs/demo/invitations?status=pending",
            Some(&admin(b).await),
        )
        .await;
    let row = listed.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .cloned()
        .expect("listed");
    assert_eq!(row["delivery"], "bounced");

    // No reminder follows, however long.
    for _ in 0..4 {
        b.advance(DAY * 4);
        gatehouse_cleanup::run(&b.services, Duration::from_secs(60))
            .await
            .unwrap();
    }
    assert_eq!(mails_to(b, &ann).await, 1, "the invitation only");

    // The admin resends (the address fixed on the invitee's side): sent again, reminders planned.
    let resent = b
        .gateway
        .post(
            &format!("/v1/orgs/demo/invitations/{id}/resend"),
            Some(&admin(b).await),
            json!({}),
        )
        .await;
    assert_eq!(resent.status, 200, "{resent:?}");
    assert_eq!(resent.json["delivery"], "sent");
    assert!(resent.json["next_reminder_at"].is_string(), "{resent:?}");
    assert_eq!(mails_to(b, &ann).await, 2);
}

async fn a_complaint_is_recorded_once_however_often_it_arrives(backend: Backend) {
    let s = start(backend).await;
    let b = &s.b;
    let (bea, id) = invited(b, "bea").await;
    let complaint = notification("Complaint", &bea, &s.tags_of_last_to(&bea));
    // SNS delivers twice, once in one delivery and again in the next.
    let handled = deliver(b, &[complaint.clone(), complaint.clone()]).await;
    assert_eq!(
        handled,
        [
            Handled::Applied(FeedbackOutcome::Marked),
            Handled::Applied(FeedbackOutcome::AlreadyMarked)
        ]
    );
    let once = [complaint];
    let (one, two) = tokio::join!(deliver(b, &once), deliver(b, &once));
    assert_eq!(one, [Handled::Applied(FeedbackOutcome::AlreadyMarked)]);
    assert_eq!(two, [Handled::Applied(FeedbackOutcome::AlreadyMarked)]);
    let shown = invitation(b, &id).await;
    assert_eq!(shown.json["delivery"], "complained");
    assert_eq!(event_kinds(&shown.json), ["created", "sent", "complained"]);
}

async fn notifications_about_someone_else_or_nothing_change_nothing(backend: Backend) {
    let s = start(backend).await;
    let b = &s.b;
    let (cal, id) = invited(b, "cal").await;
    let tags = s.tags_of_last_to(&cal);
    let before = invitation(b, &id).await.json;

    let other = b.email("mallory");
    let unknown_id = json!({"gatehouse-org": ["demo"], "gatehouse-invitation": ["f".repeat(32)]});
    let other_org = json!({"gatehouse-org": ["elsewhere"], "gatehouse-invitation": [id]});
    let mut soft = serde_json::from_str::<Value>(&notification("Bounce", &cal, &tags)).unwrap();
    soft["bounce"]["bounceType"] = json!("Transient");
    let handled = deliver(
        b,
        &[
            // Tags of Cal's invitation, but another recipient bounced.
            notification("Bounce", &other, &tags),
            notification("Bounce", &cal, &unknown_id),
            notification("Bounce", &cal, &other_org),
            notification(
                "Bounce",
                &cal,
                &json!({"ses:configuration-set": ["gatehouse"]}),
            ),
            soft.to_string(),
            json!({"eventType": "Delivery", "mail": {"tags": tags}}).to_string(),
            "not json".to_string(),
        ],
    )
    .await;
    let outcomes: Vec<&str> = handled.iter().map(Handled::as_str).collect();
    assert_eq!(
        outcomes,
        [
            "other_recipient",
            "not_pending",
            "not_pending",
            "not_about_an_invitation",
            "not_feedback",
            "not_feedback",
            "unreadable",
        ]
    );
    assert_eq!(
        handled[4],
        Handled::Dropped(Dropped::NotFeedback("Transient bounce".into()))
    );
    assert_eq!(invitation(b, &id).await.json, before, "unchanged");
}

async fn a_bounce_after_acceptance_changes_nothing(backend: Backend) {
    let s = start(backend).await;
    let b = &s.b;
    let (dee, id) = invited(b, "dee").await;
    let tags = s.tags_of_last_to(&dee);
    let token = b.sign_up_token(&dee).await;
    assert_eq!(b.sign_up(&token, "a fine passphrase").await.status, 201);
    let before = invitation(b, &id).await.json;
    let handled = deliver(b, &[notification("Bounce", &dee, &tags)]).await;
    assert_eq!(handled, [Handled::Applied(FeedbackOutcome::NotPending)]);
    let after = invitation(b, &id).await.json;
    assert_eq!(after, before);
    assert_eq!(after["status"], "accepted");
}
