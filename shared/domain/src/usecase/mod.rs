//! The use cases. Each takes [`Services`] and parsed input, applies the rules and answers with a
//! result or its own error enum (a [`Rejection`]).

pub mod bootstrap;
pub mod groups;
pub(crate) mod guard;
pub mod idempotency;
pub mod invitations;
pub mod invite;
pub mod password;
pub mod session;
pub mod settings;
pub mod sign_in;
pub mod sign_up;
pub mod users;

use crate::error::{Rejection, RejectionClass};
use crate::model::Org;
use crate::ports::StoreError;
use crate::services::Services;
use crate::types::OrgDomain;

pub use guard::ClientAddress;
pub use session::{authenticate, Actor, SignedIn};

/// Loads the organisation a request is addressed to, or says it does not exist.
pub(crate) async fn load_org(
    services: &Services,
    domain: &OrgDomain,
) -> Result<Org, OrgLookupError> {
    services
        .store
        .org(domain)
        .await?
        .ok_or(OrgLookupError::NotFound)
}

/// Loads the organisation and checks that the caller is one of its admins: an unknown org is
/// `NotFound`, no valid session `Unauthenticated`, anyone else `forbidden`.
pub(crate) async fn admin_of<E>(
    services: &Services,
    org: &OrgDomain,
    token: Option<&crate::secret::SessionToken>,
    forbidden: E,
) -> Result<(Org, Actor), E>
where
    E: From<OrgLookupError> + From<session::AuthError>,
{
    let found = load_org(services, org).await?;
    let actor = authenticate(services, org, token).await?;
    if !actor.is_admin() {
        return Err(forbidden);
    }
    Ok((found, actor))
}

#[derive(Debug, thiserror::Error)]
pub enum OrgLookupError {
    #[error("no such organisation")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Rejection for OrgLookupError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "org_not_found",
            Self::Store(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::NotFound => RejectionClass::NotFound,
            Self::Store(_) => RejectionClass::Internal,
        }
    }
}
