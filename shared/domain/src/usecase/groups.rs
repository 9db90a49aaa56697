//! Groups: admins create them; everyone signed in lists the groups they may see.

use crate::error::{Rejection, RejectionClass};
use crate::model::Group;
use crate::permissions::Action;
use crate::ports::{StoreError, WriteError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{GroupId, GroupName, OrgDomain, Role, UserId};
use crate::usecase::session::AuthError;
use crate::usecase::{admin_of, caller_in, Along, OrgLookupError};

#[derive(Debug, thiserror::Error)]
pub enum GroupsError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins can create groups")]
    Forbidden,
    #[error("a group with this name exists already")]
    NameTaken,
    #[error("no such group")]
    GroupNotFound,
    #[error("no such user")]
    UserNotFound,
    #[error(
        "only members can administer a group (admins already may do everything; guests may not)"
    )]
    AdminMustBeMember,
    #[error("storage failed: {0}")]
    Internal(String),
}

impl From<StoreError> for GroupsError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<WriteError> for GroupsError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::AlreadyExists => Self::NameTaken,
            e => Self::Internal(e.to_string()),
        }
    }
}

impl Rejection for GroupsError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::NameTaken => "group_name_taken",
            Self::GroupNotFound => "group_not_found",
            Self::UserNotFound => "user_not_found",
            Self::AdminMustBeMember => "group_admin_must_be_member",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::NameTaken => RejectionClass::Conflict,
            Self::GroupNotFound | Self::UserNotFound => RejectionClass::NotFound,
            Self::AdminMustBeMember => RejectionClass::Invalid,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

pub async fn create_group(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    name: GroupName,
) -> Result<Group, GroupsError> {
    admin_of(
        services,
        org,
        token,
        Action::ManageGroups,
        GroupsError::Forbidden,
    )
    .await?;
    let group = Group {
        id: services.random.group_id(),
        name,
        created_at: services.clock.now(),
        admins: Vec::new(),
        version: 0,
    };
    services.store.create_group(org, &group).await?;
    Ok(group)
}

/// Admins and members see every group, or with `mine` only the groups they belong to; guests
/// only the groups they belong to.
pub async fn list_groups(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    mine: bool,
) -> Result<Vec<Group>, GroupsError> {
    // The caller's account is read along, for a guest's groups.
    let caller = caller_in::<GroupsError>(
        services,
        org,
        token,
        Along {
            user: true,
            ..Along::default()
        },
    )
    .await?;
    let mut groups = services.store.groups(org).await?;
    if mine || caller.actor.role == Role::Guest {
        let user = caller
            .user
            .ok_or(GroupsError::Auth(AuthError::Unauthenticated))?;
        groups.retain(|g| user.groups.contains(&g.id));
    }
    Ok(groups)
}

/// A group's admins (admins of the organisation).
pub async fn group_admins(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    group: &GroupId,
) -> Result<Group, GroupsError> {
    group_to_manage(services, org, token, group).await
}

/// The group, read with the organisation and the session in one round trip, for an admin who
/// manages it; `GroupNotFound` if it is no group here.
async fn group_to_manage(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    group: &GroupId,
) -> Result<Group, GroupsError> {
    let caller = caller_in::<GroupsError>(
        services,
        org,
        token,
        Along {
            groups: std::slice::from_ref(group),
            ..Along::default()
        },
    )
    .await?;
    allowed(&caller)?;
    caller
        .groups
        .into_iter()
        .flatten()
        .next()
        .ok_or(GroupsError::GroupNotFound)
}

fn allowed(caller: &crate::usecase::Caller) -> Result<(), GroupsError> {
    crate::permissions::decide(
        caller.standing(),
        &caller.org.settings,
        crate::permissions::Action::ManageGroups,
    )
    .map_err(|_| GroupsError::Forbidden)
}

/// Names `user` an admin of `group` (`admin: true`) or no longer (`false`); doing it twice
/// changes nothing. Only members may administer a group. Concurrent changes to one group's
/// admins all land (a change that lost the race is applied again to the newer group).
pub async fn set_group_admin(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    group: &GroupId,
    user: &UserId,
    admin: bool,
) -> Result<Group, GroupsError> {
    let mut current = group_to_manage(services, org, token, group).await?;
    if admin {
        let account = services
            .store
            .user(org, user)
            .await?
            .ok_or(GroupsError::UserNotFound)?;
        if account.role != Role::Member {
            return Err(GroupsError::AdminMustBeMember);
        }
    }
    for _ in 0..5 {
        let has = current.admins.contains(user);
        if has == admin {
            return Ok(current);
        }
        let mut next = current.clone();
        if admin {
            next.admins.push(user.clone());
        } else {
            next.admins.retain(|u| u != user);
        }
        match services.store.update_group(org, &next).await {
            Ok(()) => {
                next.version += 1;
                return Ok(next);
            }
            Err(WriteError::Stale) => {
                current = services
                    .store
                    .group(org, group)
                    .await?
                    .ok_or(GroupsError::GroupNotFound)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(GroupsError::Internal(
        "the group kept changing; try again".into(),
    ))
}

/// Renames a group (admins). Names stay unique per organisation, whatever the case; another
/// case of its own name is allowed.
pub async fn rename_group(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    group: &GroupId,
    name: GroupName,
) -> Result<Group, GroupsError> {
    let mut current = group_to_manage(services, org, token, group).await?;
    for _ in 0..5 {
        if current.name == name {
            return Ok(current);
        }
        let mut renamed = current.clone();
        renamed.name = name.clone();
        match services
            .store
            .rename_group(org, &renamed, &current.name)
            .await
        {
            Ok(()) => {
                renamed.version += 1;
                return Ok(renamed);
            }
            Err(WriteError::Stale) => {
                current = services
                    .store
                    .group(org, group)
                    .await?
                    .ok_or(GroupsError::GroupNotFound)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(GroupsError::Internal(
        "the group kept changing; try again".into(),
    ))
}
