//! `Idempotency-Key` on creating POSTs: a retry of a request that succeeded answers the first
//! answer again (with `Idempotent-Replayed: true`) instead of creating anything twice. The rules
//! are the domain's ([`gatehouse_domain::usecase::idempotency`]); this is where HTTP meets them.

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_domain::ports::StoredAnswer;
use gatehouse_domain::types::IdempotencyKey;
use gatehouse_domain::usecase::idempotency::{begin, finish, Begun, KeyedRequest};

use crate::{ApiError, AppState, Bearer, MAX_BODY_BYTES};

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Answers larger than this are not kept (none of Gatehouse's creating answers comes near it).
const MAX_KEPT_ANSWER: usize = 256 * 1024;

/// Runs a keyed, signed-in POST once and answers its retries from the kept answer. Requests
/// without the header, or without a bearer token (the handler answers those 401), pass through.
pub(crate) async fn replay_retries(
    State(services): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let keyed_post = request.method() == Method::POST
        && request.extensions().get::<MatchedPath>().is_some()
        && request.headers().contains_key(IDEMPOTENCY_KEY);
    if !keyed_post {
        return next.run(request).await;
    }
    let raw = request
        .headers()
        .get(IDEMPOTENCY_KEY)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let key = match IdempotencyKey::parse(&raw) {
        Ok(key) => key,
        Err(refused) => {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                refused.code,
                format!("Idempotency-Key: {refused}."),
            )
            .into_response()
        }
    };
    let (mut parts, body) = request.into_parts();
    let Ok(Bearer(Some(caller))) = Bearer::from_request_parts(&mut parts, &()).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The body may have at most {MAX_BODY_BYTES} bytes."),
        )
        .into_response();
    };
    let keyed = KeyedRequest::new(
        &caller,
        &key,
        parts.method.as_str(),
        parts.uri.path(),
        &body,
    );
    match begin(&services, &keyed).await {
        Ok(Begun::Run) => {}
        Ok(Begun::Replay(answer)) => return replay(answer),
        Err(refused) => return ApiError::from(refused).into_response(),
    }
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    if !response.status().is_success() {
        finish(&services, &keyed, None).await;
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(cause) => {
            finish(&services, &keyed, None).await;
            tracing::error!(cause = %gatehouse_domain::Chain(&cause), "an answer's body could not be read");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let header_text = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    if body.len() <= MAX_KEPT_ANSWER {
        let answer = StoredAnswer {
            status: parts.status.as_u16(),
            content_type: header_text(header::CONTENT_TYPE),
            cache_control: header_text(header::CACHE_CONTROL),
            body: body.to_vec(),
        };
        finish(&services, &keyed, Some(&answer)).await;
    } else {
        finish(&services, &keyed, None).await;
    }
    Response::from_parts(parts, Body::from(body))
}

/// The kept answer, as it was sent the first time.
fn replay(answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, answer.body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, answer.content_type),
        (header::CACHE_CONTROL, answer.cache_control),
    ] {
        match value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            Some(v) => {
                headers.insert(name, v);
            }
            None => {
                headers.remove(name);
            }
        }
    }
    headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    response
}
