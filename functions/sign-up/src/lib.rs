//! `sign-up`: accounts made from invitations. `POST /v1/orgs/{org}/sign-up/email` spends the
//! token of an email invitation's link; `…/sign-up/access-code/check` says which identifier an
//! access code signs up, and `…/sign-up/access-code` spends it; `…/sign-up/link` registers
//! through the organisation's invitation link (a confirmation is mailed; its link signs up by
//! email).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use gatehouse_domain::access_code::AccessCode;
use gatehouse_domain::secret::SecretToken;
use gatehouse_domain::types::{EmailAddress, PersonName};
use gatehouse_domain::usecase::invitation_link::{
    check_link, register_self, register_with_link, LinkRegistration, RegistrationError,
    SelfRegistration,
};
use gatehouse_domain::usecase::sign_up::{
    check_access_code, sign_up_with_access_code, sign_up_with_email_invitation,
    AccessCodeSignUpRequest, EmailSignUpRequest,
};
use gatehouse_http::{
    at_the_mail_floor, org_domain, ApiError, AppState, Client, FieldErrors, JsonBody, ProblemView,
    SessionView,
};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/sign-up/email", post(sign_up_email))
        .route("/v1/orgs/{org}/sign-up/access-code/check", post(check_code))
        .route("/v1/orgs/{org}/sign-up/access-code", post(sign_up_code))
        .route("/v1/orgs/{org}/sign-up/link/check", post(check_link_route))
        .route("/v1/orgs/{org}/sign-up/link", post(register_link))
        .route("/v1/orgs/{org}/sign-up/self", post(register_self_route))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        sign_up_email,
        check_code,
        sign_up_code,
        check_link_route,
        register_link,
        register_self_route
    ),
    components(schemas(
        LinkCheckBody,
        LinkCheckView,
        LinkRegistrationBody,
        SelfRegistrationBody,
        RegistrationView,
        EmailSignUpBody,
        AccessCodeBody,
        AccessCodeCheckView,
        AccessCodeSignUpBody,
        SessionView,
        ProblemView
    ))
)]
pub struct Api;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessCodeBody {
    /// As handed over, e.g. `K7QM-4XTP-9HW`; any case, dashes optional.
    #[schema(required = true, value_type = String)]
    access_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessCodeCheckView {
    /// What to sign in with once signed up: `uid:domain`.
    identifier: String,
    first_name: String,
    last_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessCodeSignUpBody {
    #[schema(required = true, value_type = String)]
    access_code: Option<String>,
    #[schema(required = true, value_type = String)]
    password: Option<String>,
}

/// Which account an access code signs up (the code is not spent).
#[utoipa::path(
    post,
    operation_id = "check_access_code",
    path = "/v1/orgs/{org}/sign-up/access-code/check",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = AccessCodeBody,
    responses(
        (status = 200, body = AccessCodeCheckView),
        (status = 403, description = "`sign_up_without_email_disabled`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_access_code` (malformed, unknown, used, revoked or expired: the answer does not say which), `missing_field`", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`; see `Retry-After`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "accounts"
)]
async fn check_code(
    State(services): State<AppState>,
    Path(org): Path<String>,
    Client(client): Client,
    JsonBody(body): JsonBody<AccessCodeBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let code = fields.required(
        "access_code",
        body.access_code.as_deref(),
        AccessCode::parse,
    );
    let (code,) = fields.finish((code,))?;
    let check = check_access_code(&services, &org, &code, &client).await?;
    Ok(Json(AccessCodeCheckView {
        identifier: check.identifier,
        first_name: check.first_name.to_string(),
        last_name: check.last_name.to_string(),
    }))
}

/// Create the account an access code offers, and sign in. The code is spent.
#[utoipa::path(
    post,
    operation_id = "sign_up_with_access_code",
    path = "/v1/orgs/{org}/sign-up/access-code",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = AccessCodeSignUpBody,
    responses(
        (status = 201, description = "account created and signed in", body = SessionView),
        (status = 403, description = "`sign_up_without_email_disabled`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`uid_taken`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_access_code`, `password_too_short`, `password_too_common`, `password_contextual`, `password_too_long`, `missing_field`", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`; see `Retry-After`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "accounts"
)]
async fn sign_up_code(
    State(services): State<AppState>,
    Path(org): Path<String>,
    Client(client): Client,
    JsonBody(body): JsonBody<AccessCodeSignUpBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let code = fields.required(
        "access_code",
        body.access_code.as_deref(),
        AccessCode::parse,
    );
    let password = fields.required("password", body.password.as_deref(), |s| Ok(s.to_string()));
    let (code, password) = fields.finish((code, password))?;
    let signed_in = sign_up_with_access_code(
        &services,
        &org,
        AccessCodeSignUpRequest { code, password },
        &client,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(SessionView::from(&signed_in)),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSignUpBody {
    /// The `token` query parameter of the invitation link.
    #[schema(required = true, value_type = String)]
    token: Option<String>,
    #[schema(required = true, value_type = String)]
    password: Option<String>,
    /// Corrects the first name the admin typed.
    first_name: Option<String>,
    last_name: Option<String>,
}

/// Create the account an email invitation offers, and sign in.
#[utoipa::path(
    post,
    operation_id = "sign_up_with_email",
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkCheckBody {
    /// The `token` of the invitation link (`…/{org}/join?token=…`).
    #[schema(required = true, value_type = String)]
    token: Option<String>,
}

/// What the link grants (checking it never uses it).
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkCheckView {
    /// The organisation's name as people read it.
    organisation: String,
    role: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRegistrationBody {
    #[schema(required = true, value_type = String)]
    token: Option<String>,
    #[schema(required = true, value_type = String)]
    email: Option<String>,
    #[schema(required = true, value_type = String)]
    first_name: Option<String>,
    #[schema(required = true, value_type = String)]
    last_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationView {
    /// Always `confirmation_sent`: a confirmation link is mailed unless the address is already
    /// registered or invited here (answered alike, so that nobody learns which).
    status: &'static str,
}

/// The email address and names of who registers, every invalid field reported at once.
fn registrant(
    email: Option<&str>,
    first_name: Option<&str>,
    last_name: Option<&str>,
) -> Result<(EmailAddress, PersonName, PersonName), ApiError> {
    let mut fields = FieldErrors::default();
    let email = fields.required("email", email, EmailAddress::parse);
    let first = fields.required("first_name", first_name, PersonName::parse);
    let last = fields.required("last_name", last_name, PersonName::parse);
    fields.finish((email, first, last))
}

fn link_token(raw: Option<&str>) -> Result<SecretToken, ApiError> {
    // A malformed token is no link of this organisation.
    let gone = || {
        ApiError::new(
            StatusCode::GONE,
            "invitation_link_invalid",
            "This invitation link is not (or no longer) valid.",
        )
    };
    let raw = raw.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_field",
            "token is required",
        )
    })?;
    SecretToken::parse(raw).map_err(|_| gone())
}

/// What an invitation link grants, or why it cannot be used; it is not used by looking.
#[utoipa::path(
    post,
    operation_id = "check_invitation_link",
    path = "/v1/orgs/{org}/sign-up/link/check",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = LinkCheckBody,
    responses(
        (status = 200, body = LinkCheckView),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 410, description = "`invitation_link_invalid` (unknown, deactivated or replaced), `invitation_link_expired`, `invitation_link_used_up`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`missing_field`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "sign-up"
)]
async fn check_link_route(
    State(services): State<AppState>,
    Path(org): Path<String>,
    JsonBody(body): JsonBody<LinkCheckBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let token = link_token(body.token.as_deref())?;
    let (org, link) = check_link(&services, &org, &token).await?;
    Ok(Json(LinkCheckView {
        organisation: org.name().to_string(),
        role: link.role.as_role().as_str().to_string(),
    }))
}

/// Register through the organisation's invitation link: a confirmation link is mailed to the
/// address; following it creates the account (`POST …/sign-up/email` with its token) with the
/// link's role and groups. Each registration uses the link once.
#[utoipa::path(
    post,
    operation_id = "register_with_invitation_link",
    path = "/v1/orgs/{org}/sign-up/link",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = LinkRegistrationBody,
    responses(
        (status = 202, body = RegistrationView),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 410, description = "`invitation_link_invalid`, `invitation_link_expired`, `invitation_link_used_up`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`missing_field`, `invalid_email`, `invalid_name`, `email_domain_not_allowed`", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_registrations` from this client address; see `Retry-After`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "sign-up"
)]
async fn register_link(
    State(services): State<AppState>,
    Path(org): Path<String>,
    Client(client): Client,
    JsonBody(body): JsonBody<LinkRegistrationBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let (email, first_name, last_name) = registrant(
        body.email.as_deref(),
        body.first_name.as_deref(),
        body.last_name.as_deref(),
    )?;
    let token = link_token(body.token.as_deref())?;
    let outcome = at_the_mail_floor(
        &services,
        register_with_link(
            &services,
            &org,
            LinkRegistration {
                token,
                email,
                first_name,
                last_name,
                language: None,
            },
            &client,
        ),
    )
    .await;
    answer_registration(outcome)
}

/// A registration's answer (made no sooner than the mail floor: mailing a confirmation takes
/// time, an address that is already here gets none, and the two must not be told apart).
fn answer_registration(
    outcome: Result<(), RegistrationError>,
) -> Result<(StatusCode, Json<RegistrationView>), ApiError> {
    outcome?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RegistrationView {
            status: "confirmation_sent",
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfRegistrationBody {
    #[schema(required = true, value_type = String)]
    email: Option<String>,
    #[schema(required = true, value_type = String)]
    first_name: Option<String>,
    #[schema(required = true, value_type = String)]
    last_name: Option<String>,
}

/// Register yourself as a member (with the organisation's `self_registration` on): a
/// confirmation link is mailed; following it creates the account (`POST …/sign-up/email`).
#[utoipa::path(
    post,
    operation_id = "register_self",
    path = "/v1/orgs/{org}/sign-up/self",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = SelfRegistrationBody,
    responses(
        (status = 202, body = RegistrationView),
        (status = 403, description = "`self_registration_disabled`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`missing_field`, `invalid_email`, `invalid_name`, `email_domain_not_allowed`", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_registrations` from this client address; see `Retry-After`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "sign-up"
)]
async fn register_self_route(
    State(services): State<AppState>,
    Path(org): Path<String>,
    Client(client): Client,
    JsonBody(body): JsonBody<SelfRegistrationBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let (email, first_name, last_name) = registrant(
        body.email.as_deref(),
        body.first_name.as_deref(),
        body.last_name.as_deref(),
    )?;
    let outcome = at_the_mail_floor(
        &services,
        register_self(
            &services,
            &org,
            SelfRegistration {
                email,
                first_name,
                last_name,
                language: None,
            },
            &client,
        ),
    )
    .await;
    answer_registration(outcome)
}
