//! `oidc`: the applications people sign in to through Gatehouse. `/v1/orgs/{org}/clients`
//! registers (`POST`) and lists (`GET`) them, `/clients/{client_id}` reads, changes (`PATCH`) and
//! removes (`DELETE`) one, `/clients/{client_id}/secret` (`POST`) rotates a confidential one's
//! secret. Admins only. Each organisation is an issuer (`$GATEHOUSE_PUBLIC_URL/{org}`):
//! `/{org}/.well-known/openid-configuration` and `/{org}/oidc/jwks`.

mod clients;
mod discovery;
mod tokens;

use axum::routing::{get, post};
use axum::Router;
use gatehouse_http::{AppState, ProblemView};
use utoipa::OpenApi;

pub use clients::{ClientList, ClientView, NewClientBody, RegisteredClientView};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/orgs/{org}/clients",
            get(clients::list).post(clients::register),
        )
        .route(
            "/v1/orgs/{org}/clients/{client_id}",
            get(clients::read)
                .patch(clients::change)
                .delete(clients::remove),
        )
        .route(
            "/v1/orgs/{org}/clients/{client_id}/secret",
            post(clients::rotate_secret),
        )
        .route(
            "/{org}/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route("/{org}/oidc/jwks", get(discovery::keys))
        .route("/{org}/oidc/token", post(tokens::token))
        .route(
            "/{org}/oidc/userinfo",
            get(tokens::user_info).post(tokens::user_info_post),
        )
        .route("/{org}/oidc/introspect", post(tokens::introspection))
        .route("/{org}/oidc/revoke", post(tokens::revocation))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        clients::list,
        clients::register,
        clients::read,
        clients::change,
        clients::remove,
        clients::rotate_secret,
        discovery::configuration,
        discovery::keys,
        tokens::token,
        tokens::user_info,
        tokens::user_info_post,
        tokens::introspection,
        tokens::revocation
    ),
    components(schemas(
        clients::NewClientBody,
        clients::ClientPatch,
        clients::ClientView,
        clients::RegisteredClientView,
        clients::ClientList,
        tokens::OAuthError,
        tokens::TokenForm,
        tokens::TokenHintForm,
        tokens::TokenResponse,
        ProblemView
    ))
)]
pub struct Api;
