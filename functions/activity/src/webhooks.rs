//! `/v1/orgs/{org}/webhooks`: the endpoints the platform is told of events at (admins).

use std::sync::{Arc, LazyLock};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use gatehouse_domain::events::EventType;
use gatehouse_domain::ports::PageRequest;
use gatehouse_domain::types::{ParseError, WebhookId};
use gatehouse_domain::usecase::webhooks::{
    change_webhook, delete_webhook, get_webhook, list_deliveries, list_webhooks, parse_description,
    recover_deliveries, register_webhook, rotate_secret, Registered, WebhookChange,
};
use gatehouse_domain::views::WebhookView;
use gatehouse_domain::webhooks::{Delivery, WebhookSender, WebhookUrl};
use gatehouse_http::{
    org_domain, page_limit, ApiError, AppState, Bearer, FieldErrors, JsonBody, ProblemView,
    QueryParams,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

/// The sender deliveries go out through: its checks are the registration's too.
static SENDER: LazyLock<Arc<dyn WebhookSender>> =
    LazyLock::new(|| Arc::new(gatehouse_outbound::HttpsSender::new()));

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/webhooks", get(list).post(register))
        .route(
            "/v1/orgs/{org}/webhooks/{id}",
            get(one).patch(change).delete(remove),
        )
        .route("/v1/orgs/{org}/webhooks/{id}/secret", post(rotate))
        .route("/v1/orgs/{org}/webhooks/{id}/deliveries", get(deliveries))
        .route("/v1/orgs/{org}/webhooks/{id}/recover", post(recover))
}

#[derive(OpenApi)]
#[openapi(
    paths(register, list, one, change, remove, rotate, deliveries, recover),
    components(schemas(
        WebhookBody,
        WebhookPatch,
        WebhookView,
        RegisteredView,
        WebhookList,
        DeliveryView,
        AttemptView,
        DeliveryPage,
        RecoverBody,
        RecoveredView,
        ProblemView
    ))
)]
pub struct Api;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// `https` (plain `http` only to the loopback interface, in the local run); its host must
    /// not reach a private, loopback, link-local or metadata address.
    #[schema(required = true, value_type = String)]
    url: Option<String>,
    /// The event types it receives; absent or empty: every type.
    types: Option<Vec<String>>,
    /// At most 200 characters.
    description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    url: Option<String>,
    /// `[]`: every type.
    types: Option<Vec<String>>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "gatehouse_http::present")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    /// `false` stops deliveries; `true` starts them again (after it was disabled for failing).
    enabled: Option<bool>,
}

/// A new endpoint, or one with a new secret: the secret is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredView {
    #[serde(flatten)]
    webhook: WebhookView,
    /// `whsec_…`: verify each delivery's `webhook-signature` with it (Standard Webhooks).
    secret: String,
}

impl From<Registered> for RegisteredView {
    fn from(r: Registered) -> Self {
        Self {
            webhook: WebhookView::from(&r.webhook),
            secret: r.secret.expose(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    items: Vec<WebhookView>,
}

/// One event on its way to the endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// The event's id (the `webhook-id` header).
    id: String,
    #[serde(rename = "type")]
    kind: String,
    occurred_at: String,
    /// `pending`, `delivered` or `failed`.
    state: String,
    /// When the next attempt is due (while pending).
    next_attempt_at: Option<String>,
    /// The latest attempts, oldest first.
    attempts: Vec<AttemptView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    at: String,
    /// The endpoint's answer; `null` when none came.
    status: Option<u16>,
    duration_ms: u64,
    error: Option<String>,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        Self {
            id: d.event.id.to_string(),
            kind: d.event.kind.as_str().to_string(),
            occurred_at: d.event.occurred_at.to_rfc3339(),
            state: d.state.as_str().to_string(),
            next_attempt_at: d.next_attempt_at.map(|t| t.to_rfc3339()),
            attempts: d
                .attempts
                .iter()
                .map(|a| AttemptView {
                    at: a.at.to_rfc3339(),
                    status: a.status,
                    duration_ms: a.duration_ms,
                    error: a.error.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    /// Newest first.
    items: Vec<DeliveryView>,
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverBody {
    /// RFC 3339: failed deliveries of events since then are sent again.
    #[schema(required = true, value_type = String)]
    since: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveredView {
    /// Deliveries made pending again.
    recovered: usize,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    cursor: Option<String>,
    /// 1 to 100 (default 50).
    #[param(value_type = Option<u8>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

fn webhook_id(raw: &str) -> Result<WebhookId, ApiError> {
    WebhookId::parse(raw).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "webhook_not_found",
            "No such webhook.",
        )
    })
}

fn types(raw: &[String]) -> Result<Vec<EventType>, ParseError> {
    let mut types = Vec::new();
    for name in raw {
        let kind = EventType::parse(name.trim()).ok_or_else(|| {
            ParseError::new("invalid_event_type", "not an event type of the catalogue")
        })?;
        if !types.contains(&kind) {
            types.push(kind);
        }
    }
    Ok(types)
}

fn url(services: &AppState, raw: &str) -> Result<WebhookUrl, ParseError> {
    WebhookUrl::parse(raw, services.config.webhooks_to_loopback)
}

/// Register an endpoint (admins). Deliveries follow the Standard Webhooks specification: a JSON
/// `POST` of `{type, timestamp, data}` with `webhook-id` (the event id), `webhook-timestamp` and
/// `webhook-signature` (`v1,<base64 HMAC-SHA256>` with the secret answered here, once).
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/webhooks",
    operation_id = "register_webhook",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = WebhookBody,
    responses(
        (status = 201, body = RegisteredView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`too_many_webhooks`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_webhook_url`, `webhook_address_forbidden`, `invalid_event_type`, `invalid_description`, `missing_field`, `invalid_body`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "webhooks"
)]
async fn register(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
    JsonBody(body): JsonBody<WebhookBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let target = fields.required("url", body.url.as_deref(), |u| url(&services, u));
    let kinds = fields.check("types", types(&body.types.unwrap_or_default()));
    let description = fields.optional("description", body.description.as_deref(), |d| {
        parse_description(d)
    });
    let (target, kinds, description) = fields.finish((target, kinds, description))?;
    let change = WebhookChange {
        types: Some(kinds),
        description: Some(description.flatten()),
        ..WebhookChange::default()
    };
    let registered = register_webhook(
        &services,
        SENDER.as_ref(),
        &org,
        bearer.token(),
        target,
        change,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(RegisteredView::from(registered))))
}

/// The organisation's endpoints (admins), oldest first; never their secrets.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/webhooks",
    operation_id = "list_webhooks",
    params(("org" = String, Path, description = "organisation domain")),
    responses(
        (status = 200, body = WebhookList),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "webhooks"
)]
async fn list(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let webhooks = list_webhooks(&services, &org, bearer.token()).await?;
    Ok(Json(WebhookList {
        items: webhooks.iter().map(WebhookView::from).collect(),
    }))
}

/// One endpoint (admins).
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/webhooks/{id}",
    operation_id = "get_webhook",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "webhook id")),
    responses(
        (status = 200, body = WebhookView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "webhooks"
)]
async fn one(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = webhook_id(&id)?;
    let webhook = get_webhook(&services, &org, bearer.token(), &id).await?;
    Ok(Json(WebhookView::from(&webhook)))
}

/// Change an endpoint (admins): its URL (checked as at registration), types, description, or
/// whether it is enabled.
#[utoipa::path(
    patch,
    path = "/v1/orgs/{org}/webhooks/{id}",
    operation_id = "change_webhook",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "webhook id")),
    request_body = WebhookPatch,
    responses(
        (status = 200, body = WebhookView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`webhook_changed`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_webhook_url`, `webhook_address_forbidden`, `invalid_event_type`, `invalid_description`, `invalid_body`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "webhooks"
)]
async fn change(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    JsonBody(body): JsonBody<WebhookPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = webhook_id(&id)?;
    let mut fields = FieldErrors::default();
    let target = fields.optional("url", body.url.as_deref(), |u| url(&services, u));
    let kinds = match &body.types {
        Some(raw) => fields.check("types", types(raw)).map(Some),
        None => Some(None),
    };
    let description = match &body.description {
        Some(Some(d)) => fields.check("description", parse_description(d)).map(Some),
        Some(None) => Some(Some(None)),
        None => Some(None),
    };
    let (target, kinds, description) = fields.finish((target, kinds, description))?;
    let change = WebhookChange {
        url: target,
        types: kinds,
        description,
        enabled: body.enabled,
    };
    let webhook = change_webhook(
        &services,
        SENDER.as_ref(),
        &org,
        bearer.token(),
        &id,
        change,
    )
    .await?;
    Ok(Json(WebhookView::from(&webhook)))
}

/// Remove an endpoint (admins); removing one that is gone changes nothing.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org}/webhooks/{id}",
    operation_id = "delete_webhook",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "webhook id")),
    responses(
        (status = 204, description = "removed"),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_not_found` (not an id)", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "webhooks"
)]
async fn remove(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = webhook_id(&id)?;
    delete_webhook(&services, &org, bearer.token(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give an endpoint a new secret (admins), answered this once; the old one still signs
/// alongside it for 24 hours.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/webhooks/{id}/secret",
    operation_id = "rotate_webhook_secret",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "webhook id")),
    responses(
        (status = 200, body = RegisteredView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`webhook_changed`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "webhooks"
)]
async fn rotate(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = webhook_id(&id)?;
    let rotated = rotate_secret(&services, &org, bearer.token(), &id).await?;
    Ok(Json(RegisteredView::from(rotated)))
}

/// An endpoint's deliveries, newest first, each with its attempts (admins).
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/webhooks/{id}/deliveries",
    operation_id = "list_webhook_deliveries",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "webhook id"), DeliveryParams),
    responses(
        (status = 200, body = DeliveryPage),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_limit`, `invalid_cursor`, `invalid_query`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "webhooks"
)]
async fn deliveries(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    QueryParams(params): QueryParams<DeliveryParams>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = webhook_id(&id)?;
    let mut fields = FieldErrors::default();
    let limit = fields.optional("limit", params.limit.as_deref(), page_limit);
    let (limit,) = fields.finish((limit,))?;
    let page = list_deliveries(
        &services,
        &org,
        bearer.token(),
        &id,
        PageRequest {
            cursor: params.cursor,
            limit: limit.unwrap_or(50),
        },
    )
    .await?;
    Ok(Json(DeliveryPage {
        items: page.items.iter().map(DeliveryView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Send again every failed delivery of events since `since` (admins), each with a fresh round
/// of retries.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/webhooks/{id}/recover",
    operation_id = "recover_webhook_deliveries",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "webhook id")),
    request_body = RecoverBody,
    responses(
        (status = 202, body = RecoveredView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_since`, `missing_field`, `invalid_body`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "webhooks"
)]
async fn recover(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    JsonBody(body): JsonBody<RecoverBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = webhook_id(&id)?;
    let mut fields = FieldErrors::default();
    let since = fields.required("since", body.since.as_deref(), |s| {
        gatehouse_domain::clock::Timestamp::parse_rfc3339(s)
            .ok_or_else(|| ParseError::new("invalid_since", "an RFC 3339 date and time"))
    });
    let (since,) = fields.finish((since,))?;
    let recovered = recover_deliveries(&services, &org, bearer.token(), &id, since).await?;
    Ok((StatusCode::ACCEPTED, Json(RecoveredView { recovered })))
}
