//! `settings`: `GET /v1/orgs/{org}/settings` and `PATCH` (admins). A PATCH changes only the
//! settings it names; `null` clears `invitation_message`. `/v1/orgs/{org}/invitation-link`:
//! the organisation's invitation link, activated (`POST`), shown (`GET`) and deactivated
//! (`DELETE`) by admins.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_domain::types::{
    ClientId, EmailDomain, GroupId, InviteeRole, Language, OrgName, PersonalMessage, Role,
    TrustedNetwork,
};
use gatehouse_domain::usecase::invitation_link::{
    activate_link, deactivate_link, link_status, LinkOptions,
};
use gatehouse_domain::usecase::settings::{get_settings, update_settings, SettingsChange};
use gatehouse_domain::views::{LinkView, SettingsView};
use gatehouse_http::{
    org_domain, ApiError, AppState, Bearer, FieldErrors, JsonBody, LanguageName, ProblemView,
};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/settings", get(show).patch(change))
        .route(
            "/v1/orgs/{org}/invitation-link",
            get(show_link).post(activate).delete(deactivate),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(show, change, show_link, activate, deactivate),
    components(schemas(
        SettingsView,
        SettingsPatch,
        LinkBody,
        LinkView,
        ProblemView,
        LanguageName
    ))
)]
pub struct Api;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    sign_up_without_email: Option<bool>,
    allowed_email_domains: Option<Vec<String>>,
    default_groups: Option<Vec<String>>,
    #[serde(default, deserialize_with = "gatehouse_http::present")]
    #[schema(value_type = Option<String>)]
    invitation_message: Option<Option<String>>,
    #[schema(minimum = 1, maximum = 365)]
    invitation_ttl_days: Option<u32>,
    #[schema(minimum = 8, maximum = 64)]
    password_min_length: Option<u32>,
    /// 1 to 100 characters; `null` removes it.
    #[serde(default, deserialize_with = "gatehouse_http::present")]
    #[schema(value_type = Option<String>)]
    display_name: Option<Option<String>>,
    members_can_invite: Option<bool>,
    group_admins_can_invite: Option<bool>,
    self_registration: Option<bool>,
    /// Days after sending when a pending invitation is reminded (at most 8, each 1–365); `[]`
    /// turns reminders off. Applies to invitations sent from then on; turning them off also
    /// stops the reminders already planned.
    #[schema(max_items = 8)]
    reminder_days: Option<Vec<u32>>,
    /// `en` or `fr`: the language of emails when an invitation does not choose one.
    #[schema(value_type = Option<gatehouse_http::LanguageName>)]
    language: Option<String>,
    #[schema(minimum = 1, maximum = 1000)]
    invitations_per_hour: Option<u32>,
    #[schema(minimum = 1, maximum = 10000)]
    admin_invitations_per_hour: Option<u32>,
    #[schema(minimum = 1, maximum = 20)]
    invitations_per_address_per_day: Option<u32>,
    /// CIDRs (at most 20, each at most a /8 of IPv4 or a /32 of IPv6); `[]` trusts none.
    #[schema(max_items = 20)]
    trusted_networks: Option<Vec<String>>,
    /// A `client_id` of this organisation's applications with an `initiate_login_uri`: people
    /// who sign up land there signed in (OpenID Connect third-party-initiated login); `null`:
    /// the welcome page.
    #[serde(default, deserialize_with = "gatehouse_http::present")]
    #[schema(value_type = Option<String>)]
    sign_up_client: Option<Option<String>>,
    /// The roles (`admin`, `member`, `guest`) whose people must have a second factor; `[]`: none.
    /// One without is asked to set up an authenticator app at their next sign-in, right after
    /// their password.
    #[schema(max_items = 3)]
    mfa_required_for: Option<Vec<String>>,
}

/// The organisation's settings (admins).
#[utoipa::path(
    get,
    operation_id = "get_settings",
    path = "/v1/orgs/{org}/settings",
    params(("org" = String, Path, description = "organisation domain")),
    responses(
        (status = 200, body = SettingsView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "settings"
)]
async fn show(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let settings = get_settings(&services, &org, bearer.token()).await?;
    Ok(Json(SettingsView::from(&settings)))
}

/// Change some settings (admins). Turning a feature off deletes nothing.
#[utoipa::path(
    patch,
    operation_id = "update_settings",
    path = "/v1/orgs/{org}/settings",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = SettingsPatch,
    responses(
        (status = 200, description = "the settings after the change", body = SettingsView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`settings_changed`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_email_domain`, `invalid_group_id`, `unknown_group`, `invalid_message`, `invalid_invitation_ttl`, `invalid_password_min_length`, `invalid_display_name`, `invalid_reminder_days`, `invalid_language`, `invalid_invitation_limit`, `invalid_trusted_network`, `invalid_client_id`, `invalid_sign_up_client`, `invalid_role` (in `mfa_required_for`), `invalid_body`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "settings"
)]
async fn change(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
    JsonBody(patch): JsonBody<SettingsPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let domains = match &patch.allowed_email_domains {
        Some(list) => fields
            .check(
                "allowed_email_domains",
                list.iter().map(|d| EmailDomain::parse(d)).collect(),
            )
            .map(Some),
        None => Some(None),
    };
    let groups = match &patch.default_groups {
        Some(list) => fields
            .check(
                "default_groups",
                list.iter().map(|g| GroupId::parse(g)).collect(),
            )
            .map(Some),
        None => Some(None),
    };
    let message = match &patch.invitation_message {
        Some(Some(m)) => fields
            .check("invitation_message", PersonalMessage::parse(m))
            .map(|m| Some(Some(m))),
        Some(None) => Some(Some(None)),
        None => Some(None),
    };
    let display_name = match &patch.display_name {
        Some(Some(n)) => fields
            .check("display_name", OrgName::parse(n))
            .map(|n| Some(Some(n))),
        Some(None) => Some(Some(None)),
        None => Some(None),
    };
    let language = fields.optional("language", patch.language.as_deref(), Language::parse);
    let networks = match &patch.trusted_networks {
        Some(list) => fields
            .check(
                "trusted_networks",
                list.iter().map(|n| TrustedNetwork::parse(n)).collect(),
            )
            .map(Some),
        None => Some(None),
    };
    let sign_up_client = match &patch.sign_up_client {
        Some(Some(id)) => fields
            .check("sign_up_client", ClientId::parse(id))
            .map(|c| Some(Some(c))),
        Some(None) => Some(Some(None)),
        None => Some(None),
    };
    let mfa_roles = match &patch.mfa_required_for {
        Some(list) => fields
            .check(
                "mfa_required_for",
                list.iter().map(|r| Role::parse(r)).collect(),
            )
            .map(Some),
        None => Some(None),
    };
    let (
        allowed_email_domains,
        default_groups,
        invitation_message,
        display_name,
        language,
        trusted_networks,
        sign_up_client,
        mfa_required_for,
    ) = fields.finish((
        domains,
        groups,
        message,
        display_name,
        language,
        networks,
        sign_up_client,
        mfa_roles,
    ))?;
    let change = SettingsChange {
        sign_up_without_email: patch.sign_up_without_email,
        allowed_email_domains,
        default_groups,
        invitation_message,
        invitation_ttl_days: patch.invitation_ttl_days,
        password_min_length: patch.password_min_length,
        display_name,
        members_can_invite: patch.members_can_invite,
        group_admins_can_invite: patch.group_admins_can_invite,
        self_registration: patch.self_registration,
        reminder_days: patch.reminder_days,
        language,
        invitations_per_hour: patch.invitations_per_hour,
        admin_invitations_per_hour: patch.admin_invitations_per_hour,
        invitations_per_address_per_day: patch.invitations_per_address_per_day,
        trusted_networks,
        sign_up_client,
        mfa_required_for,
    };
    let settings = update_settings(&services, &org, bearer.token(), change).await?;
    Ok(Json(SettingsView::from(&settings)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// What registering through it makes: `member` (default) or `guest`.
    role: Option<String>,
    /// Groups it joins (besides the default groups, for members).
    groups: Option<Vec<String>>,
    /// Days until it stops working (1–365); none: until deactivated.
    #[schema(minimum = 1, maximum = 365)]
    expires_in_days: Option<u32>,
    /// Registrations it allows (1–1,000,000); none: any number.
    #[schema(minimum = 1, maximum = 1_000_000)]
    max_uses: Option<u32>,
}

/// The invitation link (admins): its URL while active, what it grants, and how often it was used.
#[utoipa::path(
    get,
    operation_id = "get_invitation_link",
    path = "/v1/orgs/{org}/invitation-link",
    params(("org" = String, Path, description = "organisation domain")),
    responses(
        (status = 200, body = LinkView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `invitation_link_inactive` (never activated)", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "settings"
)]
async fn show_link(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    Ok(Json(LinkView::from(
        link_status(&services, &org, bearer.token()).await?,
    )))
}

/// Activate a new invitation link (admins). Each activation makes a new link: the previous one,
/// active or not, stops working.
#[utoipa::path(
    post,
    operation_id = "activate_invitation_link",
    path = "/v1/orgs/{org}/invitation-link",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = LinkBody,
    responses(
        (status = 201, body = LinkView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_role`, `invalid_group_id`, `unknown_group`, `invalid_link_expiry`, `invalid_max_uses`, `invalid_body`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "settings"
)]
async fn activate(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
    JsonBody(body): JsonBody<LinkBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let role = fields.optional("role", body.role.as_deref(), InviteeRole::parse);
    let groups = match &body.groups {
        Some(list) => fields.check(
            "groups",
            list.iter()
                .map(|g| GroupId::parse(g))
                .collect::<Result<Vec<_>, _>>(),
        ),
        None => Some(Vec::new()),
    };
    let (role, groups) = fields.finish((role, groups))?;
    let view = activate_link(
        &services,
        &org,
        bearer.token(),
        LinkOptions {
            role: role.unwrap_or(InviteeRole::Member),
            groups,
            expires_in_days: body.expires_in_days,
            max_uses: body.max_uses,
        },
    )
    .await?;
    Ok((axum::http::StatusCode::CREATED, Json(LinkView::from(view))))
}

/// Deactivate the invitation link at once (admins); activating again makes a new one.
#[utoipa::path(
    delete,
    operation_id = "deactivate_invitation_link",
    path = "/v1/orgs/{org}/invitation-link",
    params(("org" = String, Path, description = "organisation domain")),
    responses(
        (status = 200, body = LinkView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `invitation_link_inactive`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "settings"
)]
async fn deactivate(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    Ok(Json(LinkView::from(
        deactivate_link(&services, &org, bearer.token()).await?,
    )))
}
