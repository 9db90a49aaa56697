//! What the OpenID Connect use cases need kept.

use async_trait::async_trait;

use crate::oidc::Client;
use crate::ports::{StoreError, WriteError};
use crate::types::{ClientId, OrgDomain};

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
