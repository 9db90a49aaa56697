//! The issuer's discovery document and its keys.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use gatehouse_domain::oidc::keys::JWKS_MAX_AGE;
use gatehouse_domain::usecase::openid::{discovery, jwks};
use gatehouse_http::{org_domain, ApiError, AppState, ProblemView};
use serde_json::Value;

fn cached() -> [(header::HeaderName, String); 1] {
    [(
        header::CACHE_CONTROL,
        format!("public, max-age={}", JWKS_MAX_AGE.as_secs()),
    )]
}

/// The organisation's OpenID Connect discovery document: issuer `$GATEHOUSE_PUBLIC_URL/{org}`,
/// its endpoints, and what it supports (the code flow with PKCE `S256`, `RS256`).
#[utoipa::path(
    get,
    operation_id = "openid_configuration",
    path = "/{org}/.well-known/openid-configuration",
    params(("org" = String, Path, description = "organisation domain")),
    responses(
        (status = 200, description = "OpenID Provider Metadata", body = Object),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "openid"
)]
pub(crate) async fn configuration(
    State(services): State<AppState>,
    Path(org): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let document: Value = discovery(&services, &org).await?;
    Ok((cached(), Json(document)))
}

/// The public keys the organisation's tokens are signed with (RFC 7517): the one signing now,
/// the next one (published an hour before it signs) and those whose tokens may still be alive.
#[utoipa::path(
    get,
    operation_id = "jwks",
    path = "/{org}/oidc/jwks",
    params(("org" = String, Path, description = "organisation domain")),
    responses(
        (status = 200, description = "JSON Web Key Set", body = Object, content_type = "application/jwk-set+json"),
        (status = 404, description = "`org_not_found`", body = ProblemView, content_type = "application/problem+json"),
    ),
    tag = "openid"
)]
pub(crate) async fn keys(
    State(services): State<AppState>,
    Path(org): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let org = org_domain(&org)?;
    let set = jwks(&services, &org).await?;
    Ok((
        cached(),
        [(header::CONTENT_TYPE, "application/jwk-set+json")],
        set.to_string(),
    ))
}
