//! What the benchmark binaries share: a minimal HTTP/1.1 client, a minimal Lambda Runtime API
//! (so that a function's real release binary can be run and timed outside AWS), API Gateway
//! events, and memory readings from `/proc`.

pub mod http;
pub mod runtime_api;

use std::time::Duration;

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `VmHWM` (peak resident set) and `VmRSS` of a process, in KiB.
pub fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The cells of the `n`th row of an export as the export writes them (16 columns, the last three
/// empty): what the sheet benchmarks stream.
pub fn export_row_cells(n: usize) -> [String; 16] {
    std::array::from_fn(|col| match col {
        0 => "email".into(),
        1 | 2 => format!("person.{n}@example.com"),
        3 => format!("Firstname{n}"),
        4 => "Lastname-Ünïcode".into(),
        5 => "member".into(),
        6 => "Engineering, Sales".into(),
        7 => "pending".into(),
        8 => "sent".into(),
        9..=11 => "2026-12-01T23:10:55Z".into(),
        12 => "Ada Admin <admin@example.com>".into(),
        _ => String::new(),
    })
}

/// The median and the 95th percentile.
pub fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    if samples.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    samples.sort();
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.95))
}

/// An API Gateway HTTP API (payload 2.0) event, as API Gateway hands a request to a function.
pub fn gateway_event(
    method: &str,
    path: &str,
    body: &serde_json::Value,
    source_ip: &str,
) -> String {
    gateway_event_with(method, path, body, source_ip, &[])
}

/// [`gateway_event`] with more request headers (`authorization`, say).
pub fn gateway_event_with(
    method: &str,
    path: &str,
    body: &serde_json::Value,
    source_ip: &str,
    more_headers: &[(&str, &str)],
) -> String {
    let mut headers =
        serde_json::json!({"content-type": "application/json", "host": "api.gatehouse.test"});
    for (name, value) in more_headers {
        headers[*name] = serde_json::Value::from(*value);
    }
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "gatehouse",
            "domainName": "api.gatehouse.test",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": "bench"},
            "requestId": "bench",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Dec/2026:00:00:00 +0000",
            "timeEpoch": 0
        },
        "body": body.to_string(),
        "isBase64Encoded": false
    })
    .to_string()
}

/// A fresh table and bucket on moto (at `AWS_ENDPOINT_URL`), the table holding the organisation
/// `demo` with its admin, and the environment a function binary needs to use it (also set in this process, so that
/// [`gatehouse_aws::services_from_env`] builds the very services the function will).
pub async fn moto_org(
    admin_email: &str,
    admin_password: &str,
) -> anyhow::Result<(Vec<(String, String)>, gatehouse_domain::Services)> {
    use anyhow::Context;
    use gatehouse_domain::types::{EmailAddress, OrgDomain, PersonName};
    use gatehouse_domain::usecase::bootstrap::{bootstrap_org, BootstrapRequest};

    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .context("AWS_ENDPOINT_URL: the moto server (the bench scripts start one)")?;
    let table = format!("gatehouse-bench-{}", free_port());
    let bucket = format!("gatehouse-bench-{}", free_port());
    let key = gatehouse_domain::access_code::AccessCodeKeys::generate_secret(
        &gatehouse_domain::secret::OsRandomness,
    );
    let env: Vec<(String, String)> = [
        ("GATEHOUSE_TABLE", table.as_str()),
        ("GATEHOUSE_BUCKET", bucket.as_str()),
        ("GATEHOUSE_MAIL_FROM", "Gatehouse <no-reply@gatehouse.test>"),
        ("GATEHOUSE_PUBLIC_URL", "https://app.gatehouse.test"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in &env {
        std::env::set_var(k, v);
    }
    let aws = gatehouse_aws::aws_sdk_config().await;
    // The access-code key, in Secrets Manager as deployed: the functions that use it read it at
    // cold start.
    let secret = aws_sdk_secretsmanager::Client::new(&aws)
        .create_secret()
        .name(&table)
        .secret_string(&key)
        .send()
        .await
        .context("create the access-code secret on moto")?
        .arn
        .context("the secret's ARN")?;
    std::env::set_var("GATEHOUSE_ACCESS_CODE_SECRET", &secret);
    let mut env = env;
    env.push(("GATEHOUSE_ACCESS_CODE_SECRET".into(), secret));
    gatehouse_aws::create_table(&aws_sdk_dynamodb::Client::new(&aws), &table)
        .await
        .context("create the table on moto")?;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&aws)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .context("create the bucket on moto")?;
    let services = gatehouse_aws::services_from_env().await?;
    bootstrap_org(
        &services,
        BootstrapRequest {
            domain: OrgDomain::parse("demo")?,
            admin_email: EmailAddress::parse(admin_email)?,
            admin_password: admin_password.into(),
            first_name: PersonName::parse("Ada")?,
            last_name: PersonName::parse("Admin")?,
            display_name: None,
        },
    )
    .await?;
    Ok((env, services))
}

/// The release `gatehouse-local` (from `GATEHOUSE_BENCH_BIN_DIR`, default `target/release`) on
/// a free loopback port with a fresh data folder, answering; stopped (and its folder removed)
/// when dropped.
pub struct LocalServer {
    child: std::process::Child,
    pub addr: String,
    pub data: std::path::PathBuf,
}

impl LocalServer {
    /// Started with these variables besides its address and data folder (cleanup off, logs at
    /// `warn` unless given).
    pub async fn start(env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let dir =
            std::env::var("GATEHOUSE_BENCH_BIN_DIR").unwrap_or_else(|_| "target/release".into());
        Self::start_binary(&format!("{dir}/gatehouse-local"), env).await
    }

    /// [`Self::start`] with the `gatehouse-local` binary at `binary` (one built otherwise).
    pub async fn start_binary(binary: &str, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        use anyhow::Context;
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let data = std::env::temp_dir().join(format!("gatehouse-bench-{port}"));
        let _ = std::fs::remove_dir_all(&data);
        let child = std::process::Command::new(binary)
            .env("GATEHOUSE_ADDR", &addr)
            .env("GATEHOUSE_DATA_DIR", &data)
            .env("GATEHOUSE_CLEANUP_EVERY_SECS", "0")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .spawn()
            .context("start gatehouse-local (cargo build --release -p gatehouse-local)")?;
        let server = Self { child, addr, data };
        for _ in 0..200 {
            if http::request(&server.addr, "GET", "/openapi.json", None, None)
                .await
                .is_ok()
            {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("gatehouse-local did not answer within 10 s")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A session token of `email`, signed in with `password`.
    pub async fn sign_in(&self, email: &str, password: &str) -> anyhow::Result<String> {
        use anyhow::Context;
        let signed_in = http::request(
            &self.addr,
            "POST",
            "/v1/orgs/demo/sign-in",
            None,
            Some(&serde_json::json!({"identifier": email, "password": password})),
        )
        .await?;
        Ok(signed_in.json()["token"]
            .as_str()
            .with_context(|| format!("a token in {signed_in:?}"))?
            .to_string())
    }

    /// `n` identifier accounts (`{prefix}0:demo`…) made as an admin (`token`) would: invited,
    /// each signed up with its access code and `password`, and signed in once from here (so that
    /// the address is familiar to each, as an office's is). Answers their sign-in identifiers.
    pub async fn accounts(
        &self,
        token: &str,
        n: usize,
        prefix: &str,
        password: &str,
    ) -> anyhow::Result<Vec<String>> {
        use anyhow::Context;
        let addr = self.addr.as_str();
        let mut identifiers = Vec::with_capacity(n);
        for i in 0..n {
            let invited = http::request(
                addr,
                "POST",
                "/v1/orgs/demo/invitations",
                Some(token),
                Some(&serde_json::json!({"uid": format!("{prefix}{i}"), "role": "member", "first_name": "Bench", "last_name": format!("User{i}")})),
            )
            .await?;
            let code = invited.json()["access_code"]
                .as_str()
                .with_context(|| format!("access code in {invited:?}"))?
                .to_string();
            let signed_up = http::request(
                addr,
                "POST",
                "/v1/orgs/demo/sign-up/access-code",
                None,
                Some(&serde_json::json!({"access_code": code, "password": password})),
            )
            .await?;
            anyhow::ensure!(signed_up.status == 201, "sign-up: {signed_up:?}");
            let identifier = format!("{prefix}{i}:demo");
            let body = serde_json::json!({"identifier": identifier, "password": password});
            let first =
                http::request(addr, "POST", "/v1/orgs/demo/sign-in", None, Some(&body)).await?;
            anyhow::ensure!(first.status == 200, "first sign-in: {first:?}");
            identifiers.push(identifier);
        }
        Ok(identifiers)
    }

    /// Changes the organisation's settings as its admin (`token`).
    pub async fn change_settings(
        &self,
        token: &str,
        settings: serde_json::Value,
    ) -> anyhow::Result<()> {
        let changed = http::request(
            &self.addr,
            "PATCH",
            "/v1/orgs/demo/settings",
            Some(token),
            Some(&settings),
        )
        .await?;
        anyhow::ensure!(changed.status == 200, "settings: {changed:?}");
        Ok(())
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
