//! Admins look through the organisation's users ("Manage users"): to find, say, the user without
//! email whose password they are asked to set.

use crate::error::{Rejection, RejectionClass};
use crate::model::User;
use crate::permissions::Action;
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
    #[error("listing failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for UsersError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor => Self::BadCursor,
            e => Self::Internal(e.into()),
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
    query: &crate::ports::UserQuery,
    page: PageRequest,
) -> Result<Page<User>, UsersError> {
    admin_of(
        services,
        org,
        token,
        Action::ManageUsers,
        UsersError::Forbidden,
    )
    .await?;
    let page = PageRequest {
        cursor: page.cursor,
        limit: page.limit.clamp(1, 100),
    };
    Ok(services.store.find_users(org, query, &page).await?)
}

/// Writes every user of the organisation again with what their record derives (the indexes by
/// role and status, member items, search entries), for accounts made before those existed
/// (`gatehouse-admin reindex-users`). Doing it twice does no harm. Answers how many were written.
pub async fn reindex_users(services: &Services, org: &OrgDomain) -> Result<usize, StoreError> {
    let mut written = 0;
    let mut cursor = None;
    loop {
        let page = PageRequest { cursor, limit: 100 };
        let page = services.store.users(org, &page).await?;
        for mut user in page.items {
            for attempt in 0..3 {
                match services.store.rewrite_user(&user).await {
                    Ok(()) => break,
                    Err(crate::ports::WriteError::Stale) if attempt < 2 => {
                        match services.store.user(org, &user.id).await? {
                            Some(again) => user = again,
                            None => break,
                        }
                    }
                    Err(crate::ports::WriteError::Store(e)) => return Err(e),
                    Err(e) => return Err(StoreError::Unavailable(e.into())),
                }
            }
            written += 1;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(written),
        }
    }
}
