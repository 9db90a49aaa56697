//! The Standard Webhooks reference library (`standardwebhooks` from PyPI, pinned in
//! scripts/common.sh), run on what a receiver saw: the tests never check signatures with our
//! own code.

use serde_json::Value;

/// One request as a receiver saw it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    /// What the receiver answered.
    pub answered: u16,
}

/// The library's verdict on each request, in order: the parsed payload, or `null` if refused.
pub fn verify(secret: &str, received: &[Received]) -> Vec<Value> {
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
    let mut child = std::process::Command::new(python)
        .args(["-c", script, secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(serde_json::to_string(received).expect("json").as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("the verifier ends");
    assert!(out.status.success(), "the verifier failed");
    serde_json::from_slice(&out.stdout).expect("the verdicts")
}

/// A receiver on the loopback interface: answers 503 while [`Receiver::down`] is set, 204
/// otherwise, and keeps every request.
pub struct Receiver {
    pub port: u16,
    pub down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start() -> Self {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (is_down, log) = (down.clone(), seen.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (is_down, log) = (is_down.clone(), log.clone());
                tokio::spawn(async move {
                    let mut raw = Vec::new();
                    let mut buf = [0u8; 8192];
                    let (head, mut body) = loop {
                        let n = socket.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        raw.extend_from_slice(&buf[..n]);
                        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                            break (
                                String::from_utf8_lossy(&raw[..at]).to_string(),
                                raw[at + 4..].to_vec(),
                            );
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
                    log.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(Received {
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
                        .write_all(
                            format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n").as_bytes(),
                        )
                        .await;
                });
            }
        });
        Self { port, down, seen }
    }

    pub fn received(&self) -> Vec<Received> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
