//! The token endpoint (RFC 6749 §3.2): a code exchanged once for an ID token, an access token
//! and (with `offline_access`) a refresh token; a refresh token exchanged once for the next
//! ones. Clients authenticate with `client_secret_basic` or `client_secret_post`; public clients
//! send only their `client_id` and prove the code with PKCE.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{Rejection, RejectionClass};
use crate::model::Org;
use crate::oidc::claims::{self, Issued, ACCESS_TOKEN_LIFETIME};
use crate::oidc::grant::{
    Grant, Redemption, RefreshToken, Rotation, GRANT_LIFETIME, REFRESH_LIFETIME,
};
use crate::oidc::jwt::{self, ACCESS_TOKEN_TYP, ID_TOKEN_TYP};
use crate::oidc::keys::KeyError;
use crate::oidc::{Client, ClientKind};
use crate::ports::StoreError;
use crate::secret::SecretToken;
use crate::services::Services;
use crate::types::{ClientId, OrgDomain};
use crate::usecase::openid::issuer;
use crate::usecase::{load_org, OrgLookupError};

/// How the client said who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic` (client_secret_basic).
    Basic { client_id: String, secret: String },
    /// `client_id` and `client_secret` in the body (client_secret_post).
    Post { client_id: String, secret: String },
    /// Only `client_id` (a public client).
    None { client_id: String },
}

impl ClientAuth {
    fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::None { client_id } => client_id,
        }
    }
}

#[derive(Debug, Clone)]
pub enum TokenRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
}

/// What the token endpoint answers.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub expires_in: u64,
    pub id_token: String,
    pub refresh_token: Option<SecretToken>,
    pub scope: String,
}

/// RFC 6749 §5.2's errors; `code` is the `error` member.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error("{0}")]
    InvalidRequest(&'static str),
    #[error("client authentication failed")]
    InvalidClient { used_basic: bool },
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("this client may not use this grant type")]
    UnauthorizedClient,
    #[error("the grant type is not supported")]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidScope(&'static str),
    #[error("storage failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for TokenError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<KeyError> for TokenError {
    fn from(e: KeyError) -> Self {
        Self::Internal(e.into())
    }
}

impl Rejection for TokenError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::InvalidClient { .. } => RejectionClass::Unauthenticated,
            Self::Internal(_) => RejectionClass::Internal,
            _ => RejectionClass::Invalid,
        }
    }
}

/// The client named by `auth`, if it proves who it is: a confidential client by its secret, a
/// public one by sending none. Unknown clients and wrong secrets are the same refusal.
pub async fn authenticate_client(
    services: &Services,
    org: &OrgDomain,
    auth: &ClientAuth,
) -> Result<Client, TokenError> {
    let used_basic = matches!(auth, ClientAuth::Basic { .. });
    let refused = || TokenError::InvalidClient { used_basic };
    let id = ClientId::parse(auth.client_id()).map_err(|_| refused())?;
    let client = services.store.client(org, &id).await?.ok_or_else(refused)?;
    let proven = match (client.kind, auth) {
        (
            ClientKind::Confidential,
            ClientAuth::Basic { secret, .. } | ClientAuth::Post { secret, .. },
        ) => client.secret_matches(secret),
        (ClientKind::Public, ClientAuth::None { .. }) => true,
        _ => false,
    };
    if proven {
        Ok(client)
    } else {
        Err(refused())
    }
}

pub async fn exchange(
    services: &Services,
    org: &OrgDomain,
    auth: &ClientAuth,
    request: TokenRequest,
) -> Result<Tokens, TokenError> {
    let found_org = load_org(services, org).await?;
    let client = authenticate_client(services, org, auth).await?;
    match request {
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            redeem(
                services,
                &found_org,
                &client,
                &code,
                redirect_uri,
                code_verifier,
            )
            .await
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => refresh(services, &found_org, &client, &refresh_token, scope).await,
    }
}

async fn redeem(
    services: &Services,
    org: &Org,
    client: &Client,
    code: &str,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
) -> Result<Tokens, TokenError> {
    let unknown =
        TokenError::InvalidGrant("the code is unknown, expired, spent or not this client's");
    let Ok(code) = SecretToken::parse(code) else {
        return Err(unknown);
    };
    let Some(issued) = services.store.code(&code.hash()).await? else {
        return Err(unknown);
    };
    if issued.org != org.domain || issued.client_id != client.id {
        return Err(unknown);
    }
    if let Some(made) = &issued.spent_for {
        // Used again: what the first use made ends too (RFC 6749 §4.1.2).
        services
            .store
            .end_grant(&issued.org, &issued.user_id, made)
            .await?;
        return Err(unknown);
    }
    let now = services.clock.now();
    if now >= issued.expires_at {
        return Err(unknown);
    }
    if redirect_uri.as_deref() != Some(issued.redirect_uri.as_str()) {
        return Err(TokenError::InvalidGrant(
            "redirect_uri must be the one the code was issued for",
        ));
    }
    match (&issued.code_challenge, &code_verifier) {
        (Some(challenge), Some(verifier)) => {
            let derived = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if !crate::usecase::authorize::is_pkce_value(verifier) || &derived != challenge {
                return Err(TokenError::InvalidGrant("the code_verifier does not match"));
            }
        }
        (Some(_), None) => {
            return Err(TokenError::InvalidGrant(
                "the code was issued with PKCE: code_verifier is required",
            ))
        }
        // A verifier for a code issued without a challenge: a downgrade, refused (RFC 9700 §2.1.1).
        (None, Some(_)) => {
            return Err(TokenError::InvalidGrant("the code was issued without PKCE"))
        }
        (None, None) if client.kind == ClientKind::Public => {
            return Err(TokenError::InvalidGrant("a public client must use PKCE"))
        }
        (None, None) => {}
    }
    let user = services
        .store
        .user(&org.domain, &issued.user_id)
        .await?
        .ok_or(TokenError::InvalidGrant("the account is gone"))?;
    let offline = issued.scopes.iter().any(|s| s == "offline_access");
    let refresh = offline.then(|| SecretToken::generate(services.random.as_ref()));
    let grant = Grant {
        id: random_id(services),
        org: org.domain.clone(),
        user_id: user.id.clone(),
        client_id: client.id.clone(),
        scopes: issued.scopes.clone(),
        auth_time: issued.auth_time,
        created_at: now,
        expires_at: now.plus(GRANT_LIFETIME),
        current_refresh: refresh.as_ref().map(SecretToken::hash),
        version: 0,
    };
    let refresh_record = refresh.as_ref().map(|t| refresh_record(&grant, t, now));
    match services
        .store
        .redeem_code(&issued, &grant, refresh_record.as_ref())
        .await?
    {
        Redemption::Redeemed => {}
        Redemption::Unknown | Redemption::Replayed => return Err(unknown),
    }
    mint(
        services,
        org,
        client,
        &user,
        &grant,
        &grant.scopes,
        issued.nonce.as_deref(),
        refresh,
    )
    .await
}

fn refresh_record(
    grant: &Grant,
    token: &SecretToken,
    now: crate::clock::Timestamp,
) -> RefreshToken {
    RefreshToken {
        token_hash: token.hash(),
        org: grant.org.clone(),
        user_id: grant.user_id.clone(),
        grant_id: grant.id.clone(),
        expires_at: now.plus(REFRESH_LIFETIME).min(grant.expires_at),
    }
}

fn random_id(services: &Services) -> String {
    let mut bytes = [0u8; 16];
    services.random.fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

async fn refresh(
    services: &Services,
    org: &Org,
    client: &Client,
    token: &str,
    scope: Option<String>,
) -> Result<Tokens, TokenError> {
    let invalid = TokenError::InvalidGrant(
        "the refresh token is unknown, expired, spent or not this client's",
    );
    let Ok(token) = SecretToken::parse(token) else {
        return Err(invalid);
    };
    let hash = token.hash();
    let Some(record) = services.store.refresh_token(&hash).await? else {
        return Err(invalid);
    };
    if record.org != org.domain {
        return Err(invalid);
    }
    let Some(grant) = services
        .store
        .grant(&org.domain, &record.user_id, &record.grant_id)
        .await?
    else {
        return Err(invalid);
    };
    if grant.client_id != client.id {
        return Err(invalid);
    }
    let now = services.clock.now();
    if grant.current_refresh.as_ref() != Some(&hash) {
        // A spent token came back: stolen, or replayed. The whole grant ends (RFC 9700 §4.14.2).
        services
            .store
            .end_grant(&org.domain, &grant.user_id, &grant.id)
            .await?;
        return Err(invalid);
    }
    if now >= record.expires_at || now >= grant.expires_at {
        return Err(invalid);
    }
    let scopes = match scope {
        None => grant.scopes.clone(),
        Some(asked) => {
            let asked: Vec<String> = asked
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if asked.iter().any(|s| !grant.scopes.contains(s)) {
                return Err(TokenError::InvalidScope(
                    "a refresh may only narrow the scopes granted",
                ));
            }
            asked
        }
    };
    let user = services
        .store
        .user(&org.domain, &grant.user_id)
        .await?
        .ok_or(TokenError::InvalidGrant("the account is gone"))?;
    let next = SecretToken::generate(services.random.as_ref());
    match services
        .store
        .rotate_refresh(&grant, &hash, &refresh_record(&grant, &next, now))
        .await?
    {
        Rotation::Rotated => {}
        Rotation::Reused => return Err(invalid),
    }
    mint(
        services,
        org,
        client,
        &user,
        &grant,
        &scopes,
        None,
        Some(next),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn mint(
    services: &Services,
    org: &Org,
    client: &Client,
    user: &crate::model::User,
    grant: &Grant,
    scopes: &[String],
    nonce: Option<&str>,
    refresh: Option<SecretToken>,
) -> Result<Tokens, TokenError> {
    let keys = services.signing_keys.key_set().await?;
    let now = services.clock.now();
    let key = keys.signing_key(now)?;
    let iss = issuer(services, &org.domain);
    let client_id = client.id.to_string();
    let issued = Issued {
        issuer: &iss,
        client_id: &client_id,
        now,
        auth_time: grant.auth_time,
        grant_id: &grant.id,
    };
    let person = claims::person(org, user, scopes);
    let scope = scopes.join(" ");
    let access = claims::access_token(&issued, &person, &scope, &random_id(services));
    let id = claims::id_token(&issued, &person, nonce);
    Ok(Tokens {
        access_token: jwt::sign(key, ACCESS_TOKEN_TYP, &access),
        expires_in: ACCESS_TOKEN_LIFETIME.as_secs(),
        id_token: jwt::sign(key, ID_TOKEN_TYP, &id),
        refresh_token: refresh,
        scope,
    })
}
