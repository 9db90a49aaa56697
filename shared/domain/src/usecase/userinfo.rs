//! What is done with tokens once issued: userinfo (OpenID Connect Core §5.3), introspection
//! (RFC 7662) and revocation (RFC 7009). An access token counts only while it verifies against
//! the issuer's keys (RS256, `typ: at+jwt`), is this issuer's, has not expired, and its grant
//! (`sid`) is alive: a revoked grant, a replayed code or refresh token, and a password change end
//! the access tokens they issued for userinfo and introspection at once.

use serde_json::{json, Map, Value};

use crate::error::{Rejection, RejectionClass};
use crate::oidc::claims;
use crate::oidc::grant::{Grant, LocatedToken, RefreshToken};
use crate::oidc::jwt::{self, ACCESS_TOKEN_TYP};
use crate::oidc::keys::KeyError;
use crate::oidc::{Client, ClientKind};
use crate::ports::StoreError;
use crate::services::Services;
use crate::types::{OrgDomain, UserId};
use crate::usecase::openid::issuer;
use crate::usecase::token::{authenticate_client, ClientAuth, TokenError};
use crate::usecase::{load_org, OrgLookupError};

#[derive(Debug, thiserror::Error)]
pub enum UserinfoError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    /// No token, or one that does not count (RFC 6750 `invalid_token`).
    #[error("the access token is missing, invalid, expired or revoked")]
    InvalidToken,
    #[error("storage failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for UserinfoError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<KeyError> for UserinfoError {
    fn from(e: KeyError) -> Self {
        Self::Internal(e.into())
    }
}

impl Rejection for UserinfoError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::InvalidToken => "invalid_token",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::InvalidToken => RejectionClass::Unauthenticated,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

/// An access token that counts: its claims and its live grant.
struct LiveAccess {
    claims: Map<String, Value>,
    grant: Grant,
}

/// The access token's claims if it counts now, `None` if it does not.
async fn live_access(
    services: &Services,
    org: &OrgDomain,
    token: &str,
) -> Result<Option<LiveAccess>, UserinfoError> {
    let keys = services.signing_keys.key_set().await?;
    let Ok(Value::Object(claims)) = jwt::verify(&keys, token, Some(ACCESS_TOKEN_TYP)) else {
        return Ok(None);
    };
    let now = services.clock.now().unix_seconds();
    let iss = issuer(services, org);
    let fine = claims.get("iss").and_then(Value::as_str) == Some(iss.as_str())
        && claims
            .get("exp")
            .and_then(Value::as_i64)
            .is_some_and(|exp| now < exp);
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .and_then(|s| UserId::parse(s).ok());
    let sid = claims.get("sid").and_then(Value::as_str);
    let (true, Some(sub), Some(sid)) = (fine, sub, sid) else {
        return Ok(None);
    };
    let Some(grant) = services.store.grant(org, &sub, sid).await? else {
        return Ok(None);
    };
    if claims.get("client_id").and_then(Value::as_str) != Some(grant.client_id.as_str()) {
        return Ok(None);
    }
    Ok(Some(LiveAccess { claims, grant }))
}

/// The person the access token was issued for, as its scopes allow.
pub async fn userinfo(
    services: &Services,
    org: &OrgDomain,
    token: Option<&str>,
) -> Result<Value, UserinfoError> {
    let found_org = load_org(services, org).await?;
    let token = token.ok_or(UserinfoError::InvalidToken)?;
    let access = live_access(services, org, token)
        .await?
        .ok_or(UserinfoError::InvalidToken)?;
    let user = services
        .store
        .user(org, &access.grant.user_id)
        .await?
        .filter(crate::model::User::is_active)
        .ok_or(UserinfoError::InvalidToken)?;
    let scopes: Vec<String> = access
        .claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .split(' ')
        .map(str::to_string)
        .collect();
    Ok(Value::Object(claims::person(&found_org, &user, &scopes)))
}

/// Introspection, for confidential clients, of their own tokens: `{"active": false}` for
/// anything else.
pub async fn introspect(
    services: &Services,
    org: &OrgDomain,
    auth: &ClientAuth,
    token: &str,
) -> Result<Value, TokenError> {
    load_org(services, org).await?;
    let client = authenticate_client(services, org, auth).await?;
    if client.kind != ClientKind::Confidential {
        return Err(TokenError::InvalidClient { used_basic: false });
    }
    let inactive = json!({ "active": false });
    let access = live_access(services, org, token)
        .await
        .map_err(|e| TokenError::Internal(e.into()))?;
    if let Some(access) = access {
        if access.grant.client_id != client.id {
            return Ok(inactive);
        }
        let mut answer = access.claims;
        answer.insert("active".into(), json!(true));
        answer.insert("token_type".into(), json!("Bearer"));
        return Ok(Value::Object(answer));
    }
    match refresh_grant(services, org, &client, token).await? {
        Some((grant, expires_at)) => Ok(json!({
            "active": true,
            "token_type": "refresh_token",
            "client_id": grant.client_id,
            "sub": grant.user_id,
            "scope": grant.scopes.join(" "),
            "exp": expires_at.unix_seconds(),
            "iss": issuer(services, org),
            "sid": grant.id,
        })),
        None => Ok(inactive),
    }
}

/// Whether the ids a refresh token carries are those of its record.
fn leads_to(token: &LocatedToken, record: &RefreshToken) -> bool {
    token.user_id == record.user_id && token.grant_id.as_ref() == Some(&record.grant_id)
}

/// The live grant a refresh token is the current token of, for this client.
async fn refresh_grant(
    services: &Services,
    org: &OrgDomain,
    client: &Client,
    token: &str,
) -> Result<Option<(Grant, crate::clock::Timestamp)>, TokenError> {
    let Some(token) = LocatedToken::parse_refresh(token) else {
        return Ok(None);
    };
    let hash = token.hash();
    let Some(record) = services.store.refresh_token(&hash).await? else {
        return Ok(None);
    };
    if &record.org != org || !leads_to(&token, &record) || services.clock.now() >= record.expires_at
    {
        return Ok(None);
    }
    let grant = services
        .store
        .grant(org, &record.user_id, &record.grant_id)
        .await?
        .filter(|g| g.client_id == client.id && g.current_refresh.as_ref() == Some(&hash));
    Ok(grant.map(|g| (g, record.expires_at)))
}

/// Revocation: the grant behind a refresh or access token of this client ends (its refresh
/// tokens are refused, its access tokens no longer count for userinfo and introspection).
/// Unknown tokens, and other clients' tokens, change nothing and are no error (RFC 7009 §2.2).
pub async fn revoke(
    services: &Services,
    org: &OrgDomain,
    auth: &ClientAuth,
    token: &str,
) -> Result<(), TokenError> {
    load_org(services, org).await?;
    let client = authenticate_client(services, org, auth).await?;
    if let Some(token) = LocatedToken::parse_refresh(token) {
        if let Some(record) = services
            .store
            .refresh_token(&token.hash())
            .await?
            .filter(|r| leads_to(&token, r))
        {
            let grant = services
                .store
                .grant(org, &record.user_id, &record.grant_id)
                .await?;
            if let Some(grant) = grant.filter(|g| g.client_id == client.id && &g.org == org) {
                services
                    .store
                    .end_grant(org, &grant.user_id, &grant.id)
                    .await?;
            }
            return Ok(());
        }
    }
    let access = live_access(services, org, token)
        .await
        .map_err(|e| TokenError::Internal(e.into()))?;
    if let Some(access) = access.filter(|a| a.grant.client_id == client.id) {
        services
            .store
            .end_grant(org, &access.grant.user_id, &access.grant.id)
            .await?;
    }
    Ok(())
}
