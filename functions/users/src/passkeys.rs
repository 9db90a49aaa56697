//! A person's passkeys (WebAuthn):
//!
//! - `POST /v1/orgs/{org}/users/{id}/passkeys/registration {current_password?}` (the person; the
//!   password unless they signed in within 10 minutes) answers the options for
//!   `navigator.credentials.create()` and the flow that ends the ceremony;
//! - `POST /v1/orgs/{org}/users/{id}/passkeys {flow, credential, name}` registers the browser's
//!   credential (`PublicKeyCredential.toJSON()`);
//! - `GET /v1/orgs/{org}/users/{id}/passkeys` lists them (the person, admins);
//! - `DELETE /v1/orgs/{org}/users/{id}/passkeys/{pk}` removes one (the person; an admin, who
//!   mails the person).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, post};
use axum::{Json, Router};
use gatehouse_domain::passkey::{PasskeyCredential, PasskeyName};
use gatehouse_domain::secret::SecretToken;
use gatehouse_domain::types::ParseError;
use gatehouse_domain::usecase::passkeys::{
    begin_registration, finish_registration, list_passkeys, remove_passkey,
};
use gatehouse_http::{
    org_domain, ApiError, AppState, Bearer, FieldErrors, JsonBody, OptionalJsonBody,
    PasskeyFlowView, ProblemView,
};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::user_id;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/orgs/{org}/users/{id}/passkeys/registration",
            post(register),
        )
        .route(
            "/v1/orgs/{org}/users/{id}/passkeys",
            post(registered).get(list),
        )
        .route("/v1/orgs/{org}/users/{id}/passkeys/{pk}", delete(remove))
}

#[derive(OpenApi)]
#[openapi(
    paths(register, registered, list, remove),
    components(schemas(
        RegistrationBody,
        PasskeyFlowView,
        PasskeyBody,
        PasskeyView,
        PasskeyList
    ))
)]
pub struct Api;

/// The person's password: needed unless they signed in within the last 10 minutes (checked
/// whenever given).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationBody {
    current_password: Option<String>,
}

/// A passkey, as its owner and admins see it (never its key).
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyView {
    /// The credential id (base64url): `DELETE …/passkeys/{id}` removes it.
    id: String,
    name: String,
    created_at: String,
    /// When it last signed the person in (absent: never).
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<String>,
}

impl From<&PasskeyCredential> for PasskeyView {
    fn from(p: &PasskeyCredential) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.as_str().to_string(),
            created_at: p.created_at.to_rfc3339(),
            last_used_at: p.last_used_at.map(|t| t.to_rfc3339()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyList {
    passkeys: Vec<PasskeyView>,
}

/// Begin registering a passkey: the person themself, signed in. Answers the options for
/// `navigator.credentials.create()` (WebAuthn's JSON form: `PublicKeyCredential
/// .parseCreationOptionsFromJSON(publicKey)`) and the flow that ends this ceremony within 5
/// minutes. Discoverable credentials with user verification; the person's passkeys are excluded.
/// Signed in more than 10 minutes ago, the person gives their password (`current_password`): a
/// session taken later cannot add a passkey of its own. Wrong passwords count like sign-ins.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/users/{id}/passkeys/registration",
    operation_id = "begin_passkey_registration",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id: one's own")),
    request_body(content = Option<RegistrationBody>, description = "`{}` or nothing within 10 minutes of signing in; `{current_password}` any time"),
    responses(
        (status = 200, description = "the options and the flow (`Cache-Control: no-store`)", body = PasskeyFlowView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (someone else's account)", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`too_many_passkeys` (10), `account_deactivated`, `passkeys_unavailable` (the public URL's host is no domain name)", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`, `missing_current_password` (signed in more than 10 minutes ago), `wrong_current_password`", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts` (wrong current passwords)", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "second factors"
)]
async fn register(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    OptionalJsonBody(body): OptionalJsonBody<RegistrationBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = user_id(&id)?;
    let password = body.as_ref().and_then(|b| b.current_password.as_deref());
    let flow = begin_registration(&services, &org, bearer.token(), &id, password).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(PasskeyFlowView::from(flow)),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyBody {
    /// The flow `…/passkeys/registration` answered.
    #[schema(required = true, value_type = String)]
    flow: Option<String>,
    /// What `navigator.credentials.create()` gave, as `PublicKeyCredential.toJSON()` writes it.
    #[schema(required = true, value_type = Object)]
    credential: Option<serde_json::Value>,
    /// What the person calls it: 1 to 64 characters.
    #[schema(required = true, value_type = String)]
    name: Option<String>,
}

/// A flow that is no flow is answered as one unknown.
pub(crate) fn flow_field(raw: &str) -> Result<SecretToken, ParseError> {
    SecretToken::parse(raw).map_err(|_| {
        ParseError::new(
            "invalid_passkey_flow",
            "not a flow that …/passkeys/registration answered",
        )
    })
}

/// Register the passkey the browser created: checked against the flow's challenge, the origin
/// and RP ID, user verification; the flow is spent with it.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/users/{id}/passkeys",
    operation_id = "register_passkey",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id: one's own")),
    request_body = PasskeyBody,
    responses(
        (status = 201, description = "registered", body = PasskeyView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (someone else's account)", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`passkey_already_registered`, `too_many_passkeys`, `account_deactivated`, `passkeys_unavailable`, `user_changed`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_passkey_flow` (unknown, expired, used, or another person's), `invalid_passkey` (the credential does not hold: challenge, origin, RP ID, signature, user verification), `invalid_passkey_name`, `missing_field`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "second factors"
)]
async fn registered(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    JsonBody(body): JsonBody<PasskeyBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = user_id(&id)?;
    let mut fields = FieldErrors::default();
    let flow = fields.required("flow", body.flow.as_deref(), flow_field);
    let credential = match body.credential {
        Some(c @ serde_json::Value::Object(_)) => Some(c),
        Some(_) => fields.check(
            "credential",
            Err(ParseError::new(
                "invalid_passkey",
                "the credential is an object",
            )),
        ),
        None => fields.required("credential", None, |_| Ok(serde_json::Value::Null)),
    };
    let name = fields.required("name", body.name.as_deref(), PasskeyName::parse);
    let (flow, credential, name) = fields.finish((flow, credential, name))?;
    let passkey = finish_registration(
        &services,
        &org,
        bearer.token(),
        &id,
        &flow,
        &credential,
        name,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(PasskeyView::from(&passkey))))
}

/// The person's passkeys by name, with their last use: to the person and to admins.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/users/{id}/passkeys",
    operation_id = "list_passkeys",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id")),
    responses(
        (status = 200, description = "their passkeys, oldest first", body = PasskeyList),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "second factors"
)]
async fn list(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = user_id(&id)?;
    let passkeys = list_passkeys(&services, &org, bearer.token(), &id).await?;
    Ok(Json(PasskeyList {
        passkeys: passkeys.iter().map(PasskeyView::from).collect(),
    }))
}

/// Remove a passkey: the person, or an admin (the person is mailed when they have email).
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org}/users/{id}/passkeys/{pk}",
    operation_id = "remove_passkey",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id"), ("pk" = String, Path, description = "the passkey's id")),
    responses(
        (status = 204, description = "removed"),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`, `passkey_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`user_changed`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "second factors"
)]
async fn remove(
    State(services): State<AppState>,
    Path((org, id, pk)): Path<(String, String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = user_id(&id)?;
    remove_passkey(&services, &org, bearer.token(), &id, &pk).await?;
    Ok(StatusCode::NO_CONTENT)
}
