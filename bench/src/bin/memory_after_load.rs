//! What memory `gatehouse-local` keeps after load, and what it gives back: the release binary
//! built with each allocator to compare (`name=path` arguments, run one after the other), put
//! through the same load: 2,000 sign-ins of 64 accounts at 64 concurrent clients, 10,000 in all
//! identifier invitations at 32 concurrent, three exports of all of them, downloaded. RSS is read
//! from `/proc` after start-up (base), at the end of the load, and every 5 s for a minute after.
//!
//! `scripts/bench-memory` builds the variants and runs this.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use gatehouse_bench::http::request;
use gatehouse_bench::{memory_kib, mib, LocalServer};
use serde_json::json;

const ADMIN: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "a very long bootstrap phrase";
const PASSWORD: &str = "a long office passphrase";
const ACCOUNTS: usize = 64;
const SIGN_INS: usize = 2_000;
/// With the accounts' own, 10,000 invitations: an admin's most in an hour.
const INVITATIONS: usize = 10_000 - ACCOUNTS;
const EXPORTS: usize = 3;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let variants: Vec<(String, String)> = std::env::args()
        .skip(1)
        .map(|a| {
            a.split_once('=')
                .map(|(n, p)| (n.to_string(), p.to_string()))
                .with_context(|| format!("{a}: name=path/to/gatehouse-local"))
        })
        .collect::<anyhow::Result<_>>()?;
    anyhow::ensure!(!variants.is_empty(), "name=path/to/gatehouse-local …");
    println!("| allocator | base RSS | peak (VmHWM) | RSS at the end of the load | RSS 60 s after | load took |");
    println!("|---|---|---|---|---|---|");
    for (name, path) in variants {
        let row = run(&path).await.with_context(|| name.clone())?;
        println!(
            "| {name} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.0} s |",
            mib(row.base),
            mib(row.peak),
            mib(row.after_load),
            mib(row.after_minute),
            row.took.as_secs_f64()
        );
    }
    Ok(())
}

struct Row {
    base: u64,
    peak: u64,
    after_load: u64,
    after_minute: u64,
    took: Duration,
}

async fn run(binary: &str) -> anyhow::Result<Row> {
    let server = LocalServer::start_binary(
        binary,
        &[
            ("GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL", ADMIN),
            ("GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
    )
    .await?;
    let addr = server.addr.clone();
    let pid = server.pid();
    let token = server.sign_in(ADMIN, ADMIN_PASSWORD).await?;
    server
        .change_settings(
            &token,
            json!({"sign_up_without_email": true, "admin_invitations_per_hour": 10_000}),
        )
        .await?;
    let accounts = server.accounts(&token, ACCOUNTS, "A", PASSWORD).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, base) = memory_kib(pid);
    let started = Instant::now();

    // Sign-ins, all correct, 64 at a time.
    let accounts = Arc::new(accounts);
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..64)
        .map(|_| {
            let (accounts, next, addr) = (accounts.clone(), next.clone(), addr.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= SIGN_INS {
                        return anyhow::Ok(());
                    }
                    let body = json!({"identifier": accounts[n % ACCOUNTS], "password": PASSWORD});
                    let r =
                        request(&addr, "POST", "/v1/orgs/demo/sign-in", None, Some(&body)).await?;
                    anyhow::ensure!(r.status == 200, "sign-in: {r:?}");
                }
            })
        })
        .collect();
    for w in workers {
        w.await??;
    }
    let after_sign_ins = memory_kib(pid).1;

    // Identifier invitations, 32 at a time.
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..32)
        .map(|_| {
            let (next, addr, token) = (next.clone(), addr.clone(), token.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= INVITATIONS {
                        return anyhow::Ok(());
                    }
                    let body = json!({"uid": format!("M{n}"), "role": "member", "first_name": "Memory", "last_name": format!("Load{n}")});
                    let r = request(&addr, "POST", "/v1/orgs/demo/invitations", Some(&token), Some(&body))
                        .await?;
                    anyhow::ensure!(r.status == 201, "invite: {r:?}");
                }
            })
        })
        .collect();
    for w in workers {
        w.await??;
    }
    let after_invitations = memory_kib(pid).1;

    // Exports of everything, downloaded.
    for _ in 0..EXPORTS {
        let made = request(
            &addr,
            "POST",
            "/v1/orgs/demo/exports",
            Some(&token),
            Some(&json!({})),
        )
        .await?;
        anyhow::ensure!(made.status == 201, "export: {made:?}");
        let url = made.json()["download_url"]
            .as_str()
            .context("a download URL")?
            .to_string();
        let path = url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
            .context("a path in the download URL")?;
        let got = request(&addr, "GET", &path, None, None).await?;
        anyhow::ensure!(got.status == 200, "download: {}", got.status);
    }
    let took = started.elapsed();
    let (peak, after_load) = memory_kib(pid);
    let mut after_minute = after_load;
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_secs(5)).await;
        after_minute = memory_kib(pid).1;
    }
    eprintln!(
        "  RSS after the sign-ins {:.1} MiB, after the invitations {:.1} MiB, after the exports {:.1} MiB",
        mib(after_sign_ins),
        mib(after_invitations),
        mib(after_load)
    );
    Ok(Row {
        base,
        peak,
        after_load,
        after_minute,
        took,
    })
}
