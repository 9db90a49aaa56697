//! The README's local command, for real: the `gatehouse-local` binary on a free port with a fresh
//! data folder. It bootstraps, serves every route, prints sign-up links, and keeps its data
//! across a restart.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;

mod server;
use server::Server;

#[test]
fn the_local_command_serves_the_story_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let password = server
        .banner
        .iter()
        .find_map(|l| l.trim().strip_prefix("admin password (generated): "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the generated admin password is printed")
        .to_string();
    let kept = std::fs::read_to_string(dir.path().join("initial-admin-password")).unwrap();
    assert_eq!(kept.trim_end(), password, "kept for the walkthrough");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("initial-admin-password"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "readable by its owner only");
    }
    assert!(server
        .banner
        .iter()
        .any(|l| l.contains("Bootstrapped organisation demo with admin admin@example.com")));

    let (status, session) = server.request(
        "POST",
        "/v1/orgs/demo/sign-in",
        None,
        Some(json!({"identifier": "admin@example.com", "password": password})),
    );
    assert_eq!(status, 200, "{session}");
    let admin = session["token"].as_str().unwrap().to_string();
    let (status, group) = server.request(
        "POST",
        "/v1/orgs/demo/groups",
        Some(&admin),
        Some(json!({"name": "Design"})),
    );
    assert_eq!(status, 201);
    let (status, invitation) = server.request(
        "POST",
        "/v1/orgs/demo/invitations",
        Some(&admin),
        Some(json!({"email": "alice@example.com", "role": "member", "first_name": "Alice", "last_name": "Liddell", "groups": [group["id"]]})),
    );
    assert_eq!(status, 201, "{invitation}");
    let token = server.next_link_token();
    let outbox: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .collect();
    assert_eq!(outbox.len(), 1, "the email is in the outbox");

    let (status, alice) = server.request(
        "POST",
        "/v1/orgs/demo/sign-up/email",
        None,
        Some(json!({"token": token, "password": "through the looking glass"})),
    );
    assert_eq!(status, 201, "{alice}");
    let (status, doc) = server.request("GET", "/openapi.json", None, None);
    assert_eq!(status, 200);
    for path in [
        "/v1/orgs/{org}/sign-in",
        "/v1/orgs/{org}/sign-up/email",
        "/v1/orgs/{org}/sign-up/access-code/check",
        "/v1/orgs/{org}/sign-up/access-code",
        "/v1/orgs/{org}/password-reset",
        "/v1/orgs/{org}/password-reset/confirm",
        "/v1/orgs/{org}/users/{id}/password",
        "/v1/orgs/{org}/users",
        "/v1/orgs/{org}/invitations",
        "/v1/orgs/{org}/invitations/{id}",
        "/v1/orgs/{org}/invitations/{id}/resend",
        "/v1/orgs/{org}/settings",
        "/v1/orgs/{org}/groups",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    let (status, problem) = server.request("GET", "/v1/orgs/demo/nowhere", None, None);
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("route_not_found"))
    );
    // Users without email: the setting, an identifier invitation, the code, uid:domain sign-in.
    let (status, _) = server.request(
        "PATCH",
        "/v1/orgs/demo/settings",
        Some(&admin),
        Some(json!({"sign_up_without_email": true})),
    );
    assert_eq!(status, 200);
    let (status, e1) = server.request(
        "POST",
        "/v1/orgs/demo/invitations",
        Some(&admin),
        Some(json!({"uid": "E1234", "role": "member", "first_name": "Erin", "last_name": "Employee"})),
    );
    assert_eq!(status, 201, "{e1}");
    let (status, pending) = server.request(
        "POST",
        "/v1/orgs/demo/invitations",
        Some(&admin),
        Some(
            json!({"uid": "E5678", "role": "member", "first_name": "Pat", "last_name": "Pending"}),
        ),
    );
    assert_eq!(status, 201, "{pending}");
    let (status, checked) = server.request(
        "POST",
        "/v1/orgs/demo/sign-up/access-code/check",
        None,
        Some(json!({"access_code": e1["access_code"]})),
    );
    assert_eq!(
        (status, checked["identifier"].as_str()),
        (200, Some("E1234:demo"))
    );
    let (status, _) = server.request(
        "POST",
        "/v1/orgs/demo/sign-up/access-code",
        None,
        Some(json!({"access_code": e1["access_code"], "password": "forklift at dawn again"})),
    );
    assert_eq!(status, 201);
    assert!(
        dir.path().join("access-code.key").exists(),
        "the access-code key is kept with the data"
    );
    server.stop();

    // Restarted on the same folder: nothing is bootstrapped again, and everything is still there.
    let server = Server::start(dir.path());
    let banner = server.banner.join("\n");
    assert!(banner.contains("Organisation demo exists"), "{banner}");
    assert!(
        banner.contains("its admin is admin@example.com"),
        "{banner}"
    );
    assert!(
        banner.contains("/password-reset"),
        "how to recover: {banner}"
    );
    assert!(
        banner.contains("API: http://front.test/v1/orgs/demo"),
        "{banner}"
    );
    let (status, _) = server.request(
        "POST",
        "/v1/orgs/demo/sign-in",
        None,
        Some(json!({"identifier": "alice@example.com", "password": "through the looking glass"})),
    );
    assert_eq!(status, 200);
    let (status, session) = server.request(
        "POST",
        "/v1/orgs/demo/sign-in",
        None,
        Some(json!({"identifier": "admin@example.com", "password": password})),
    );
    assert_eq!(status, 200);
    let admin = session["token"].as_str().unwrap().to_string();
    let (status, list) = server.request(
        "GET",
        "/v1/orgs/demo/invitations?kind=email",
        Some(&admin),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["status"], "accepted");
    let (status, _) = server.request(
        "POST",
        "/v1/orgs/demo/sign-in",
        None,
        Some(json!({"identifier": "E1234:demo", "password": "forklift at dawn again"})),
    );
    assert_eq!(status, 200);
    // The pending code reads the same after the restart: the key was kept.
    let (status, shown) = server.request(
        "GET",
        &format!(
            "/v1/orgs/demo/invitations/{}",
            pending["id"].as_str().unwrap()
        ),
        Some(&admin),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(shown["access_code"], pending["access_code"]);
    server.stop();
}

fn free_port_taken() -> std::net::TcpListener {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind")
}

#[test]
fn a_taken_port_stops_the_start_before_any_password_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let taken = free_port_taken();
    let output = Command::new(env!("CARGO_BIN_EXE_gatehouse-local"))
        .env("GATEHOUSE_ADDR", taken.local_addr().unwrap().to_string())
        .env("GATEHOUSE_DATA_DIR", dir.path())
        .env_remove("GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stdout.contains("password"), "{stdout}");
    assert!(stderr.contains("cannot listen on"), "{stderr}");
    assert!(
        !dir.path().join("gatehouse.redb").exists(),
        "nothing was bootstrapped"
    );
}

#[test]
fn half_sent_requests_are_dropped_and_cors_answers_allowed_origins() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &[
            ("GATEHOUSE_HEADER_TIMEOUT_SECS", "1"),
            ("GATEHOUSE_CORS_ORIGINS", "https://app.example.com"),
            ("GATEHOUSE_BOOTSTRAP_ADMIN_FIRST_NAME", "Grace"),
            ("GATEHOUSE_BOOTSTRAP_ADMIN_LAST_NAME", "Hopper"),
            (
                "GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD",
                "a bootstrap passphrase",
            ),
        ],
    );
    // Headers that never end: the connection is closed, not held.
    let mut slow = TcpStream::connect(&server.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(slow, "GET /openapi.json HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "closed without an answer, or with 408: {text}"
    );
    // Meanwhile the server answers others.
    let (status, _) = server.request("GET", "/openapi.json", None, None);
    assert_eq!(status, 200);

    // CORS: a preflight from the allowed origin, and the answer readable by it.
    let raw = |request: String| {
        let mut stream = TcpStream::connect(&server.addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out.to_ascii_lowercase()
    };
    let preflight = raw(format!(
        "OPTIONS /v1/orgs/demo/sign-in HTTP/1.1\r\nHost: {}\r\nOrigin: https://app.example.com\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n",
        server.addr
    ));
    assert!(preflight.starts_with("http/1.1 204"), "{preflight}");
    assert!(preflight.contains("access-control-allow-origin: https://app.example.com"));
    assert!(preflight.contains("access-control-allow-headers: authorization, content-type"));
    let body = r#"{"identifier":"admin@example.com","password":"a bootstrap passphrase"}"#;
    let answer = raw(format!(
        "POST /v1/orgs/demo/sign-in HTTP/1.1\r\nHost: {}\r\nOrigin: https://app.example.com\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    ));
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert!(answer.contains("access-control-allow-origin: https://app.example.com"));
    assert!(
        answer.contains("\"first_name\":\"grace\""),
        "the bootstrap took the names"
    );
    // A browser app (a public OpenID Connect client) reaches the token endpoint the same way,
    // and can read its refusals.
    let preflight = raw(format!(
        "OPTIONS /demo/oidc/token HTTP/1.1\r\nHost: {}\r\nOrigin: https://app.example.com\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n",
        server.addr
    ));
    assert!(preflight.starts_with("http/1.1 204"), "{preflight}");
    assert!(preflight.contains("access-control-allow-origin: https://app.example.com"));
    let form = format!(
        "grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&client_id={}",
        "0".repeat(32)
    );
    let answer = raw(format!(
        "POST /demo/oidc/token HTTP/1.1\r\nHost: {}\r\nOrigin: https://app.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        server.addr,
        form.len()
    ));
    assert!(answer.starts_with("http/1.1 401"), "{answer}");
    assert!(answer.contains("\"error\":\"invalid_client\""), "{answer}");
    assert!(answer.contains("access-control-allow-origin: https://app.example.com"));
    let other = raw(format!(
        "OPTIONS /v1/orgs/demo/sign-in HTTP/1.1\r\nHost: {}\r\nOrigin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n",
        server.addr
    ));
    assert!(!other.contains("access-control-allow-origin"), "{other}");
    server.stop();
}

/// The README's first command, exactly as the README writes it, from the workspace root: it
/// builds, bootstraps and serves `/openapi.json`.
#[test]
fn the_readme_run_command_works_as_written() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let block = readme
        .split("## The two commands")
        .nth(1)
        .and_then(|s| s.split("```sh").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the README's two-commands block");
    let command = block
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .find(|l| !l.is_empty())
        .expect("a first command")
        .to_string();
    assert!(command.starts_with("cargo run"), "{command}");
    let dir = tempfile::tempdir().unwrap();
    // What cargo and the server say on stderr, shown if no address comes.
    let stderr_path = dir.path().join("stderr.log");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("exec {command}"))
        .current_dir(&root)
        .env("GATEHOUSE_ADDR", "127.0.0.1:0")
        .env("GATEHOUSE_DATA_DIR", dir.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("sh runs");
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let addr = loop {
        let line = match lines.recv_timeout(Duration::from_secs(900)) {
            Ok(line) => line,
            Err(e) => {
                let _ = child.kill();
                let status = child.wait();
                let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
                panic!(
                    "`{command}` printed no address ({e}; {status:?}); its stderr ends:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
        };
        if let Some(rest) = line.strip_prefix("Gatehouse listening on http://") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let mut stream = TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "GET /openapi.json HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    // `exec` made cargo the child; cargo passes the signal on to the server it runs.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains("\"openapi\""), "{raw}");
}

/// A connection from a chosen loopback address (any of 127.0.0.0/8), as the server sees clients.
async fn connect_from(ip: [u8; 4], addr: &str) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::from((ip, 0)))
        .expect("bind a loopback address");
    socket
        .connect(addr.parse().expect("address"))
        .await
        .expect("connect")
}

/// Reads until the server closes the connection (or `within` passes: `None`).
async fn answer_before_close(
    stream: &mut tokio::net::TcpStream,
    within: Duration,
) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut raw = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut raw)).await {
        Ok(_) => Some(String::from_utf8_lossy(&raw).into_owned()),
        Err(_) => None,
    }
}

/// Slow clients: a thousand half-sent requests (headers that never end, bodies that never
/// arrive) from a hundred addresses are held only until the timeouts, while everyone else is
/// answered; one client cannot hold more than its share of connections; an idle kept-alive
/// connection is closed too.
#[test]
fn a_thousand_half_sent_requests_hold_nobody_back() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &[
            ("GATEHOUSE_HEADER_TIMEOUT_SECS", "2"),
            ("GATEHOUSE_REQUEST_TIMEOUT_SECS", "3"),
            ("GATEHOUSE_MAX_CONNECTIONS_PER_CLIENT", "64"),
            (
                "GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD",
                "a bootstrap passphrase",
            ),
        ],
    );
    let addr = server.addr.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut slow = Vec::new();
        for i in 0..1000u32 {
            let from = [127, 1, (i / 1000) as u8, (i % 100) as u8 + 1];
            let mut stream = connect_from(from, &addr).await;
            let half = if i % 2 == 0 {
                "GET /demo/sign-in HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n".to_string()
            } else {
                "POST /v1/orgs/demo/sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"identifier\":".to_string()
            };
            stream.write_all(half.as_bytes()).await.expect("write");
            slow.push((i, stream));
        }
        // Meanwhile others are answered: the API, a page, a sign-in.
        let body = r#"{"identifier":"admin@example.com","password":"a bootstrap passphrase"}"#;
        let requests = [
            "GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_string(),
            "GET /demo/sign-in HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_string(),
            format!(
                "POST /v1/orgs/demo/sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        ];
        for round in 0..5 {
            for request in &requests {
                let mut stream = connect_from([127, 0, 0, 1], &addr).await;
                stream.write_all(request.as_bytes()).await.expect("write");
                let answer = answer_before_close(&mut stream, Duration::from_secs(20))
                    .await
                    .expect("answered while the slow clients are held");
                assert!(answer.starts_with("HTTP/1.1 200"), "round {round}: {answer}");
            }
        }
        // Every half-sent request is let go once its timeout passes: headers that never ended
        // are dropped (or answered 408), bodies that never arrived are answered 408.
        let mut bodies_timed_out = 0;
        for (i, mut stream) in slow {
            let answer = answer_before_close(&mut stream, Duration::from_secs(20))
                .await
                .unwrap_or_else(|| panic!("slow connection {i} is still held"));
            assert!(
                answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
                "{i}: {answer}"
            );
            if i % 2 == 1 {
                assert!(answer.contains("request_timeout"), "{i}: {answer}");
                bodies_timed_out += 1;
            }
        }
        assert_eq!(bodies_timed_out, 500);

        // One client holds at most 64 connections: the others are closed at once.
        let mut held = Vec::new();
        for _ in 0..100 {
            held.push(connect_from([127, 2, 0, 1], &addr).await);
        }
        // Well within the header timeout (2 s): look at every connection at once.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut closed_at_once = 0;
        for stream in &held {
            let mut byte = [0u8; 1];
            match stream.try_read(&mut byte) {
                Ok(0) => closed_at_once += 1,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(closed_at_once, 36, "past the client's 64 connections");
        let mut other = connect_from([127, 2, 0, 2], &addr).await;
        other
            .write_all(requests[0].as_bytes())
            .await
            .expect("write");
        let answer = answer_before_close(&mut other, Duration::from_secs(20))
            .await
            .expect("another client is answered");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        drop(held);

        // A kept-alive connection left idle is closed as well.
        let mut idle = connect_from([127, 0, 0, 1], &addr).await;
        idle.write_all(b"GET /demo/sign-in HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let answer = answer_before_close(&mut idle, Duration::from_secs(20))
            .await
            .expect("an idle connection is closed");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    });
    server.stop();
}

/// The data folder of the release before redb 5 (redb 2's file format, tuples in its encoding):
/// made with that release's `gatehouse-local` (commit 85b14a1) by the README's walkthrough — the
/// admin made a group Design, invited Alice into it and Bob as a guest; Alice signed up. It opens
/// after the upgrade with everything in it, is copied into the current format once (the old file
/// kept beside it) and takes new writes.
#[test]
fn a_data_folder_from_the_release_before_redb_5_opens_with_everything_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let packed = std::fs::read("tests/fixtures/store-before-redb5.redb.gz").unwrap();
    let mut file = Vec::new();
    flate2::read::GzDecoder::new(packed.as_slice())
        .read_to_end(&mut file)
        .unwrap();
    std::fs::write(dir.path().join("gatehouse.redb"), &file).unwrap();
    // The access-code key the fixture's run was given.
    let env = [(
        "GATEHOUSE_ACCESS_CODE_KEY",
        "fixture-key-fixture-key-fixture-key-0123",
    )];

    let server = Server::start_with(dir.path(), &env);
    assert!(
        !server.banner.iter().any(|l| l.contains("Bootstrapped")),
        "the organisation was found, not made again: {:?}",
        server.banner
    );
    // The old file is kept beside the new one (redb 2 marks a file it opened, so not byte for byte).
    let kept = dir.path().join("gatehouse.redb.redb2");
    let kept_len = std::fs::metadata(&kept)
        .expect("the old file is kept")
        .len();
    assert!(kept_len >= file.len() as u64 / 2, "kept: {kept_len} bytes");

    let sign_in = |server: &Server, who: &str, password: &str| {
        let (status, session) = server.request(
            "POST",
            "/v1/orgs/demo/sign-in",
            None,
            Some(json!({"identifier": who, "password": password})),
        );
        assert_eq!(status, 200, "{who}: {session}");
        session
    };
    let alice = sign_in(&server, "alice@example.com", "through the looking glass");
    assert_eq!(alice["user"]["first_name"], "Alice");
    let admin = sign_in(&server, "admin@example.com", "gwzu9uhjeccb8xy8j7k3");
    let admin = admin["token"].as_str().unwrap().to_string();

    let (status, groups) = server.request("GET", "/v1/orgs/demo/groups", Some(&admin), None);
    assert_eq!(status, 200);
    let names: Vec<&str> = groups["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert!(names.contains(&"Design"), "{groups}");
    // Bob's pending invitation is found through the status index.
    let (status, pending) = server.request(
        "GET",
        "/v1/orgs/demo/invitations?status=pending",
        Some(&admin),
        None,
    );
    assert_eq!(status, 200);
    let emails: Vec<&str> = pending["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["email"].as_str())
        .collect();
    assert_eq!(emails, ["bob@partner.org"], "{pending}");
    // Taken emails are still taken (the claims came across), and new writes land.
    let invite = |server: &Server, email: &str| {
        server.request(
            "POST",
            "/v1/orgs/demo/invitations",
            Some(&admin),
            Some(json!({"email": email, "role": "member", "first_name": "C", "last_name": "D", "groups": []})),
        )
    };
    let (status, problem) = invite(&server, "bob@partner.org");
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("email_taken"))
    );
    let (status, carol) = invite(&server, "carol@example.com");
    assert_eq!(status, 201, "{carol}");
    server.stop();

    // Opened again: the current file, not copied a second time.
    let server = Server::start_with(dir.path(), &env);
    sign_in(&server, "alice@example.com", "through the looking glass");
    assert!(
        !dir.path().join("gatehouse.redb.redb2.redb2").exists()
            && !dir.path().join("gatehouse.redb.migrating").exists(),
        "copied once"
    );
    let (status, problem) = invite(&server, "carol@example.com");
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("email_taken"))
    );
}
