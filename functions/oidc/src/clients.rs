//! The clients API: admins register the applications people sign in to.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use gatehouse_domain::oidc::{Client, ClientKind, RedirectUri};
use gatehouse_domain::types::{ClientId, ClientName, ParseError};
use gatehouse_domain::usecase::clients::{
    change_client, get_client, list_clients, register_client, remove_client, rotate_client_secret,
    ClientChange, ClientRegistration, WithSecret,
};
use gatehouse_http::{org_domain, ApiError, AppState, Bearer, FieldErrors, JsonBody, ProblemView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClientBody {
    /// Shown on the sign-in page and in the console.
    #[schema(required = true, value_type = String)]
    name: Option<String>,
    /// `confidential` (a server that keeps a secret) or `public` (a browser or mobile app: no
    /// secret, PKCE required).
    #[serde(rename = "type")]
    #[schema(required = true, value_type = String)]
    kind: Option<String>,
    /// Exact URIs the authorization response may go to: `https`, or `http` to loopback only.
    #[schema(required = true, value_type = Vec<String>)]
    redirect_uris: Option<Vec<String>>,
    /// Where people may be sent after signing out (RP-initiated logout).
    post_logout_redirect_uris: Option<Vec<String>>,
    /// Where a sign-in to this application starts: people who sign up through an emailed
    /// invitation are sent there (OpenID Connect third-party-initiated login). `https` only.
    initiate_login_uri: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "gatehouse_http::present")]
    #[schema(value_type = Option<String>)]
    initiate_login_uri: Option<Option<String>>,
}

/// An application as admins see it; never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    client_id: String,
    name: String,
    /// `confidential` or `public`.
    #[serde(rename = "type")]
    kind: String,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    initiate_login_uri: Option<String>,
    /// How it authenticates at the token endpoint: `client_secret_basic` (or
    /// `client_secret_post`) for confidential clients, `none` (with PKCE) for public ones.
    token_endpoint_auth_method: String,
    created_at: String,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.id.to_string(),
            name: c.name.to_string(),
            kind: c.kind.as_str().into(),
            redirect_uris: c.redirect_uris.iter().map(|u| u.to_string()).collect(),
            post_logout_redirect_uris: c
                .post_logout_redirect_uris
                .iter()
                .map(|u| u.to_string())
                .collect(),
            initiate_login_uri: c.initiate_login_uri.as_ref().map(|u| u.to_string()),
            token_endpoint_auth_method: match c.kind {
                ClientKind::Confidential => "client_secret_basic",
                ClientKind::Public => "none",
            }
            .into(),
            created_at: c.created_at.to_rfc3339(),
        }
    }
}

/// An application just registered (or its secret just rotated): with its secret, shown this
/// once (confidential clients only); Gatehouse keeps only its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredClientView {
    #[serde(flatten)]
    client: ClientView,
    client_secret: Option<String>,
}

impl From<&WithSecret> for RegisteredClientView {
    fn from(w: &WithSecret) -> Self {
        Self {
            client: ClientView::from(&w.client),
            client_secret: w.secret.as_ref().map(|s| s.expose().to_string()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientList {
    items: Vec<ClientView>,
}

fn client_id(raw: &str) -> Result<ClientId, ApiError> {
    ClientId::parse(raw).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "client_not_found",
            "No such application.",
        )
    })
}

fn kind(raw: &str) -> Result<ClientKind, ParseError> {
    match raw {
        "confidential" => Ok(ClientKind::Confidential),
        "public" => Ok(ClientKind::Public),
        _ => Err(ParseError::new(
            "invalid_client_type",
            "type is confidential or public",
        )),
    }
}

fn uris(raw: &[String]) -> Result<Vec<RedirectUri>, ParseError> {
    raw.iter().map(|u| RedirectUri::parse(u)).collect()
}

/// Register an application (admins). A confidential one's secret is in the answer, this once.
#[utoipa::path(
    post,
    operation_id = "register_client",
    path = "/v1/orgs/{org}/clients",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = NewClientBody,
    responses(
        (status = 201, body = RegisteredClientView, description = "registered; `client_secret` shown once"),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`too_many_clients`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`missing_field`, `invalid_client_name`, `invalid_client_type`, `invalid_redirect_uri`, `redirect_uri_required`, `too_many_redirect_uris`, `invalid_initiate_login_uri`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "clients"
)]
pub(crate) async fn register(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
    JsonBody(body): JsonBody<NewClientBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let name = fields.required("name", body.name.as_deref(), ClientName::parse);
    let kind = fields.required("type", body.kind.as_deref(), kind);
    let redirect_uris = match &body.redirect_uris {
        Some(raw) => fields.check("redirect_uris", uris(raw)),
        None => fields.required("redirect_uris", None, |_| Ok(Vec::new())),
    };
    let post_logout = fields.check(
        "post_logout_redirect_uris",
        uris(
            body.post_logout_redirect_uris
                .as_deref()
                .unwrap_or_default(),
        ),
    );
    let initiate = fields.optional(
        "initiate_login_uri",
        body.initiate_login_uri.as_deref(),
        RedirectUri::parse,
    );
    let (name, kind, redirect_uris, post_logout_redirect_uris, initiate_login_uri) =
        fields.finish((name, kind, redirect_uris, post_logout, initiate))?;
    let registered = register_client(
        &services,
        &org,
        bearer.token(),
        ClientRegistration {
            name,
            kind,
            redirect_uris,
            post_logout_redirect_uris,
            initiate_login_uri,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(RegisteredClientView::from(&registered)),
    ))
}

/// The organisation's applications (admins), oldest first; never their secrets.
#[utoipa::path(
    get,
    operation_id = "list_clients",
    path = "/v1/orgs/{org}/clients",
    params(("org" = String, Path, description = "organisation domain")),
    responses(
        (status = 200, body = ClientList),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "clients"
)]
pub(crate) async fn list(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let clients = list_clients(&services, &org, bearer.token()).await?;
    Ok(Json(ClientList {
        items: clients.iter().map(ClientView::from).collect(),
    }))
}

/// One application (admins).
#[utoipa::path(
    get,
    operation_id = "get_client",
    path = "/v1/orgs/{org}/clients/{client_id}",
    params(
        ("org" = String, Path, description = "organisation domain"),
        ("client_id" = String, Path, description = "the application's client_id"),
    ),
    responses(
        (status = 200, body = ClientView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `client_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "clients"
)]
pub(crate) async fn read(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = client_id(&id)?;
    let client = get_client(&services, &org, bearer.token(), &id).await?;
    Ok(Json(ClientView::from(&client)))
}

/// Change an application (admins): its name and URIs; the type stays.
#[utoipa::path(
    patch,
    operation_id = "change_client",
    path = "/v1/orgs/{org}/clients/{client_id}",
    params(
        ("org" = String, Path, description = "organisation domain"),
        ("client_id" = String, Path, description = "the application's client_id"),
    ),
    request_body = ClientPatch,
    responses(
        (status = 200, body = ClientView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `client_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`client_changed` (changed meanwhile: read it again)", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_client_name`, `invalid_redirect_uri`, `redirect_uri_required`, `too_many_redirect_uris`, `invalid_initiate_login_uri`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "clients"
)]
pub(crate) async fn change(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    JsonBody(body): JsonBody<ClientPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = client_id(&id)?;
    let mut fields = FieldErrors::default();
    let name = fields.optional("name", body.name.as_deref(), ClientName::parse);
    let redirect = match &body.redirect_uris {
        Some(raw) => fields.check("redirect_uris", uris(raw)).map(Some),
        None => Some(None),
    };
    let post_logout = match &body.post_logout_redirect_uris {
        Some(raw) => fields
            .check("post_logout_redirect_uris", uris(raw))
            .map(Some),
        None => Some(None),
    };
    let initiate = match &body.initiate_login_uri {
        Some(raw) => fields
            .optional("initiate_login_uri", raw.as_deref(), RedirectUri::parse)
            .map(Some),
        None => Some(None),
    };
    let (name, redirect_uris, post_logout_redirect_uris, initiate_login_uri) =
        fields.finish((name, redirect, post_logout, initiate))?;
    let client = change_client(
        &services,
        &org,
        bearer.token(),
        &id,
        ClientChange {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            initiate_login_uri,
        },
    )
    .await?;
    Ok(Json(ClientView::from(&client)))
}

/// Remove an application (admins): its codes and tokens are refused from then on.
#[utoipa::path(
    delete,
    operation_id = "remove_client",
    path = "/v1/orgs/{org}/clients/{client_id}",
    params(
        ("org" = String, Path, description = "organisation domain"),
        ("client_id" = String, Path, description = "the application's client_id"),
    ),
    responses(
        (status = 204, description = "removed"),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `client_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`client_changed`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "clients"
)]
pub(crate) async fn remove(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = client_id(&id)?;
    remove_client(&services, &org, bearer.token(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate a confidential application's secret (admins): the new one is in the answer, this
/// once; the old one stops working at once.
#[utoipa::path(
    post,
    operation_id = "rotate_client_secret",
    path = "/v1/orgs/{org}/clients/{client_id}/secret",
    params(
        ("org" = String, Path, description = "organisation domain"),
        ("client_id" = String, Path, description = "the application's client_id"),
    ),
    responses(
        (status = 200, body = RegisteredClientView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `client_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`client_changed`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`client_has_no_secret` (a public client)", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "clients"
)]
pub(crate) async fn rotate_secret(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = client_id(&id)?;
    let rotated = rotate_client_secret(&services, &org, bearer.token(), &id).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(RegisteredClientView::from(&rotated)),
    ))
}
