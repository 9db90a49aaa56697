//! The latency a second factor adds to a sign-in, from outside, on the release `gatehouse-local`
//! over HTTP (embedded store): `ACCOUNTS` identifier accounts sign in with their password alone,
//! then each enrols an authenticator app and signs in twice more with it (the codes of the
//! current 30-second step and the next: a code works once per account and step). One client at a
//! time, so that each figure is one request's own latency.
//!
//!   cargo build --release -p gatehouse-local -p gatehouse-bench
//!   target/release/mfa_sign_in
//!
//! The codes are computed here from the key the enrolment answered, as a phone's app does
//! (`gatehouse_domain::totp`, whose RFC 6238 vectors and pyotp agreement are tested elsewhere).

use std::time::{Duration, Instant};

use anyhow::Context;
use gatehouse_bench::http::request;
use gatehouse_bench::{memory_kib, mib, ms, percentiles};
use gatehouse_domain::totp::TotpSecret;
use serde_json::json;

const ACCOUNTS: usize = 64;
const PASSWORD: &str = "a long office passphrase";
const ADMIN: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "a very long bootstrap phrase";

/// RFC 4648 base32 (no padding) to bytes.
fn base32_bytes(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in text.bytes() {
        let Some(value) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

fn step_now() -> u64 {
    use gatehouse_domain::clock::{Clock, SystemClock};
    gatehouse_domain::totp::step_of(SystemClock.now())
}

fn line(what: &str, samples: Vec<Duration>) {
    let n = samples.len();
    let (p50, p95) = percentiles(samples);
    println!(
        "  {what:<44} {n:4}  p50 {:6.1} ms  p95 {:6.1} ms",
        ms(p50),
        ms(p95)
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = gatehouse_bench::LocalServer::start(&[
        ("GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL", ADMIN),
        ("GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ])
    .await?;
    let addr = server.addr.clone();
    let admin = server.sign_in(ADMIN, ADMIN_PASSWORD).await?;
    server
        .change_settings(&admin, json!({"sign_up_without_email": true}))
        .await?;
    let identifiers = server.accounts(&admin, ACCOUNTS, "M", PASSWORD).await?;

    // The password alone.
    let mut password_only = Vec::new();
    let mut sessions = Vec::new();
    for identifier in &identifiers {
        let body = json!({"identifier": identifier, "password": PASSWORD});
        let start = Instant::now();
        let answer = request(&addr, "POST", "/v1/orgs/demo/sign-in", None, Some(&body)).await?;
        password_only.push(start.elapsed());
        anyhow::ensure!(answer.status == 200, "sign-in: {answer:?}");
        let json = answer.json();
        let token = json["token"].as_str().context("a token")?.to_string();
        let id = json["user"]["id"].as_str().context("an id")?.to_string();
        sessions.push((identifier.clone(), token, id));
    }

    // Each enrols an app: its key, confirmed with the code of the step before now.
    let mut keys = Vec::new();
    for (identifier, token, id) in &sessions {
        let path = format!("/v1/orgs/demo/users/{id}/totp");
        let body = json!({"current_password": PASSWORD});
        let started = request(&addr, "POST", &path, Some(token), Some(&body)).await?;
        let key = started.json()["secret"]
            .as_str()
            .with_context(|| format!("a key in {started:?}"))?
            .to_string();
        let secret = TotpSecret::from_bytes(&base32_bytes(&key)).context("a 20-byte key")?;
        let code = secret.code_at(step_now() - 1);
        let confirm = format!("{path}/confirm");
        let confirmed = request(
            &addr,
            "POST",
            &confirm,
            Some(token),
            Some(&json!({"code": code})),
        )
        .await?;
        anyhow::ensure!(confirmed.status == 200, "confirm: {confirmed:?}");
        keys.push((identifier.clone(), secret));
    }

    // Then twice each with the app: the password step, then the code's.
    let (mut password_step, mut code_step, mut whole) = (Vec::new(), Vec::new(), Vec::new());
    for offset in [0, 1] {
        for (identifier, secret) in &keys {
            let body = json!({"identifier": identifier, "password": PASSWORD});
            let start = Instant::now();
            let step = request(&addr, "POST", "/v1/orgs/demo/sign-in", None, Some(&body)).await?;
            let first = start.elapsed();
            let token = step.json()["mfa_token"]
                .as_str()
                .with_context(|| format!("an mfa_token in {step:?}"))?
                .to_string();
            let code = secret.code_at(step_now() + offset);
            let body = json!({"mfa_token": token, "code": code});
            let second = Instant::now();
            let done = request(
                &addr,
                "POST",
                "/v1/orgs/demo/sign-in/mfa",
                None,
                Some(&body),
            )
            .await?;
            anyhow::ensure!(done.status == 200, "the code's step: {done:?}");
            code_step.push(second.elapsed());
            password_step.push(first);
            whole.push(start.elapsed());
        }
    }
    let (peak, _) = memory_kib(server.pid());
    println!("gatehouse-local (release), {ACCOUNTS} accounts, one client at a time:");
    line("sign-in, the password alone", password_only);
    line("with an app: the password step", password_step);
    line("with an app: the code's step", code_step);
    line("with an app: both steps", whole);
    println!("  peak RSS of gatehouse-local {:.1} MiB", mib(peak));
    Ok(())
}
