//! What signing a token costs Gatehouse: RS256 with an RSA 2048 key (aws-lc-rs, in process, the
//! key read from Secrets Manager at cold start), per ID or access token, and what verifying one
//! costs (userinfo and introspection verify every access token).
//!
//!   cargo run --release -p gatehouse-bench --bin oidc_sign [tokens]

use std::time::Instant;

use gatehouse_bench::percentiles;
use gatehouse_domain::clock::Timestamp;
use gatehouse_domain::oidc::jwt::{self, ACCESS_TOKEN_TYP};
use gatehouse_domain::oidc::keys::KeySet;
use gatehouse_domain::secret::OsRandomness;
use serde_json::json;

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(5000);
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let started = Instant::now();
    let keys = KeySet::first(&OsRandomness, now)?;
    println!(
        "RSA 2048 key generated in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let key = keys.signing_key(now)?;
    // An access token as the token endpoint makes it.
    let claims = json!({
        "sub": "0123456789abcdef0123456789abcdef", "given_name": "Ada", "family_name": "Lovelace",
        "name": "Ada Lovelace", "locale": "en", "preferred_username": "ada@example.com",
        "email": "ada@example.com", "email_verified": true, "org": "demo", "role": "member",
        "groups": ["0123456789abcdef0123456789abcdef"], "iss": "https://gatehouse.example.com/demo",
        "aud": "fedcba9876543210fedcba9876543210", "client_id": "fedcba9876543210fedcba9876543210",
        "scope": "openid profile email offline_access", "iat": 1_800_000_000, "exp": 1_800_000_600,
        "auth_time": 1_800_000_000, "jti": "AbCdEfGhIjKlMnOpQrStUv", "sid": "AbCdEfGhIjKlMnOpQrStUv",
    });
    let mut signing = Vec::with_capacity(n);
    let mut tokens = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        tokens.push(jwt::sign(key, ACCESS_TOKEN_TYP, &claims));
        signing.push(t.elapsed());
    }
    let mut verifying = Vec::with_capacity(n);
    for token in &tokens {
        let t = Instant::now();
        jwt::verify(&keys, token, Some(ACCESS_TOKEN_TYP)).expect("verifies");
        verifying.push(t.elapsed());
    }
    let show = |what: &str, samples: Vec<std::time::Duration>| {
        let mean =
            samples.iter().sum::<std::time::Duration>().as_secs_f64() * 1e6 / samples.len() as f64;
        let (p50, p95) = percentiles(samples);
        println!(
            "{what:<8} {n} tokens ({} bytes each): mean {mean:.0} µs, p50 {:.0} µs, p95 {:.0} µs ({:.0} a second on one core)",
            tokens[0].len(),
            p50.as_secs_f64() * 1e6,
            p95.as_secs_f64() * 1e6,
            1e6 / mean
        );
    };
    show("sign", signing);
    show("verify", verifying);
    Ok(())
}
