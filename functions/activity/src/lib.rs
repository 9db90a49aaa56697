//! `activity`: the organisation's event log, its audit trail, and its webhooks (admins).
//! `GET /v1/orgs/{org}/events` reads the log oldest first from a cursor that never skips or
//! repeats; `/v1/orgs/{org}/webhooks` registers the endpoints events are delivered to.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_domain::events::{Event, EventId, EventType};
use gatehouse_domain::types::ParseError;
use gatehouse_domain::usecase::events::{list_events, EventFilter, MAX_LIMIT};
use gatehouse_http::{
    org_domain, ApiError, AppState, Bearer, FieldErrors, ProblemView, QueryParams,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

pub mod webhooks;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/events", get(list))
        .merge(webhooks::routes())
}

#[derive(OpenApi)]
#[openapi(
    paths(list),
    components(schemas(EventPageView, EventView, ActorView, ProblemView))
)]
pub struct Api;

/// One change, as the platform is told of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// Sortable and unique; also the `webhook-id` of its deliveries.
    pub id: String,
    /// What happened: `invitation.created`, `user.signed_in`, … (the catalogue is the OpenAPI
    /// document's `webhooks`).
    #[serde(rename = "type")]
    pub kind: String,
    pub occurred_at: String,
    pub actor: ActorView,
    /// The resource as the API shows it at the change, never a password, token, access code or
    /// secret.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// Who made the change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorView {
    /// The admin, member or group admin who did it; `null` for the person themself (signing up,
    /// signing in) and for Gatehouse's own schedule.
    pub user_id: Option<String>,
    /// For sign-ins: the client's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_address: Option<String>,
}

impl From<&Event> for EventView {
    fn from(e: &Event) -> Self {
        Self {
            id: e.id.to_string(),
            kind: e.kind.as_str().to_string(),
            occurred_at: e.occurred_at.to_rfc3339(),
            actor: ActorView {
                user_id: e.actor.user_id.as_ref().map(|u| u.to_string()),
                client_address: e.actor.client_address.clone(),
            },
            data: e.data.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPageView {
    /// Oldest first.
    items: Vec<EventView>,
    /// Pass as `after` for the next page. Always present, also at the end: new events follow it.
    next_cursor: Option<String>,
    /// More events are there already; when `false`, ask again later with `next_cursor`.
    has_more: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// The `next_cursor` of the previous page (an event id); from the start of the log when
    /// absent.
    after: Option<String>,
    /// 1 to 500 (default 100).
    #[param(value_type = Option<u16>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// Only these types, comma-separated (`user.sign_in_failed,user.locked`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    kind: Option<String>,
    /// Only changes made by this user (id).
    actor: Option<String>,
    /// Only events about this person: a user id, an email address or an identifier.
    person: Option<String>,
}

/// The organisation's event log, oldest first (admins): every change with who made it. Events
/// appear here about 10 seconds after they happen, in an order a cursor never skips or repeats
/// (webhooks deliver them at once). Kept 400 days.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/events",
    operation_id = "list_events",
    params(("org" = String, Path, description = "organisation domain"), ListParams),
    responses(
        (status = 200, body = EventPageView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_limit`, `invalid_cursor`, `invalid_event_type`, `invalid_query`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "events"
)]
async fn list(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let limit = fields.optional("limit", params.limit.as_deref(), |s| {
        s.parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| ParseError::new("invalid_limit", "a number from 1 to 500"))
    });
    let after = fields.optional("after", params.after.as_deref(), |s| {
        EventId::parse(s)
            .map_err(|_| ParseError::new("invalid_cursor", "not a cursor this log handed out"))
    });
    let types = fields.optional("type", params.kind.as_deref(), event_types);
    let (limit, after, types) = fields.finish((limit, after, types))?;
    let filter = EventFilter {
        types: types.unwrap_or_default(),
        actor: params.actor.filter(|a| !a.trim().is_empty()),
        person: params.person.filter(|p| !p.trim().is_empty()),
    };
    let page = list_events(
        &services,
        &org,
        bearer.token(),
        after,
        limit.unwrap_or(100),
        &filter,
    )
    .await?;
    Ok(Json(EventPageView {
        items: page.items.iter().map(EventView::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.to_string()),
        has_more: page.has_more,
    }))
}

/// `a.b,c.d` → the types, each one of the catalogue's.
fn event_types(raw: &str) -> Result<Vec<EventType>, ParseError> {
    raw.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            EventType::parse(t).ok_or_else(|| {
                ParseError::new("invalid_event_type", "not an event type of the catalogue")
            })
        })
        .collect()
}
