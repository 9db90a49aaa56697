//! Slow clients against the release `gatehouse-local`: the latency of a page and of the API
//! (GET `/demo/sign-in`, GET `/openapi.json`) with nothing else going on, then while 1,000
//! half-sent requests (headers that never end, bodies that never arrive, from 100 loopback
//! addresses) are held open, and the server's RSS meanwhile; then how long until the server has
//! let every one of them go (its header and request timeouts, set to 5 s here).
//!
//! `cargo build --release -p gatehouse-local -p gatehouse-bench --bin gatehouse-local --bin slow_clients &&
//!  target/release/slow_clients`

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::Context;
use gatehouse_bench::http::request;
use gatehouse_bench::{memory_kib, mib, ms, percentiles};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HALF_SENT: u32 = 1000;
const SAMPLES: usize = 200;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = gatehouse_bench::LocalServer::start(&[
        (
            "GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD",
            "a very long bootstrap phrase",
        ),
        ("GATEHOUSE_HEADER_TIMEOUT_SECS", "5"),
        ("GATEHOUSE_REQUEST_TIMEOUT_SECS", "5"),
        ("RUST_LOG", "error"),
    ])
    .await?;
    let (addr, pid) = (server.addr.clone(), server.pid());
    println!("gatehouse-local (release), header and request timeouts 5 s, {SAMPLES} requests of each kind");
    println!("| while | GET /demo/sign-in p50 / p95 | GET /openapi.json p50 / p95 | answers other than 200 | RSS |");
    println!("|---|---|---|---|---|");
    row(&addr, pid, "nothing else").await?;

    let mut held = Vec::new();
    for i in 0..HALF_SENT {
        let from = Ipv4Addr::new(127, 3, (i / 100) as u8, (i % 100) as u8 + 1);
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind((from, 0).into())?;
        let mut stream = socket.connect(addr.parse()?).await?;
        let half: &[u8] = if i % 2 == 0 {
            b"GET /demo/sign-in HTTP/1.1\r\nHost: x\r\n"
        } else {
            b"POST /v1/orgs/demo/sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"identifier\":"
        };
        stream.write_all(half).await?;
        held.push(stream);
    }
    let since = Instant::now();
    row(&addr, pid, &format!("{HALF_SENT} half-sent requests held")).await?;
    // How long until the server has let every one go.
    let mut last = Duration::ZERO;
    for mut stream in held {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut rest))
            .await
            .context("a half-sent request still held after 30 s")??;
        last = since.elapsed();
    }
    println!(
        "every half-sent request let go {:.1} s after the last was opened",
        last.as_secs_f64()
    );
    row(&addr, pid, "after").await?;
    Ok(())
}

async fn row(addr: &str, pid: u32, label: &str) -> anyhow::Result<()> {
    let mut others = 0;
    let mut timings = Vec::new();
    for path in ["/demo/sign-in", "/openapi.json"] {
        let mut samples = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let started = Instant::now();
            let reply = request(addr, "GET", path, None, None).await?;
            samples.push(started.elapsed());
            if reply.status != 200 {
                others += 1;
            }
        }
        timings.push(percentiles(samples));
    }
    let (_, rss) = memory_kib(pid);
    println!(
        "| {label} | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {others} | {:.1} MiB |",
        ms(timings[0].0),
        ms(timings[0].1),
        ms(timings[1].0),
        ms(timings[1].1),
        mib(rss)
    );
    Ok(())
}
