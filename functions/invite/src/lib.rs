//! `invite`: invitations and the admin API around them.
//! `POST /v1/orgs/{org}/invitations` invites by email; `GET` lists them (filtered, paged);
//! `GET /v1/orgs/{org}/invitations/{id}` shows one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_domain::clock::Timestamp;
use gatehouse_domain::model::{
    Delivery, Invitation, InvitationKind, InvitationState, InvitationStatus,
};
use gatehouse_domain::ports::PageRequest;
use gatehouse_domain::types::{
    EmailAddress, GroupId, InvitationId, InviteeRole, ParseError, PersonName, PersonalMessage,
};
use gatehouse_domain::usecase::invitations::{get_invitation, list_invitations, InvitationFilter};
use gatehouse_domain::usecase::invite::{invite_by_email, EmailInvitationRequest};
use gatehouse_http::{
    org_domain, ApiError, AppState, Bearer, FieldErrors, JsonBody, ProblemView, QueryParams,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/invitations", get(list).post(invite))
        .route("/v1/orgs/{org}/invitations/{id}", get(show))
}

#[derive(OpenApi)]
#[openapi(
    paths(invite, list, show),
    components(schemas(InvitationBody, InvitationView, InvitationPage, ProblemView))
)]
pub struct Api;

/// At most this many groups per invitation.
pub const MAX_GROUPS: usize = 50;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationBody {
    email: Option<String>,
    /// `member` or `guest`.
    role: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    /// Group ids to join on sign-up.
    #[serde(default)]
    groups: Vec<String>,
    /// Personal message for the email; the organisation's default message when absent.
    message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    id: String,
    /// `email`.
    kind: String,
    email: Option<String>,
    role: String,
    first_name: String,
    last_name: String,
    groups: Vec<String>,
    message: Option<String>,
    /// `pending`, `accepted`, `revoked` or `expired`.
    status: String,
    /// `sent`, or `queued` when the email has not gone out yet (it is retried, never lost).
    delivery: String,
    invited_by: String,
    created_at: String,
    expires_at: String,
    accepted_user_id: Option<String>,
}

impl InvitationView {
    fn new(i: &Invitation, now: Timestamp) -> Self {
        Self {
            id: i.id.to_string(),
            kind: match i.invitee.kind() {
                InvitationKind::Email => "email".into(),
            },
            email: i.invitee.email().map(|e| e.to_string()),
            role: i.role.as_role().as_str().into(),
            first_name: i.first_name.to_string(),
            last_name: i.last_name.to_string(),
            groups: i.groups.iter().map(|g| g.to_string()).collect(),
            message: i.message.as_ref().map(|m| m.to_string()),
            status: i.status_at(now).as_str().into(),
            delivery: match i.delivery {
                Delivery::Queued => "queued".into(),
                Delivery::Sent => "sent".into(),
            },
            invited_by: i.invited_by.to_string(),
            created_at: i.created_at.to_rfc3339(),
            expires_at: i.expires_at.to_rfc3339(),
            accepted_user_id: match &i.state {
                InvitationState::Accepted { user_id, .. } => Some(user_id.to_string()),
                _ => None,
            },
        }
    }
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
    status: Option<String>,
    /// `email`.
    kind: Option<String>,
    cursor: Option<String>,
    /// 1 to 100 (default 50).
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

/// Invite someone by email. They receive a single-use sign-up link.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/invitations",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = InvitationBody,
    responses(
        (status = 201, description = "invited; the email is sent (or queued for retry)", body = InvitationView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_email`, `invalid_role`, `invalid_name`, `invalid_message`, `invalid_group_id`, `too_many_groups`, `unknown_group`, `email_domain_not_allowed`, `missing_field`", body = ProblemView, content_type = "application/problem+json"),
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
    let email = fields.required("email", body.email.as_deref(), EmailAddress::parse);
    let role = fields.required("role", body.role.as_deref(), InviteeRole::parse);
    let first_name = fields.required("first_name", body.first_name.as_deref(), PersonName::parse);
    let last_name = fields.required("last_name", body.last_name.as_deref(), PersonName::parse);
    let groups = fields.check("groups", group_ids(&body.groups));
    let message = fields.optional("message", body.message.as_deref(), PersonalMessage::parse);
    let (email, role, first_name, last_name, groups, message) =
        fields.finish((email, role, first_name, last_name, groups, message))?;
    let request = EmailInvitationRequest {
        email,
        role,
        first_name,
        last_name,
        groups,
        message,
    };
    let invitation = invite_by_email(&services, &org, bearer.token(), request).await?;
    Ok((
        StatusCode::CREATED,
        Json(InvitationView::new(&invitation, services.clock.now())),
    ))
}

/// List invitations, newest first (admins).
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/invitations",
    params(("org" = String, Path, description = "organisation domain"), ListParams),
    responses(
        (status = 200, body = InvitationPage),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_status`, `invalid_kind`, `invalid_limit`, `invalid_cursor`, `invalid_query`", body = ProblemView, content_type = "application/problem+json"),
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
        InvitationKind::parse(s).ok_or_else(|| ParseError::new("invalid_kind", "email"))
    });
    let limit = fields.optional("limit", params.limit.as_deref(), |s| {
        s.parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ParseError::new("invalid_limit", "a number from 1 to 100"))
    });
    let (status, kind, limit) = fields.finish((status, kind, limit))?;
    let page = list_invitations(
        &services,
        &org,
        bearer.token(),
        InvitationFilter { status, kind },
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
            .map(|i| InvitationView::new(i, now))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One invitation (admins).
#[utoipa::path(
    get,
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
    let invitation = get_invitation(&services, &org, bearer.token(), &id).await?;
    Ok(Json(InvitationView::new(&invitation, services.clock.now())))
}
