use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_domain::{Rejection, RejectionClass};
use serde_json::{json, Value};

/// An RFC 9457 problem: `application/problem+json` with a stable `code`. The only error type
/// handlers return; every domain refusal becomes one through `From`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// Extra members, e.g. the list of invalid fields.
    pub extra: Option<(&'static str, Value)>,
    /// Sent as `Retry-After` (seconds).
    pub retry_after: Option<std::time::Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            extra: None,
            retry_after: None,
        }
    }
}

pub fn status_of(class: RejectionClass) -> StatusCode {
    match class {
        RejectionClass::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        RejectionClass::Unauthenticated => StatusCode::UNAUTHORIZED,
        RejectionClass::Forbidden => StatusCode::FORBIDDEN,
        RejectionClass::NotFound => StatusCode::NOT_FOUND,
        RejectionClass::Conflict => StatusCode::CONFLICT,
        RejectionClass::Gone => StatusCode::GONE,
        RejectionClass::Throttled => StatusCode::TOO_MANY_REQUESTS,
        RejectionClass::Internal => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl<E: Rejection> From<E> for ApiError {
    fn from(e: E) -> Self {
        let class = e.class();
        if class == RejectionClass::Internal {
            // The cause goes to the log, never to the client. Causes never hold secrets.
            tracing::error!(code = e.code(), cause = %e, "request failed");
        }
        let mut problem = ApiError::new(status_of(class), e.code(), e.detail());
        problem.retry_after = e.retry_after();
        problem
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let title = self
            .status
            .canonical_reason()
            .unwrap_or("Error")
            .to_string();
        let mut body = json!({
            "type": format!("https://gatehouse.dev/problems/{}", self.code),
            "title": title,
            "status": self.status.as_u16(),
            "code": self.code,
            "detail": self.detail,
        });
        if let (Some((name, value)), Some(obj)) = (self.extra, body.as_object_mut()) {
            obj.insert(name.to_string(), value);
        }
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(wait) = self.retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
        }
        response
    }
}
