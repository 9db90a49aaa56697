//! `sign-in`: `POST /v1/orgs/{org}/sign-in` with an identifier and a password (and, for people
//! with a second factor, [`second_step`]); `GET /v1/orgs/{org}/session` says who the bearer is,
//! `DELETE` signs them out.

pub mod passkey;
pub mod second_step;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use gatehouse_domain::usecase::session::{current_session, end_current_session};
use gatehouse_domain::usecase::sign_in::{sign_in, SignInOutcome, SignInRequest};
use gatehouse_http::{
    org_domain, ApiError, AppState, Bearer, Client, FieldErrors, JsonBody, ProblemView,
    SessionView, UserView,
};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/sign-in", post(sign_in_handler))
        .route("/v1/orgs/{org}/session", get(who).delete(sign_out))
        .merge(second_step::routes())
        .merge(passkey::routes())
}

#[derive(OpenApi)]
#[openapi(
    paths(sign_in_handler, who, sign_out),
    components(schemas(
        SignInBody,
        SignInView,
        SessionView,
        second_step::SecondStepView,
        CurrentSessionView,
        ProblemView
    ))
)]
pub struct Api;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    /// An email address, or `uid:domain` for users without email.
    #[schema(required = true, value_type = String)]
    identifier: Option<String>,
    #[schema(required = true, value_type = String)]
    password: Option<String>,
}

/// What the right password answers: a session, or (a person with a second factor, or whom the
/// organisation requires to have one) the sign-in's second step.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SignInView {
    Session(Box<SessionView>),
    SecondStep(second_step::SecondStepView),
}

/// Sign in. A wrong identifier and a wrong password get the same answer (and neither says
/// whether the account has a second factor). The right one answers the session, or for a person
/// with a second factor `{mfa_required: true, mfa_token, methods}` (finish at `POST
/// …/sign-in/mfa`), or when the organisation requires a second factor they do not have yet
/// `{mfa_enrolment_required: true, mfa_token}` (enrol at `POST …/sign-in/mfa/totp`).
#[utoipa::path(
    post,
    operation_id = "sign_in",
    path = "/v1/orgs/{org}/sign-in",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = SignInBody,
    responses(
        (status = 200, description = "signed in, or the second step to take", body = SignInView),
        (status = 401, description = "`invalid_credentials`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`sign_up_without_email_disabled` (a `uid:domain` identifier while the setting is off)", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: wait `Retry-After` seconds; without it, the account is locked until its password is reset", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`missing_field`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "accounts"
)]
async fn sign_in_handler(
    State(services): State<AppState>,
    Path(org): Path<String>,
    Client(client): Client,
    JsonBody(body): JsonBody<SignInBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let identifier = fields.required("identifier", body.identifier.as_deref(), |s| {
        Ok(s.to_string())
    });
    let password = fields.required("password", body.password.as_deref(), |s| Ok(s.to_string()));
    let (identifier, password) = fields.finish((identifier, password))?;
    let outcome = sign_in(
        &services,
        &org,
        SignInRequest {
            identifier,
            password,
        },
        &client,
    )
    .await?;
    let view = match &outcome {
        SignInOutcome::SignedIn(signed_in) => {
            SignInView::Session(Box::new(SessionView::from(&**signed_in)))
        }
        SignInOutcome::SecondFactor(pending) => {
            SignInView::SecondStep(second_step::SecondStepView::from(pending))
        }
    };
    Ok((
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Json(view),
    ))
}

/// The bearer's session: who they are and when the token stops working.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentSessionView {
    user: UserView,
    expires_at: String,
}

/// Who am I: the account the bearer token belongs to, and when it expires.
#[utoipa::path(
    get,
    operation_id = "current_session",
    path = "/v1/orgs/{org}/session",
    params(("org" = String, Path, description = "organisation domain")),
    responses(
        (status = 200, body = CurrentSessionView),
        (status = 401, description = "`unauthenticated` (no token, or one unknown, expired or signed out)", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "accounts"
)]
async fn who(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let session = current_session(&services, &org, bearer.token()).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(CurrentSessionView {
            user: UserView::from(&session.user),
            expires_at: session.expires_at.to_rfc3339(),
        }),
    ))
}

/// Sign out: the bearer token is refused from now on.
#[utoipa::path(
    delete,
    operation_id = "sign_out",
    path = "/v1/orgs/{org}/session",
    params(("org" = String, Path, description = "organisation domain")),
    responses(
        (status = 204, description = "signed out"),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "accounts"
)]
async fn sign_out(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    end_current_session(&services, &org, bearer.token()).await?;
    Ok(StatusCode::NO_CONTENT)
}
