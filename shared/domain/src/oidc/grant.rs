//! What the code flow keeps: authorization codes (single use, 60 s) and grants, each a family
//! of refresh tokens that rotate on every use. A grant ends at once when one of its spent
//! refresh tokens comes back (RFC 9700 §4.14.2), when the code it came from is used again,
//! when it is revoked, and with every "end all sessions" of its user (password changes and
//! resets, an admin's new password): it lives in the user's session partition.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::secret::Randomness;
use crate::secret::{SecretToken, TokenHash};
use crate::types::{ClientId, OrgDomain, UserId};

/// How long a code may wait for its exchange.
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// How long a refresh token may wait for its use.
pub const REFRESH_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a grant lives at most, however often it is refreshed.
pub const GRANT_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);

/// A code as issued by the authorization endpoint, found by its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub code_hash: TokenHash,
    pub org: OrgDomain,
    pub client_id: ClientId,
    pub redirect_uri: String,
    pub user_id: UserId,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    /// The PKCE challenge (S256), when one was sent.
    pub code_challenge: Option<String>,
    /// When the person last entered their password.
    pub auth_time: Timestamp,
    /// How they proved who they are (RFC 8176: `pwd`, `otp`, `mfa`…); empty: a password.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    pub expires_at: Timestamp,
    /// The grant the exchange made: set when the code is spent, so that a second use can end it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spent_for: Option<String>,
}

/// One authorization of one client for one person: its refresh tokens form a family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Random; also the `sid` of the tokens it issues.
    pub id: String,
    pub org: OrgDomain,
    pub user_id: UserId,
    pub client_id: ClientId,
    pub scopes: Vec<String>,
    pub auth_time: Timestamp,
    /// As the code that made it said.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The refresh token that may be used next (its hash); `None` without `offline_access`.
    pub current_refresh: Option<TokenHash>,
    pub version: u64,
}

/// A refresh token, found by its hash: which grant it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub token_hash: TokenHash,
    pub org: OrgDomain,
    pub user_id: UserId,
    pub grant_id: String,
    pub expires_at: Timestamp,
}

/// How a code's exchange went in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// Spent now, and the grant saved with it.
    Redeemed,
    /// There is no such code (never issued, or expired and forgotten).
    Unknown,
    /// Spent before: the grant it made (if any) has been ended.
    Replayed,
}

/// How a refresh went in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was the grant's current one: the next one replaces it.
    Rotated,
    /// The token was spent before (or the grant is gone): the grant is ended.
    Reused,
}

/// A code or a refresh token as handed out: the ids of the records it leads to, then the
/// secret, of which only the hash is kept. The ids are no secret (the user id is the tokens'
/// `sub`, the grant id their `sid`); with them the token endpoint reads every record a request
/// needs (organisation, client, code or refresh token, grant, person) in one round trip.
/// Codes read `{user id}.{secret}`, refresh tokens `{user id}.{grant id}.{secret}`.
#[derive(Clone, PartialEq, Eq)]
pub struct LocatedToken {
    pub user_id: UserId,
    /// Refresh tokens only.
    pub grant_id: Option<String>,
    secret: SecretToken,
}

impl LocatedToken {
    pub fn code(user_id: UserId, random: &dyn Randomness) -> Self {
        Self {
            user_id,
            grant_id: None,
            secret: SecretToken::generate(random),
        }
    }

    pub fn refresh(user_id: UserId, grant_id: &str, random: &dyn Randomness) -> Self {
        Self {
            user_id,
            grant_id: Some(grant_id.to_string()),
            secret: SecretToken::generate(random),
        }
    }

    /// A code as the client sent it back; `None` when it is not one.
    pub fn parse_code(raw: &str) -> Option<Self> {
        let (user, secret) = raw.trim().split_once('.')?;
        Some(Self {
            user_id: UserId::parse(user).ok()?,
            grant_id: None,
            secret: SecretToken::parse(secret).ok()?,
        })
    }

    /// A refresh token as the client sent it back; `None` when it is not one.
    pub fn parse_refresh(raw: &str) -> Option<Self> {
        let mut parts = raw.trim().splitn(3, '.');
        let user = UserId::parse(parts.next()?).ok()?;
        let grant = parts.next().filter(|g| is_grant_id(g))?;
        Some(Self {
            user_id: user,
            grant_id: Some(grant.to_string()),
            secret: SecretToken::parse(parts.next()?).ok()?,
        })
    }

    /// What is kept of it, and what it is looked up by.
    pub fn hash(&self) -> TokenHash {
        self.secret.hash()
    }

    /// The clear text, for the one place it is shown: the redirect or the token response.
    pub fn expose(&self) -> String {
        match &self.grant_id {
            Some(grant) => format!("{}.{grant}.{}", self.user_id, self.secret.expose()),
            None => format!("{}.{}", self.user_id, self.secret.expose()),
        }
    }
}

impl std::fmt::Debug for LocatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocatedToken(***)")
    }
}

/// A grant's id: 16 random bytes, base64url without padding.
pub fn is_grant_id(raw: &str) -> bool {
    raw.len() == 22
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Randomness;

    struct Counting;
    impl Randomness for Counting {
        fn fill(&self, bytes: &mut [u8]) {
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = i as u8;
            }
        }
    }

    #[test]
    fn located_tokens_read_back_and_refuse_what_they_are_not() {
        let user = UserId::parse(&"a".repeat(32)).unwrap();
        let code = LocatedToken::code(user.clone(), &Counting);
        let shown = code.expose();
        assert_eq!(LocatedToken::parse_code(&shown), Some(code.clone()));
        assert_eq!(LocatedToken::parse_refresh(&shown), None);
        let refresh = LocatedToken::refresh(user, "AAECAwQFBgcICQoLDA0ODw", &Counting);
        let shown = refresh.expose();
        assert_eq!(LocatedToken::parse_refresh(&shown), Some(refresh.clone()));
        assert_eq!(LocatedToken::parse_code(&shown), None);
        // The hash is the secret's alone; the ids only say where to look.
        assert_eq!(code.hash(), refresh.hash());
        for bad in ["", ".", "x.y", &format!("{}.", "a".repeat(32)), &shown[1..]] {
            assert_eq!(LocatedToken::parse_code(bad), None, "{bad}");
            assert_eq!(LocatedToken::parse_refresh(bad), None, "{bad}");
        }
        assert_eq!(format!("{refresh:?}"), "LocatedToken(***)");
    }
}
