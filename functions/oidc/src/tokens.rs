//! The endpoints relying parties call with tokens: token, userinfo, introspection, revocation.
//! Their errors are OAuth's (`{"error", "error_description"}`, RFC 6749 §5.2 and RFC 6750 §3),
//! as every OAuth client library reads them, with Gatehouse's `code` beside them.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_domain::error::Rejection;
use gatehouse_domain::types::OrgDomain;
use gatehouse_domain::usecase::token::{exchange, ClientAuth, TokenError, TokenRequest};
use gatehouse_domain::usecase::userinfo::{introspect, revoke, userinfo, UserinfoError};
use gatehouse_http::{org_domain, ApiError, AppState};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

/// An OAuth error (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope`, `invalid_token`.
    error: String,
    error_description: String,
    /// The same, as every Gatehouse answer names it.
    code: String,
}

/// The token endpoint's form (`application/x-www-form-urlencoded`).
#[derive(Debug, serde::Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    /// `authorization_code` or `refresh_token`.
    grant_type: String,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    /// With `refresh_token`: narrower scopes than granted.
    scope: Option<String>,
    /// Public clients (and `client_secret_post`).
    client_id: Option<String>,
    /// `client_secret_post`.
    client_secret: Option<String>,
}

/// The introspection and revocation form (`application/x-www-form-urlencoded`).
#[derive(Debug, serde::Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct TokenHintForm {
    token: String,
    /// `access_token` or `refresh_token` (a hint: both are looked for).
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// What the token endpoint answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// An RFC 9068 JWT (`typ: at+jwt`), RS256, valid `expires_in` seconds.
    access_token: String,
    /// `Bearer`.
    token_type: String,
    expires_in: u64,
    /// RS256; `aud` is the client.
    id_token: String,
    /// Only with the `offline_access` scope; each use answers the next one.
    refresh_token: Option<String>,
    scope: String,
}

fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ]
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        no_store(),
        Json(json!({ "error": error, "error_description": description, "code": error })),
    )
        .into_response()
}

/// A request refused before any use case ran: answered as [`oauth_error`].
struct Refusal {
    status: StatusCode,
    error: &'static str,
    description: String,
}

fn refusal(status: StatusCode, error: &'static str, description: impl Into<String>) -> Refusal {
    Refusal {
        status,
        error,
        description: description.into(),
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        oauth_error(self.status, self.error, &self.description)
    }
}

/// A refusal as OAuth says it: 400, or 401 for client authentication (with `WWW-Authenticate`
/// when the client used Basic), 404 for an organisation that does not exist.
fn token_refusal(e: TokenError) -> Response {
    match &e {
        TokenError::Org(_) | TokenError::Internal(_) => ApiError::from(e).into_response(),
        TokenError::InvalidClient { used_basic } => {
            let mut response = oauth_error(StatusCode::UNAUTHORIZED, e.code(), &e.to_string());
            if *used_basic {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"gatehouse\""),
                );
            }
            response
        }
        _ => oauth_error(StatusCode::BAD_REQUEST, e.code(), &e.to_string()),
    }
}

/// The form's fields; a field given twice is a malformed request (RFC 6749 §3.2).
fn form(body: &Bytes) -> Result<Vec<(String, String)>, Refusal> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
        refusal(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body is an application/x-www-form-urlencoded form",
        )
    })?;
    for (name, _) in &pairs {
        if pairs.iter().filter(|(n, _)| n == name).count() > 1 {
            return Err(refusal(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("{name} is given twice"),
            ));
        }
    }
    Ok(pairs)
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        })
}

/// How the client authenticates: HTTP Basic (its id and secret form-urlencoded, RFC 6749
/// §2.3.1), or `client_id` and `client_secret` in the body, or only `client_id`. Two at once are
/// refused.
fn client_auth(headers: &HeaderMap, pairs: &[(String, String)]) -> Result<ClientAuth, Refusal> {
    let bad = |why: &str| refusal(StatusCode::BAD_REQUEST, "invalid_request", why);
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        });
    let body_id = field(pairs, "client_id");
    let body_secret = field(pairs, "client_secret");
    let unreadable = || {
        refusal(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the Basic credentials cannot be read",
        )
    };
    if let Some(encoded) = basic {
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(unreadable)?;
        let (id, secret) = decoded.split_once(':').ok_or_else(unreadable)?;
        let unescape = |s: &str| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
                .ok()
                .and_then(|mut v| v.pop())
                .map(|(_, v)| v)
                .unwrap_or_default()
        };
        let (id, secret) = (unescape(id), unescape(secret));
        if body_secret.is_some() {
            return Err(bad(
                "authenticate with one method: Basic or client_secret, not both",
            ));
        }
        if body_id.is_some_and(|b| b != id) {
            return Err(bad("client_id differs from the Basic credentials"));
        }
        return Ok(ClientAuth::Basic {
            client_id: id,
            secret,
        });
    }
    match (body_id, body_secret) {
        (Some(id), Some(secret)) => Ok(ClientAuth::Post {
            client_id: id.into(),
            secret: secret.into(),
        }),
        (Some(id), None) => Ok(ClientAuth::None {
            client_id: id.into(),
        }),
        (None, _) => Err(refusal(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the client is not identified (Basic credentials or client_id)",
        )),
    }
}

/// What every client's form request starts with: the organisation, the form's fields (a form,
/// each field once) and how the client authenticates.
fn client_form(org: &str, headers: &HeaderMap, body: &Bytes) -> Result<ClientForm, Box<Response>> {
    let org = org_domain(org).map_err(|e| Box::new(e.into_response()))?;
    if !is_form(headers) {
        return Err(Box::new(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body is an application/x-www-form-urlencoded form",
        )));
    }
    let pairs = form(body).map_err(|r| Box::new(r.into_response()))?;
    let auth = client_auth(headers, &pairs).map_err(|r| Box::new(r.into_response()))?;
    Ok(ClientForm { org, pairs, auth })
}

/// A client's form request, read: its organisation, fields and authentication.
struct ClientForm {
    org: OrgDomain,
    pairs: Vec<(String, String)>,
    auth: ClientAuth,
}

/// The token endpoint: `grant_type=authorization_code` (with `code`, `redirect_uri`,
/// `code_verifier`) or `grant_type=refresh_token` (with `refresh_token`, optional narrower
/// `scope`).
#[utoipa::path(
    post,
    operation_id = "token",
    path = "/{org}/oidc/token",
    params(("org" = String, Path, description = "organisation domain")),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, description = "`invalid_request`, `invalid_grant`, `unsupported_grant_type`, `invalid_scope`", body = OAuthError),
        (status = 401, description = "`invalid_client`", body = OAuthError),
        (status = 404, description = "`org_not_found`", body = gatehouse_http::ProblemView, content_type = "application/problem+json"),
    ),
    security((), ("client_secret_basic" = [])),
    tag = "openid"
)]
pub(crate) async fn token(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ClientForm { org, pairs, auth } = match client_form(&org, &headers, &body) {
        Ok(parts) => parts,
        Err(refused) => return *refused,
    };
    let request = match field(&pairs, "grant_type") {
        Some("authorization_code") => match field(&pairs, "code") {
            Some(code) => TokenRequest::AuthorizationCode {
                code: code.into(),
                redirect_uri: field(&pairs, "redirect_uri").map(str::to_string),
                code_verifier: field(&pairs, "code_verifier").map(str::to_string),
            },
            None => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "code is required",
                )
            }
        },
        Some("refresh_token") => match field(&pairs, "refresh_token") {
            Some(token) => TokenRequest::RefreshToken {
                refresh_token: token.into(),
                scope: field(&pairs, "scope").map(str::to_string),
            },
            None => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                )
            }
        },
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type is authorization_code or refresh_token",
            )
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            )
        }
    };
    match exchange(&services, &org, &auth, request).await {
        Ok(tokens) => (
            no_store(),
            Json(TokenResponse {
                access_token: tokens.access_token,
                token_type: "Bearer".into(),
                expires_in: tokens.expires_in,
                id_token: tokens.id_token,
                refresh_token: tokens.refresh_token.map(|t| t.expose().to_string()),
                scope: tokens.scope,
            }),
        )
            .into_response(),
        Err(e) => token_refusal(e),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string())
}

/// Userinfo: the person the access token (`Authorization: Bearer`) was issued for, as its
/// scopes allow.
#[utoipa::path(
    get,
    operation_id = "userinfo",
    path = "/{org}/oidc/userinfo",
    params(("org" = String, Path, description = "organisation domain")),
    responses(
        (status = 200, description = "the person's claims", body = Object),
        (status = 401, description = "`invalid_token` (with `WWW-Authenticate: Bearer`)", body = OAuthError),
        (status = 404, description = "`org_not_found`", body = gatehouse_http::ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "openid"
)]
pub(crate) async fn user_info(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Response {
    let org = match org_domain(&org) {
        Ok(org) => org,
        Err(e) => return e.into_response(),
    };
    match userinfo(&services, &org, bearer(&headers).as_deref()).await {
        Ok(claims) => (no_store(), Json(claims)).into_response(),
        Err(e @ UserinfoError::InvalidToken) => {
            let mut response = oauth_error(StatusCode::UNAUTHORIZED, e.code(), &e.to_string());
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            response
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Userinfo by POST (OpenID Connect Core §5.3.1 allows both): the same answer.
#[utoipa::path(
    post,
    operation_id = "userinfo_post",
    path = "/{org}/oidc/userinfo",
    params(("org" = String, Path, description = "organisation domain")),
    responses(
        (status = 200, description = "the person's claims", body = Object),
        (status = 401, description = "`invalid_token` (with `WWW-Authenticate: Bearer`)", body = OAuthError),
        (status = 404, description = "`org_not_found`", body = gatehouse_http::ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "openid"
)]
pub(crate) async fn user_info_post(
    state: State<AppState>,
    org: Path<String>,
    headers: HeaderMap,
) -> Response {
    user_info(state, org, headers).await
}

/// Introspection (RFC 7662), for confidential clients, of their own tokens.
#[utoipa::path(
    post,
    operation_id = "introspect",
    path = "/{org}/oidc/introspect",
    params(("org" = String, Path, description = "organisation domain")),
    request_body(content = TokenHintForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "`{\"active\": true, …claims}` or `{\"active\": false}`", body = Object),
        (status = 400, description = "`invalid_request`", body = OAuthError),
        (status = 401, description = "`invalid_client` (public clients too)", body = OAuthError),
        (status = 404, description = "`org_not_found`", body = gatehouse_http::ProblemView, content_type = "application/problem+json"),
    ),
    security(("client_secret_basic" = [])),
    tag = "openid"
)]
pub(crate) async fn introspection(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token_form(&services, &org, &headers, &body, |services, org, auth, token| async move {
        introspect(&services, &org, &auth, &token).await
    })
    .await
}

/// Revocation (RFC 7009): the grant behind a refresh or access token of this client ends.
/// Unknown tokens are no error.
#[utoipa::path(
    post,
    operation_id = "revoke",
    path = "/{org}/oidc/revoke",
    params(("org" = String, Path, description = "organisation domain")),
    request_body(content = TokenHintForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "revoked (or nothing to revoke)", body = Object),
        (status = 400, description = "`invalid_request`", body = OAuthError),
        (status = 401, description = "`invalid_client`", body = OAuthError),
        (status = 404, description = "`org_not_found`", body = gatehouse_http::ProblemView, content_type = "application/problem+json"),
    ),
    security((), ("client_secret_basic" = [])),
    tag = "openid"
)]
pub(crate) async fn revocation(
    State(services): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token_form(
        &services,
        &org,
        &headers,
        &body,
        |services, org, auth, token| async move {
            revoke(&services, &org, &auth, &token)
                .await
                .map(|()| json!({}))
        },
    )
    .await
}

/// The shape introspection and revocation share: a form with `token`, client credentials.
async fn token_form<F, Fut>(
    services: &AppState,
    org: &str,
    headers: &HeaderMap,
    body: &Bytes,
    run: F,
) -> Response
where
    F: FnOnce(AppState, OrgDomain, ClientAuth, String) -> Fut,
    Fut: std::future::Future<Output = Result<Value, TokenError>>,
{
    let ClientForm { org, pairs, auth } = match client_form(org, headers, body) {
        Ok(parts) => parts,
        Err(refused) => return *refused,
    };
    let Some(token) = field(&pairs, "token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    match run(services.clone(), org, auth, token.to_string()).await {
        Ok(answer) => (no_store(), Json(answer)).into_response(),
        Err(e) => token_refusal(e),
    }
}
