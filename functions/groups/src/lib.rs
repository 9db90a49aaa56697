//! `groups`: `GET /v1/orgs/{org}/groups` lists groups (guests see only theirs);
//! `POST` creates one (admins).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_domain::types::GroupName;
use gatehouse_domain::usecase::groups::{create_group, list_groups};
use gatehouse_http::{
    org_domain, ApiError, AppState, Bearer, FieldErrors, GroupView, JsonBody, ProblemView,
};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/orgs/{org}/groups", get(list).post(create))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create),
    components(schemas(NewGroupBody, GroupList, GroupView, ProblemView))
)]
pub struct Api;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroupBody {
    #[schema(required = true, value_type = String)]
    name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    items: Vec<GroupView>,
}

/// The groups the caller may see.
#[utoipa::path(
    get,
    operation_id = "list_groups",
    path = "/v1/orgs/{org}/groups",
    params(("org" = String, Path, description = "organisation domain")),
    responses(
        (status = 200, body = GroupList),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "groups"
)]
async fn list(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let groups = list_groups(&services, &org, bearer.token()).await?;
    Ok(Json(GroupList {
        items: groups.iter().map(GroupView::from).collect(),
    }))
}

/// Create a group (admins).
#[utoipa::path(
    post,
    operation_id = "create_group",
    path = "/v1/orgs/{org}/groups",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = NewGroupBody,
    responses(
        (status = 201, body = GroupView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`group_name_taken` (names are unique, whatever the case)", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_group_name`, `missing_field`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "groups"
)]
async fn create(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
    JsonBody(body): JsonBody<NewGroupBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let name = fields.required("name", body.name.as_deref(), GroupName::parse);
    let (name,) = fields.finish((name,))?;
    let group = create_group(&services, &org, bearer.token(), name).await?;
    Ok((StatusCode::CREATED, Json(GroupView::from(&group))))
}
