//! Two rules every API route keeps without its handler's help.
//!
//! - **Authentication first.** A request to a route that needs a session is answered `401
//!   unauthenticated` when it has none, whatever else is wrong with it (a bad body, a bad id, an
//!   organisation that does not exist, or one the session is not of): a stranger learns nothing
//!   from the order of checks. A path no route serves stays `404 route_not_found`. The
//!   check runs only when the handler refused the request (a refusal changes nothing), so a
//!   request that succeeds costs no extra read.
//! - **Problems everywhere.** A rejection made by the framework rather than by us (a path that is
//!   not UTF-8, say) is answered as `application/problem+json` with a stable code, like ours,
//!   never as plain text with the framework's words.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_domain::usecase::session::{authenticate, AuthError};

use crate::extract::bearer_token;
use crate::{org_domain, ApiError, AppState};

/// The routes anyone may call without a session: signing in (and its second step) and up,
/// resetting a password. Every other route under `/v1/orgs/{org}/` needs one, routes added
/// later included.
fn is_public(rest: &str) -> bool {
    matches!(
        rest,
        "sign-in" | "password-reset" | "password-reset/confirm" | "email-change/confirm"
    ) || rest == "sign-up"
        || rest.starts_with("sign-up/")
        || rest.starts_with("sign-in/")
}

/// Whether an API route needs a session (anything under `/v1/orgs/{org}/` but signing in and
/// up and resetting a password).
pub fn needs_session(path: &str) -> bool {
    protected(path).is_some()
}

/// The organisation of a request that needs a session, or `None` for a public one.
fn protected(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v1/orgs/")?;
    let (org, rest) = rest.split_once('/').unwrap_or((rest, ""));
    (!is_public(rest.trim_end_matches('/'))).then_some(org)
}

pub(crate) async fn authentication_first(
    State(services): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // A path no route serves is `route_not_found` for everyone: the routes are public (the
    // OpenAPI document); only what they hold is not.
    let routed = request.extensions().get::<MatchedPath>().is_some();
    let org = protected(request.uri().path())
        .filter(|_| routed)
        .map(str::to_owned);
    let token = bearer_token(request.headers());
    let response = next.run(request).await;
    let status = response.status();
    let Some(org) = org else {
        return response;
    };
    if !status.is_client_error() || status == StatusCode::UNAUTHORIZED {
        return response;
    }
    let Ok(domain) = org_domain(&org) else {
        return ApiError::from(AuthError::Unauthenticated).into_response();
    };
    match authenticate(&services, &domain, token.as_ref()).await {
        Ok(_) => response,
        Err(e @ AuthError::Unauthenticated) => ApiError::from(e).into_response(),
        // The store could not say: the handler's own answer stands.
        Err(AuthError::Store(_)) => response,
    }
}

/// The code of a framework rejection, by its status.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "route_not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_request",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

/// Answers the framework's plain-text rejections (`Invalid URL: …`) as problems. Our own
/// answers (JSON, problems, spreadsheets, pages) pass unchanged.
pub(crate) async fn problems_everywhere(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|t| t.starts_with("text/plain"));
    if !plain {
        return response;
    }
    let detail = match status {
        StatusCode::BAD_REQUEST => {
            "The request's path or query cannot be read (it must be UTF-8 and well formed)."
        }
        s if s.is_server_error() => {
            "Something went wrong on our side; nothing was changed. Try again."
        }
        _ => "The request cannot be answered as sent.",
    };
    let mut answer = ApiError::new(status, code_of(status), detail).into_response();
    // Headers such as Retry-After and Allow stay.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::protected;

    #[test]
    fn every_route_but_signing_in_and_up_and_resetting_needs_a_session() {
        for public in [
            "/v1/orgs/acme/sign-in",
            "/v1/orgs/acme/sign-up/email",
            "/v1/orgs/acme/sign-up/access-code/check",
            "/v1/orgs/acme/sign-up/link/confirm",
            "/v1/orgs/acme/password-reset",
            "/v1/orgs/acme/password-reset/confirm",
            "/openapi.json",
            "/acme/sign-in",
        ] {
            assert_eq!(protected(public), None, "{public}");
        }
        for private in [
            "/v1/orgs/acme/invitations",
            "/v1/orgs/acme/invitations/x/resend",
            "/v1/orgs/acme/users/u/password",
            "/v1/orgs/acme/settings",
            "/v1/orgs/acme/sign-in-anything",
            "/v1/orgs/acme",
            "/v1/orgs/acme/",
            "/v1/orgs/acme/whatever/next",
        ] {
            assert_eq!(protected(private), Some("acme"), "{private}");
        }
    }
}
