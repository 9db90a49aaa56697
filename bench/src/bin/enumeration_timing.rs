//! Does timing tell who has an account? The release `gatehouse-local`, over HTTP from outside:
//! sign-in (a wrong password), password reset, self-registration and registration through the
//! invitation link, each asked about people who have an account and people who have none,
//! interleaved in a shuffled order, `SAMPLES` of each. Every request comes from its own loopback
//! address (127.0.0.0/8), so that no failure counter holds one kind back, and names its own
//! person, so that no per-person limit does. Prints the medians and their difference per
//! endpoint; the goal is at most 5 ms. Exits non-zero past it.
//!
//! `cargo build --release -p gatehouse-local -p gatehouse-bench --bin gatehouse-local --bin enumeration_timing &&
//!  target/release/enumeration_timing [samples]`

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use gatehouse_bench::http::{request, request_from};
use gatehouse_bench::ms;
use serde_json::{json, Value};

const ADMIN: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "a very long bootstrap phrase";
const PASSWORD: &str = "a long and private passphrase";
/// How many requests run at once (the mail floor is a sleep, not work).
const WORKERS: usize = 4;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let samples: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let server = gatehouse_bench::LocalServer::start(&[
        ("GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL", ADMIN),
        ("GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ])
    .await?;
    let addr = server.addr.clone();
    let (known, link_token) = set_up(&server, samples).await?;
    println!(
        "gatehouse-local (release), {samples} samples per kind, {WORKERS} at a time, each from its own address"
    );
    println!("| endpoint | existing: median | unknown: median | difference | answers |");
    println!("|---|---|---|---|---|");
    let mut worst = Duration::ZERO;
    for (e, endpoint) in ["sign-in", "password-reset", "sign-up/self", "sign-up/link"]
        .into_iter()
        .enumerate()
    {
        // Sample i asks about known[i] and about a person nobody has heard of, in an order
        // shuffled by a fixed pattern, spread over the workers.
        let jobs: Vec<(usize, bool)> = (0..samples)
            .flat_map(|i| {
                let first = (i * 7919 + e) % 2 == 0;
                [(i, first), (i, !first)]
            })
            .collect();
        let jobs = std::sync::Arc::new(jobs);
        let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let (jobs, next, addr, known, link_token) = (
                    jobs.clone(),
                    next.clone(),
                    addr.clone(),
                    known.clone(),
                    link_token.clone(),
                );
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    loop {
                        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&(i, existing)) = jobs.get(n) else {
                            return anyhow::Ok(seen);
                        };
                        let person = if existing {
                            known[i].clone()
                        } else {
                            // Nobody another endpoint has already registered.
                            format!("nobody{i}.{e}@bench.test")
                        };
                        let (path, body) = ask(endpoint, &person, &link_token);
                        let from = client_address(e, n);
                        let started = Instant::now();
                        let reply =
                            request_from(Some(from), &addr, "POST", &path, None, Some(&body))
                                .await?;
                        seen.push((existing, started.elapsed(), reply.status, reply.body));
                    }
                })
            })
            .collect();
        let (mut existing, mut unknown) = (Vec::new(), Vec::new());
        let mut answers = std::collections::BTreeMap::<(u16, bool), usize>::new();
        let mut bodies = std::collections::BTreeSet::new();
        for w in workers {
            for (is_known, took, status, body) in w.await?? {
                *answers.entry((status, is_known)).or_default() += 1;
                bodies.insert(body);
                if is_known {
                    existing.push(took);
                } else {
                    unknown.push(took);
                }
            }
        }
        let (a, b) = (median(existing), median(unknown));
        let difference = a.max(b) - a.min(b);
        worst = worst.max(difference);
        let answers: Vec<String> = answers
            .iter()
            .map(|((status, known), n)| {
                format!(
                    "{n}×{status} ({})",
                    if *known { "existing" } else { "unknown" }
                )
            })
            .collect();
        println!(
            "| {endpoint} | {:.1} ms | {:.1} ms | {:.2} ms | {}; {} distinct bodies |",
            ms(a),
            ms(b),
            ms(difference),
            answers.join(", "),
            bodies.len()
        );
    }
    anyhow::ensure!(
        worst <= Duration::from_millis(5),
        "a median differs by {:.2} ms (goal: at most 5 ms)",
        ms(worst)
    );
    println!(
        "largest difference of medians: {:.2} ms (goal: at most 5 ms)",
        ms(worst)
    );
    Ok(())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// A loopback address of its own for request `n` of the `e`th endpoint:
/// 127.<10 + e>.<n / 250>.<n % 250 + 1>.
fn client_address(e: usize, n: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 10 + e as u8, (n / 250) as u8, (n % 250) as u8 + 1)
}

fn ask(endpoint: &str, person: &str, link_token: &str) -> (String, Value) {
    let path = format!("/v1/orgs/demo/{endpoint}");
    let body = match endpoint {
        "sign-in" => json!({"identifier": person, "password": "not the right password"}),
        "password-reset" => json!({"email": person}),
        "sign-up/self" => json!({"email": person, "first_name": "Sam", "last_name": "Sample"}),
        _ => {
            json!({"token": link_token, "email": person, "first_name": "Sam", "last_name": "Sample"})
        }
    };
    (path, body)
}

/// `samples` email accounts, invited and signed up as people do (the token read from the local
/// outbox), self-registration on and an invitation link: the accounts and the link's token.
async fn set_up(
    server: &gatehouse_bench::LocalServer,
    samples: usize,
) -> anyhow::Result<(Vec<String>, String)> {
    let addr = server.addr.as_str();
    let token = server.sign_in(ADMIN, ADMIN_PASSWORD).await?;
    server
        .change_settings(&token, json!({"self_registration": true}))
        .await?;
    let link = request(
        addr,
        "POST",
        "/v1/orgs/demo/invitation-link",
        Some(&token),
        Some(&json!({})),
    )
    .await?;
    let link_token = link.json()["url"]
        .as_str()
        .and_then(|u| u.split("token=").nth(1))
        .with_context(|| format!("link in {link:?}"))?
        .to_string();
    let outbox = server.data.join("outbox");
    let mut known = Vec::new();
    for i in 0..samples {
        let email = format!("person{i}@bench.test");
        let before: std::collections::HashSet<_> = mails(&outbox)?;
        let invited = request(
            addr,
            "POST",
            "/v1/orgs/demo/invitations",
            Some(&token),
            Some(&json!({"email": email, "role": "member", "first_name": "Pat", "last_name": format!("Person{i}")})),
        )
        .await?;
        anyhow::ensure!(invited.status == 201, "invite: {invited:?}");
        let new = mails(&outbox)?
            .into_iter()
            .find(|p| !before.contains(p))
            .context("the invitation's mail in the outbox")?;
        let invitation_token = token_in(&std::fs::read_to_string(&new)?)?;
        let signed_up = request(
            addr,
            "POST",
            "/v1/orgs/demo/sign-up/email",
            None,
            Some(&json!({"token": invitation_token, "password": PASSWORD})),
        )
        .await?;
        anyhow::ensure!(signed_up.status == 201, "sign-up: {signed_up:?}");
        known.push(email);
    }
    Ok((known, link_token))
}

fn mails(outbox: &Path) -> anyhow::Result<std::collections::HashSet<std::path::PathBuf>> {
    Ok(std::fs::read_dir(outbox)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect())
}

/// The link token in a quoted-printable mail.
fn token_in(eml: &str) -> anyhow::Result<String> {
    let text = eml
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let after = text
        .split("token=")
        .nth(1)
        .context("a link with a token in the mail")?;
    Ok(after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect())
}
