//! What a relying party reads before anything else: the organisation's discovery document
//! (OpenID Connect Discovery 1.0) and the keys its tokens are signed with (JWKS).

use serde_json::{json, Value};

use crate::error::{Rejection, RejectionClass};
use crate::oidc::keys::KeyError;
use crate::services::Services;
use crate::types::OrgDomain;
use crate::usecase::{load_org, OrgLookupError};

/// Where each endpoint lives under the issuer (`$GATEHOUSE_PUBLIC_URL/{org}`).
pub mod paths {
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const AUTHORIZE: &str = "/oidc/authorize";
    pub const TOKEN: &str = "/oidc/token";
    pub const USERINFO: &str = "/oidc/userinfo";
    pub const JWKS: &str = "/oidc/jwks";
    pub const REVOKE: &str = "/oidc/revoke";
    pub const INTROSPECT: &str = "/oidc/introspect";
    pub const LOGOUT: &str = "/oidc/logout";
}

/// The scopes Gatehouse knows; others asked for are ignored (RFC 6749 §3.3).
pub const SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The claims ID tokens and userinfo carry.
pub const CLAIMS: [&str; 19] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "amr",
    "acr",
    "nonce",
    "email",
    "email_verified",
    "given_name",
    "family_name",
    "name",
    "locale",
    "preferred_username",
    "org",
    "role",
    "groups",
];

#[derive(Debug, thiserror::Error)]
pub enum OpenIdError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error("the signing keys are unavailable")]
    Keys(#[from] KeyError),
}

impl Rejection for OpenIdError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Keys(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Keys(_) => RejectionClass::Internal,
        }
    }
}

/// The organisation's issuer identifier.
pub fn issuer(services: &Services, org: &OrgDomain) -> String {
    format!("{}/{org}", services.config.public_url)
}

/// The discovery document of an existing organisation: only what Gatehouse does (the code flow
/// with PKCE S256, RS256, `iss` in the authorization response), nothing it refuses.
pub async fn discovery(services: &Services, org: &OrgDomain) -> Result<Value, OpenIdError> {
    load_org(services, org).await?;
    let iss = issuer(services, org);
    let at = |path: &str| format!("{iss}{path}");
    let client_auth = ["client_secret_basic", "client_secret_post", "none"];
    Ok(json!({
        "issuer": iss,
        "authorization_endpoint": at(paths::AUTHORIZE),
        "token_endpoint": at(paths::TOKEN),
        "userinfo_endpoint": at(paths::USERINFO),
        "jwks_uri": at(paths::JWKS),
        "revocation_endpoint": at(paths::REVOKE),
        "introspection_endpoint": at(paths::INTROSPECT),
        "end_session_endpoint": at(paths::LOGOUT),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported": client_auth,
        "revocation_endpoint_auth_methods_supported": client_auth,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS,
        "acr_values_supported": ["aal1", "aal2"],
        "prompt_values_supported": ["none", "login"],
        "ui_locales_supported": ["en", "fr"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    }))
}

/// The public keys tokens are signed with: the one signing now, the next one before it signs,
/// and those whose tokens may still be alive.
pub async fn jwks(services: &Services, org: &OrgDomain) -> Result<Value, OpenIdError> {
    load_org(services, org).await?;
    Ok(services.signing_keys.key_set().await?.jwks())
}
