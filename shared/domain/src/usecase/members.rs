//! Group memberships after sign-up: admins (and a group's own admins, when the organisation lets
//! group admins invite) add people to a group, take them out and list its members. Adding twice
//! is adding once. Membership lives on the account (its `groups`); the store keeps a member item
//! per group with it, in the same write, for the list.

use crate::error::{Rejection, RejectionClass};
use crate::events::{ChangeEvents, EventType};
use crate::model::{Group, User};
use crate::permissions::{decide, Action};
use crate::ports::{Page, PageRequest, StoreError, UserUpdate, WriteError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{GroupId, OrgDomain, UserId};
use crate::usecase::session::AuthError;
use crate::usecase::{caller_in, Along, OrgLookupError};

#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins, and this group's admins, manage its members")]
    Forbidden,
    #[error("no such group")]
    GroupNotFound,
    #[error("no such user")]
    UserNotFound,
    #[error("the cursor is not one this list handed out")]
    BadCursor,
    #[error("the user kept changing; try again")]
    Changed,
    #[error("changing the membership failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for MembershipError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor => Self::BadCursor,
            e => Self::Internal(e.into()),
        }
    }
}

impl Rejection for MembershipError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::GroupNotFound => "group_not_found",
            Self::UserNotFound => "user_not_found",
            Self::BadCursor => "invalid_cursor",
            Self::Changed => "user_changed",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::GroupNotFound | Self::UserNotFound => RejectionClass::NotFound,
            Self::BadCursor => RejectionClass::Invalid,
            Self::Changed => RejectionClass::Conflict,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

/// The group, read with the organisation and the session, for a caller allowed to manage its
/// members (answered with them).
async fn group_to_manage(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    group: &GroupId,
) -> Result<(Group, UserId), MembershipError> {
    let along = Along {
        groups: std::slice::from_ref(group),
    };
    let caller = caller_in::<MembershipError>(services, org, token, along).await?;
    let action = Action::ManageMembers { group };
    decide(caller.standing(), &caller.org.settings, action)
        .map_err(|_| MembershipError::Forbidden)?;
    let found = caller.groups.into_iter().flatten().next();
    Ok((
        found.ok_or(MembershipError::GroupNotFound)?,
        caller.actor.user_id,
    ))
}

/// Adds `user` to the group (`member: true`) or takes them out; answers the account as it is
/// then. Doing it twice changes nothing the second time.
pub async fn set_member(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    group: &GroupId,
    user: &UserId,
    member: bool,
) -> Result<User, MembershipError> {
    let (found, by) = group_to_manage(services, org, token, group).await?;
    for _ in 0..3 {
        let read = services
            .store
            .user(org, user)
            .await?
            .ok_or(MembershipError::UserNotFound)?;
        if read.groups.contains(group) == member {
            return Ok(read);
        }
        let mut next = read.clone();
        if member {
            next.groups.push(group.clone());
        } else {
            next.groups.retain(|g| g != group);
        }
        let kind = if member {
            EventType::GroupMemberAdded
        } else {
            EventType::GroupMemberRemoved
        };
        let mut events = ChangeEvents::new(&*services.random, services.clock.now());
        events.group(org, kind, Some(&by), &found, Some(user));
        match services
            .store
            .update_user(&UserUpdate::new(&read, &next), &events)
            .await
        {
            Ok(()) => {
                next.version += 1;
                return Ok(next);
            }
            Err(WriteError::Stale) => continue,
            Err(e) => return Err(MembershipError::Internal(e.into())),
        }
    }
    Err(MembershipError::Changed)
}

/// The group's members, a page at a time.
pub async fn list_members(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    group: &GroupId,
    page: PageRequest,
) -> Result<Page<User>, MembershipError> {
    group_to_manage(services, org, token, group).await?;
    let page = PageRequest {
        cursor: page.cursor,
        limit: page.limit.clamp(1, 100),
    };
    let query = crate::ports::UserQuery {
        group: Some(group.clone()),
        ..Default::default()
    };
    Ok(services.store.find_users(org, &query, &page).await?)
}
