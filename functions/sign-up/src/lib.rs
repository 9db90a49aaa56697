//! `sign-up`: accounts made from invitations. `POST /v1/orgs/{org}/sign-up/email` spends the
//! token of an email invitation's link.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use gatehouse_domain::secret::SecretToken;
use gatehouse_domain::types::PersonName;
use gatehouse_domain::usecase::sign_up::{sign_up_with_email_invitation, EmailSignUpRequest};
use gatehouse_http::{
    org_domain, ApiError, AppState, FieldErrors, JsonBody, ProblemView, SessionView,
};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/orgs/{org}/sign-up/email", post(sign_up_email))
}

#[derive(OpenApi)]
#[openapi(
    paths(sign_up_email),
    components(schemas(EmailSignUpBody, SessionView, ProblemView))
)]
pub struct Api;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSignUpBody {
    /// The `token` query parameter of the invitation link.
    token: Option<String>,
    password: Option<String>,
    /// Corrects the first name the admin typed.
    first_name: Option<String>,
    last_name: Option<String>,
}

/// Create the account an email invitation offers, and sign in.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/sign-up/email",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = EmailSignUpBody,
    responses(
        (status = 201, description = "account created and signed in", body = SessionView),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`", body = ProblemView, content_type = "application/problem+json"),
        (status = 410, description = "`invitation_expired`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_token` (unknown, used or revoked), `password_too_short`, `password_too_common`, `password_contextual`, `password_too_long`, `missing_field`, `invalid_name`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "accounts"
)]
async fn sign_up_email(
    State(services): State<AppState>,
    Path(org): Path<String>,
    JsonBody(body): JsonBody<EmailSignUpBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let token = fields.required("token", body.token.as_deref(), SecretToken::parse);
    let password = fields.required("password", body.password.as_deref(), |s| Ok(s.to_string()));
    let first_name = fields.optional("first_name", body.first_name.as_deref(), PersonName::parse);
    let last_name = fields.optional("last_name", body.last_name.as_deref(), PersonName::parse);
    let (token, password, first_name, last_name) =
        fields.finish((token, password, first_name, last_name))?;
    let request = EmailSignUpRequest {
        token,
        password,
        first_name,
        last_name,
    };
    let signed_in = sign_up_with_email_invitation(&services, &org, request).await?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(SessionView::from(&signed_in)),
    ))
}
