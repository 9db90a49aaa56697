//! `openapi`: `GET /openapi.json`, the OpenAPI document of every HTTP function. The document is
//! generated from the functions' own annotations (`gatehouse_openapi_document::document`) and committed as
//! `openapi.json` at the workspace root; a test keeps the two identical, so this function needs
//! none of the others to serve it.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// The committed document.
pub const DOCUMENT: &str = include_str!("../../../openapi.json");

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/openapi.json", get(document))
}

async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
