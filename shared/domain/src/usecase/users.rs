//! Admins look through the organisation's users ("Manage users"): to find, say, the user without
//! email whose password they are asked to set.

use crate::error::{Rejection, RejectionClass};
use crate::model::User;
use crate::ports::{Page, PageRequest, StoreError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::OrgDomain;
use crate::usecase::session::AuthError;
use crate::usecase::{admin_of, OrgLookupError};

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins can list users")]
    Forbidden,
    #[error("the cursor is not one this list handed out")]
    BadCursor,
    #[error("listing failed: {0}")]
    Internal(String),
}

impl From<StoreError> for UsersError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor => Self::BadCursor,
            e => Self::Internal(e.to_string()),
        }
    }
}

impl Rejection for UsersError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::BadCursor => "invalid_cursor",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::BadCursor => RejectionClass::Invalid,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

pub async fn list_users(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    page: PageRequest,
) -> Result<Page<User>, UsersError> {
    admin_of(services, org, token, UsersError::Forbidden).await?;
    let page = PageRequest {
        cursor: page.cursor,
        limit: page.limit.clamp(1, 100),
    };
    Ok(services.store.users(org, &page).await?)
}
