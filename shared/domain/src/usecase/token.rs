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
    Grant, LocatedToken, Redemption, RefreshToken, Rotation, GRANT_LIFETIME, REFRESH_LIFETIME,
};
use crate::oidc::jwt::{self, ACCESS_TOKEN_TYP, ID_TOKEN_TYP};
use crate::oidc::keys::KeyError;
use crate::oidc::{Client, ClientKind};
use crate::ports::{Found, Lookup, StoreError};
use crate::services::Services;
use crate::types::{ClientId, OrgDomain};
use crate::usecase::openid::issuer;
use crate::usecase::OrgLookupError;

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
    pub refresh_token: Option<LocatedToken>,
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
    let id = auth.parsed_id()?;
    check_client(services.store.client(org, &id).await?, auth)
}

impl ClientAuth {
    /// The client id it names, when it is one (else the refusal every failed authentication gets).
    fn parsed_id(&self) -> Result<ClientId, TokenError> {
        ClientId::parse(self.client_id()).map_err(|_| self.refused())
    }

    fn refused(&self) -> TokenError {
        TokenError::InvalidClient {
            used_basic: matches!(self, Self::Basic { .. }),
        }
    }
}

/// Whether `auth` proves to be the client found (`None`: there is no such client).
fn check_client(found: Option<Client>, auth: &ClientAuth) -> Result<Client, TokenError> {
    let client = found.ok_or_else(|| auth.refused())?;
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
        Err(auth.refused())
    }
}

/// A token request: everything it reads is read at once (the ids in a located code or refresh
/// token say where), then the client is authenticated before anything else is looked at, then
/// one write spends the code or rotates the refresh token. Two round trips in all.
pub async fn exchange(
    services: &Services,
    org: &OrgDomain,
    auth: &ClientAuth,
    request: TokenRequest,
) -> Result<Tokens, TokenError> {
    let client_id = auth.parsed_id()?;
    let (located, is_code) = match &request {
        TokenRequest::AuthorizationCode { code, .. } => (LocatedToken::parse_code(code), true),
        TokenRequest::RefreshToken { refresh_token, .. } => {
            (LocatedToken::parse_refresh(refresh_token), false)
        }
    };
    let hash = located.as_ref().map(LocatedToken::hash);
    let mut records = services
        .store
        .look_up(
            org,
            &Lookup {
                org: true,
                client: Some(client_id),
                user: located.as_ref().map(|t| t.user_id.clone()),
                code: hash.clone().filter(|_| is_code),
                refresh_token: hash.filter(|_| !is_code),
                grant: located
                    .as_ref()
                    .and_then(|t| Some((t.user_id.clone(), t.grant_id.clone()?))),
                ..Lookup::default()
            },
        )
        .await?;
    let found_org = records.org.take().ok_or(OrgLookupError::NotFound)?;
    let client = check_client(records.client.take(), auth)?;
    match request {
        TokenRequest::AuthorizationCode {
            redirect_uri,
            code_verifier,
            ..
        } => {
            let presented = Presented { located, records };
            redeem(
                services,
                &found_org,
                &client,
                presented,
                redirect_uri,
                code_verifier,
            )
            .await
        }
        TokenRequest::RefreshToken { scope, .. } => {
            let presented = Presented { located, records };
            refresh(services, &found_org, &client, presented, scope).await
        }
    }
}

/// The token the client presented (when it reads as one) and the records it leads to.
struct Presented {
    located: Option<LocatedToken>,
    records: Found,
}

async fn redeem(
    services: &Services,
    org: &Org,
    client: &Client,
    presented: Presented,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
) -> Result<Tokens, TokenError> {
    let unknown =
        TokenError::InvalidGrant("the code is unknown, expired, spent or not this client's");
    let (Some(located), Some(issued)) = (presented.located, presented.records.code) else {
        return Err(unknown);
    };
    if issued.org != org.domain
        || issued.client_id != client.id
        || issued.user_id != located.user_id
    {
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
    let user = presented
        .records
        .user
        .ok_or(TokenError::InvalidGrant("the account is gone"))?;
    if !user.is_active() {
        return Err(TokenError::InvalidGrant("the account is deactivated"));
    }
    let grant_id = random_id(services);
    let offline = issued.scopes.iter().any(|s| s == "offline_access");
    let refresh = offline
        .then(|| LocatedToken::refresh(user.id.clone(), &grant_id, services.random.as_ref()));
    let grant = Grant {
        id: grant_id,
        org: org.domain.clone(),
        user_id: user.id.clone(),
        client_id: client.id.clone(),
        scopes: issued.scopes.clone(),
        auth_time: issued.auth_time,
        amr: issued.amr.clone(),
        created_at: now,
        expires_at: now.plus(GRANT_LIFETIME),
        current_refresh: refresh.as_ref().map(LocatedToken::hash),
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
    token: &LocatedToken,
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
    presented: Presented,
    scope: Option<String>,
) -> Result<Tokens, TokenError> {
    let invalid = TokenError::InvalidGrant(
        "the refresh token is unknown, expired, spent or not this client's",
    );
    let records = presented.records;
    let (Some(located), Some(record)) = (presented.located, records.refresh_token) else {
        return Err(invalid);
    };
    if record.org != org.domain
        || record.user_id != located.user_id
        || located.grant_id.as_ref() != Some(&record.grant_id)
    {
        return Err(invalid);
    }
    let hash = located.hash();
    let Some(grant) = records.grant else {
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
    let user = records
        .user
        .ok_or(TokenError::InvalidGrant("the account is gone"))?;
    if !user.is_active() {
        return Err(TokenError::InvalidGrant("the account is deactivated"));
    }
    let next = LocatedToken::refresh(grant.user_id.clone(), &grant.id, services.random.as_ref());
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
    refresh: Option<LocatedToken>,
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
        amr: &grant.amr,
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
