//! Cold starts of every function's release binary under a minimal Lambda Runtime API: init (from
//! spawning the process to its first poll for work), the first request and the second (a warm
//! one), medians of several starts, against DynamoDB on moto and next to a hello-world function
//! built the same way.
//!
//! `scripts/bench-cold-start` builds the binaries, starts moto and runs this.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use gatehouse_bench::runtime_api::RuntimeApi;
use gatehouse_bench::{gateway_event_with, ms, percentiles};
use serde_json::json;

const STARTS: usize = 11;

fn binary(name: &str) -> String {
    let dir = std::env::var("GATEHOUSE_BENCH_BIN_DIR").unwrap_or_else(|_| "target/release".into());
    format!("{dir}/{name}")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (env, _) =
        gatehouse_bench::moto_org("admin@example.com", "a very long bootstrap phrase").await?;
    // Each function with a request that reaches its store (or, for openapi, its document).
    // bulk-import is started by an S3 event: one for an upload that is not there (it reads S3).
    let cases: [(&str, &str, &str, serde_json::Value); 12] = [
        ("hello_lambda", "GET", "/", json!(null)),
        ("openapi", "GET", "/openapi.json", json!(null)),
        (
            "sign-in",
            "POST",
            "/v1/orgs/demo/sign-in",
            json!({"identifier": "nobody@example.com", "password": "not a real password"}),
        ),
        (
            "sign-up",
            "POST",
            "/v1/orgs/demo/sign-up/access-code/check",
            json!({"access_code": "ABCD-EFGH-JKM"}),
        ),
        ("invite", "GET", "/v1/orgs/demo/invitations", json!(null)),
        ("groups", "GET", "/v1/orgs/demo/groups", json!(null)),
        ("settings", "GET", "/v1/orgs/demo/settings", json!(null)),
        ("users", "GET", "/v1/orgs/demo/users", json!(null)),
        (
            "imports",
            "GET",
            "/v1/orgs/demo/imports/template",
            json!(null),
        ),
        ("export", "POST", "/v1/orgs/demo/exports", json!(null)),
        (
            "bulk-import",
            "S3",
            "uploads/demo/0190f5a8b6c37d4e8f9a0b1c2d3e4f50",
            json!(null),
        ),
        (
            "password-reset",
            "PUT",
            "/v1/orgs/demo/users/00000000000000000000000000000000/password",
            json!({"password": "a new long passphrase"}),
        ),
    ];
    println!("cold starts, median of {STARTS} (p95 in brackets), release binaries, store on moto (plain HTTP on loopback)");
    println!(
        "  {:16} {:>16} {:>16} {:>16}  answer",
        "function", "init ms", "1st request ms", "2nd request ms"
    );
    for (name, method, path, body) in cases {
        let mut status = 0;
        let mut inits = Vec::new();
        let mut firsts = Vec::new();
        let mut seconds = Vec::new();
        for n in 0..STARTS {
            let api = RuntimeApi::start().await?;
            let spawned = Instant::now();
            let mut child = Command::new(binary(name))
                .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
                .env("AWS_LAMBDA_FUNCTION_NAME", name)
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .spawn()
                .with_context(|| format!("start {name} (cargo build --release)"))?;
            // Each start from its own address and, for sign-in, for its own identifier, so that
            // no failure counter throttles the requests measured.
            let body = match body.get("identifier") {
                Some(_) => {
                    json!({"identifier": format!("nobody{n}@example.com"), "password": "not a real password"})
                }
                None => body.clone(),
            };
            let event = match method {
                "S3" => s3_put_event(path),
                // A session that does not exist: the function reads the store to find out.
                _ => gateway_event_with(
                    method,
                    path,
                    &body,
                    &format!("198.51.100.{n}"),
                    &[(
                        "authorization",
                        "Bearer 00000000000000000000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                    )],
                ),
            };
            // Handed out as soon as the function polls: answered = init + the first request.
            let first = api.invoke(event.clone()).await;
            let first_answered = Instant::now();
            let start = Instant::now();
            let second = api.invoke(event).await;
            let second_took = start.elapsed();
            let _ = child.kill();
            let _ = child.wait();
            let (first, _second) = (first?, second?);
            status = match method {
                // An S3 event is answered with nothing; an error would be an error object.
                "S3" if first == "null" => 0,
                _ => serde_json::from_str::<serde_json::Value>(&first)
                    .ok()
                    .and_then(|a| a["statusCode"].as_u64())
                    .with_context(|| format!("{name} answered {first}"))?,
            };
            let polled = api.first_poll().context("the function never polled")?;
            inits.push(polled - spawned);
            firsts.push(first_answered - polled);
            seconds.push(second_took);
        }
        let show = |v: Vec<Duration>| {
            let (p50, p95) = percentiles(v);
            format!("{:7.2} [{:6.2}]", ms(p50), ms(p95))
        };
        println!(
            "  {name:16} {:>16} {:>16} {:>16}  {}",
            show(inits),
            show(firsts),
            show(seconds),
            if status == 0 {
                "done".to_string()
            } else {
                status.to_string()
            }
        );
    }
    Ok(())
}

/// An S3 `ObjectCreated:Put` notification for `key` in the bench's bucket.
fn s3_put_event(key: &str) -> String {
    let bucket = std::env::var("GATEHOUSE_BUCKET").unwrap_or_default();
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-12-01T00:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "bench"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "bench",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "bench"}, "arn": format!("arn:aws:s3:::{bucket}")},
            "object": {"key": key, "size": 1, "eTag": "0", "sequencer": "0"}
        }
    }]})
    .to_string()
}
