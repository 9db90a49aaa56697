//! Webhooks from the real local run, checked by the Standard Webhooks reference library
//! (`standardwebhooks` from PyPI), never by our own code. A receiver refuses deliveries for a
//! while, the local run is stopped and started again meanwhile, then the receiver takes them:
//! every event of the log arrives, signed; none is lost; a delivery seen twice has one
//! `webhook-id` and one body; the deliveries API shows the refused attempts and the one that
//! landed.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod server;
use server::Server;

/// One request the receiver saw: the three headers, the body, and what it answered.
#[derive(Debug, Clone, serde::Serialize)]
struct Seen {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
    answered: u16,
}

/// A receiver on the loopback interface that answers 503 while `down`, 204 otherwise.
struct Receiver {
    port: u16,
    down: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn receiver() -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let down = Arc::new(AtomicBool::new(true));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (is_down, log) = (down.clone(), seen.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (is_down, log) = (is_down.clone(), log.clone());
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = [0u8; 8192];
                // Read the head, then as much body as it says.
                let (head, mut body) = loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    raw.extend_from_slice(&buf[..n]);
                    if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&raw[..at]).to_string();
                        break (head, raw[at + 4..].to_vec());
                    }
                };
                let header = |name: &str| {
                    head.lines()
                        .find_map(|l| {
                            let (n, v) = l.split_once(':')?;
                            n.trim()
                                .eq_ignore_ascii_case(name)
                                .then(|| v.trim().to_string())
                        })
                        .unwrap_or_default()
                };
                let length: usize = header("content-length").parse().unwrap_or(0);
                while body.len() < length {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    body.extend_from_slice(&buf[..n]);
                }
                let answered = if is_down.load(Ordering::SeqCst) {
                    503
                } else {
                    204
                };
                log.lock().unwrap().push(Seen {
                    id: header("webhook-id"),
                    timestamp: header("webhook-timestamp"),
                    signature: header("webhook-signature"),
                    body: String::from_utf8_lossy(&body).to_string(),
                    answered,
                });
                let status = if answered == 503 {
                    "503 Service Unavailable"
                } else {
                    "204 No Content"
                };
                let _ = socket
                    .write_all(format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n").as_bytes())
                    .await;
            });
        }
    });
    Receiver { port, down, seen }
}

/// The reference library's verdict on every request seen, in order: the parsed body or `null`.
fn verified(secret: &str, seen: &[Seen]) -> Vec<Value> {
    let python = std::env::var("GATEHOUSE_TEST_PYTHON").expect(
        "GATEHOUSE_TEST_PYTHON is not set: run the tests with ./scripts/test, which installs standardwebhooks",
    );
    let script = r#"
import sys, json
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
secret = sys.argv[1]
out = []
for d in json.load(sys.stdin):
    try:
        out.append(Webhook(secret).verify(d["body"], {"webhook-id": d["id"], "webhook-timestamp": d["timestamp"], "webhook-signature": d["signature"]}))
    except WebhookVerificationError:
        out.append(None)
print(json.dumps(out))
"#;
    let mut child = Command::new(python)
        .args(["-c", script, secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(seen).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the verifier failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

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
    let receiver = receiver().await;
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
    let refused = |seen: &[Seen]| seen.iter().filter(|s| s.answered == 503).count();
    let started = Instant::now();
    while refused(&receiver.seen.lock().unwrap()) < 5 {
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

    let seen = receiver.seen.lock().unwrap().clone();
    let verdicts = verified(&secret, &seen);
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
    let forged = verified("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &seen[..1]);
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
