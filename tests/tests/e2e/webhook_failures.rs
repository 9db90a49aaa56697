//! An endpoint that keeps failing, on both backends, with the delivery code the local run uses:
//! each delivery is tried on the retry schedule and then failed; after five days of nothing but
//! failures the endpoint is disabled (recorded as `webhook.updated` by nobody) and the admins
//! are mailed; once it answers again, enabling it and `recover` send what failed, once each.

use std::time::Duration;

use gatehouse_domain::clock::Clock;
use gatehouse_domain::usecase::deliveries::deliver_due;
use gatehouse_domain::webhooks::{DeliveryState, RETRY_DELAYS};
use gatehouse_domain::Services;
use gatehouse_e2e::standard_webhooks::Receiver;
use gatehouse_e2e::{on_both_backends, Backend, Bundle};
use serde_json::json;

on_both_backends!(an_endpoint_failing_five_days_is_disabled_its_admins_told_and_recovered,);

/// Every delivery due now, attempted (as the local run's loop does).
async fn turn(services: &Services) -> usize {
    let sender = gatehouse_outbound::HttpsSender::new();
    deliver_due(services, &sender, 100, 4).await.unwrap()
}

async fn an_endpoint_failing_five_days_is_disabled_its_admins_told_and_recovered(backend: Backend) {
    let b = Bundle::start(backend).await;
    let receiver = Receiver::start().await;
    receiver
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    // A loopback receiver is the local run's privilege: these services have it.
    let mut services = b.services.clone();
    services.config.webhooks_to_loopback = true;
    let registered = gatehouse_domain::usecase::webhooks::register_webhook(
        &services,
        &gatehouse_outbound::HttpsSender::new(),
        &b.org,
        Some(&session(&b)),
        gatehouse_domain::webhooks::WebhookUrl::parse(
            &format!("http://127.0.0.1:{}/hook", receiver.port),
            true,
        )
        .unwrap(),
        gatehouse_domain::usecase::webhooks::WebhookChange {
            types: Some(vec![gatehouse_domain::events::EventType::GroupCreated]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let webhook = registered.webhook.id.clone();

    // A group's event: fanned out, then tried on the schedule until every retry is spent.
    let first = b.group("Design").await;
    fan_out_all(&b, &services).await;
    assert_eq!(turn(&services).await, 1);
    for delay in RETRY_DELAYS {
        b.advance(delay + delay / 5);
        assert_eq!(turn(&services).await, 1, "a retry after {delay:?}");
    }
    b.advance(Duration::from_secs(86_400));
    assert_eq!(turn(&services).await, 0, "no attempt after the last");
    let page = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/webhooks/{webhook}/deliveries"),
            Some(&session_text(&b)),
        )
        .await;
    assert_eq!(page.json["items"][0]["state"], "failed", "{page:?}");
    assert_eq!(
        page.json["items"][0]["attempts"].as_array().unwrap().len(),
        8
    );
    assert_eq!(
        receiver.received().len(),
        8,
        "the first attempt and seven retries"
    );

    // Five days after the first failure, a failed attempt disables it and tells the admins.
    b.advance(Duration::from_secs(4 * 86_400));
    group(&b, "Research").await;
    fan_out_all(&b, &services).await;
    assert_eq!(turn(&services).await, 1);
    let shown = b
        .gateway
        .get(
            &format!("/v1/orgs/demo/webhooks/{webhook}"),
            Some(&session_text(&b)),
        )
        .await;
    assert_eq!(shown.json["enabled"], false, "{shown:?}");
    let mails = b.mailbox.messages_to(&b.admin_email).await;
    let told = mails
        .iter()
        .find(|m| m.subject.contains("webhook"))
        .expect("the admin is told");
    let text = told
        .text
        .as_deref()
        .or(told.html.as_deref())
        .unwrap_or_default();
    assert!(
        text.contains(&format!("127.0.0.1:{}", receiver.port)),
        "{told:?}"
    );
    // Nothing more is sent to it.
    group(&b, "Sales").await;
    fan_out_all(&b, &services).await;
    assert_eq!(turn(&services).await, 0);
    let sent_before = receiver.received().len();

    // It answers again: enabled, and what failed is sent again, once each.
    receiver
        .down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let enabled = b
        .gateway
        .send(
            "PATCH",
            &format!("/v1/orgs/demo/webhooks/{webhook}"),
            Some(&session_text(&b)),
            Some(json!({ "enabled": true }).to_string()),
        )
        .await;
    assert_eq!(enabled.json["enabled"], true);
    assert_eq!(enabled.json["failing_since"], serde_json::Value::Null);
    let recovered = b
        .gateway
        .post(
            &format!("/v1/orgs/demo/webhooks/{webhook}/recover"),
            Some(&session_text(&b)),
            json!({ "since": "2000-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(recovered.status, 202, "{recovered:?}");
    assert_eq!(
        recovered.json["recovered"], 3,
        "Design's, Research's, and Sales' (made while it was disabled)"
    );
    assert_eq!(turn(&services).await, 3);
    assert_eq!(turn(&services).await, 0);
    let mut landed: Vec<_> = receiver.received()[sent_before..]
        .iter()
        .map(|r| {
            (
                r.answered,
                serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["data"]["name"].clone(),
            )
        })
        .collect();
    landed.sort_by_key(|(_, name)| name.to_string());
    assert_eq!(
        landed,
        [
            (204, json!("Design")),
            (204, json!("Research")),
            (204, json!("Sales"))
        ]
    );
    let delivered = b
        .services
        .store
        .deliveries(
            &b.org,
            &webhook,
            &gatehouse_domain::ports::PageRequest {
                cursor: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    let states: Vec<DeliveryState> = delivered.items.iter().map(|d| d.state).collect();
    assert_eq!(states, [DeliveryState::Delivered; 3]);
    let _ = first;

    // The log says Gatehouse disabled it (no actor) and the admin enabled it.
    b.advance(Duration::from_secs(11));
    let log = b
        .gateway
        .get(
            "/v1/orgs/demo/events?type=webhook.updated",
            Some(&session_text(&b)),
        )
        .await;
    let actors: Vec<_> = log.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["data"]["enabled"].clone(),
                e["actor"]["user_id"].is_null(),
            )
        })
        .collect();
    assert_eq!(actors, [(json!(false), true), (json!(true), false)]);
}

/// The local run's feed, played here: every event of the log so far, fanned out (fan-out makes
/// each delivery once, so playing it all again is harmless).
async fn fan_out_all(b: &Bundle, services: &Services) {
    let end =
        gatehouse_domain::events::EventId::first_of(b.clock.now().plus(Duration::from_secs(60)));
    let events = services
        .store
        .read_log(&b.org, None, &end, 1_000)
        .await
        .unwrap();
    // From the endpoint's registration on (the organisation's making was before it).
    let from = events
        .iter()
        .position(|e| e.kind == gatehouse_domain::events::EventType::WebhookCreated)
        .expect("the registration is logged");
    gatehouse_domain::usecase::deliveries::fan_out(services, &events[from..])
        .await
        .unwrap();
}

/// A group made by the admin (signed in afresh).
async fn group(b: &Bundle, name: &str) {
    let token = session_text(b);
    let made = b
        .gateway
        .post(
            "/v1/orgs/demo/groups",
            Some(&token),
            json!({ "name": name }),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
}

/// The admin's session, signed in afresh (these tests move days; sessions last 12 hours).
fn session(b: &Bundle) -> gatehouse_domain::secret::SessionToken {
    gatehouse_domain::secret::SessionToken::parse(&session_text(b)).unwrap()
}

fn session_text(b: &Bundle) -> String {
    let b2 = b;
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async {
            let reply = b2
                .sign_in(&b2.admin_email, gatehouse_e2e::ADMIN_PASSWORD)
                .await;
            reply.json["token"].as_str().unwrap().to_string()
        })
    })
}
