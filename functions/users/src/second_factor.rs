//! A person's authenticator app (TOTP, RFC 6238):
//!
//! - `POST /v1/orgs/{org}/users/{id}/totp {current_password}` starts an enrolment (the person);
//! - `POST /v1/orgs/{org}/users/{id}/totp/confirm {code}` makes it their second factor and
//!   answers the recovery codes, once;
//! - `DELETE /v1/orgs/{org}/users/{id}/totp` removes it (the person with their password; admins,
//!   for someone who lost their phone: the person is mailed).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use gatehouse_domain::usecase::second_factor::{confirm_totp, remove_totp, start_totp};
use gatehouse_http::{
    org_domain, ApiError, AppState, Bearer, FieldErrors, JsonBody, OptionalJsonBody, ProblemView,
    TotpEnrolmentView,
};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::user_id;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/users/{id}/totp", post(start).delete(remove))
        .route("/v1/orgs/{org}/users/{id}/totp/confirm", post(confirm))
}

#[derive(OpenApi)]
#[openapi(
    paths(start, confirm, remove),
    components(schemas(
        TotpStartBody,
        TotpEnrolmentView,
        TotpConfirmBody,
        RecoveryCodesView,
        TotpRemovalBody
    ))
)]
pub struct Api;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpStartBody {
    #[schema(required = true, value_type = String)]
    current_password: Option<String>,
}

/// Start enrolling an authenticator app: the person themself, with their password. Answers a new
/// secret (any earlier unconfirmed one is replaced); it is no factor until confirmed.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/users/{id}/totp",
    operation_id = "start_totp",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id: one's own")),
    request_body = TotpStartBody,
    responses(
        (status = 200, description = "the secret, its URI and QR code (not stored anywhere but here: `Cache-Control: no-store`)", body = TotpEnrolmentView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (someone else's account)", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`totp_already_enrolled`, `account_deactivated`, `user_changed`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`missing_current_password`, `wrong_current_password`", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts` (wrong current passwords)", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "second factors"
)]
async fn start(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    JsonBody(body): JsonBody<TotpStartBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = user_id(&id)?;
    let password = body.current_password.as_deref();
    let enrolment = start_totp(&services, &org, bearer.token(), &id, password).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(TotpEnrolmentView::from(enrolment)),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmBody {
    /// The app's current 6-digit code.
    #[schema(required = true, value_type = String)]
    code: Option<String>,
}

/// The recovery codes: each signs in once instead of the app's code. Shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesView {
    recovery_codes: Vec<String>,
}

/// Confirm the app with its current code: from now on sign-in asks for a code after the password.
/// Wrong codes are counted for the account (5 free, then doubling waits, locked at 50 until an
/// admin removes the app).
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/users/{id}/totp/confirm",
    operation_id = "confirm_totp",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id: one's own")),
    request_body = TotpConfirmBody,
    responses(
        (status = 200, description = "10 recovery codes, shown once and kept hashed (`Cache-Control: no-store`)", body = RecoveryCodesView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (someone else's account)", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`totp_not_started`, `totp_already_enrolled`, `account_deactivated`, `user_changed`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_mfa_code` (not the app's current code, or used already), `missing_field`", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: wait `Retry-After` seconds; without it, locked until an admin removes the app", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "second factors"
)]
async fn confirm(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    JsonBody(body): JsonBody<TotpConfirmBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = user_id(&id)?;
    let mut fields = FieldErrors::default();
    let code = fields.required("code", body.code.as_deref(), |s| Ok(s.to_string()));
    let (code,) = fields.finish((code,))?;
    let recovery_codes = confirm_totp(&services, &org, bearer.token(), &id, &code).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(RecoveryCodesView { recovery_codes }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpRemovalBody {
    /// Required of the person removing their own app; admins give no body.
    current_password: Option<String>,
}

/// Remove the authenticator app (and its recovery codes): the person with their password, or an
/// admin for someone who lost their phone (the person is mailed when they have email). Removing
/// none changes nothing.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org}/users/{id}/totp",
    operation_id = "remove_totp",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id")),
    request_body(content = Option<TotpRemovalBody>, description = "the person's current password, when they remove their own app"),
    responses(
        (status = 204, description = "no app any more"),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`user_changed`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`missing_current_password`, `wrong_current_password`, `invalid_body`", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts` (wrong current passwords)", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "second factors"
)]
async fn remove(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    OptionalJsonBody(body): OptionalJsonBody<TotpRemovalBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = user_id(&id)?;
    let password = body.as_ref().and_then(|b| b.current_password.as_deref());
    remove_totp(&services, &org, bearer.token(), &id, password).await?;
    Ok(StatusCode::NO_CONTENT)
}
