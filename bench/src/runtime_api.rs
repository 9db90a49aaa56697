//! A minimal Lambda Runtime API (the `2018-06-01` interface a function binary polls), so that a
//! function's release binary runs here as in Lambda: one invocation at a time, each event handed
//! out by `next` and answered by `response`. It notes when the function first asked for work,
//! which ends its init.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

type Pending = (String, oneshot::Sender<String>);

struct Shared {
    events: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<String>>>,
    first_poll: Mutex<Option<Instant>>,
    errors: Mutex<Vec<String>>,
}

/// The Runtime API, listening on loopback; invoke the function through it.
pub struct RuntimeApi {
    pub addr: String,
    sender: mpsc::Sender<Pending>,
    shared: Arc<Shared>,
}

impl RuntimeApi {
    pub async fn start() -> anyhow::Result<Self> {
        let (sender, receiver) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            events: tokio::sync::Mutex::new(receiver),
            waiting: Mutex::new(HashMap::new()),
            first_poll: Mutex::new(None),
            errors: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(respond),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(failed))
            .route("/2018-06-01/runtime/init/error", post(init_failed))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self {
            addr,
            sender,
            shared,
        })
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(&self, event: String) -> anyhow::Result<String> {
        let (tx, rx) = oneshot::channel();
        self.sender
            .send((event, tx))
            .await
            .map_err(|_| anyhow::anyhow!("the runtime API stopped"))?;
        rx.await.map_err(|_| {
            anyhow::anyhow!(
                "the function answered with an error: {:?}",
                self.shared
                    .errors
                    .lock()
                    .map(|e| e.clone())
                    .unwrap_or_default()
            )
        })
    }

    /// When the function first asked for an event: the end of its init.
    pub fn first_poll(&self) -> Option<Instant> {
        *self
            .shared
            .first_poll
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub fn errors(&self) -> Vec<String> {
        self.shared
            .errors
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }
}

static REQUEST_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    shared
        .first_poll
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(Instant::now);
    let Some((event, answer)) = shared.events.lock().await.recv().await else {
        return (StatusCode::GONE, HeaderMap::new(), String::new());
    };
    let id = format!(
        "bench-{}",
        REQUEST_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    shared
        .waiting
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.clone(), answer);
    use gatehouse_domain::clock::{Clock, SystemClock};
    let deadline = (SystemClock.now().unix_seconds() + 30) * 1000;
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", id);
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
    );
    set("lambda-runtime-trace-id", "Root=1-bench".into());
    (StatusCode::OK, headers, event)
}

async fn respond(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    let waiting = shared
        .waiting
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
    if let Some(answer) = waiting {
        let _ = answer.send(body);
    }
    StatusCode::ACCEPTED
}

async fn failed(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    shared
        .errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(body);
    // Dropping the waiting sender tells the invoker it failed.
    shared
        .waiting
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
    StatusCode::ACCEPTED
}

async fn init_failed(State(shared): State<Arc<Shared>>, body: String) -> StatusCode {
    shared
        .errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(format!("init: {body}"));
    StatusCode::ACCEPTED
}
