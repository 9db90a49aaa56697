//! `export`: `POST /v1/orgs/{org}/exports` writes every invitation of the organisation to an
//! Excel file (streamed, constant memory) and answers a short-lived URL to download it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use gatehouse_domain::usecase::export::export_invitations;
use gatehouse_http::{org_domain, ApiError, AppState, Bearer, ProblemView};
use gatehouse_sheets::InvitationsSheet;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/orgs/{org}/exports", post(create))
}

#[derive(OpenApi)]
#[openapi(paths(create), components(schemas(ExportView, ProblemView)))]
pub struct Api;

/// A finished export.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportView {
    export_id: String,
    /// `GET` the Excel file here before `expires_at`.
    download_url: String,
    expires_at: String,
    /// Invitations in the file.
    invitations: usize,
}

/// Export every invitation of the organisation to Excel (admins): kind, email or identifier and
/// sign-in identifier, names, role, groups, status, delivery, dates, inviter, and the access
/// codes of pending identifier invitations. Answers a download URL valid for 15 minutes.
#[utoipa::path(
    post,
    operation_id = "create_export",
    path = "/v1/orgs/{org}/exports",
    params(("org" = String, Path, description = "organisation domain")),
    responses(
        (status = 201, body = ExportView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "imports"
)]
async fn create(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let sheet = InvitationsSheet::new().map_err(|e| {
        tracing::error!(cause = %gatehouse_domain::Chain(&e), "the export sheet could not be started");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "internal",
            "Something went wrong on our side; try again later.",
        )
    })?;
    let exported = export_invitations(&services, &org, bearer.token(), Box::new(sheet)).await?;
    Ok((
        StatusCode::CREATED,
        Json(ExportView {
            export_id: exported.export_id,
            download_url: exported.download_url,
            expires_at: exported.expires_at.to_rfc3339(),
            invitations: exported.invitations,
        }),
    ))
}
