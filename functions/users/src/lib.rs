//! `users`: `GET /v1/orgs/{org}/users` lists the organisation's users (admins), a page at a time;
//! `PATCH /v1/orgs/{org}/users/{id}` changes a user's names (the user, or an admin).

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_domain::ports::PageRequest;
use gatehouse_domain::types::{ParseError, PersonName, UserId};
use gatehouse_domain::usecase::users::{change_names, list_users, NameChange};
use gatehouse_http::{
    org_domain, ApiError, AppState, Bearer, FieldErrors, JsonBody, ProblemView, QueryParams,
    UserView,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/users", get(list_users_route))
        .route(
            "/v1/orgs/{org}/users/{id}",
            axum::routing::patch(change_user_names),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(list_users_route, change_user_names),
    components(schemas(UserPage, UserView, NamesBody, ProblemView))
)]
pub struct Api;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamesBody {
    /// 1 to 100 characters.
    first_name: Option<String>,
    /// 1 to 100 characters.
    last_name: Option<String>,
}

/// Change a user's first or last name: one's own, or (admins) anyone's.
#[utoipa::path(
    patch,
    path = "/v1/orgs/{org}/users/{id}",
    operation_id = "change_user_names",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id")),
    request_body = NamesBody,
    responses(
        (status = 200, description = "the user after the change", body = UserView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`user_changed`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_name`, `invalid_body`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "users"
)]
async fn change_user_names(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    JsonBody(body): JsonBody<NamesBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = UserId::parse(&id).map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "user_not_found",
            "No such user.",
        )
    })?;
    let mut fields = FieldErrors::default();
    let first = fields.optional("first_name", body.first_name.as_deref(), PersonName::parse);
    let last = fields.optional("last_name", body.last_name.as_deref(), PersonName::parse);
    let (first_name, last_name) = fields.finish((first, last))?;
    let user = change_names(
        &services,
        &org,
        bearer.token(),
        &id,
        NameChange {
            first_name,
            last_name,
        },
    )
    .await?;
    Ok(Json(UserView::from(&user)))
}

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
    #[param(value_type = Option<u8>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// The organisation's users (admins).
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/users",
    operation_id = "list_users",
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
async fn list_users_route(
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
