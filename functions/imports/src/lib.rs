//! `imports`: the admin API of bulk invitations from a spreadsheet.
//! `GET /v1/orgs/{org}/imports/template` downloads the Excel template to fill in;
//! `POST /v1/orgs/{org}/imports` starts an import and answers where to upload the file;
//! `GET /v1/orgs/{org}/imports` and `GET …/imports/{id}` follow imports and offer their reports.
//! The upload starts the import: in AWS the `bulk-import` function runs [`run_import`] on the S3
//! event; locally the server's upload route does.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_domain::ports::PageRequest;
use gatehouse_domain::types::ImportId;
use gatehouse_domain::usecase::imports::{
    import_status, import_template, list_imports, request_import,
};
use gatehouse_domain::views::{CountsView, ImportStatusView, RefusalView, RowProblemView};
use gatehouse_http::{
    org_domain, page_limit, ApiError, AppState, Bearer, FieldErrors, JsonBody, ProblemView,
    QueryParams,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

pub use gatehouse_domain::usecase::bulk_import::run_import;

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orgs/{org}/imports/template", get(template))
        .route("/v1/orgs/{org}/imports", get(list).post(create))
        .route("/v1/orgs/{org}/imports/{id}", get(one))
}

#[derive(OpenApi)]
#[openapi(
    paths(template, create, list, one),
    components(schemas(
        NewImportBody,
        UploadView,
        ImportStatusView,
        ImportPage,
        CountsView,
        RefusalView,
        RowProblemView,
        ProblemView
    ))
)]
pub struct Api;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewImportBody {
    /// Only check the rows and report; invite nobody (default false).
    dry_run: Option<bool>,
}

/// A new import, waiting for its file.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadView {
    import_id: String,
    /// `PUT` the file (xlsx, xls or ods, at most 5 MiB) here, before `expires_at`. The upload
    /// starts the import.
    upload_url: String,
    /// Always `PUT`.
    upload_method: &'static str,
    expires_at: String,
    dry_run: bool,
    /// `waiting_upload`.
    status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportPage {
    /// Newest first. Ask for one import for its report URL.
    items: Vec<ImportStatusView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    cursor: Option<String>,
    /// 1 to 100 (default 20).
    #[param(value_type = Option<u8>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// Start a bulk import (admins): answers where to upload the file. Uploading it starts the
/// import; follow it with `GET …/imports/{id}`.
#[utoipa::path(
    post,
    operation_id = "create_import",
    path = "/v1/orgs/{org}/imports",
    params(("org" = String, Path, description = "organisation domain")),
    request_body = NewImportBody,
    responses(
        (status = 201, body = UploadView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_imports`: at most 20 imports that send invitations a day (dry runs do not count); `Retry-After` says when the day ends (UTC)", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "imports"
)]
async fn create(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
    JsonBody(body): JsonBody<NewImportBody>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let dry_run = body.dry_run.unwrap_or(false);
    let ticket = request_import(&services, &org, bearer.token(), dry_run).await?;
    Ok((
        StatusCode::CREATED,
        Json(UploadView {
            import_id: ticket.import.id.to_string(),
            upload_url: ticket.upload_url,
            upload_method: "PUT",
            expires_at: ticket.import.upload_expires_at.to_rfc3339(),
            dry_run,
            status: ticket.import.state.name(),
        }),
    ))
}

/// The organisation's imports, newest first (admins).
#[utoipa::path(
    get,
    operation_id = "list_imports",
    path = "/v1/orgs/{org}/imports",
    params(("org" = String, Path, description = "organisation domain"), ListParams),
    responses(
        (status = 200, body = ImportPage),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_limit`, `invalid_cursor`, `invalid_query`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "imports"
)]
async fn list(
    State(services): State<AppState>,
    Path(org): Path<String>,
    bearer: Bearer,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let mut fields = FieldErrors::default();
    let limit = fields.optional("limit", params.limit.as_deref(), page_limit);
    let (limit,) = fields.finish((limit,))?;
    let page = list_imports(
        &services,
        &org,
        bearer.token(),
        PageRequest {
            cursor: params.cursor,
            limit: limit.unwrap_or(20),
        },
    )
    .await?;
    Ok(Json(ImportPage {
        items: page
            .items
            .iter()
            .map(|i| ImportStatusView::new(i, None, None))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One import (admins): its status, counts and, once completed, a short-lived report URL.
#[utoipa::path(
    get,
    operation_id = "get_import",
    path = "/v1/orgs/{org}/imports/{id}",
    params(
        ("org" = String, Path, description = "organisation domain"),
        ("id" = String, Path, description = "import id"),
    ),
    responses(
        (status = 200, body = ImportStatusView),
        (status = 401, description = "`unauthenticated`", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "`org_not_found`, `import_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "imports"
)]
async fn one(
    State(services): State<AppState>,
    Path((org, id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let id = ImportId::parse(&id)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "import_not_found", "No such import."))?;
    let view = import_status(&services, &org, bearer.token(), &id).await?;
    Ok((
        [(header::CACHE_CONTROL, "private, no-store")],
        Json(ImportStatusView::from(view)),
    ))
}

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
            tracing::error!(cause = %gatehouse_domain::Chain(&e), "the import template could not be written");
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
