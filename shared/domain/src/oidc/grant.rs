//! What the code flow keeps: authorization codes (single use, 60 s) and grants, each a family
//! of refresh tokens that rotate on every use. A grant ends at once when one of its spent
//! refresh tokens comes back (RFC 9700 §4.14.2), when the code it came from is used again,
//! when it is revoked, and with every "end all sessions" of its user (password changes and
//! resets, an admin's new password): it lives in the user's session partition.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::secret::TokenHash;
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
