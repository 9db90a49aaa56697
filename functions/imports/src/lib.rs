//! `imports`: the admin API of bulk invitations from a spreadsheet.
//! `GET /v1/orgs/{org}/imports/template` downloads the Excel template to fill in.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use gatehouse_domain::usecase::imports::import_template;
use gatehouse_http::{org_domain, ApiError, AppState, Bearer, ProblemView};
use utoipa::OpenApi;

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/orgs/{org}/imports/template", get(template))
}

#[derive(OpenApi)]
#[openapi(paths(template), components(schemas(ProblemView)))]
pub struct Api;

/// The Excel template for bulk invitations (admins): a header row (Email, Identifier, First name,
/// Last name, Groups), one example row per kind, the identifier column as text, and a help sheet
/// listing the organisation's groups.
#[utoipa::path(
    get,
    operation_id = "get_import_template",
    path = "/v1/orgs/{org}/imports/template",
    params(("org" = String, Path, description = "organisation domain")),
    responses(
        (status = 200, description = "the template (`Content-Disposition: attachment`)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "imports"
)]
async fn template(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let content = import_template(&services, &org, bearer.token()).await?;
    let bytes =
        gatehouse_sheets::template(&content.org_name, &content.group_names).map_err(|e| {
            tracing::error!(cause = %e, "the import template could not be written");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "internal",
                "Something went wrong on our side; try again later.",
            )
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, XLSX),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"gatehouse-invitations.xlsx\"",
            ),
            // It lists the organisation's groups.
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        bytes,
    ))
}
