//! `users`: the organisation's people after they joined.
//!
//! - `GET /v1/orgs/{org}/users?status=&role=&group=&q=` lists them (admins);
//! - `GET /v1/orgs/{org}/users/{id}` reads one (admins; the person);
//! - `PATCH /v1/orgs/{org}/users/{id}` changes names (the person; admins), role and identifier
//!   (admins);
//! - `POST /v1/orgs/{org}/users/{id}/deactivate` and `/reactivate` (admins);
//! - `DELETE /v1/orgs/{org}/users/{id}/sessions` signs them out everywhere (admins; the person).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use gatehouse_domain::model::{search_prefix, UserStatus};
use gatehouse_domain::ports::{PageRequest, UserQuery};
use gatehouse_domain::types::{GroupId, ParseError, PersonName, Role, Uid, UserId};
use gatehouse_domain::usecase::accounts::{
    change_user, get_user, set_active, sign_out_everywhere, UserChange,
};
use gatehouse_domain::usecase::users::list_users;
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
            get(get_user_route).patch(change_user_route),
        )
        .route("/v1/orgs/{org}/users/{id}/deactivate", post(deactivate))
        .route("/v1/orgs/{org}/users/{id}/reactivate", post(reactivate))
        .route("/v1/orgs/{org}/users/{id}/sessions", delete(end_sessions))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list_users_route,
        get_user_route,
        change_user_route,
        deactivate,
        reactivate,
        end_sessions
    ),
    components(schemas(UserPage, UserView, UserChangeBody, SessionsEnded, ProblemView))
)]
pub struct Api;

fn user_id(raw: &str) -> Result<UserId, ApiError> {
    UserId::parse(raw)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "user_not_found", "No such user."))
}

/// One user: names, email or identifier, role, groups, status, when they joined and last signed
/// in. Admins read anyone; others only themselves.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/users/{id}",
    operation_id = "get_user",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id")),
    responses(
        (status = 200, body = UserView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (someone else, and the caller is no admin)", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "users"
)]
async fn get_user_route(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = user_id(&id)?;
    let user = get_user(&services, &org, bearer.token(), &id).await?;
    Ok(Json(UserView::from(&user)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChangeBody {
    /// 1 to 100 characters.
    first_name: Option<String>,
    /// 1 to 100 characters.
    last_name: Option<String>,
    /// `admin`, `member` or `guest` (admins only). A member made guest leaves the default groups
    /// and the groups they administered; a guest made member joins the default groups.
    role: Option<String>,
    /// A new identifier, for a person without email (admins only): unique in the organisation;
    /// the old one is free at once.
    uid: Option<String>,
}

/// Change a user: names (one's own, or admins anyone's), role and identifier (admins). The
/// organisation's last active admin cannot be made member or guest.
#[utoipa::path(
    patch,
    path = "/v1/orgs/{org}/users/{id}",
    operation_id = "change_user",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id")),
    request_body = UserChangeBody,
    responses(
        (status = 200, description = "the user after the change", body = UserView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`last_admin`, `uid_taken`, `user_changed`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_name`, `invalid_role`, `invalid_uid`, `user_has_email`, `invalid_body`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "users"
)]
async fn change_user_route(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    JsonBody(body): JsonBody<UserChangeBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = user_id(&id)?;
    let mut fields = FieldErrors::default();
    let first = fields.optional("first_name", body.first_name.as_deref(), PersonName::parse);
    let last = fields.optional("last_name", body.last_name.as_deref(), PersonName::parse);
    let role = fields.optional("role", body.role.as_deref(), Role::parse);
    let uid = fields.optional("uid", body.uid.as_deref(), Uid::parse);
    let (first_name, last_name, role, uid) = fields.finish((first, last, role, uid))?;
    let change = UserChange {
        first_name,
        last_name,
        role,
        uid,
    };
    let user = change_user(&services, &org, bearer.token(), &id, change).await?;
    Ok(Json(UserView::from(&user)))
}

/// Deactivate an account (admins): every session and grant of it ends at once, it cannot sign
/// in (the right password answers `403 account_deactivated`) and is sent no mail. Invitations it
/// sent stay valid. Deactivating it again changes nothing.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/users/{id}/deactivate",
    operation_id = "deactivate_user",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id")),
    responses(
        (status = 200, description = "the user, deactivated", body = UserView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`last_admin`, `user_changed`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "users"
)]
async fn deactivate(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = user_id(&id)?;
    let user = set_active(&services, &org, bearer.token(), &id, false).await?;
    Ok(Json(UserView::from(&user)))
}

/// Let a deactivated account sign in again (admins); its old sessions stay ended.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/users/{id}/reactivate",
    operation_id = "reactivate_user",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id")),
    responses(
        (status = 200, description = "the user, active", body = UserView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`user_changed`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "users"
)]
async fn reactivate(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = user_id(&id)?;
    let user = set_active(&services, &org, bearer.token(), &id, true).await?;
    Ok(Json(UserView::from(&user)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsEnded {
    /// How many sessions and application grants ended.
    ended: usize,
}

/// Sign out everywhere: every session and application grant of the account ends (the person
/// themselves, the caller's own session included; or admins, for anyone).
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org}/users/{id}/sessions",
    operation_id = "end_user_sessions",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id")),
    responses(
        (status = 200, body = SessionsEnded),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "users"
)]
async fn end_sessions(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = user_id(&id)?;
    let ended = sign_out_everywhere(&services, &org, bearer.token(), &id).await?;
    Ok(Json(SessionsEnded { ended }))
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
    /// `active` or `deactivated`.
    status: Option<String>,
    /// `admin`, `member` or `guest`.
    role: Option<String>,
    /// A group's id: its members.
    group: Option<String>,
    /// The beginning of a first or last name, the full name, an email or an identifier (any
    /// case); then the list is in the order of what matched.
    #[param(max_length = 254)]
    q: Option<String>,
}

/// The search a `q` asks for, as the entries are written; blank is no search.
fn search(raw: &str) -> Result<Option<String>, ParseError> {
    let q = search_prefix(raw);
    if q.chars().count() > 254 {
        return Err(ParseError::new("invalid_search", "at most 254 characters"));
    }
    Ok(Some(q).filter(|q| !q.is_empty()))
}

/// The organisation's users (admins), filtered: each filter reads one partition of the store
/// (a search's entries, a group's members, the index by role or of deactivated accounts), never
/// all of them; the others apply to what it holds. A page may hold fewer than `limit` and still
/// have a `next_cursor`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/users",
    operation_id = "list_users",
    params(("org" = String, Path, description = "organisation domain"), ListParams),
    responses(
        (status = 200, body = UserPage),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_limit`, `invalid_cursor`, `invalid_status`, `invalid_role`, `invalid_group`, `invalid_search`, `invalid_query`", body = ProblemView, content_type = "application/problem+json"),
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
    let status = fields.optional("status", params.status.as_deref(), UserStatus::parse);
    let role = fields.optional("role", params.role.as_deref(), Role::parse);
    let group = fields.optional("group", params.group.as_deref(), |g| {
        GroupId::parse(g).map_err(|_| ParseError::new("invalid_group", "a group's id"))
    });
    let q = fields.optional("q", params.q.as_deref(), search);
    let (limit, status, role, group, q) = fields.finish((limit, status, role, group, q))?;
    let query = UserQuery {
        status,
        role,
        group,
        q: q.flatten(),
    };
    let page = PageRequest {
        cursor: params.cursor,
        limit: limit.unwrap_or(50),
    };
    let page = list_users(&services, &org, bearer.token(), &query, page).await?;
    Ok(Json(UserPage {
        items: page.items.iter().map(UserView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
