//! What happens to every request at the edge, before and after its handler: a log line, CORS.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Instant;

/// Settings of the edge, from the environment (see README).
#[derive(Debug, Clone, Default)]
pub struct Edge {
    /// `GATEHOUSE_CORS_ORIGINS`: comma-separated origins (`https://app.example.com`) whose
    /// browser front ends may call the API; `*` allows any; empty allows none.
    pub cors_origins: Vec<String>,
}

impl Edge {
    pub fn from_env() -> Self {
        Self::with_cors_origins(&std::env::var("GATEHOUSE_CORS_ORIGINS").unwrap_or_default())
    }

    pub fn with_cors_origins(list: &str) -> Self {
        Self {
            cors_origins: list
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_string())
                .filter(|o| !o.is_empty())
                .collect(),
        }
    }

    fn allows(&self, origin: &str) -> bool {
        self.cors_origins.iter().any(|o| o == "*" || o == origin)
    }
}

/// One line per request: method, route template (never the path or query, which may hold
/// tokens), status and time taken.
pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(no route)".to_string());
    let response = next.run(request).await;
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
const ALLOWED_HEADERS: &str = "authorization, content-type, idempotency-key, accept-language";
const EXPOSED_HEADERS: &str = "retry-after, location, idempotent-replayed";

/// CORS for the allowed origins: preflights answered here, other answers marked readable by the
/// origin. Requests from other origins are served as if CORS did not exist (browsers then refuse
/// to hand the answer to the page).
pub(crate) async fn cors(State(edge): State<Arc<Edge>>, request: Request, next: Next) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    let Some(origin) = origin.filter(|o| edge.allows(o)) else {
        return next.run(request).await;
    };
    let Ok(origin_value) = HeaderValue::from_str(&origin) else {
        return next.run(request).await;
    };
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(600));
        r
    } else {
        let mut r = next.run(request).await;
        r.headers_mut().insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
        r
    };
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin_value);
    h.append(header::VARY, HeaderValue::from_static("origin"));
    response
}
