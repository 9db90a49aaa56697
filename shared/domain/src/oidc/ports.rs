//! What the OpenID Connect use cases need kept.

use async_trait::async_trait;

use crate::oidc::grant::{AuthorizationCode, Grant, Redemption, RefreshToken, Rotation};
use crate::oidc::Client;
use crate::ports::{StoreError, WriteError};
use crate::secret::TokenHash;
use crate::types::{ClientId, OrgDomain, UserId};

#[async_trait]
pub trait ClientStore: Send + Sync {
    /// `AlreadyExists` if a client with this id exists.
    async fn create_client(&self, client: &Client) -> Result<(), WriteError>;
    async fn client(&self, org: &OrgDomain, id: &ClientId) -> Result<Option<Client>, StoreError>;
    /// The organisation's clients, oldest first.
    async fn clients(&self, org: &OrgDomain) -> Result<Vec<Client>, StoreError>;
    /// Replaces a client read at `client.version`; `Stale` if it changed or went meanwhile.
    async fn update_client(&self, client: &Client) -> Result<(), WriteError>;
    /// Deletes a client read at `client.version`; `Stale` if it changed or went meanwhile.
    async fn delete_client(&self, client: &Client) -> Result<(), WriteError>;
}

#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Saves a code just issued; `AlreadyExists` on a collision of hashes.
    async fn save_code(&self, code: &AuthorizationCode) -> Result<(), WriteError>;
    async fn code(&self, hash: &TokenHash) -> Result<Option<AuthorizationCode>, StoreError>;
    /// Spends `code` (read unspent) and saves the grant it makes, with its first refresh token,
    /// in one write. A code spent meanwhile or before ends the grant it made: `Replayed`.
    async fn redeem_code(
        &self,
        code: &AuthorizationCode,
        grant: &Grant,
        refresh: Option<&RefreshToken>,
    ) -> Result<Redemption, StoreError>;
    async fn grant(
        &self,
        org: &OrgDomain,
        user: &UserId,
        id: &str,
    ) -> Result<Option<Grant>, StoreError>;
    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshToken>, StoreError>;
    /// Moves `grant` (read at its version, `used` its current token) on to `next`, in one write.
    /// If `used` is not the grant's current token any more (spent meanwhile: a replay), or the
    /// grant is gone, the grant is ended: `Reused`.
    async fn rotate_refresh(
        &self,
        grant: &Grant,
        used: &TokenHash,
        next: &RefreshToken,
    ) -> Result<Rotation, StoreError>;
    /// Ends a grant: its refresh tokens are refused from then on (ending one that is gone is no
    /// error).
    async fn end_grant(&self, org: &OrgDomain, user: &UserId, id: &str) -> Result<(), StoreError>;
}
