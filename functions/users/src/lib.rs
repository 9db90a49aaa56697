//! `users`: the organisation's people after they joined.
//!
//! - `GET /v1/orgs/{org}/users?status=&role=&group=&q=` lists them (admins);
//! - `GET /v1/orgs/{org}/users/{id}` reads one (admins; the person);
//! - `PATCH /v1/orgs/{org}/users/{id}` changes names (the person; admins), role and identifier
//!   (admins);
//! - `POST /v1/orgs/{org}/users/{id}/deactivate` and `/reactivate` (admins);
//! - `DELETE /v1/orgs/{org}/users/{id}/sessions` signs them out everywhere (admins; the person);
//! - `DELETE /v1/orgs/{org}/users/{id}` erases the account (admins; the person, with their
//!   password);
//! - `POST /v1/orgs/{org}/users/{id}/email` asks for a new email (the person, with their
//!   password; admins), confirmed by the link holder at `POST /v1/orgs/{org}/email-change/confirm`;
//! - their authenticator app ([`second_factor`]).

pub mod passkeys;
pub mod second_factor;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use gatehouse_domain::model::{search_prefix, UserStatus};
use gatehouse_domain::ports::{PageRequest, UserQuery};
use gatehouse_domain::secret::SecretToken;
use gatehouse_domain::types::EmailAddress;
use gatehouse_domain::types::{GroupId, ParseError, PersonName, Role, Uid, UserId};
use gatehouse_domain::usecase::accounts::{
    change_user, get_user, set_active, sign_out_everywhere, UserChange,
};
use gatehouse_domain::usecase::email_change::{confirm_email_change, request_email_change};
use gatehouse_domain::usecase::erasure::{erase_user, Erasure};
use gatehouse_domain::usecase::users::list_users;
use gatehouse_http::{at_the_mail_floor, page_limit, OptionalJsonBody};
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
            get(get_user_route)
                .patch(change_user_route)
                .delete(erase_user_route),
        )
        .route("/v1/orgs/{org}/users/{id}/deactivate", post(deactivate))
        .route("/v1/orgs/{org}/users/{id}/reactivate", post(reactivate))
        .route("/v1/orgs/{org}/users/{id}/sessions", delete(end_sessions))
        .route("/v1/orgs/{org}/users/{id}/email", post(change_email))
        .route("/v1/orgs/{org}/email-change/confirm", post(confirm_email))
        .merge(second_factor::routes())
        .merge(passkeys::routes())
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list_users_route,
        get_user_route,
        change_user_route,
        deactivate,
        reactivate,
        end_sessions,
        change_email,
        confirm_email,
        erase_user_route
    ),
    components(schemas(
        UserPage,
        UserView,
        UserChangeBody,
        SessionsEnded,
        EmailChangeBody,
        EmailConfirmBody,
        ErasureBody,
        ErasureView,
        FileDueView,
        ProblemView
    ))
)]
pub struct Api;

pub(crate) fn user_id(raw: &str) -> Result<UserId, ApiError> {
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
    let limit = fields.optional("limit", params.limit.as_deref(), page_limit);
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChangeBody {
    #[schema(required = true, value_type = String)]
    email: Option<String>,
    /// Required of the person changing their own email; admins changing another's give none.
    current_password: Option<String>,
}

/// Ask for a new email address: a link goes to it (valid 24 hours, once) and a notice to the
/// address in use, which keeps working until the link is followed. The person asks with their
/// current password; admins ask for anyone without one. The answer is the same `202`, at the same
/// moment, whether or not the new address is free (a taken address is mailed nothing).
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/users/{id}/email",
    operation_id = "change_user_email",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id")),
    request_body = EmailChangeBody,
    responses(
        (status = 202, description = "if the address is free, a confirmation link is on its way to it"),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`account_deactivated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_email`, `missing_field`, `missing_current_password`, `wrong_current_password`, `user_without_email`", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts` (wrong current passwords, or more than five changes asked for the account in a day)", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "users"
)]
async fn change_email(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    JsonBody(body): JsonBody<EmailChangeBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = user_id(&id)?;
    let mut fields = FieldErrors::default();
    let email = fields.required("email", body.email.as_deref(), EmailAddress::parse);
    let (email,) = fields.finish((email,))?;
    let password = body.current_password.as_deref();
    // Mailing a free address takes longer than not mailing a taken one: answer at one moment.
    let asked = request_email_change(&services, &org, bearer.token(), &id, &email, password, None);
    at_the_mail_floor(&services, asked).await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({}))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailConfirmBody {
    /// The `token` of the link mailed to the new address.
    #[schema(required = true, value_type = String)]
    token: Option<String>,
}

/// Confirm a new email address with the mailed link's token (once, within 24 hours, while the
/// account still has the address it had when the change was asked for). The old address is free
/// at once; the account signs in with the new one.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/email-change/confirm",
    operation_id = "confirm_email_change",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = EmailConfirmBody,
    responses(
        (status = 200, description = "the account, with its new email", body = UserView),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken` (someone took the address meanwhile), `user_changed`", body = ProblemView, content_type = "application/problem+json"),
        (status = 410, description = "`token_expired`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_token` (unknown, spent, or superseded), `missing_field`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "users"
)]
async fn confirm_email(
    State(services): State<AppState>,
    Path(org): Path<String>,
    JsonBody(body): JsonBody<EmailConfirmBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let token = fields.required("token", body.token.as_deref(), SecretToken::parse);
    let (token,) = fields.finish((token,))?;
    let user = confirm_email_change(&services, &org, &token).await?;
    Ok(Json(UserView::from(&user)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureBody {
    /// Required of the person erasing their own account; admins give no body.
    current_password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FileDueView {
    /// `upload` (a spreadsheet an admin sent) or `report` (what the import answered).
    kind: &'static str,
    import_id: String,
    /// The bucket has removed it by then.
    expires_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureView {
    user_id: String,
    /// Invitations that held their email, uid, names or message: pending ones removed, the others
    /// redacted.
    invitations: usize,
    /// Imports whose record named them as the admin who started it: the name taken out.
    imports: usize,
    /// Whether their events in the log and in webhook deliveries are redacted already; if not,
    /// the scheduled cleanup finishes within minutes.
    complete: bool,
    /// Imports that invited them: their upload and report are deleted from the bucket.
    deleted_files: Vec<String>,
    /// Other files of the bucket that may name them (rows that named them without inviting them,
    /// dry runs), left to expire.
    files: Vec<FileDueView>,
    /// Every export made before now is gone from the bucket by then.
    exports_expire_by: String,
}

impl From<&Erasure> for ErasureView {
    fn from(e: &Erasure) -> Self {
        Self {
            user_id: e.user_id.to_string(),
            invitations: e.invitations,
            imports: e.imports,
            complete: e.complete,
            deleted_files: e.deleted_files.iter().map(|i| i.to_string()).collect(),
            files: e
                .files
                .iter()
                .map(|f| FileDueView {
                    kind: f.kind,
                    import_id: f.import_id.to_string(),
                    expires_by: f.expires_by.to_rfc3339(),
                })
                .collect(),
            exports_expire_by: e.exports_expire_by.to_rfc3339(),
        }
    }
}

/// Erase an account (GDPR art. 17): admins, or the person with their current password. The
/// account, its sessions and grants, failure counters, group memberships and search entries go at
/// once, and its email and uid are free again; invitations that held its email, uid, names or
/// message are removed (pending) or redacted; the audit trail keeps `user.deleted` with the id
/// only. The organisation's last active admin cannot be erased.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org}/users/{id}",
    operation_id = "erase_user",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "user id")),
    request_body(content = Option<ErasureBody>, description = "the person's current password, when they erase their own account"),
    responses(
        (status = 200, description = "what was erased, and the files left to expire", body = ErasureView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `user_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`last_admin`, `user_changed`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`missing_current_password`, `wrong_current_password`, `invalid_body`", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts` (wrong current passwords)", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "users"
)]
async fn erase_user_route(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
    OptionalJsonBody(body): OptionalJsonBody<ErasureBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = user_id(&id)?;
    let password = body.as_ref().and_then(|b| b.current_password.as_deref());
    let erased = erase_user(&services, &org, bearer.token(), &id, password).await?;
    Ok(Json(ErasureView::from(&erased)))
}
