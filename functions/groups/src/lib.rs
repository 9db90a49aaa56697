//! `groups`: `GET /v1/orgs/{org}/groups` lists groups (guests see only theirs);
//! `POST` creates one (admins); `PATCH`/`DELETE /groups/{id}` rename and delete one (admins);
//! `/groups/{id}/admins` lists, names and removes a group's admins (admins);
//! `/groups/{id}/members` lists, adds and removes its members after they signed up (admins, and
//! the group's admins when the organisation lets group admins invite).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Json, Router};
use gatehouse_domain::model::Group;
use gatehouse_domain::ports::PageRequest;
use gatehouse_domain::types::{GroupId, GroupName, UserId};
use gatehouse_domain::usecase::groups::{
    create_group, delete_group, group_admins, list_groups, rename_group, set_group_admin,
};
use gatehouse_domain::usecase::members::{list_members, set_member};
use gatehouse_http::{
    org_domain, page_limit, ApiError, AppState, Bearer, FieldErrors, GroupView, JsonBody,
    ProblemView, QueryParams, UserView,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/groups", get(list).post(create))
        .route(
            "/v1/orgs/{org}/groups/{id}",
            axum::routing::patch(rename).delete(delete),
        )
        .route("/v1/orgs/{org}/groups/{id}/admins", get(admins))
        .route(
            "/v1/orgs/{org}/groups/{id}/admins/{user_id}",
            put(add_admin).delete(remove_admin),
        )
        .route("/v1/orgs/{org}/groups/{id}/members", get(members))
        .route(
            "/v1/orgs/{org}/groups/{id}/members/{user_id}",
            put(add_member).delete(remove_member),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list,
        create,
        rename,
        delete,
        admins,
        add_admin,
        remove_admin,
        members,
        add_member,
        remove_member
    ),
    components(schemas(
        NewGroupBody,
        GroupList,
        GroupView,
        GroupAdmins,
        MemberPage,
        UserView,
        ProblemView
    ))
)]
pub struct Api;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroupBody {
    #[schema(required = true, value_type = String)]
    name: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `true`: only the groups the caller belongs to (what guests always see).
    mine: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    items: Vec<GroupView>,
}

/// The groups the caller may see: all of them for admins and members (with `mine=true` those
/// they belong to), those they belong to for guests.
#[utoipa::path(
    get,
    operation_id = "list_groups",
    path = "/v1/orgs/{org}/groups",
    params(("org" = String, Path, description = "organisation domain"), ListParams),
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
    QueryParams(params): QueryParams<ListParams>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mine = params.mine.unwrap_or(false);
    let groups = list_groups(&services, &org, bearer.token(), mine).await?;
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
        (status = 409, description = "`group_name_taken` (names are unique, whatever the case), `group_name_confusable` (the name looks like another group's: Unicode TR39 skeletons)", body = ProblemView, content_type = "application/problem+json"),
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

/// A group's admins: members who may invite into it when `group_admins_can_invite` is on.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupAdmins {
    group_id: String,
    /// User ids.
    admins: Vec<String>,
}

impl From<&Group> for GroupAdmins {
    fn from(g: &Group) -> Self {
        Self {
            group_id: g.id.to_string(),
            admins: g.admins.iter().map(|u| u.to_string()).collect(),
        }
    }
}

fn group_id(raw: &str) -> Result<GroupId, ApiError> {
    GroupId::parse(raw)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "group_not_found", "No such group."))
}

fn user_id(raw: &str) -> Result<UserId, ApiError> {
    UserId::parse(raw)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "user_not_found", "No such user."))
}

/// A group's admins (admins).
#[utoipa::path(
    get,
    operation_id = "list_group_admins",
    path = "/v1/orgs/{org}/groups/{id}/admins",
    params(
        ("org" = String, Path, description = "organisation domain"),
        ("id" = String, Path, description = "group id"),
    ),
    responses(
        (status = 200, body = GroupAdmins),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `group_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "groups"
)]
async fn admins(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = group_id(&id)?;
    let group = group_admins(&services, &org, bearer.token(), &id).await?;
    Ok(Json(GroupAdmins::from(&group)))
}

/// Name a member an admin of the group (admins); naming them again changes nothing.
#[utoipa::path(
    put,
    operation_id = "add_group_admin",
    path = "/v1/orgs/{org}/groups/{id}/admins/{user_id}",
    params(
        ("org" = String, Path, description = "organisation domain"),
        ("id" = String, Path, description = "group id"),
        ("user_id" = String, Path, description = "the member's user id"),
    ),
    responses(
        (status = 200, body = GroupAdmins),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `group_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`group_admin_must_be_member` (admins may do everything already; guests may not administer)", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "groups"
)]
async fn add_admin(
    State(services): State<AppState>,
    Path((org, id, user)): Path<(String, String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let (id, user) = (group_id(&id)?, user_id(&user)?);
    let group = set_group_admin(&services, &org, bearer.token(), &id, &user, true).await?;
    Ok(Json(GroupAdmins::from(&group)))
}

/// Remove a group admin (admins); removing one who is not changes nothing.
#[utoipa::path(
    delete,
    operation_id = "remove_group_admin",
    path = "/v1/orgs/{org}/groups/{id}/admins/{user_id}",
    params(
        ("org" = String, Path, description = "organisation domain"),
        ("id" = String, Path, description = "group id"),
        ("user_id" = String, Path, description = "the member's user id"),
    ),
    responses(
        (status = 200, body = GroupAdmins),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `group_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "groups"
)]
async fn remove_admin(
    State(services): State<AppState>,
    Path((org, id, user)): Path<(String, String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let (id, user) = (group_id(&id)?, user_id(&user)?);
    let group = set_group_admin(&services, &org, bearer.token(), &id, &user, false).await?;
    Ok(Json(GroupAdmins::from(&group)))
}

/// Rename a group (admins); names are unique per organisation, whatever the case.
#[utoipa::path(
    patch,
    operation_id = "rename_group",
    path = "/v1/orgs/{org}/groups/{id}",
    params(
        ("org" = String, Path, description = "organisation domain"),
        ("id" = String, Path, description = "group id"),
    ),
    request_body = NewGroupBody,
    responses(
        (status = 200, body = GroupView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `group_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`group_name_taken`, `group_name_confusable`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_group_name`, `missing_field`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "groups"
)]
async fn rename(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    JsonBody(body): JsonBody<NewGroupBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = group_id(&id)?;
    let mut fields = FieldErrors::default();
    let name = fields.required("name", body.name.as_deref(), GroupName::parse);
    let (name,) = fields.finish((name,))?;
    let group = rename_group(&services, &org, bearer.token(), &id, name).await?;
    Ok(Json(GroupView::from(&group)))
}

/// Delete a group (admins): its name is free again; it leaves the default groups, the invitation
/// link, pending invitations and the accounts that belonged to it. Its admins lose that role.
#[utoipa::path(
    delete,
    operation_id = "delete_group",
    path = "/v1/orgs/{org}/groups/{id}",
    params(
        ("org" = String, Path, description = "organisation domain"),
        ("id" = String, Path, description = "group id"),
    ),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `group_not_found` (also when deleted already)", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "groups"
)]
async fn delete(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = group_id(&id)?;
    let swept = delete_group(&services, &org, bearer.token(), &id).await?;
    tracing::info!(
        users = swept.users,
        invitations = swept.invitations,
        "group deleted"
    );
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberPage {
    items: Vec<UserView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MemberParams {
    cursor: Option<String>,
    /// 1 to 100 (default 50).
    #[param(value_type = Option<u8>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// A group's members, in id order (admins; the group's admins when the organisation lets group
/// admins invite).
#[utoipa::path(
    get,
    operation_id = "list_group_members",
    path = "/v1/orgs/{org}/groups/{id}/members",
    params(
        ("org" = String, Path, description = "organisation domain"),
        ("id" = String, Path, description = "group id"),
        MemberParams,
    ),
    responses(
        (status = 200, body = MemberPage),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `group_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_limit`, `invalid_cursor`, `invalid_query`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "groups"
)]
async fn members(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    QueryParams(params): QueryParams<MemberParams>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = group_id(&id)?;
    let mut fields = FieldErrors::default();
    let limit = fields.optional("limit", params.limit.as_deref(), page_limit);
    let (limit,) = fields.finish((limit,))?;
    let page = PageRequest {
        cursor: params.cursor,
        limit: limit.unwrap_or(50),
    };
    let page = list_members(&services, &org, bearer.token(), &id, page).await?;
    Ok(Json(MemberPage {
        items: page.items.iter().map(UserView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Add someone who signed up to the group (admins; the group's admins when the organisation lets
/// group admins invite). Adding them again changes nothing. A guest is in the groups named for
/// them, this one now among them.
#[utoipa::path(
    put,
    operation_id = "add_group_member",
    path = "/v1/orgs/{org}/groups/{id}/members/{user_id}",
    params(
        ("org" = String, Path, description = "organisation domain"),
        ("id" = String, Path, description = "group id"),
        ("user_id" = String, Path, description = "the person's user id"),
    ),
    responses(
        (status = 200, description = "the person, with their groups", body = UserView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `group_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`user_changed`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "groups"
)]
async fn add_member(
    State(services): State<AppState>,
    Path((org, id, user)): Path<(String, String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let (id, user) = (group_id(&id)?, user_id(&user)?);
    let user = set_member(&services, &org, bearer.token(), &id, &user, true).await?;
    Ok(Json(UserView::from(&user)))
}

/// Take someone out of the group (as for adding); taking out one who is not in it changes
/// nothing.
#[utoipa::path(
    delete,
    operation_id = "remove_group_member",
    path = "/v1/orgs/{org}/groups/{id}/members/{user_id}",
    params(
        ("org" = String, Path, description = "organisation domain"),
        ("id" = String, Path, description = "group id"),
        ("user_id" = String, Path, description = "the person's user id"),
    ),
    responses(
        (status = 200, description = "the person, with their groups", body = UserView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `group_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`user_changed`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "groups"
)]
async fn remove_member(
    State(services): State<AppState>,
    Path((org, id, user)): Path<(String, String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let (id, user) = (group_id(&id)?, user_id(&user)?);
    let user = set_member(&services, &org, bearer.token(), &id, &user, false).await?;
    Ok(Json(UserView::from(&user)))
}
