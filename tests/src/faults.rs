//! A fault-injecting proxy in front of moto, on loopback: the bundle's AWS clients talk to it as
//! they would to AWS, and it fails a chosen share of chosen calls the way AWS fails them —
//! before anything happens (throttling, an internal error, no answer at all), or, for
//! DynamoDB's batch calls, by doing part of the work and answering the rest unprocessed. It never fails a call after doing
//! it: moto ignores `ClientRequestToken`, so a retried transaction would not be recognised as
//! DynamoDB recognises it, and SES has no such token at all.
//!
//! Which calls fail is decided by a seeded generator, so a run can be repeated.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// How a call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Refused before anything happens: DynamoDB's `ThrottlingException` (400), SES's
    /// `TooManyRequestsException` (429), S3's `SlowDown` (503).
    Throttle,
    /// Refused before anything happens with a 500 (`InternalServerError`, `InternalFailure`).
    ServerError,
    /// DynamoDB `BatchWriteItem` / `BatchGetItem`: the first half of the items done, the rest
    /// answered in `UnprocessedItems` / `UnprocessedKeys`.
    Unprocessed,
    /// Never answered (nothing happens): a connection that hangs.
    Hang,
}

/// A fault for the calls named `operation` (`DynamoDB.TransactWriteItems`, `DynamoDB.*`,
/// `SES.SendEmail`, `S3.*`), in `share` of them; with `persist`, in `share` of the distinct
/// calls (by their body), each failing its first `persist` tries — longer than the SDK retries,
/// so that the failure reaches Gatehouse — and going through after that.
#[derive(Debug, Clone)]
struct Rule {
    operation: String,
    fault: Fault,
    share: f64,
    persist: Option<u32>,
}

/// What the proxy saw, per operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub calls: u64,
    pub faults: u64,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    tallies: BTreeMap<String, Tally>,
    seed: u64,
    /// For persistent rules: each distinct call's remaining failures (0: it goes through).
    persistent: BTreeMap<u64, u32>,
}

#[derive(Clone)]
pub struct FaultyAws {
    /// Where the clients should send their calls.
    pub endpoint: String,
    upstream: String,
    state: Arc<Mutex<State>>,
}

impl FaultyAws {
    /// A proxy to `upstream` (moto's `http://127.0.0.1:port`), failing nothing yet.
    pub async fn start(upstream: &str, seed: u64) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let proxy = Self {
            endpoint,
            upstream: upstream
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string(),
            state: Arc::new(Mutex::new(State {
                seed: seed.max(1),
                ..State::default()
            })),
        };
        let app = axum::Router::new()
            .fallback(
                |axum::extract::State(proxy): axum::extract::State<FaultyAws>,
                 method: Method,
                 uri: Uri,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    proxy.handle(method, uri, headers, body).await
                },
            )
            .with_state(proxy.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        proxy
    }

    /// Fails `share` (0–1) of the calls to `operation` with `fault`, from now on.
    pub fn fail(&self, operation: &str, fault: Fault, share: f64) {
        self.lock().rules.push(Rule {
            operation: operation.to_string(),
            fault,
            share,
            persist: None,
        });
    }

    /// Fails `share` of the distinct calls to `operation` (an email, say), each `tries` times
    /// over (every retry the SDK makes, when `tries` is its attempts), then lets it through.
    pub fn fail_persistently(&self, operation: &str, fault: Fault, share: f64, tries: u32) {
        self.lock().rules.push(Rule {
            operation: operation.to_string(),
            fault,
            share,
            persist: Some(tries),
        });
    }

    /// Fails nothing any more (what was counted stays).
    pub fn heal(&self) {
        self.lock().rules.clear();
    }

    /// Calls and faults per operation so far.
    pub fn tallies(&self) -> BTreeMap<String, Tally> {
        self.lock().tallies.clone()
    }

    /// All calls and all faults so far, for the operations starting with `prefix`.
    pub fn total(&self, prefix: &str) -> Tally {
        self.lock()
            .tallies
            .iter()
            .filter(|(op, _)| op.starts_with(prefix))
            .fold(Tally::default(), |sum, (_, t)| Tally {
                calls: sum.calls + t.calls,
                faults: sum.faults + t.faults,
            })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fault this call gets, if any, counted.
    fn decide(&self, operation: &str, body: &[u8]) -> Option<Fault> {
        let mut state = self.lock();
        let rule = state
            .rules
            .iter()
            .find(|r| {
                r.operation == operation
                    || r.operation
                        .strip_suffix('*')
                        .is_some_and(|p| operation.starts_with(p))
            })
            .cloned();
        // xorshift64*: reproducible from the seed.
        let mut x = state.seed;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.seed = x;
        let draw = (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        let fault = match rule {
            Some(Rule {
                persist: Some(tries),
                share,
                fault,
                ..
            }) => {
                use std::hash::{Hash, Hasher};
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                body.hash(&mut hasher);
                let left = state
                    .persistent
                    .entry(hasher.finish())
                    .or_insert(if draw < share { tries } else { 0 });
                (*left > 0).then(|| {
                    *left -= 1;
                    fault
                })
            }
            rule => rule.filter(|r| draw < r.share).map(|r| r.fault),
        };
        let tally = state.tallies.entry(operation.to_string()).or_default();
        tally.calls += 1;
        if fault.is_some() {
            tally.faults += 1;
        }
        fault
    }

    async fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let operation = operation_of(&method, &uri, &headers);
        match self.decide(&operation, &body) {
            None => self.forward(method, uri, headers, body).await,
            Some(Fault::Unprocessed) if operation == "DynamoDB.BatchWriteItem" => {
                self.partial_batch(method, uri, headers, body, "UnprocessedItems")
                    .await
            }
            Some(Fault::Unprocessed) if operation == "DynamoDB.BatchGetItem" => {
                self.partial_batch(method, uri, headers, body, "UnprocessedKeys")
                    .await
            }
            Some(Fault::Unprocessed) => self.forward(method, uri, headers, body).await,
            Some(Fault::Hang) => {
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                StatusCode::GATEWAY_TIMEOUT.into_response()
            }
            Some(fault) => refusal(&operation, fault),
        }
    }

    /// Sends the call on to moto as it came, and its answer back as it came.
    async fn forward(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        use http_body_util::BodyExt;
        let stream = match tokio::net::TcpStream::connect(&self.upstream).await {
            Ok(s) => s,
            Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
        };
        let (mut sender, connection) =
            match hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await
            {
                Ok(pair) => pair,
                Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
            };
        tokio::spawn(connection);
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let mut request = axum::http::Request::builder().method(method).uri(path);
        for (name, value) in &headers {
            if name != axum::http::header::CONTENT_LENGTH {
                request = request.header(name, value);
            }
        }
        let request = request
            .header(axum::http::header::CONTENT_LENGTH, body.len())
            .body(http_body_util::Full::new(body))
            .expect("a request");
        let response = match sender.send_request(request).await {
            Ok(r) => r,
            Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
        };
        let (parts, incoming) = response.into_parts();
        let bytes = match incoming.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
        };
        let mut out = Response::builder().status(parts.status);
        for (name, value) in &parts.headers {
            if name != axum::http::header::TRANSFER_ENCODING
                && name != axum::http::header::CONTENT_LENGTH
            {
                out = out.header(name, value);
            }
        }
        out.body(axum::body::Body::from(bytes)).expect("a response")
    }

    /// A DynamoDB batch call with only the first half of each table's requests sent on, the
    /// rest added to the answer as unprocessed.
    async fn partial_batch(
        &self,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
        left: &str,
    ) -> Response {
        let Ok(mut call) = serde_json::from_slice::<Value>(&body) else {
            return self.forward(method, uri, headers, body).await;
        };
        let mut unprocessed = serde_json::Map::new();
        if let Some(tables) = call["RequestItems"].as_object_mut() {
            for (table, requests) in tables.iter_mut() {
                // BatchWriteItem: a list of write requests; BatchGetItem: {"Keys": [...], ...}.
                let list = match requests {
                    Value::Array(list) => list,
                    Value::Object(o) => match o.get_mut("Keys") {
                        Some(Value::Array(keys)) => keys,
                        _ => continue,
                    },
                    _ => continue,
                };
                if list.len() < 2 {
                    continue;
                }
                let rest = list.split_off(list.len() / 2);
                let rest_value = match requests {
                    Value::Array(_) => Value::Array(rest),
                    Value::Object(o) => {
                        let mut copy = o.clone();
                        copy.insert("Keys".into(), Value::Array(rest));
                        Value::Object(copy)
                    }
                    _ => continue,
                };
                unprocessed.insert(table.clone(), rest_value);
            }
        }
        let sent = Bytes::from(call.to_string());
        let answer = self.forward(method, uri, headers, sent).await;
        if unprocessed.is_empty() || answer.status() != StatusCode::OK {
            return answer;
        }
        let (parts, body) = answer.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
            return StatusCode::BAD_GATEWAY.into_response();
        };
        let mut out: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({}));
        let merged = out[left].as_object().cloned().unwrap_or_default();
        let mut all = merged;
        for (table, rest) in unprocessed {
            all.insert(table, rest);
        }
        out[left] = Value::Object(all);
        let mut response = Response::builder().status(StatusCode::OK);
        for (name, value) in &parts.headers {
            if name != axum::http::header::CONTENT_LENGTH && name.as_str() != "x-amz-crc32" {
                response = response.header(name, value);
            }
        }
        response
            .body(axum::body::Body::from(out.to_string()))
            .expect("a response")
    }
}

/// `Service.Operation` of a call: DynamoDB's from `X-Amz-Target`, SES v2's and S3's from the
/// method and path.
fn operation_of(method: &Method, uri: &Uri, headers: &HeaderMap) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (service, op) = target.split_once('.').unwrap_or(("", target));
        let service = match service {
            "AWSEvents" => "Events",
            "AmazonSQS" => "SQS",
            _ => "DynamoDB",
        };
        return format!("{service}.{op}");
    }
    let path = uri.path();
    if path.starts_with("/v2/email/outbound-emails") {
        return "SES.SendEmail".into();
    }
    if path.starts_with("/v2/email/") {
        return format!("SES.{method}");
    }
    format!("S3.{method}")
}

/// The answer AWS gives when it refuses a call before doing anything.
fn refusal(operation: &str, fault: Fault) -> Response {
    let (status, kind, message) = match (operation.split('.').next(), fault) {
        (Some("DynamoDB"), Fault::Throttle) => (
            400,
            "com.amazonaws.dynamodb.v20120810#ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        ),
        (Some("DynamoDB"), _) => (
            500,
            "com.amazonaws.dynamodb.v20120810#InternalServerError",
            "Internal server error",
        ),
        (Some("SES"), Fault::Throttle) => (
            429,
            "TooManyRequestsException",
            "Maximum sending rate exceeded.",
        ),
        (Some("SES"), _) => (500, "InternalFailure", "Internal failure"),
        (Some("Events" | "SQS"), Fault::Throttle) => (400, "ThrottlingException", "Rate exceeded"),
        (Some("Events" | "SQS"), _) => (500, "InternalFailure", "Internal failure"),
        (_, Fault::Throttle) => {
            return xml_error(503, "SlowDown", "Please reduce your request rate.")
        }
        _ => return xml_error(500, "InternalError", "We encountered an internal error."),
    };
    let content_type = if operation.starts_with("DynamoDB") || operation.starts_with("SQS") {
        "application/x-amz-json-1.0"
    } else if operation.starts_with("Events") {
        "application/x-amz-json-1.1"
    } else {
        "application/json"
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-errortype", kind.rsplit('#').next().unwrap_or(kind))
        .body(axum::body::Body::from(
            json!({"__type": kind, "message": message}).to_string(),
        ))
        .expect("a response")
}

/// S3's refusal: an XML error document.
fn xml_error(status: u16, code: &str, message: &str) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(axum::body::Body::from(format!(
            "<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        )))
        .expect("a response")
}
