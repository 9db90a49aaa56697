//! `invite`: invitations and the admin API around them.
//! `POST /v1/orgs/{org}/invitations` invites by email or uid; `GET` lists them (filtered, paged);
//! `GET /v1/orgs/{org}/invitations/{id}` shows one (with its access code); `DELETE` revokes it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_domain::model::{InvitationKind, InvitationStatus};
use gatehouse_domain::ports::PageRequest;
use gatehouse_domain::types::{
    EmailAddress, GroupId, InvitationId, InviteeRole, Language, ParseError, PersonName,
    PersonalMessage, Uid, UserId,
};
use gatehouse_domain::usecase::invitations::{
    get_invitation, list_invitations, revoke_invitation, InvitationFilter,
};
use gatehouse_domain::usecase::invite::{
    invite as invite_use_case, resend_invitation, InvitationRequest, InviteeRequest,
};
use gatehouse_domain::views::{DeliveryName, HistoryEntryView, HistoryKindName, InvitationView};
use gatehouse_http::{
    org_domain, page_limit, ApiError, AppState, Bearer, FieldErrors, JsonBody, LanguageName,
    ProblemView, QueryParams,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/invitations", get(list).post(invite))
        .route("/v1/orgs/{org}/invitations/{id}", get(show).delete(revoke))
        .route(
            "/v1/orgs/{org}/invitations/{id}/resend",
            axum::routing::post(resend),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(invite, list, show, revoke, resend),
    components(schemas(
        InvitationBody,
        InvitationView,
        InvitationPage,
        ProblemView,
        InviteeRoleName,
        LanguageName,
        StatusName,
        KindName,
        HistoryEntryView,
        HistoryKindName,
        DeliveryName
    ))
)]
pub struct Api;

/// Answers that may carry an access code are never kept by caches.
const NO_STORE: [(axum::http::HeaderName, &str); 1] =
    [(axum::http::header::CACHE_CONTROL, "no-store")];

/// The roles an invitation grants.
#[derive(ToSchema, Serialize)]
#[allow(dead_code)]
#[serde(rename_all = "snake_case")]
pub enum InviteeRoleName {
    Member,
    Guest,
}

/// An invitation's status.
#[derive(ToSchema, Serialize)]
#[allow(dead_code)]
#[serde(rename_all = "snake_case")]
pub enum StatusName {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

/// An invitation's kind.
#[derive(ToSchema, Serialize)]
#[allow(dead_code)]
#[serde(rename_all = "snake_case")]
pub enum KindName {
    Email,
    Uid,
}

/// At most this many groups per invitation.
pub const MAX_GROUPS: usize = 50;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationBody {
    /// Invite by email…
    email: Option<String>,
    /// …or by identifier (letters and digits), for a user without email. Needs the setting
    /// `sign_up_without_email`; an access code is made.
    uid: Option<String>,
    /// `member` or `guest`.
    #[schema(required = true, value_type = InviteeRoleName)]
    role: Option<String>,
    /// 1 to 100 characters.
    #[schema(required = true, value_type = String)]
    first_name: Option<String>,
    /// 1 to 100 characters.
    #[schema(required = true, value_type = String)]
    last_name: Option<String>,
    /// Group ids to join on sign-up.
    #[serde(default)]
    groups: Vec<String>,
    /// Personal message for the email; the organisation's default message when absent.
    message: Option<String>,
    /// The language of the emails (`en` or `fr`); the organisation's `language` when absent.
    #[schema(value_type = Option<LanguageName>)]
    language: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationPage {
    items: Vec<InvitationView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `pending`, `accepted`, `revoked` or `expired`.
    #[param(value_type = Option<StatusName>)]
    status: Option<String>,
    /// `email` or `uid`.
    #[param(value_type = Option<KindName>)]
    kind: Option<String>,
    /// `member` or `guest`.
    #[param(value_type = Option<InviteeRoleName>)]
    role: Option<String>,
    /// The id of the user who sent them (32 lowercase hexadecimal digits).
    invited_by: Option<String>,
    cursor: Option<String>,
    /// 1 to 100 (default 50).
    #[param(value_type = Option<u8>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

fn group_ids(raw: &[String]) -> Result<Vec<GroupId>, ParseError> {
    if raw.len() > MAX_GROUPS {
        return Err(ParseError::new(
            "too_many_groups",
            format!("at most {MAX_GROUPS} groups"),
        ));
    }
    raw.iter().map(|g| GroupId::parse(g)).collect()
}

/// Invite someone by email (they receive a single-use sign-up link) or by identifier (an
/// access code is made, shown to admins only, for the admin to hand over). Admins invite; with
/// `members_can_invite` members invite by email too, and with `group_admins_can_invite` group
/// admins invite by email into the groups they administer.
#[utoipa::path(
    post,
    operation_id = "create_invitation",
    path = "/v1/orgs/{org}/invitations",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = InvitationBody,
    responses(
        (status = 201, description = "invited; the email is sent (or queued for retry), or the access code is in `access_code`", body = InvitationView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (identifier invitations are for admins), `only_admins_can_invite` (the settings do not let the caller invite), `group_not_administered` (a group the caller does not administer), `sign_up_without_email_disabled`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`, `uid_taken`", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_invitations`: the inviter's `invitations_per_hour` (`admin_invitations_per_hour` for admins) or the address's `invitations_per_address_per_day` is used up; `Retry-After` says when the window ends", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_email`, `invalid_uid`, `email_or_uid`, `invalid_role`, `invalid_name`, `invalid_message`, `invalid_group_id`, `too_many_groups`, `unknown_group`, `email_domain_not_allowed`, `missing_field`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "invitations"
)]
async fn invite(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
    JsonBody(body): JsonBody<InvitationBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let invitee = match (body.email.as_deref(), body.uid.as_deref()) {
        (Some(email), None) => fields.check(
            "email",
            EmailAddress::parse(email).map(InviteeRequest::Email),
        ),
        (None, Some(uid)) => fields.check("uid", Uid::parse(uid).map(InviteeRequest::Uid)),
        (Some(_), Some(_)) => fields.check(
            "uid",
            Err(ParseError::new(
                "email_or_uid",
                "invite by email or by uid, not both",
            )),
        ),
        (None, None) => {
            fields.required("email", None, |_| Err(ParseError::new("missing_field", "")))
        }
    };
    let role = fields.required("role", body.role.as_deref(), InviteeRole::parse);
    let first_name = fields.required("first_name", body.first_name.as_deref(), PersonName::parse);
    let last_name = fields.required("last_name", body.last_name.as_deref(), PersonName::parse);
    let groups = fields.check("groups", group_ids(&body.groups));
    let message = fields.optional("message", body.message.as_deref(), PersonalMessage::parse);
    let language = fields.optional("language", body.language.as_deref(), Language::parse);
    let (invitee, role, first_name, last_name, groups, message, language) = fields.finish((
        invitee, role, first_name, last_name, groups, message, language,
    ))?;
    let request = InvitationRequest {
        invitee,
        role,
        first_name,
        last_name,
        groups,
        message,
        language,
    };
    let invited = invite_use_case(&services, &org, bearer.token(), request).await?;
    Ok((
        StatusCode::CREATED,
        NO_STORE,
        Json(InvitationView::new(
            &invited.invitation,
            services.clock.now(),
            invited.access_code.as_ref(),
        )),
    ))
}

/// List invitations, newest first (admins).
#[utoipa::path(
    get,
    operation_id = "list_invitations",
    path = "/v1/orgs/{org}/invitations",
    params(("org" = String, Path, description = "organisation domain"), ListParams),
    responses(
        (status = 200, body = InvitationPage),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_status`, `invalid_kind`, `invalid_role`, `invalid_user_id`, `invalid_limit`, `invalid_cursor`, `invalid_query`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "invitations"
)]
async fn list(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let status = fields.optional("status", params.status.as_deref(), |s| {
        InvitationStatus::parse(s).ok_or_else(|| {
            ParseError::new("invalid_status", "pending, accepted, revoked or expired")
        })
    });
    let kind = fields.optional("kind", params.kind.as_deref(), |s| {
        InvitationKind::parse(s).ok_or_else(|| ParseError::new("invalid_kind", "email or uid"))
    });
    let limit = fields.optional("limit", params.limit.as_deref(), page_limit);
    let role = fields.optional("role", params.role.as_deref(), InviteeRole::parse);
    let invited_by = fields.optional("invited_by", params.invited_by.as_deref(), UserId::parse);
    let (status, kind, role, invited_by, limit) =
        fields.finish((status, kind, role, invited_by, limit))?;
    let page = list_invitations(
        &services,
        &org,
        bearer.token(),
        InvitationFilter {
            status,
            kind,
            role,
            invited_by,
        },
        PageRequest {
            cursor: params.cursor,
            limit: limit.unwrap_or(50),
        },
    )
    .await?;
    let now = services.clock.now();
    Ok(Json(InvitationPage {
        items: page
            .items
            .iter()
            .map(|i| InvitationView::new(i, now, None))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One invitation (admins).
#[utoipa::path(
    get,
    operation_id = "get_invitation",
    path = "/v1/orgs/{org}/invitations/{id}",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "invitation id")),
    responses(
        (status = 200, body = InvitationView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `invitation_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "invitations"
)]
async fn show(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = InvitationId::parse(&id).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "invitation_not_found",
            "No such invitation.",
        )
    })?;
    let details = get_invitation(&services, &org, bearer.token(), &id).await?;
    Ok((
        NO_STORE,
        Json(InvitationView::new(
            &details.invitation,
            services.clock.now(),
            details.access_code.as_ref(),
        )),
    ))
}

/// Revoke an invitation (admins, or the member or group admin who sent it while they may still
/// invite): its link or access code stops working at once. Revoking a revoked invitation
/// answers it unchanged.
#[utoipa::path(
    delete,
    operation_id = "revoke_invitation",
    path = "/v1/orgs/{org}/invitations/{id}",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "invitation id")),
    responses(
        (status = 200, description = "revoked", body = InvitationView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (another's invitation), `only_admins_can_invite`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `invitation_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`invitation_accepted`, `invitation_changed`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "invitations"
)]
async fn revoke(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = invitation_id(&id)?;
    let invitation = revoke_invitation(&services, &org, bearer.token(), &id).await?;
    Ok(Json(InvitationView::new(
        &invitation,
        services.clock.now(),
        None,
    )))
}

/// Send an invitation again with a fresh deadline (admins): an email invitation gets a new link
/// (the old one stops working); an identifier invitation keeps its code, shown again.
#[utoipa::path(
    post,
    operation_id = "resend_invitation",
    path = "/v1/orgs/{org}/invitations/{id}/resend",
    params(("org" = String, Path, description = "organisation domain"), ("id" = String, Path, description = "invitation id")),
    responses(
        (status = 200, description = "sent again (or queued for retry)", body = InvitationView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `invitation_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`invitation_accepted`, `invitation_revoked`, `invitation_changed`, `email_taken`, `uid_taken` (an expired invitation whose address was invited again)", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_invitations`: the inviter's `invitations_per_hour` (`admin_invitations_per_hour` for admins) or the address's `invitations_per_address_per_day` is used up; `Retry-After` says when the window ends", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "invitations"
)]
async fn resend(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = invitation_id(&id)?;
    let resent = resend_invitation(&services, &org, bearer.token(), &id).await?;
    Ok((
        NO_STORE,
        Json(InvitationView::new(
            &resent.invitation,
            services.clock.now(),
            resent.access_code.as_ref(),
        )),
    ))
}

fn invitation_id(raw: &str) -> Result<InvitationId, ApiError> {
    InvitationId::parse(raw).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "invitation_not_found",
            "No such invitation.",
        )
    })
}
