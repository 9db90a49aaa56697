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

impl<E: Rejection + 'static> From<E> for ApiError {
    fn from(e: E) -> Self {
        let class = e.class();
        if class == RejectionClass::Internal {
            // The cause goes to the log, never to the client. Causes never hold secrets.
            tracing::error!(code = e.code(), cause = %gatehouse_domain::Chain(&e), "request failed");
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

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::ports::StoreError;
    use gatehouse_domain::usecase::invite::InviteError;
    use std::sync::{Arc, Mutex};

    /// Collects what the log writes.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Log {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_internal_failure_logs_its_whole_cause_once_and_shows_the_client_only_the_code() {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let sdk = std::io::Error::other(
            "ThrottlingException: Rate of requests exceeds the allowed throughput",
        );
        let failure = InviteError::from(StoreError::Unavailable(Box::new(sdk)));
        let problem = tracing::subscriber::with_default(subscriber, || ApiError::from(failure));

        let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        let chain = "inviting failed: storage unavailable: ThrottlingException: Rate of requests exceeds the allowed throughput";
        assert_eq!(logged.matches(chain).count(), 1, "{logged}");
        assert_eq!(problem.code, "internal");
        assert_eq!(problem.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!problem.detail.contains("Throttling") && !problem.detail.contains("storage"));
    }
}
