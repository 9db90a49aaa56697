//! Signing in with a passkey alone:
//!
//! - `POST /v1/orgs/{org}/sign-in/passkey/options {}` answers the options for
//!   `navigator.credentials.get()` and the flow;
//! - `POST /v1/orgs/{org}/sign-in/passkey {flow, credential}` opens the session.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use gatehouse_domain::secret::SecretToken;
use gatehouse_domain::usecase::sign_in_passkey::{
    begin_passkey_sign_in, finish_passkey_sign_in, PasskeySignInError,
};
use gatehouse_http::{
    org_domain, ApiError, AppState, Client, FieldErrors, JsonBody, OptionalJsonBody,
    PasskeyFlowView, ProblemView, SessionView,
};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/sign-in/passkey/options", post(options))
        .route("/v1/orgs/{org}/sign-in/passkey", post(finish))
}

#[derive(OpenApi)]
#[openapi(
    paths(options, finish),
    components(schemas(PasskeyOptionsBody, PasskeySignInBody, PasskeyFlowView))
)]
pub struct Api;

/// Nothing to say: the authenticator offers the passkeys it holds for this site.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyOptionsBody {}

/// Begin a sign-in with a passkey: the options for `navigator.credentials.get()` (WebAuthn's
/// JSON form: `PublicKeyCredential.parseRequestOptionsFromJSON(publicKey)`; no credentials listed,
/// user verification required) and the flow that ends it, once, within 5 minutes, from this
/// client address.
#[utoipa::path(
    post,
    operation_id = "begin_passkey_sign_in",
    path = "/v1/orgs/{org}/sign-in/passkey/options",
    params(("org" = String, Path, description = "organisation domain")),
    request_body(content = Option<PasskeyOptionsBody>, description = "`{}` or nothing"),
    responses(
        (status = 200, description = "the options and the flow (`Cache-Control: no-store`)", body = PasskeyFlowView),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`passkeys_unavailable` (the public URL's host is no domain name)", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "accounts"
)]
async fn options(
    State(services): State<AppState>,
    Path(org): Path<String>,
    Client(client): Client,
    OptionalJsonBody(_body): OptionalJsonBody<PasskeyOptionsBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let flow = begin_passkey_sign_in(&services, &org, &client).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(PasskeyFlowView::from(flow)),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeySignInBody {
    /// The flow `…/sign-in/passkey/options` answered.
    #[schema(required = true, value_type = String)]
    flow: Option<String>,
    /// What `navigator.credentials.get()` gave, as `PublicKeyCredential.toJSON()` writes it.
    #[schema(required = true, value_type = Object)]
    credential: Option<serde_json::Value>,
}

/// Finish a sign-in with a passkey: the assertion is checked against the flow's challenge, the
/// origin and RP ID, the passkey its user handle and id name, user verification and the
/// signature counter (one that goes back is refused and logged). It satisfies the
/// organisation's second-factor policy (`amr`: `hwk`, `user`, `mfa`).
#[utoipa::path(
    post,
    operation_id = "finish_passkey_sign_in",
    path = "/v1/orgs/{org}/sign-in/passkey",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = PasskeySignInBody,
    responses(
        (status = 200, description = "signed in", body = SessionView),
        (status = 401, description = "`invalid_passkey_flow` (unknown, expired, used, or from another address: start again); `invalid_passkey` (no such passkey, or the assertion does not hold)", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`account_deactivated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`passkeys_unavailable`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`missing_field`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "accounts"
)]
async fn finish(
    State(services): State<AppState>,
    Path(org): Path<String>,
    Client(client): Client,
    JsonBody(body): JsonBody<PasskeySignInBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let flow = fields.required("flow", body.flow.as_deref(), |s| Ok(s.to_string()));
    let credential = fields.required("credential", body.credential.as_ref().map(|_| ""), |_| {
        Ok(())
    });
    let (flow, _) = fields.finish((flow, credential))?;
    // A flow or a credential that is none is answered as one unknown.
    let flow =
        SecretToken::parse(&flow).map_err(|_| ApiError::from(PasskeySignInError::InvalidFlow))?;
    let credential = body.credential.unwrap_or_default();
    let signed_in = finish_passkey_sign_in(&services, &org, &flow, &credential, &client).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(SessionView::from(&signed_in)),
    ))
}
