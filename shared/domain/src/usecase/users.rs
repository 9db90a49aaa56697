//! Admins look through the organisation's users ("Manage users"): to find, say, the user without
//! email whose password they are asked to set.

use crate::error::{Rejection, RejectionClass};
use crate::events::{ChangeEvents, EventType};
use crate::model::User;
use crate::permissions::Action;
use crate::ports::WriteError;
use crate::ports::{Page, PageRequest, StoreError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{OrgDomain, PersonName, UserId};
use crate::usecase::session::AuthError;
use crate::usecase::{admin_of, caller_in, Along, OrgLookupError};

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
    Ok(services.store.users(org, &page).await?)
}

/// A change of a user's own names: `None` leaves a name as it is.
#[derive(Debug, Clone, Default)]
pub struct NameChange {
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
}

#[derive(Debug, thiserror::Error)]
pub enum NameChangeError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Another user, and the actor is not an admin: as if there were no such user.
    #[error("no such user")]
    NotFound,
    #[error("the user changed meanwhile; try again")]
    Changed,
    #[error("changing the name failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for NameChangeError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl Rejection for NameChangeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::NotFound => "user_not_found",
            Self::Changed => "user_changed",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::NotFound => RejectionClass::NotFound,
            Self::Changed => RejectionClass::Conflict,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

/// A signed-in user changes their own first or last name; an admin may change anyone's.
pub async fn change_names(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
    change: NameChange,
) -> Result<User, NameChangeError> {
    let caller = caller_in::<NameChangeError>(services, org, token, Along::default()).await?;
    let others =
        crate::permissions::decide(caller.standing(), &caller.org.settings, Action::ManageUsers);
    if &caller.actor.user_id != id && others.is_err() {
        return Err(NameChangeError::NotFound);
    }
    for _ in 0..3 {
        let mut user = services
            .store
            .user(org, id)
            .await?
            .ok_or(NameChangeError::NotFound)?;
        if let Some(first) = &change.first_name {
            user.first_name = first.clone();
        }
        if let Some(last) = &change.last_name {
            user.last_name = last.clone();
        }
        let mut events = ChangeEvents::new(&*services.random, services.clock.now());
        let by = Some(&caller.actor.user_id).filter(|by| *by != id);
        events.user(EventType::UserUpdated, by, &user, None);
        match services.store.update_user(&user, &events).await {
            Ok(()) => {
                user.version += 1;
                return Ok(user);
            }
            Err(WriteError::Stale) => continue,
            Err(e) => return Err(NameChangeError::Internal(e.into())),
        }
    }
    Err(NameChangeError::Changed)
}
