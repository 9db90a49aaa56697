//! `password-reset`: `POST /v1/orgs/{org}/password-reset` mails a single-use link (202 whatever
//! the email); `POST …/password-reset/confirm` sets the new password with it;
//! `PUT /v1/orgs/{org}/users/{id}/password` changes one's own password, or lets an admin set the
//! password of a user without email.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{post, put};
use axum::{Json, Router};
use gatehouse_domain::secret::SecretToken;
use gatehouse_domain::types::{EmailAddress, UserId};
use gatehouse_domain::usecase::password::{
    confirm_password_reset, request_password_reset, set_password,
};
use gatehouse_http::{
    at_the_mail_floor, org_domain, ApiError, AppState, Bearer, Client, FieldErrors, JsonBody,
    ProblemView,
};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/password-reset", post(request_reset))
        .route("/v1/orgs/{org}/password-reset/confirm", post(confirm_reset))
        .route("/v1/orgs/{org}/users/{id}/password", put(change_password))
}

#[derive(OpenApi)]
#[openapi(
    paths(request_reset, confirm_reset, change_password),
    components(schemas(ResetRequestBody, ResetConfirmBody, PasswordBody, ProblemView))
)]
pub struct Api;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequestBody {
    #[schema(required = true, value_type = String)]
    email: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmBody {
    /// The `token` query parameter of the reset link.
    #[schema(required = true, value_type = String)]
    token: Option<String>,
    #[schema(required = true, value_type = String)]
    password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    /// The new password.
    #[schema(required = true, value_type = String)]
    password: Option<String>,
    /// Required to change one's own password.
    current_password: Option<String>,
}

/// Ask for a reset link. The answer is 202 whether or not the email has an account, and takes
/// about as long either way.
#[utoipa::path(
    post,
    operation_id = "request_password_reset",
    path = "/v1/orgs/{org}/password-reset",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = ResetRequestBody,
    responses(
        (status = 202, description = "if an account has this email, a link is on its way"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_email`, `missing_field`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "accounts"
)]
async fn request_reset(
    State(services): State<AppState>,
    Path(org): Path<String>,
    JsonBody(body): JsonBody<ResetRequestBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let email = fields.required("email", body.email.as_deref(), EmailAddress::parse);
    let (email,) = fields.finish((email,))?;
    // Sending mail takes time; not sending takes less. Answer at the same moment either way.
    let outcome = at_the_mail_floor(
        &services,
        request_password_reset(&services, &org, &email, None),
    )
    .await;
    outcome?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({}))))
}

/// Set a new password with the reset link's token (once, within an hour). Ends all sessions.
#[utoipa::path(
    post,
    operation_id = "confirm_password_reset",
    path = "/v1/orgs/{org}/password-reset/confirm",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = ResetConfirmBody,
    responses(
        (status = 204, description = "the password is changed; sign in with it"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 410, description = "`token_expired`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_token`, `password_too_short`, `password_too_common`, `password_contextual`, `password_too_long`, `missing_field`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "accounts"
)]
async fn confirm_reset(
    State(services): State<AppState>,
    Path(org): Path<String>,
    Client(client): Client,
    JsonBody(body): JsonBody<ResetConfirmBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let token = fields.required("token", body.token.as_deref(), SecretToken::parse);
    let password = fields.required("password", body.password.as_deref(), |s| Ok(s.to_string()));
    let (token, password) = fields.finish((token, password))?;
    confirm_password_reset(&services, &org, &token, &password, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change a password. Your own: give `current_password`; your other sessions end. Another
/// user's (admins, users without email only): all their sessions end; hand them the password.
#[utoipa::path(
    put,
    operation_id = "set_password",
    path = "/v1/orgs/{org}/users/{id}/password",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id")),
    request_body = PasswordBody,
    responses(
        (status = 204, description = "changed"),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`user_has_email` (they reset it themselves), `user_changed`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`wrong_current_password`, `missing_current_password`, `password_too_short`, `password_too_common`, `password_contextual`, `password_too_long`, `missing_field`", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "accounts"
)]
async fn change_password(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    Client(client): Client,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = UserId::parse(&id)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "user_not_found", "No such user."))?;
    let mut fields = FieldErrors::default();
    let password = fields.required("password", body.password.as_deref(), |s| Ok(s.to_string()));
    let (password,) = fields.finish((password,))?;
    set_password(
        &services,
        &org,
        bearer.token(),
        &id,
        &password,
        body.current_password.as_deref(),
        &client,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
