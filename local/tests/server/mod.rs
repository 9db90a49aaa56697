//! The `gatehouse-local` binary on a free port with a given data folder, for the tests that run
//! it for real.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub struct Server {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub addr: String,
    pub banner: Vec<String>,
}

impl Server {
    pub fn start(data_dir: &std::path::Path) -> Self {
        Self::start_with(data_dir, &[])
    }

    pub fn start_with(data_dir: &std::path::Path, env: &[(&str, &str)]) -> Self {
        Self::spawn(|command| {
            command
                .env("GATEHOUSE_DATA_DIR", data_dir)
                .env("GATEHOUSE_PUBLIC_URL", "http://front.test")
                .envs(env.iter().copied());
        })
    }

    /// As a reader starts it in the repository's root: in `dir`, with the defaults (the data in
    /// `dir/.gatehouse`, links naming the address listened on), on a free port.
    pub fn start_in(dir: &std::path::Path) -> Self {
        Self::spawn(|command| {
            command
                .current_dir(dir)
                .env_remove("GATEHOUSE_DATA_DIR")
                .env_remove("GATEHOUSE_PUBLIC_URL");
        })
    }

    /// On a free port, with none of the bootstrap's settings from the test's own environment,
    /// then as `configure` says.
    fn spawn(configure: impl FnOnce(&mut Command)) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse-local"));
        command
            .env("GATEHOUSE_ADDR", "127.0.0.1:0")
            .env_remove("GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD")
            .env_remove("GATEHOUSE_BOOTSTRAP_ORG")
            .env_remove("GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL")
            .env_remove("GATEHOUSE_BOOTSTRAP_DISPLAY_NAME");
        configure(&mut command);
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gatehouse-local starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = Vec::new();
        let addr = loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .expect("the server prints its address");
            banner.push(line.clone());
            if let Some(rest) = line.strip_prefix("Gatehouse listening on http://") {
                break rest.split_whitespace().next().expect("address").to_string();
            }
        };
        Self {
            child,
            lines,
            addr,
            banner,
        }
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut stream = TcpStream::connect(&self.addr).expect("connect");
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .expect("write");
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read");
        let (head, body) = raw.split_once("\r\n\r\n").expect("HTTP response");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// The next printed sign-up link's token.
    pub fn next_link_token(&self) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(10))
                .expect("a printed link");
            if let Some(link) = line.trim().strip_prefix("link: ") {
                assert!(
                    link.starts_with("http://front.test/demo/sign-up?token="),
                    "{link}"
                );
                return link.rsplit_once("token=").expect("token").1.to_string();
            }
        }
    }

    pub fn stop(self) {}
}

/// Stopped however the test ends, so that a failing test leaves no server behind.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
