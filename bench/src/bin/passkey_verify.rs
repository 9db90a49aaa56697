//! What checking a passkey costs a sign-in, in process: the production ceremonies
//! (`gatehouse-passkeys`, webauthn-rs) making the options and checking an assertion (parsing
//! WebAuthn's JSON, the client data, the authenticator data and its flags, the ES256 signature,
//! the counter), next to what a password check costs (Argon2id with the production parameters).
//! One thread, one check at a time.
//!
//!   cargo build --release -p gatehouse-bench --bin passkey_verify
//!   target/release/passkey_verify
//!
//! The authenticator is webauthn-authenticator-rs's `SoftPasskey` (ES256, user verified). It keeps
//! no discoverable credentials: it reads the options as a key that ignores `residentKey`, is told
//! its credential (`allowCredentials`), and its answer gets the user handle a discoverable one
//! carries (none of which is signed or checked; `gatehouse_e2e::passkey` does the same). One assertion is checked again and again: the check does
//! not remember it (the flow that carried it is spent by the store, which is not measured here).
//!
//! Then the peer checks the same registration and assertion beside it: SimpleWebAuthn's server
//! library on node (`bench/passkey-peer/verify.mjs`, pinned in its package-lock.json; `npm ci` in
//! `bench/passkey-peer` first, as `scripts/bench-sign-in` does), with the same rules (origin, RP
//! ID, user verification required), as many times.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_bench::{memory_kib, mib, percentiles};
use gatehouse_domain::clock::Timestamp;
use gatehouse_domain::passkey::{PasskeyCeremonies, PasskeyCredential, PasskeyName};
use gatehouse_domain::password::{Password, PasswordHashing, PasswordPolicy};
use gatehouse_domain::secret::OsRandomness;
use gatehouse_domain::types::UserId;
use gatehouse_passkeys::WebauthnCeremonies;
use serde_json::{json, Value};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const ORIGIN: &str = "https://id.example.com";
const CHECKS: usize = 2_000;

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn line(what: &str, samples: Vec<Duration>) {
    let n = samples.len();
    let (p50, p95) = percentiles(samples);
    println!(
        "  {what:<50} {n:5}  p50 {:8.1} µs  p95 {:8.1} µs",
        us(p50),
        us(p95)
    );
}

fn main() -> anyhow::Result<()> {
    let ceremonies = WebauthnCeremonies::for_public_url(ORIGIN, "Bench")?;
    let origin = Url::parse(ORIGIN)?;
    let user = UserId::parse("0123456789abcdef0123456789abcdef").unwrap();
    let mut authenticator = SoftPasskey::new(true);

    // Registration, once.
    let start = ceremonies.creation_options(&user, "pat@example.com", "Pat", &[])?;
    let registration_challenge = start.public_key["challenge"].clone();
    let mut public_key = start.public_key.clone();
    public_key["authenticatorSelection"]["requireResidentKey"] = json!(false);
    public_key["authenticatorSelection"]["residentKey"] = json!("discouraged");
    let options: CreationChallengeResponse =
        serde_json::from_value(json!({ "publicKey": public_key }))?;
    let created = authenticator
        .do_registration(origin.clone(), options)
        .map_err(|e| anyhow::anyhow!("the soft authenticator refused to register: {e:?}"))?;
    let created = serde_json::to_value(&created)?;
    let registered = ceremonies.check_creation(&created, &start.state)?;
    let passkey = PasskeyCredential {
        id: registered.id,
        name: PasskeyName::parse("Bench key").unwrap(),
        created_at: Timestamp::from_unix_seconds(0),
        last_used_at: None,
        key: registered.key,
    };

    // The options of a sign-in, as many times as it is checked below.
    let mut option_times = Vec::with_capacity(CHECKS);
    let mut start = None;
    for _ in 0..CHECKS {
        let began = Instant::now();
        let made = ceremonies.request_options()?;
        option_times.push(began.elapsed());
        start = Some(made);
    }
    let start = start.expect("made");
    let mut public_key = start.public_key.clone();
    public_key["allowCredentials"] = json!([{ "type": "public-key", "id": passkey.id }]);
    let options: RequestChallengeResponse =
        serde_json::from_value(json!({ "publicKey": public_key }))?;
    let asserted = authenticator
        .do_authentication(origin.clone(), options)
        .map_err(|e| anyhow::anyhow!("the soft authenticator refused to sign: {e:?}"))?;
    let mut assertion: Value = serde_json::to_value(&asserted)?;
    let handle = uuid::Uuid::parse_str(user.as_str())?;
    assertion["response"]["userHandle"] = json!(URL_SAFE_NO_PAD.encode(handle.as_bytes()));

    let owner = ceremonies.assertion_owner(&assertion)?;
    assert_eq!(owner.user_id, user, "the user handle names the account");
    let mut check_times = Vec::with_capacity(CHECKS);
    for _ in 0..CHECKS {
        let began = Instant::now();
        ceremonies.assertion_owner(&assertion)?;
        let kept = ceremonies.check_assertion(&assertion, &start.state, &passkey)?;
        check_times.push(began.elapsed());
        assert!(kept.is_some(), "the counter moved on");
    }

    let passwords = PasswordHashing::default();
    let password = Password::parse("a long office passphrase", PasswordPolicy::default(), &[])?;
    let digest = passwords.hash_blocking(&password, &OsRandomness)?;
    let mut password_times = Vec::new();
    for _ in 0..50 {
        let began = Instant::now();
        let ok = passwords.verify_blocking(&password, &digest);
        password_times.push(began.elapsed());
        assert!(ok);
    }

    println!("passkey checks in process ({CHECKS} each; one thread)");
    line("sign-in options (challenge, state)", option_times);
    line(
        "assertion: owner + check (ES256, flags, counter)",
        check_times,
    );
    line("password check (Argon2id, for comparison)", password_times);
    let (peak, _) = memory_kib(std::process::id());
    println!("  peak RSS {:.1} MiB", mib(peak));

    // SoftPasskey writes the origin into the client data as a URL ("https://id.example.com/");
    // browsers write it without the slash. webauthn-rs compares origins as URLs, SimpleWebAuthn
    // as strings: the peer is told the origin as the authenticator wrote it.
    let fixture = json!({
        "origin": origin.as_str(),
        "rp_id": "id.example.com",
        "registration": { "credential": created, "challenge": registration_challenge },
        "assertion": { "credential": assertion, "challenge": start.public_key["challenge"] },
    });
    run_the_peer(&fixture)
}

/// Runs SimpleWebAuthn on node over the same registration and assertion; fails, saying what to
/// do, when its packages are not installed (nothing is skipped silently).
fn run_the_peer(fixture: &Value) -> anyhow::Result<()> {
    let peer = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("passkey-peer");
    if !peer.join("node_modules/@simplewebauthn/server").is_dir() {
        anyhow::bail!(
            "the peer is not installed: (cd {} && npm ci)",
            peer.display()
        );
    }
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), serde_json::to_vec(fixture)?)?;
    let status = std::process::Command::new("node")
        .arg(peer.join("verify.mjs"))
        .arg(file.path())
        .arg(CHECKS.to_string())
        .status()?;
    anyhow::ensure!(status.success(), "the peer failed: {status}");
    Ok(())
}
