//! Where the bundle keeps files in a test, and how a test uploads and downloads them through the
//! URLs the API hands out, as a browser would: the local server's `/files` routes on the embedded
//! backend, presigned S3 URLs on moto on the AWS backend (which then delivers the S3 event to the
//! `bulk-import` function, as S3's notification would).

use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

/// The base of the embedded backend's file URLs (never dialled: requests go to the router).
pub const LOCAL_FILES_URL: &str = "http://files.gatehouse.test";

pub enum FileHost {
    /// The local server's file routes.
    Local(Router),
    /// S3 on moto, and the bucket.
    S3 { bucket: String },
}

/// An HTTP answer: status and body.
#[derive(Debug, Clone)]
pub struct FileReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub bytes: Vec<u8>,
}

impl FileReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl FileHost {
    pub async fn send(&self, method: &str, url: &str, body: Vec<u8>) -> FileReply {
        match self {
            FileHost::Local(router) => {
                let path = url
                    .strip_prefix(LOCAL_FILES_URL)
                    .unwrap_or_else(|| panic!("{url} is no local file URL"));
                let request = axum::http::Request::builder()
                    .method(method)
                    .uri(path)
                    .body(axum::body::Body::from(body))
                    .expect("request");
                let response = router.clone().oneshot(request).await.expect("infallible");
                let status = response.status().as_u16();
                let headers = response
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect();
                let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .expect("body")
                    .to_vec();
                FileReply {
                    status,
                    headers,
                    bytes,
                }
            }
            FileHost::S3 { .. } => http(method, url, &body).await,
        }
    }
}

/// Just enough HTTP/1.1 for moto on loopback: one request per connection, read to its end.
async fn http(method: &str, url: &str, body: &[u8]) -> FileReply {
    let rest = url.strip_prefix("http://").expect("plain http to moto");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("moto");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut bytes = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        bytes = dechunked(&bytes);
    }
    FileReply {
        status,
        headers,
        bytes,
    }
}

fn dechunked(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&raw[..end])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[end + 2 + size + 2..];
    }
}

/// The S3 event S3 sends for an upload of `key` to `bucket` (keys URL-encoded, as S3 does).
pub fn s3_put_event(bucket: &str, key: &str, size: usize) -> serde_json::Value {
    let encoded: String = key
        .chars()
        .map(|c| match c {
            ' ' => "+".to_string(),
            c if c.is_ascii_alphanumeric() || "/-_.".contains(c) => c.to_string(),
            c => c.to_string().bytes().map(|b| format!("%{b:02X}")).collect(),
        })
        .collect();
    serde_json::json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "2026-12-01T10:00:00.000Z",
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:EXAMPLE"},
            "requestParameters": {"sourceIPAddress": "192.0.2.10"},
            "responseElements": {"x-amz-request-id": "EXAMPLE", "x-amz-id-2": "EXAMPLE"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "imports",
                "bucket": {"name": bucket, "ownerIdentity": {"principalId": "EXAMPLE"}, "arn": format!("arn:aws:s3:::{bucket}")},
                "object": {"key": encoded, "size": size, "eTag": "0123456789abcdef", "sequencer": "0A1B2C3D4E5F678901"}
            }
        }]
    })
}
