//! Gatehouse's webhook signatures, verified by the Standard Webhooks reference library
//! (`standardwebhooks` from PyPI, pinned in scripts/common.sh), never by our own code: a
//! delivery verifies, a rotation's two signatures verify with either secret, and a changed body,
//! id or timestamp, or another endpoint's secret, does not.

use std::process::Command;

use gatehouse_domain::secret::OsRandomness;
use gatehouse_domain::webhooks::{signature_header, WebhookSecret};

/// The library's verdict on one delivery: `Ok` with the parsed body, or its complaint.
fn verify(
    secret: &str,
    id: &str,
    timestamp: i64,
    signature: &str,
    body: &[u8],
) -> Result<String, String> {
    let python = std::env::var("GATEHOUSE_TEST_PYTHON").expect(
        "GATEHOUSE_TEST_PYTHON is not set: run the tests with ./scripts/test, which installs standardwebhooks",
    );
    let script = r#"
import sys, json
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
secret, id, ts, sig = sys.argv[1:5]
body = sys.stdin.buffer.read()
try:
    print(json.dumps(Webhook(secret).verify(body, {"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig})))
except WebhookVerificationError as e:
    print("refused:", e)
    sys.exit(3)
"#;
    let mut child = Command::new(python)
        .args(["-c", script, secret, id, &timestamp.to_string(), signature])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match out.status.code() {
        Some(0) => Ok(text),
        Some(3) => Err(text),
        _ => panic!(
            "the verifier failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The library refuses timestamps more than five minutes from its own clock.
fn now() -> i64 {
    use gatehouse_domain::clock::{Clock, SystemClock};
    SystemClock.now().unix_seconds()
}

#[test]
fn deliveries_verify_with_the_reference_library() {
    let secret = WebhookSecret::generate(&OsRandomness);
    let id = "0190f1c2a3b47e8f9a0b1c2d3e4f5a6b";
    let ts = now();
    let body = r#"{"type":"invitation.created","timestamp":"2026-12-05T17:00:00Z","data":{"email":"ané@example.com"}}"#.as_bytes();
    let signature = signature_header(&[&secret], id, ts, body);
    let parsed = verify(&secret.expose(), id, ts, &signature, body).expect("verified");
    assert!(parsed.contains("invitation.created"), "{parsed}");

    // Anything changed, or another endpoint's secret: refused.
    let other = WebhookSecret::generate(&OsRandomness);
    let tampered = body
        .iter()
        .map(|b| if *b == b'a' { b'b' } else { *b })
        .collect::<Vec<u8>>();
    assert!(verify(&secret.expose(), id, ts, &signature, &tampered).is_err());
    assert!(verify(
        &secret.expose(),
        "0190f1c2a3b47e8f9a0b1c2d3e4f5a6c",
        ts,
        &signature,
        body
    )
    .is_err());
    assert!(verify(&secret.expose(), id, ts - 1, &signature, body).is_err());
    assert!(verify(&other.expose(), id, ts, &signature, body).is_err());

    // While a rotated secret still signs, either secret verifies the delivery.
    let both = signature_header(&[&other, &secret], id, ts, body);
    assert_eq!(both.split(' ').count(), 2);
    assert!(verify(&secret.expose(), id, ts, &both, body).is_ok());
    assert!(verify(&other.expose(), id, ts, &both, body).is_ok());
}
