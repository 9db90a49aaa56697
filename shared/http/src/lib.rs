//! What every HTTP function shares: the state handlers run with, RFC 9457 problem responses with
//! stable codes, extractors that turn bad input into problems, the views of shared records, and
//! the wrapping (`app`) that both Lambda and the local server put around a function's routes.

mod edge;
mod extract;
mod guard;
pub use guard::needs_session;
mod idempotency;
mod problem;
mod views;

pub use edge::{at_the_mail_floor, Edge, REQUEST_BUDGET};
pub use idempotency::{IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED};

pub use extract::{
    org_domain, page_limit, present, Bearer, Client, FieldErrors, JsonBody, OptionalJsonBody,
    QueryParams,
};
pub use problem::ApiError;
pub use views::{
    GroupView, LanguageName, PasskeyFlowView, ProblemView, SessionView, TotpEnrolmentView, UserView,
};

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::Router;
use gatehouse_domain::Services;
use std::sync::Arc;

/// The state every handler gets.
pub type AppState = Arc<Services>;

/// Largest JSON body accepted (64 KiB): far above any legitimate request.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Wraps a function's routes as they are served: problem+json for unknown routes and methods
/// and for every rejection of the framework's, a body limit, retries of keyed POSTs answered
/// once (`Idempotency-Key`), authentication checked before any other refusal, a log line per
/// request, CORS for the origins `GATEHOUSE_CORS_ORIGINS` names, and the services.
pub fn app(routes: Router<AppState>, services: Services) -> Router {
    app_with(routes, services, Edge::from_env())
}

/// [`app`] with the edge settings given rather than read from the environment.
pub fn app_with(routes: Router<AppState>, services: Services, edge: Edge) -> Router {
    let edge = Arc::new(edge);
    let services = Arc::new(services);
    routes
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "route_not_found",
                "There is no such route.",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This route does not accept that method.",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            services.clone(),
            idempotency::replay_retries,
        ))
        .layer(axum::middleware::from_fn_with_state(
            services.clone(),
            guard::authentication_first,
        ))
        .layer(axum::middleware::from_fn(guard::problems_everywhere))
        .layer(axum::middleware::from_fn(edge::within_budget))
        .layer(axum::middleware::from_fn(edge::log_request))
        .layer(axum::middleware::from_fn_with_state(edge, edge::cors))
        .with_state(services)
}

/// JSON logs for Lambda (CloudWatch), level from `RUST_LOG` (default `info`).
pub fn init_lambda_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        // lambda_runtime opens a span per invocation holding its `requestId` (and X-Ray trace):
        // each line carries it, so one request's lines are found together.
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .init();
}

/// Serves `routes` as a Lambda behind API Gateway (HTTP API or REST API events).
pub async fn run_lambda(
    routes: Router<AppState>,
    services: Services,
) -> Result<(), lambda_http::Error> {
    lambda_http::run(app(routes, services)).await
}
