//! Groups: admins create them; everyone signed in lists the groups they may see.

use crate::error::{Rejection, RejectionClass};
use crate::events::{ChangeEvents, EventType};
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
    #[error("this name looks like {}; choose one that cannot be taken for it", lookalike(.0))]
    NameConfusable(String),
    #[error("no such group")]
    GroupNotFound,
    #[error("no such user")]
    UserNotFound,
    #[error(
        "only members can administer a group (admins already may do everything; guests may not)"
    )]
    AdminMustBeMember,
    #[error("storage failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for GroupsError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<WriteError> for GroupsError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::AlreadyExists => Self::NameTaken,
            WriteError::LookalikeTaken => Self::NameConfusable(String::new()),
            e => Self::Internal(e.into()),
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
            Self::NameConfusable(_) => "group_name_confusable",
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
            Self::NameTaken | Self::NameConfusable(_) => RejectionClass::Conflict,
            Self::GroupNotFound | Self::UserNotFound => RejectionClass::NotFound,
            Self::AdminMustBeMember => RejectionClass::Invalid,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

fn lookalike(name: &str) -> String {
    if name.is_empty() {
        "another group's name".into()
    } else {
        format!("the name of the group “{name}”")
    }
}

pub async fn create_group(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    name: GroupName,
) -> Result<Group, GroupsError> {
    let (_, actor) = admin_of(
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
    refuse_lookalikes(services, org, &group).await?;
    let mut events = ChangeEvents::new(&*services.random, group.created_at);
    let by = Some(&actor.user_id);
    events.group(org, EventType::GroupCreated, by, &group, None);
    match services.store.create_group(org, &group, &events).await {
        Ok(()) => Ok(group),
        // Another request made a lookalike meanwhile: say which.
        Err(WriteError::LookalikeTaken) => {
            refuse_lookalikes(services, org, &group).await?;
            Err(WriteError::LookalikeTaken.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Refuses a name another group's could be taken for (`Еveryone` with a Cyrillic Е beside
/// `Everyone`). The store's claim on the name's look keeps two racing requests from both
/// succeeding; this read also finds groups made before that claim existed, and names the group.
async fn refuse_lookalikes(
    services: &Services,
    org: &OrgDomain,
    group: &Group,
) -> Result<(), GroupsError> {
    let existing = services.store.groups(org).await?;
    let other = existing
        .iter()
        .filter(|g| g.id != group.id)
        .find(|g| g.name.confusable_with(&group.name));
    match other {
        None => Ok(()),
        Some(g) if g.name.as_str().to_lowercase() == group.name.as_str().to_lowercase() => {
            Err(GroupsError::NameTaken)
        }
        Some(g) => Err(GroupsError::NameConfusable(g.name.to_string())),
    }
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
    let caller = caller_in::<GroupsError>(services, org, token, Along::default()).await?;
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
    Ok(group_to_manage(services, org, token, group).await?.0)
}

/// The group, read with the organisation and the session in one round trip, for an admin who
/// manages it (answered with them); `GroupNotFound` if it is no group here.
async fn group_to_manage(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    group: &GroupId,
) -> Result<(Group, UserId), GroupsError> {
    let caller = caller_in::<GroupsError>(
        services,
        org,
        token,
        Along {
            groups: std::slice::from_ref(group),
        },
    )
    .await?;
    allowed(&caller)?;
    let found = caller.groups.into_iter().flatten().next();
    Ok((
        found.ok_or(GroupsError::GroupNotFound)?,
        caller.actor.user_id,
    ))
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
    let (current, by) = group_to_manage(services, org, token, group).await?;
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
    set_admin_of(services, org, current, user, admin, Some(&by)).await
}

/// Takes `user` out of the admins of every group they administer: a guest administers none.
pub(crate) async fn step_down_everywhere(
    services: &Services,
    org: &OrgDomain,
    user: &UserId,
    by: Option<&UserId>,
) -> Result<(), StoreError> {
    for group in services.store.groups(org).await? {
        if group.admins.contains(user) {
            set_admin_of(services, org, group, user, false, by)
                .await
                .map_err(|e| StoreError::Unavailable(e.into()))?;
        }
    }
    Ok(())
}

/// Makes `user` one of the group's admins, or no longer, from `current` as read, reading it again
/// when it changed meanwhile.
async fn set_admin_of(
    services: &Services,
    org: &OrgDomain,
    mut current: Group,
    user: &UserId,
    admin: bool,
    by: Option<&UserId>,
) -> Result<Group, GroupsError> {
    let group = current.id.clone();
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
        let kind = if admin {
            EventType::GroupAdminAdded
        } else {
            EventType::GroupAdminRemoved
        };
        let mut events = ChangeEvents::new(&*services.random, services.clock.now());
        events.group(org, kind, by, &next, Some(user));
        match services.store.update_group(org, &next, &events).await {
            Ok(()) => {
                next.version += 1;
                return Ok(next);
            }
            Err(WriteError::Stale) => {
                current = services
                    .store
                    .group(org, &group)
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
    let (mut current, by) = group_to_manage(services, org, token, group).await?;
    for _ in 0..5 {
        if current.name == name {
            return Ok(current);
        }
        let mut renamed = current.clone();
        renamed.name = name.clone();
        refuse_lookalikes(services, org, &renamed).await?;
        let mut events = ChangeEvents::new(&*services.random, services.clock.now());
        events.group(org, EventType::GroupRenamed, Some(&by), &renamed, None);
        match services
            .store
            .rename_group(org, &renamed, &current.name, &events)
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

/// What deleting a group changed besides the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupDeletion {
    /// Accounts that belonged to it.
    pub users: usize,
    /// Pending (or expired, not yet removed) invitations into it.
    pub invitations: usize,
}

/// Records read a page at a time while a deleted group is taken out of them.
const SWEEP_PAGE: usize = 100;

/// Deletes a group (admins). Its name is free at once, and in the same write it leaves the
/// default groups and the invitation link's groups, so nothing new can be put into it. Then it is
/// taken out of the pending invitations (which would otherwise make accounts in it) and of the
/// accounts that belong to it, a page at a time: one query per 100 invitations or accounts,
/// one write per record that named it. Accepted and revoked invitations keep it in their record
/// of what was granted.
pub async fn delete_group(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    group: &GroupId,
) -> Result<GroupDeletion, GroupsError> {
    let caller = caller_in::<GroupsError>(
        services,
        org,
        token,
        Along {
            groups: std::slice::from_ref(group),
        },
    )
    .await?;
    allowed(&caller)?;
    let mut current = caller
        .groups
        .into_iter()
        .flatten()
        .next()
        .ok_or(GroupsError::GroupNotFound)?;
    let mut org_record = caller.org;
    let mut deleted = false;
    for _ in 0..5 {
        let link = services.store.invitation_link(org).await?;
        let settings = org_record.settings.default_groups.contains(group).then(|| {
            let mut next = org_record.clone();
            next.settings.default_groups.retain(|g| g != group);
            next
        });
        let link = link.filter(|l| l.groups.contains(group)).map(|mut l| {
            l.groups.retain(|g| g != group);
            l
        });
        let by = Some(&caller.actor.user_id);
        let mut events = ChangeEvents::new(&*services.random, services.clock.now());
        events.group(org, EventType::GroupDeleted, by, &current, None);
        if let Some(settings) = &settings {
            let view = crate::views::SettingsView::from(&settings.settings);
            events.resource(org, EventType::SettingsUpdated, by, &view);
        }
        match services
            .store
            .delete_group(org, &current, settings.as_ref(), link.as_ref(), &events)
            .await
        {
            Ok(()) => {
                deleted = true;
                break;
            }
            Err(WriteError::Stale) => {
                // The group, the settings or the link changed: read them again.
                current = services
                    .store
                    .group(org, group)
                    .await?
                    .ok_or(GroupsError::GroupNotFound)?;
                org_record = services
                    .store
                    .org(org)
                    .await?
                    .ok_or(GroupsError::GroupNotFound)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !deleted {
        return Err(GroupsError::Internal(
            "the group kept changing; try again".into(),
        ));
    }
    Ok(GroupDeletion {
        invitations: take_out_of_invitations(services, org, group).await?,
        users: take_out_of_users(services, org, group, &caller.actor.user_id).await?,
    })
}

/// Takes `group` out of the organisation's pending and expired invitations; how many named it.
async fn take_out_of_invitations(
    services: &Services,
    org: &OrgDomain,
    group: &GroupId,
) -> Result<usize, GroupsError> {
    use crate::model::InvitationStatus;
    let mut changed = 0;
    for status in [InvitationStatus::Pending, InvitationStatus::Expired] {
        let query = crate::ports::InvitationQuery {
            status: Some(status),
            kind: None,
            role: None,
            invited_by: None,
            now: services.clock.now(),
        };
        let mut cursor = None;
        loop {
            let page = services
                .store
                .invitations(
                    org,
                    &query,
                    &crate::ports::PageRequest {
                        cursor,
                        limit: SWEEP_PAGE,
                    },
                )
                .await?;
            for invitation in page.items {
                if invitation.groups.contains(group) {
                    changed +=
                        usize::from(take_out_of_invitation(services, invitation, group).await?);
                }
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    Ok(changed)
}

/// `true` if this invitation named the group and no longer does; an invitation accepted or
/// revoked meanwhile is left as it is (its account is swept with the others).
async fn take_out_of_invitation(
    services: &Services,
    mut previous: crate::model::Invitation,
    group: &GroupId,
) -> Result<bool, GroupsError> {
    for _ in 0..5 {
        if !matches!(previous.state, crate::model::InvitationState::Pending)
            || !previous.groups.contains(group)
        {
            return Ok(false);
        }
        let mut next = previous.clone();
        next.groups.retain(|g| g != group);
        let none = ChangeEvents::none();
        match services
            .store
            .update_invitation(&next, &previous, &none)
            .await
        {
            Ok(()) => return Ok(true),
            Err(WriteError::Stale) => {
                match services
                    .store
                    .invitation(&previous.org, &previous.id)
                    .await?
                {
                    Some(again) => previous = again,
                    None => return Ok(false),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(GroupsError::Internal(
        "an invitation kept changing; try again".into(),
    ))
}

/// Takes `group` out of the accounts that belong to it; how many did.
async fn take_out_of_users(
    services: &Services,
    org: &OrgDomain,
    group: &GroupId,
    by: &UserId,
) -> Result<usize, GroupsError> {
    let mut changed = 0;
    let mut cursor = None;
    loop {
        let page = services
            .store
            .users(
                org,
                &crate::ports::PageRequest {
                    cursor,
                    limit: SWEEP_PAGE,
                },
            )
            .await?;
        for mut user in page.items {
            for attempt in 0..5 {
                if !user.groups.contains(group) {
                    break;
                }
                let mut next = user.clone();
                next.groups.retain(|g| g != group);
                let mut events = ChangeEvents::new(&*services.random, services.clock.now());
                events.user(EventType::UserUpdated, Some(by), &next, None);
                let change = crate::ports::UserUpdate::new(&user, &next);
                match services.store.update_user(&change, &events).await {
                    Ok(()) => {
                        changed += 1;
                        break;
                    }
                    Err(WriteError::Stale) if attempt < 4 => {
                        match services.store.user(org, &user.id).await? {
                            Some(again) => user = again,
                            None => break,
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(changed),
        }
    }
}
