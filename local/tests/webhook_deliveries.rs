//! Webhooks from the real local run, checked by the Standard Webhooks reference library
//! (`standardwebhooks` from PyPI), never by our own code. A receiver refuses deliveries for a
//! while, the local run is stopped and started again meanwhile, then the receiver takes them:
//! every event of the log arrives, signed; none is lost; a delivery seen twice has one
//! `webhook-id` and one body; the deliveries API shows the refused attempts and the one that
//! landed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod server;
use server::Server;

// The receiver and the reference library's check, shared with the end-to-end tests.
#[path = "../../tests/src/standard_webhooks.rs"]
mod standard_webhooks;
use standard_webhooks::{verify, Receiver};

fn sign_in(server: &Server, password: &str) -> String {
    let (status, session) = server.request(
        "POST",
        "/v1/orgs/demo/sign-in",
        None,
        Some(json!({"identifier": "admin@example.com", "password": password})),
    );
    assert_eq!(status, 200, "{session}");
    session["token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_signed_across_a_refusing_receiver_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let password = "copper kettle wanders east";
    let env = [("GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD", password)];
    let receiver = Receiver::start().await;
    receiver.down.store(true, Ordering::SeqCst);
    let server = Server::start_with(dir.path(), &env);
    let admin = sign_in(&server, password);
    let hook = format!("http://127.0.0.1:{}/gatehouse", receiver.port);
    let (status, made) = server.request(
        "POST",
        "/v1/orgs/demo/webhooks",
        Some(&admin),
        Some(json!({ "url": hook })),
    );
    assert_eq!(status, 201, "{made}");
    let (webhook, secret) = (
        made["id"].as_str().unwrap().to_string(),
        made["secret"].as_str().unwrap().to_string(),
    );
    // Changes while the receiver refuses: a group, two invitations (created and sent each).
    let (status, _) = server.request(
        "POST",
        "/v1/orgs/demo/groups",
        Some(&admin),
        Some(json!({"name": "Design"})),
    );
    assert_eq!(status, 201);
    for name in ["alice", "bob"] {
        let (status, _) = server.request(
            "POST",
            "/v1/orgs/demo/invitations",
            Some(&admin),
            Some(json!({"email": format!("{name}@example.com"), "role": "member", "first_name": "Ann", "last_name": "Other"})),
        );
        assert_eq!(status, 201);
    }
    // Their first attempts are refused.
    let refused =
        |seen: &[standard_webhooks::Received]| seen.iter().filter(|s| s.answered == 503).count();
    let started = Instant::now();
    while refused(&receiver.received()) < 5 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "first attempts"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Stopped and started again before their retries; the receiver takes them now.
    server.stop();
    let server = Server::start_with(dir.path(), &env);
    receiver.down.store(false, Ordering::SeqCst);
    let admin = sign_in(&server, password);

    // The log, settled, is what must arrive (its sign-ins included).
    tokio::time::sleep(Duration::from_secs(11)).await;
    let (status, log) = server.request("GET", "/v1/orgs/demo/events?limit=500", Some(&admin), None);
    assert_eq!(status, 200, "{log}");
    let events = log["items"].as_array().unwrap();
    // Those before the endpoint existed were never for it.
    let from = events
        .iter()
        .position(|e| e["type"] == "webhook.created")
        .expect("the endpoint's registration is logged");
    let logged: BTreeSet<String> = events[from..]
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(logged.len() >= 6, "{log}");
    let started = Instant::now();
    loop {
        let delivered: BTreeSet<String> = receiver
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.answered == 204)
            .map(|s| s.id.clone())
            .collect();
        if logged.is_subset(&delivered) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not delivered: {:?}",
            logged.difference(&delivered).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let seen = receiver.received();
    let verdicts = verify(&secret, &seen);
    let mut bodies: BTreeMap<&str, &str> = BTreeMap::new();
    for (request, verdict) in seen.iter().zip(&verdicts) {
        assert!(
            !verdict.is_null(),
            "the reference library refused {request:?}"
        );
        assert!(verdict["type"].is_string(), "{verdict}");
        // Seen again: the same id carries the same event.
        let first = bodies.entry(&request.id).or_insert(&request.body);
        assert_eq!(*first, request.body, "one body per webhook-id");
    }
    // Another secret verifies nothing.
    let forged = verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &seen[..1]);
    assert!(forged[0].is_null());

    // The deliveries API tells the story of one: refused, then delivered.
    let (status, page) = server.request(
        "GET",
        &format!("/v1/orgs/demo/webhooks/{webhook}/deliveries?limit=100"),
        Some(&admin),
        None,
    );
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert!(items.iter().all(|d| d["state"] == "delivered"), "{page}");
    let retried = items
        .iter()
        .find(|d| d["attempts"].as_array().unwrap().len() >= 2)
        .expect("a delivery tried more than once");
    let statuses: Vec<&Value> = retried["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(statuses.first(), Some(&&json!(503)));
    assert_eq!(statuses.last(), Some(&&json!(204)));
}
