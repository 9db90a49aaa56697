//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): an application sends the
//! person to `/{org}/oidc/logout` to end their Gatehouse session, and may have them sent back to
//! one of its registered `post_logout_redirect_uris` (exactly), with its `state`.
//!
//! The session ends at once only when the request proves it comes from the application the person
//! is signed in to for this very person (an `id_token_hint` Gatehouse signed, for the session's
//! user); otherwise the person is asked first, so that a link on another site cannot sign them
//! out.

use serde_json::Value;

use crate::error::{Rejection, RejectionClass};
use crate::oidc::jwt::{self, ID_TOKEN_TYP};
use crate::oidc::keys::KeyError;
use crate::oidc::Client;
use crate::ports::StoreError;
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{ClientId, OrgDomain, UserId};
use crate::usecase::authorize::{single, ClientRedirect, Repeated};
use crate::usecase::openid::issuer;
use crate::usecase::session::{authenticate, AuthError};
use crate::usecase::{load_org, OrgLookupError};

#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error("the id_token_hint is not an ID token of this issuer")]
    BadHint,
    #[error("client_id names another application than the id_token_hint")]
    ClientMismatch,
    #[error("the post_logout_redirect_uri is not one registered for the application")]
    UnregisteredRedirectUri,
    #[error("a parameter is given twice")]
    RepeatedParameter,
    #[error("storage failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for LogoutError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<KeyError> for LogoutError {
    fn from(e: KeyError) -> Self {
        Self::Internal(e.into())
    }
}

impl Rejection for LogoutError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::BadHint => "invalid_id_token_hint",
            Self::ClientMismatch => "client_mismatch",
            Self::UnregisteredRedirectUri => "invalid_post_logout_redirect_uri",
            Self::RepeatedParameter => "invalid_request",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Internal(_) => RejectionClass::Internal,
            _ => RejectionClass::Invalid,
        }
    }
}

/// A checked logout request.
#[derive(Debug, Clone)]
pub struct LogoutRequest {
    pub org: OrgDomain,
    /// The application asking, when it said (by `client_id` or its ID token).
    pub client: Option<Client>,
    /// Whose ID token the application sent.
    pub hinted: Option<UserId>,
    /// Where to send the person afterwards, with `state`: only a registered URI.
    pub then: Option<ClientRedirect>,
    /// The request's parameters, carried through the confirmation form.
    pub params: Vec<(String, String)>,
}

impl From<Repeated> for LogoutError {
    fn from(_: Repeated) -> Self {
        Self::RepeatedParameter
    }
}

pub async fn check_logout(
    services: &Services,
    org: &OrgDomain,
    pairs: &[(String, String)],
) -> Result<LogoutRequest, LogoutError> {
    load_org(services, org).await?;
    let mut hinted = None;
    let mut hinted_client = None;
    if let Some(hint) = single(pairs, "id_token_hint")? {
        let keys = services.signing_keys.key_set().await?;
        // An expired ID token still says who and for which application (it is a hint).
        let claims =
            jwt::verify(&keys, hint, Some(ID_TOKEN_TYP)).map_err(|_| LogoutError::BadHint)?;
        if claims["iss"].as_str() != Some(issuer(services, org).as_str()) {
            return Err(LogoutError::BadHint);
        }
        hinted = claims["sub"].as_str().and_then(|s| UserId::parse(s).ok());
        hinted_client = match &claims["aud"] {
            Value::String(aud) => ClientId::parse(aud).ok(),
            _ => None,
        };
        if hinted.is_none() || hinted_client.is_none() {
            return Err(LogoutError::BadHint);
        }
    }
    let named = single(pairs, "client_id")?.and_then(|raw| ClientId::parse(raw).ok());
    let client_id = match (named, hinted_client) {
        (Some(a), Some(b)) if a != b => return Err(LogoutError::ClientMismatch),
        (a, b) => a.or(b),
    };
    let client = match client_id {
        Some(id) => services.store.client(org, &id).await?,
        None => None,
    };
    let then = match single(pairs, "post_logout_redirect_uri")? {
        None => None,
        Some(uri) => {
            let client = client
                .as_ref()
                .ok_or(LogoutError::UnregisteredRedirectUri)?;
            if !client.allows_post_logout_redirect(uri) {
                return Err(LogoutError::UnregisteredRedirectUri);
            }
            let registered = client
                .post_logout_redirect_uris
                .iter()
                .find(|r| r.as_str() == uri)
                .expect("just matched");
            let state = single(pairs, "state")?;
            let params: Vec<(&str, &str)> = state.map(|s| ("state", s)).into_iter().collect();
            Some(ClientRedirect::to(registered, &params))
        }
    };
    Ok(LogoutRequest {
        org: org.clone(),
        client,
        hinted,
        then,
        params: pairs.to_vec(),
    })
}

/// Whether the session may end without asking: the application proved (by an ID token of this
/// person) that it is the one they are signed in to.
pub async fn proven_by_the_application(
    services: &Services,
    request: &LogoutRequest,
    session: Option<&SessionToken>,
) -> Result<bool, LogoutError> {
    let Some(token) = session else {
        return Ok(false);
    };
    match authenticate(services, &request.org, Some(token)).await {
        Ok(actor) => Ok(request.hinted.as_ref() == Some(&actor.user_id)),
        Err(AuthError::Unauthenticated) => Ok(false),
        Err(AuthError::Store(e)) => Err(e.into()),
    }
}
