//! Sign-ins under load, from outside, on release binaries: many correct sign-ins of 16 accounts,
//! all from one address (an office behind one NAT), against
//!
//! - `local`: the real `gatehouse-local` over HTTP, at 4 and 16 concurrent clients: sign-ins per
//!   second, answers other than 200 (the goal is none), latency, and the server's peak RSS;
//! - `function`: the real `sign-in` Lambda binary (crate `gatehouse-sign-in`) under a minimal Lambda Runtime API,
//!   one invocation at a time as in Lambda, against DynamoDB on moto: its RSS as sign-ins add up.
//!
//! - `office`: the local run with hundreds of accounts behind one address, each familiar with
//!   it, signing in at once after typos from it used up the address's allowance: refused
//!   answers (the goal is none) and the rate; then a spray from the address (still capped).
//!
//! `scripts/bench-sign-in` builds the binaries, starts moto and runs them.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use gatehouse_bench::http::{request, request_from};
use gatehouse_bench::runtime_api::RuntimeApi;
use gatehouse_bench::{gateway_event, memory_kib, mib, ms, percentiles};
use serde_json::json;

const ACCOUNTS: usize = 16;
const PASSWORD: &str = "a long office passphrase";
const ADMIN: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "a very long bootstrap phrase";

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn binary(name: &str) -> String {
    let dir = std::env::var("GATEHOUSE_BENCH_BIN_DIR").unwrap_or_else(|_| "target/release".into());
    format!("{dir}/{name}")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "local".into());
    let total: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(500);
    match mode.as_str() {
        "local" => local(total).await,
        "function" => function(total).await,
        "sizes" => sizes(total.min(200)).await,
        "office" => office(total).await,
        other => anyhow::bail!("unknown mode {other}: local, function, sizes or office"),
    }
}

async fn local(total: usize) -> anyhow::Result<()> {
    let server = gatehouse_bench::LocalServer::start(&[
        ("GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL", ADMIN),
        ("GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ])
    .await?;
    let (addr, pid) = (server.addr.clone(), server.pid());
    let identifiers = local_accounts(&server).await?;
    let (_, rss_idle) = memory_kib(pid);
    println!(
        "gatehouse-local (release), {ACCOUNTS} accounts, every sign-in from 127.0.0.1; RSS after set-up {:.1} MiB",
        mib(rss_idle)
    );
    for concurrency in [4usize, 16] {
        let identifiers = Arc::new(identifiers.clone());
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let identifiers = identifiers.clone();
                let next = next.clone();
                let addr = addr.clone();
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= total {
                            return seen;
                        }
                        let body =
                            json!({"identifier": identifiers[n % ACCOUNTS], "password": PASSWORD});
                        let start = Instant::now();
                        let status =
                            request(&addr, "POST", "/v1/orgs/demo/sign-in", None, Some(&body))
                                .await
                                .map(|r| r.status)
                                .unwrap_or(0);
                        seen.push((status, start.elapsed()));
                    }
                })
            })
            .collect();
        let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
        let mut latencies = Vec::new();
        for w in workers {
            for (status, took) in w.await? {
                *statuses.entry(status).or_default() += 1;
                latencies.push(took);
            }
        }
        let elapsed = started.elapsed();
        let (p50, p95) = percentiles(latencies);
        let (peak, rss) = memory_kib(pid);
        println!(
            "  {total} sign-ins at {concurrency:2} concurrent: {:6.1}/s, answers {statuses:?}, p50 {:.1} ms, p95 {:.1} ms; peak RSS {:.1} MiB, RSS now {:.1} MiB",
            total as f64 / elapsed.as_secs_f64(),
            ms(p50),
            ms(p95),
            mib(peak),
            mib(rss),
        );
    }
    Ok(())
}

/// An office of `people` behind one address at 9:00: each signed in once from it before (so it
/// is familiar to them); 30 typos from it on identifiers it is not familiar with use up the
/// address's allowance; then all sign in at once, correctly. Prints the refused count and the
/// rate, then how a spray of 300 wrong passwords from the address is answered.
async fn office(people: usize) -> anyhow::Result<()> {
    let office = Some(std::net::Ipv4Addr::new(127, 0, 0, 9));
    let server = gatehouse_bench::LocalServer::start(&[
        ("GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL", ADMIN),
        ("GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ])
    .await?;
    let addr = server.addr.clone();
    let identifiers = accounts(&server, people).await?;
    let sign_in = |identifier: String, password: &'static str| {
        let addr = addr.clone();
        async move {
            let body = json!({"identifier": identifier, "password": password});
            request_from(
                office,
                &addr,
                "POST",
                "/v1/orgs/demo/sign-in",
                None,
                Some(&body),
            )
            .await
            .map(|r| r.status)
            .unwrap_or(0)
        }
    };
    for id in &identifiers {
        anyhow::ensure!(
            sign_in(id.clone(), PASSWORD).await == 200,
            "first sign-in of {id}"
        );
    }
    let mut typos: BTreeMap<u16, usize> = BTreeMap::new();
    for i in 0..30 {
        *typos
            .entry(sign_in(format!("T{i}:demo"), "a typo").await)
            .or_default() += 1;
    }
    let started = Instant::now();
    let all: Vec<_> = identifiers
        .iter()
        .map(|id| {
            let attempt = sign_in(id.clone(), PASSWORD);
            tokio::spawn(async move {
                let start = Instant::now();
                (attempt.await, start.elapsed())
            })
        })
        .collect();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut latencies = Vec::new();
    for t in all {
        let (status, took) = t.await?;
        *statuses.entry(status).or_default() += 1;
        latencies.push(took);
    }
    let elapsed = started.elapsed();
    let (p50, p95) = percentiles(latencies);
    let refused: usize = statuses
        .iter()
        .filter(|(s, _)| **s != 200)
        .map(|(_, n)| n)
        .sum();
    println!(
        "office of {people} behind 127.0.0.9, after 30 typos from it ({typos:?}): {people} correct sign-ins at once: refused {refused}, answers {statuses:?}, {:.1} sign-ins/s, p50 {:.1} ms, p95 {:.1} ms",
        people as f64 / elapsed.as_secs_f64(),
        ms(p50),
        ms(p95),
    );
    let mut spray: BTreeMap<u16, usize> = BTreeMap::new();
    for i in 0..300 {
        *spray
            .entry(sign_in(format!("S{i}:demo"), "Summer2026!").await)
            .or_default() += 1;
    }
    println!("  then 300 sprayed wrong passwords from it: answers {spray:?}");
    Ok(())
}

/// One correct sign-in of `identifier` through the Runtime API, from one office address: the
/// status the function answered (0 if none), how long it took, and the answer.
async fn invoke_sign_in(
    api: &RuntimeApi,
    identifier: &str,
) -> anyhow::Result<(u16, Duration, String)> {
    let event = gateway_event(
        "POST",
        "/v1/orgs/demo/sign-in",
        &json!({"identifier": identifier, "password": PASSWORD}),
        "198.51.100.7",
    );
    let start = Instant::now();
    let answer = api.invoke(event).await?;
    let took = start.elapsed();
    let status = serde_json::from_str::<serde_json::Value>(&answer)
        .ok()
        .and_then(|a| a["statusCode"].as_u64())
        .unwrap_or(0) as u16;
    Ok((status, took, answer))
}

/// The [`ACCOUNTS`] accounts of the `local` mode, over HTTP as an admin would make them.
async fn local_accounts(server: &gatehouse_bench::LocalServer) -> anyhow::Result<Vec<String>> {
    accounts(server, ACCOUNTS).await
}

/// `n` accounts (`B0:demo`…), each signed in once from 127.0.0.1.
async fn accounts(server: &gatehouse_bench::LocalServer, n: usize) -> anyhow::Result<Vec<String>> {
    let token = server.sign_in(ADMIN, ADMIN_PASSWORD).await?;
    server
        .change_settings(&token, json!({"sign_up_without_email": true}))
        .await?;
    server.accounts(&token, n, "B", PASSWORD).await
}

/// An organisation on moto with [`ACCOUNTS`] identifier accounts signed up: the function's
/// environment and the accounts' sign-in identifiers.
async fn moto_accounts() -> anyhow::Result<(Vec<(String, String)>, Vec<String>)> {
    use gatehouse_domain::types::{InviteeRole, OrgDomain, PersonName, Uid};
    use gatehouse_domain::usecase::invite::{invite, InvitationRequest, InviteeRequest};
    use gatehouse_domain::usecase::sign_in::{sign_in, SignInRequest};
    use gatehouse_domain::usecase::sign_up::{sign_up_with_access_code, AccessCodeSignUpRequest};
    use gatehouse_domain::usecase::ClientAddress;

    let (env, services) = gatehouse_bench::moto_org(ADMIN, ADMIN_PASSWORD).await?;
    let org = OrgDomain::parse("demo")?;
    let mut record = services.store.org(&org).await?.context("org")?;
    record.settings.sign_up_without_email = true;
    services
        .store
        .update_org(&record, &gatehouse_domain::events::ChangeEvents::none())
        .await?;
    let here = ClientAddress::new("127.0.0.1");
    let admin = sign_in(
        &services,
        &org,
        SignInRequest {
            identifier: ADMIN.into(),
            password: ADMIN_PASSWORD.into(),
        },
        &here,
    )
    .await?
    .signed_in()
    .context("the admin has no second factor")?;
    let mut identifiers = Vec::new();
    for i in 0..ACCOUNTS {
        let invited = invite(
            &services,
            &org,
            Some(&admin.token),
            InvitationRequest {
                invitee: InviteeRequest::Uid(Uid::parse(&format!("F{i}"))?),
                role: InviteeRole::Member,
                first_name: PersonName::parse("Bench")?,
                last_name: PersonName::parse(&format!("User{i}"))?,
                groups: vec![],
                message: None,
                language: None,
            },
        )
        .await?;
        let code = invited.access_code.context("an access code")?;
        sign_up_with_access_code(
            &services,
            &org,
            AccessCodeSignUpRequest {
                code,
                password: PASSWORD.into(),
            },
            &here,
        )
        .await?;
        identifiers.push(format!("F{i}:demo"));
    }
    Ok((env, identifiers))
}

/// `GATEHOUSE_BENCH_LOGS=path`: the function's standard output (its JSON logs and metric lines,
/// at `info`) is kept there, to read what an operator would see in CloudWatch.
async fn function(total: usize) -> anyhow::Result<()> {
    let logs = std::env::var_os("GATEHOUSE_BENCH_LOGS");
    let (env, identifiers) = moto_accounts().await?;
    let api = RuntimeApi::start().await?;
    let spawned = Instant::now();
    let child = Command::new(binary("sign-in"))
        .envs(env)
        .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "sign-in")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("RUST_LOG", if logs.is_some() { "info" } else { "warn" })
        .stdout(match &logs {
            Some(path) => Stdio::from(std::fs::File::create(path)?),
            None => Stdio::null(),
        })
        .spawn()
        .context("start the sign-in function (cargo build --release -p gatehouse-sign-in)")?;
    let pid = child.id();
    let _child = Killed(child);
    println!(
        "gatehouse-sign-in (release) under a local Lambda Runtime API, DynamoDB on moto; {total} correct sign-ins of {ACCOUNTS} accounts, one at a time"
    );
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut latencies = Vec::new();
    let checkpoints = [1usize, 10, 100, 500, 1000, total];
    for n in 1..=total {
        let (status, took, _) = invoke_sign_in(&api, &identifiers[n % ACCOUNTS]).await?;
        latencies.push(took);
        *statuses.entry(status).or_default() += 1;
        if n == 1 {
            if let Some(init) = api.first_poll() {
                println!("  init {:.1} ms", ms(init - spawned));
            }
        }
        if checkpoints.contains(&n) {
            let (peak, rss) = memory_kib(pid);
            println!(
                "  after {n:5} sign-ins: RSS {:.1} MiB, peak {:.1} MiB",
                mib(rss),
                mib(peak)
            );
        }
    }
    let (p50, p95) = percentiles(latencies);
    println!(
        "  answers {statuses:?}; p50 {:.1} ms, p95 {:.1} ms per invocation (moto serves one request at a time)",
        ms(p50),
        ms(p95)
    );
    if !api.errors().is_empty() {
        println!("  errors: {:?}", api.errors());
    }
    Ok(())
}

/// The sign-in function at Lambda's memory sizes. Lambda gives a function CPU in proportion to
/// its memory (a whole vCPU at 1,769 MB); here each size runs the release binary in a cgroup
/// (v1 `cpu` or v2) whose CFS quota is that share of one core (period 100 ms), one invocation
/// at a time, `total` correct sign-ins after 5 to warm up, against DynamoDB on moto (outside the
/// quota, as DynamoDB is outside the function). Needs root for the cgroup.
async fn sizes(total: usize) -> anyhow::Result<()> {
    let (env, identifiers) = moto_accounts().await?;
    println!(
        "gatehouse-sign-in (release), CPU limited as Lambda limits it by memory size; {total} correct sign-ins each, one at a time, DynamoDB on moto"
    );
    println!("| memory | CPU share | p50 | p95 | billed GB-s per sign-in (p50) |");
    println!("|---|---|---|---|---|");
    for memory in [128u32, 256, 512, 1024, 1769] {
        let share = f64::from(memory) / 1769.0;
        let cgroup = CpuLimit::new(&format!("gatehouse-bench-{memory}"), share)?;
        let api = RuntimeApi::start().await?;
        let binary = binary("sign-in");
        let child = Command::new("sh")
            .arg("-c")
            .arg(r#"echo $$ > "$1" && exec "$2""#)
            .arg("sh")
            .arg(&cgroup.procs)
            .arg(&binary)
            .envs(env.clone())
            .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
            .env("AWS_LAMBDA_FUNCTION_NAME", "sign-in")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory.to_string())
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .context("start the sign-in function in its cgroup")?;
        let _child = Killed(child);
        let mut latencies = Vec::new();
        for n in 0..total + 5 {
            let (status, took, answer) = invoke_sign_in(&api, &identifiers[n % ACCOUNTS]).await?;
            anyhow::ensure!(status == 200, "sign-in answered {answer}");
            if n >= 5 {
                latencies.push(took);
            }
        }
        let (p50, p95) = percentiles(latencies);
        let billed_ms = ms(p50).ceil();
        println!(
            "| {memory} MB | {:.1} % | {:.1} ms | {:.1} ms | {:.6} |",
            share * 100.0,
            ms(p50),
            ms(p95),
            f64::from(memory) / 1024.0 * billed_ms / 1000.0
        );
    }
    Ok(())
}

/// A cgroup limiting its processes to `share` of one core, removed when dropped.
struct CpuLimit {
    dir: std::path::PathBuf,
    procs: std::path::PathBuf,
}

impl CpuLimit {
    fn new(name: &str, share: f64) -> anyhow::Result<Self> {
        let period = 100_000u64;
        let quota = ((period as f64) * share).round().max(1000.0) as u64;
        let v1 = std::path::Path::new("/sys/fs/cgroup/cpu");
        let (dir, limit) = if v1.join("cpu.cfs_quota_us").exists() {
            let dir = v1.join(name);
            std::fs::create_dir_all(&dir).context("create the cgroup (run as root)")?;
            std::fs::write(dir.join("cpu.cfs_period_us"), period.to_string())?;
            (dir, ("cpu.cfs_quota_us", quota.to_string()))
        } else {
            let dir = std::path::Path::new("/sys/fs/cgroup").join(name);
            std::fs::create_dir_all(&dir).context("create the cgroup (run as root)")?;
            (dir, ("cpu.max", format!("{quota} {period}")))
        };
        std::fs::write(dir.join(limit.0), limit.1).context("set the CPU quota")?;
        let procs = dir.join("cgroup.procs");
        Ok(Self { dir, procs })
    }
}

impl Drop for CpuLimit {
    fn drop(&mut self) {
        // Its process is killed first (declared after); give the kernel a moment to empty it.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
