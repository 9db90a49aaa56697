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

/// How long any request may take, all its work included: the function answers by then, and
/// its deploy timeout is above it (`local/tests/template_timeouts.rs`). A mail send with the
/// store writes on either side of it fits inside (SES gives up on a send after 15 s and the
/// invitation is left `queued`); only a backend slower than every one of its own time limits
/// reaches it.
pub const REQUEST_BUDGET: std::time::Duration = std::time::Duration::from_secs(24);

/// The one rule for answers that may mail someone: no sooner than the configuration's
/// `mail_response_floor` after `work` started, whatever it did. Sending mail takes time and not
/// sending takes less; an answer that came sooner for an address with no account would tell a
/// stranger which addresses have one. Every route whose work can mail, and that anyone may call,
/// goes through here (`local/tests/mail_floor.rs` finds them in the code).
pub async fn at_the_mail_floor<T>(
    services: &gatehouse_domain::Services,
    work: impl std::future::Future<Output = T>,
) -> T {
    let started = tokio::time::Instant::now();
    let outcome = work.await;
    tokio::time::sleep_until(started + services.config.mail_response_floor).await;
    outcome
}

/// Answers `503 over_budget` when the request has not finished within [`REQUEST_BUDGET`],
/// instead of letting Lambda kill the function (API Gateway would then answer a bare 503, and
/// the instance would be thrown away). The work in hand stops at its next wait; each store write
/// is atomic, so what was written stays consistent, as after a crash.
pub(crate) async fn within_budget(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_BUDGET, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(
                budget_ms = REQUEST_BUDGET.as_millis() as u64,
                "request over its budget; answered 503 and stopped"
            );
            let mut problem = crate::ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "over_budget",
                "This took too long; nothing more will be done for this request. Try again.",
            );
            problem.retry_after = Some(std::time::Duration::from_secs(1));
            problem.into_response()
        }
    }
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

#[cfg(test)]
mod budget_tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use axum::Router;
    use std::time::Duration;
    use tower::ServiceExt;

    fn app() -> Router {
        Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(super::REQUEST_BUDGET + Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route(
                "/quick",
                get(|| async {
                    tokio::time::sleep(super::REQUEST_BUDGET - Duration::from_secs(1)).await;
                    "in time"
                }),
            )
            .layer(axum::middleware::from_fn(super::within_budget))
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_over_its_budget_is_answered_503_at_the_budget() {
        let started = tokio::time::Instant::now();
        let slow = app()
            .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(slow.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(started.elapsed(), super::REQUEST_BUDGET);
        assert_eq!(slow.headers()["retry-after"], "1");
        let body = axum::body::to_bytes(slow.into_body(), 10_000)
            .await
            .unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "over_budget");

        let quick = app()
            .oneshot(Request::get("/quick").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(quick.status(), StatusCode::OK);
    }
}
