//! The second step of a sign-in, with the `mfa_token` the right password answered:
//!
//! - `POST /v1/orgs/{org}/sign-in/mfa {mfa_token, code | recovery_code}` opens the session;
//! - `POST /v1/orgs/{org}/sign-in/mfa/totp {mfa_token}` starts enrolling an app when the
//!   organisation requires one, and `POST …/sign-in/mfa/totp/confirm {mfa_token, code}` confirms
//!   it and opens the session, with the recovery codes.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use gatehouse_domain::challenge::ChallengeToken;
use gatehouse_domain::usecase::sign_in::SecondStep;
use gatehouse_domain::usecase::sign_in_mfa::{
    finish_enrolment, finish_sign_in, start_enrolment, MfaError, Proof,
};
use gatehouse_http::{
    org_domain, ApiError, AppState, Client, FieldErrors, JsonBody, ProblemView, SessionView,
    TotpEnrolmentView, UserView,
};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/sign-in/mfa", post(finish))
        .route("/v1/orgs/{org}/sign-in/mfa/totp", post(enrol))
        .route("/v1/orgs/{org}/sign-in/mfa/totp/confirm", post(enrolled))
}

#[derive(OpenApi)]
#[openapi(
    paths(finish, enrol, enrolled),
    components(schemas(MfaBody, MfaTokenBody, MfaConfirmBody, EnrolledView, TotpEnrolmentView))
)]
pub struct Api;

/// The sign-in's second step: no session yet.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecondStepView {
    /// Present (true) when a second factor finishes the sign-in: `POST …/sign-in/mfa`.
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa_required: Option<bool>,
    /// Present (true) when the organisation requires a second factor the person does not have:
    /// enrol an app at `POST …/sign-in/mfa/totp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa_enrolment_required: Option<bool>,
    /// Finishes this sign-in, once, from this client address, within 5 minutes.
    mfa_token: String,
    /// What finishes it: `totp` (the app's code), `recovery_code`.
    methods: Vec<String>,
    expires_at: String,
}

impl From<&SecondStep> for SecondStepView {
    fn from(s: &SecondStep) -> Self {
        Self {
            mfa_required: (!s.enrolment_required).then_some(true),
            mfa_enrolment_required: s.enrolment_required.then_some(true),
            mfa_token: s.token.expose(),
            methods: s.methods.iter().map(|m| m.to_string()).collect(),
            expires_at: s.expires_at.to_rfc3339(),
        }
    }
}

/// A token that is no token is answered as one unknown.
fn mfa_token(raw: &str) -> Result<ChallengeToken, ApiError> {
    ChallengeToken::parse(raw).map_err(|_| ApiError::from(MfaError::InvalidToken))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaBody {
    #[schema(required = true, value_type = String)]
    mfa_token: Option<String>,
    /// The authenticator app's current 6-digit code…
    code: Option<String>,
    /// …or one of the recovery codes (`XXXXX-XXXXX`; each works once).
    recovery_code: Option<String>,
}

/// Finish a sign-in with the second factor: the app's current code, or a recovery code. Wrong
/// codes are counted for the account (5 free, then doubling waits, locked at 50 until an admin
/// removes the app); a code works once.
#[utoipa::path(
    post,
    operation_id = "finish_sign_in",
    path = "/v1/orgs/{org}/sign-in/mfa",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = MfaBody,
    responses(
        (status = 200, description = "signed in", body = SessionView),
        (status = 401, description = "`invalid_mfa_code`; `invalid_mfa_token` (unknown, expired, used, from another address, or the password changed: sign in again)", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`account_deactivated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_enrolment_required` (this sign-in enrols an app first)", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`missing_field` (the token, or a code or recovery code), `invalid_body` (both a code and a recovery code)", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: wait `Retry-After` seconds; without it, locked until an admin removes the app", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "accounts"
)]
async fn finish(
    State(services): State<AppState>,
    Path(org): Path<String>,
    Client(client): Client,
    JsonBody(body): JsonBody<MfaBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let token = fields.required(
        "mfa_token",
        body.mfa_token.as_deref(),
        |s| Ok(s.to_string()),
    );
    let (token,) = fields.finish((token,))?;
    let proof = match (body.code, body.recovery_code) {
        (Some(code), None) => Proof::Code(code),
        (None, Some(code)) => Proof::RecoveryCode(code),
        (None, None) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "missing_field",
                "code (the app's) or recovery_code is required",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "give a code or a recovery_code, not both",
            ))
        }
    };
    let token = mfa_token(&token)?;
    let signed_in = finish_sign_in(&services, &org, &token, &proof, &client).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(SessionView::from(&signed_in)),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaTokenBody {
    #[schema(required = true, value_type = String)]
    mfa_token: Option<String>,
}

/// Start enrolling an authenticator app during a sign-in the organisation requires a second
/// factor for (`mfa_enrolment_required`). Answers a new secret; asking again replaces it.
#[utoipa::path(
    post,
    operation_id = "start_sign_in_totp",
    path = "/v1/orgs/{org}/sign-in/mfa/totp",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = MfaTokenBody,
    responses(
        (status = 200, description = "the secret, its URI and QR code (`Cache-Control: no-store`)", body = TotpEnrolmentView),
        (status = 401, description = "`invalid_mfa_token`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`account_deactivated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`totp_already_enrolled` (finish with its code at `…/sign-in/mfa`), `totp_not_started` (another start at the same moment)", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`missing_field`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "accounts"
)]
async fn enrol(
    State(services): State<AppState>,
    Path(org): Path<String>,
    Client(client): Client,
    JsonBody(body): JsonBody<MfaTokenBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let token = fields.required(
        "mfa_token",
        body.mfa_token.as_deref(),
        |s| Ok(s.to_string()),
    );
    let (token,) = fields.finish((token,))?;
    let token = mfa_token(&token)?;
    let enrolment = start_enrolment(&services, &org, &token, &client).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(TotpEnrolmentView::from(enrolment)),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaConfirmBody {
    #[schema(required = true, value_type = String)]
    mfa_token: Option<String>,
    /// The new app's current 6-digit code.
    #[schema(required = true, value_type = String)]
    code: Option<String>,
}

/// A session opened by enrolling an app, with its recovery codes (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolledView {
    token: String,
    expires_at: String,
    user: UserView,
    recovery_codes: Vec<String>,
}

/// Confirm the app enrolled during this sign-in with its current code: it becomes the person's
/// second factor and the session opens.
#[utoipa::path(
    post,
    operation_id = "confirm_sign_in_totp",
    path = "/v1/orgs/{org}/sign-in/mfa/totp/confirm",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = MfaConfirmBody,
    responses(
        (status = 200, description = "signed in, with 10 recovery codes (`Cache-Control: no-store`)", body = EnrolledView),
        (status = 401, description = "`invalid_mfa_code`, `invalid_mfa_token`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`account_deactivated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`totp_not_started`, `totp_already_enrolled`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`missing_field`", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "accounts"
)]
async fn enrolled(
    State(services): State<AppState>,
    Path(org): Path<String>,
    Client(client): Client,
    JsonBody(body): JsonBody<MfaConfirmBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let token = fields.required(
        "mfa_token",
        body.mfa_token.as_deref(),
        |s| Ok(s.to_string()),
    );
    let code = fields.required("code", body.code.as_deref(), |s| Ok(s.to_string()));
    let (token, code) = fields.finish((token, code))?;
    let token = mfa_token(&token)?;
    let done = finish_enrolment(&services, &org, &token, &code, &client).await?;
    let session = SessionView::from(&done.signed_in);
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(EnrolledView {
            token: session.token,
            expires_at: session.expires_at,
            user: session.user,
            recovery_codes: done.recovery_codes,
        }),
    ))
}
