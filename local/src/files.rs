//! The local run's stand-in for S3: `PUT /files/{key}` and `GET /files/{key}` with the signed
//! URLs [`LocalFiles`] hands out. An upload of an import's file starts the import at once, in the
//! background, with the very code the `bulk-import` Lambda runs on an S3 event.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::Router;
use gatehouse_domain::ports::{FileError, FileStore};
use gatehouse_domain::usecase::bulk_import::{run_import, Ran};
use gatehouse_domain::usecase::imports::{parse_upload_key, MAX_UPLOAD_BYTES};
use gatehouse_domain::Services;
use gatehouse_embedded::{FileOp, LocalFiles};
use gatehouse_http::{ApiError, QueryParams};
use serde::Deserialize;

#[derive(Clone)]
struct FilesState {
    files: Arc<LocalFiles>,
    services: Arc<Services>,
}

#[derive(Debug, Deserialize)]
struct Signed {
    op: String,
    expires: i64,
    signature: String,
    filename: Option<String>,
}

/// The file routes, for `files` (which `services` also keeps its files in).
pub fn files_routes(files: Arc<LocalFiles>, services: Services) -> Router {
    Router::new()
        .route("/files/{*key}", put(upload).get(download))
        // An upload may be larger than a JSON body; one over the limit is refused whole.
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES as usize))
        .with_state(FilesState {
            files,
            services: Arc::new(services),
        })
}

fn denied() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "url_not_valid",
        "This file URL is not valid, or it has expired: ask for a new one.",
    )
}

fn check(state: &FilesState, op: FileOp, key: &str, signed: &Signed) -> Result<(), ApiError> {
    let wanted = match op {
        FileOp::Put => "put",
        FileOp::Get => "get",
    };
    let now = state.services.clock.now();
    let filename = signed.filename.as_deref().unwrap_or("");
    if signed.op != wanted
        || !state
            .files
            .allows(op, key, signed.expires, filename, &signed.signature, now)
    {
        return Err(denied());
    }
    Ok(())
}

fn storage_failed(e: FileError) -> ApiError {
    tracing::error!(cause = %gatehouse_domain::Chain(&e), "the local file store failed");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "internal",
        "Something went wrong on our side; try again later.",
    )
}

async fn upload(
    State(state): State<FilesState>,
    Path(key): Path<String>,
    QueryParams(signed): QueryParams<Signed>,
    body: Bytes,
) -> Result<Response, ApiError> {
    check(&state, FileOp::Put, &key, &signed)?;
    state
        .files
        .write(&key, body.to_vec(), "application/octet-stream")
        .await
        .map_err(storage_failed)?;
    if let Some((org, id)) = parse_upload_key(&key) {
        // As S3 notifies the bulk-import function: after the upload is stored, not within it.
        let services = state.services.clone();
        tokio::spawn(async move {
            match run_import(&services, &gatehouse_sheets::Sheets, &org, &id).await {
                Ok(Ran::Finished(import)) => {
                    tracing::info!(import = %import.id, status = import.state.name(), "import finished")
                }
                Ok(other) => {
                    tracing::info!(import = %id, outcome = ?other_name(&other), "import not run")
                }
                Err(e) => {
                    tracing::warn!(import = %id, cause = %gatehouse_domain::Chain(&e), "import failed; upload the file again to retry")
                }
            }
        });
    }
    Ok(StatusCode::OK.into_response())
}

fn other_name(ran: &Ran) -> &'static str {
    match ran {
        Ran::Finished(_) => "finished",
        Ran::AlreadyFinished(_) => "already_finished",
        Ran::NoSuchImport => "no_such_import",
        Ran::NoFile => "no_file",
    }
}

async fn download(
    State(state): State<FilesState>,
    Path(key): Path<String>,
    QueryParams(signed): QueryParams<Signed>,
) -> Result<Response, ApiError> {
    check(&state, FileOp::Get, &key, &signed)?;
    let bytes = state
        .files
        .read(&key, 256 * 1024 * 1024)
        .await
        .map_err(storage_failed)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "file_not_found", "No such file."))?;
    let filename = signed.filename.unwrap_or_else(|| "gatehouse.xlsx".into());
    Ok((
        [
            (header::CONTENT_TYPE, gatehouse_imports::XLSX.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}
