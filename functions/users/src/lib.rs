//! `users`: `GET /v1/orgs/{org}/users` lists the organisation's users (admins), a page at a time.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_domain::ports::PageRequest;
use gatehouse_domain::types::ParseError;
use gatehouse_domain::usecase::users::list_users;
use gatehouse_http::{
    org_domain, ApiError, AppState, Bearer, FieldErrors, ProblemView, QueryParams, UserView,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/orgs/{org}/users", get(list))
}

#[derive(OpenApi)]
#[openapi(paths(list), components(schemas(UserPage, UserView, ProblemView)))]
pub struct Api;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    items: Vec<UserView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    cursor: Option<String>,
    /// 1 to 100 (default 50).
    limit: Option<String>,
}

/// The organisation's users (admins).
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/users",
    params(("org" = String, Path, description = "organisation domain"), ListParams),
    responses(
        (status = 200, body = UserPage),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_limit`, `invalid_cursor`, `invalid_query`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "users"
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
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ParseError::new("invalid_limit", "a number from 1 to 100"))
    });
    let (limit,) = fields.finish((limit,))?;
    let page = list_users(
        &services,
        &org,
        bearer.token(),
        PageRequest {
            cursor: params.cursor,
            limit: limit.unwrap_or(50),
        },
    )
    .await?;
    Ok(Json(UserPage {
        items: page.items.iter().map(UserView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
