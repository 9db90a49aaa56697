//! Groups: admins create them; everyone signed in lists the groups they may see.

use crate::error::{Rejection, RejectionClass};
use crate::model::Group;
use crate::ports::{StoreError, WriteError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{GroupName, OrgDomain, Role};
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
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::NameTaken => RejectionClass::Conflict,
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
    admin_of(services, org, token, GroupsError::Forbidden).await?;
    let group = Group {
        id: services.random.group_id(),
        name,
        created_at: services.clock.now(),
    };
    services.store.create_group(org, &group).await?;
    Ok(group)
}

/// Admins and members see every group; guests only the groups they belong to.
pub async fn list_groups(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
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
    if caller.actor.role == Role::Guest {
        let user = caller
            .user
            .ok_or(GroupsError::Auth(AuthError::Unauthenticated))?;
        groups.retain(|g| user.groups.contains(&g.id));
    }
    Ok(groups)
}
