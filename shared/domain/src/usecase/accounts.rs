//! People after they joined: one account read, its names, role and identifier changed, the
//! account deactivated and reactivated, and every session of it ended. Admins do all of it; a
//! person reads their own account, renames themselves and signs themselves out everywhere.
//!
//! The last active admin stays one: a change that would take them away (a demotion, a
//! deactivation) is written on condition that another active admin, as read, is still one, so two
//! admins stepping down at once cannot both land.

use crate::error::{Rejection, RejectionClass};
use crate::events::{ChangeEvents, EventType};
use crate::model::{User, UserStatus};
use crate::permissions::{decide, Action};
use crate::ports::{StoreError, UserUpdate, WriteError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{OrgDomain, PersonName, Role, Uid, UserId};
use crate::usecase::session::AuthError;
use crate::usecase::{caller_in, Along, Caller, OrgLookupError};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins can do this to someone else's account")]
    Forbidden,
    #[error("no such user")]
    NotFound,
    #[error("the organisation's last active admin must stay one")]
    LastAdmin,
    #[error("another account has this identifier")]
    UidTaken,
    #[error("an identifier is for people without email")]
    HasEmail,
    #[error("the user kept changing; try again")]
    Changed,
    #[error("changing the account failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl Rejection for AccountError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::NotFound => "user_not_found",
            Self::LastAdmin => "last_admin",
            Self::UidTaken => "uid_taken",
            Self::HasEmail => "user_has_email",
            Self::Changed => "user_changed",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::NotFound => RejectionClass::NotFound,
            Self::LastAdmin | Self::UidTaken | Self::Changed => RejectionClass::Conflict,
            Self::HasEmail => RejectionClass::Invalid,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

/// The caller, allowed to act on `id`: themselves, or anyone when they manage users.
async fn acting_on(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
    only_admins: bool,
) -> Result<Caller, AccountError> {
    let caller = caller_in::<AccountError>(services, org, token, Along::default()).await?;
    let admin = decide(caller.standing(), &caller.org.settings, Action::ManageUsers).is_ok();
    if !admin && (only_admins || &caller.actor.user_id != id) {
        return Err(AccountError::Forbidden);
    }
    Ok(caller)
}

/// One account: the person's own, or (admins) anyone's.
pub async fn get_user(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
) -> Result<User, AccountError> {
    let caller = acting_on(services, org, token, id, false).await?;
    if &caller.actor.user_id == id {
        if let Some(own) = caller.user {
            return Ok(own);
        }
    }
    services
        .store
        .user(org, id)
        .await?
        .ok_or(AccountError::NotFound)
}

/// A change of an account: `None` leaves that part as it is. Names are the person's or an
/// admin's to change; the role and the identifier an admin's.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub role: Option<Role>,
    /// A new identifier, for a person without email.
    pub uid: Option<Uid>,
}

/// Applies `change` to the account as read, on the organisation's rules: a guest made member
/// or admin joins the default groups, a member made guest leaves them.
fn changed(read: &User, change: &UserChange, settings: &crate::model::Settings) -> User {
    let mut next = read.clone();
    if let Some(first) = &change.first_name {
        next.first_name = first.clone();
    }
    if let Some(last) = &change.last_name {
        next.last_name = last.clone();
    }
    if let Some(uid) = &change.uid {
        next.uid = Some(uid.clone());
    }
    if let Some(role) = change.role {
        let was_guest = read.role == Role::Guest;
        next.role = role;
        if role == Role::Guest && !was_guest {
            next.groups.retain(|g| !settings.default_groups.contains(g));
        } else if role != Role::Guest && was_guest {
            for g in &settings.default_groups {
                if !next.groups.contains(g) {
                    next.groups.push(g.clone());
                }
            }
        }
    }
    next
}

/// Changes an account's names, role or identifier in one write, with an event for each kind of
/// change (`user.updated`, `user.role_changed`, `user.uid_changed`).
pub async fn change_user(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
    change: UserChange,
) -> Result<User, AccountError> {
    let only_admins = change.role.is_some() || change.uid.is_some();
    let caller = acting_on(services, org, token, id, only_admins).await?;
    let by = Some(&caller.actor.user_id).filter(|by| *by != id);
    for _ in 0..3 {
        let read = services
            .store
            .user(org, id)
            .await?
            .ok_or(AccountError::NotFound)?;
        if change.uid.is_some() && read.email.is_some() {
            return Err(AccountError::HasEmail);
        }
        let next = changed(&read, &change, &caller.org.settings);
        if next == read {
            return Ok(read);
        }
        let mut events = ChangeEvents::new(&*services.random, services.clock.now());
        if (&next.first_name, &next.last_name) != (&read.first_name, &read.last_name) {
            events.user(EventType::UserUpdated, by, &next, None);
        }
        if next.role != read.role {
            events.user(EventType::UserRoleChanged, by, &next, None);
        }
        if next.uid != read.uid {
            events.user(EventType::UserUidChanged, by, &next, None);
        }
        match write_account(services, &read, &next, &events).await {
            Ok(written) => {
                if written.role == Role::Guest && read.role != Role::Guest {
                    crate::usecase::groups::step_down_everywhere(services, org, id, by).await?;
                }
                return Ok(written);
            }
            Err(Refused::Write(WriteError::Stale)) => continue,
            Err(Refused::Write(WriteError::UidTaken)) => return Err(AccountError::UidTaken),
            Err(e) => return Err(e.into()),
        }
    }
    Err(AccountError::Changed)
}

/// Why [`write_account`] wrote nothing.
pub(crate) enum Refused {
    /// It would take away the organisation's last active admin.
    LastAdmin,
    Write(WriteError),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Self::Write(WriteError::Store(e))
    }
}

impl From<Refused> for AccountError {
    fn from(r: Refused) -> Self {
        match r {
            Refused::LastAdmin => Self::LastAdmin,
            Refused::Write(WriteError::Stale) => Self::Changed,
            Refused::Write(e) => Self::Internal(e.into()),
        }
    }
}

/// Writes `next` over `read`; when that takes an active admin away, on condition that another
/// stays. Answers the account as written.
pub(crate) async fn write_account(
    services: &Services,
    read: &User,
    next: &User,
    events: &ChangeEvents,
) -> Result<User, Refused> {
    let was_admin = read.role == Role::Admin && read.is_active();
    let stays_admin = next.role == Role::Admin && next.is_active();
    let other = if was_admin && !stays_admin {
        let admins = services.store.active_admins(&read.org).await?;
        Some(
            admins
                .into_iter()
                .find(|a| a.id != read.id)
                .ok_or(Refused::LastAdmin)?,
        )
    } else {
        None
    };
    let change = UserUpdate {
        other_admin: other.as_ref(),
        ..UserUpdate::new(read, next)
    };
    services
        .store
        .update_user(&change, events)
        .await
        .map_err(Refused::Write)?;
    let mut written = next.clone();
    written.version = read.version + 1;
    Ok(written)
}

/// Deactivates (`active: false`) or reactivates an account (admins). Deactivating ends every
/// session and grant of it at once; a sign-in racing it opens none (its session is written on
/// condition that the account is still active). Doing it twice changes nothing.
pub async fn set_active(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
    active: bool,
) -> Result<User, AccountError> {
    let caller = acting_on(services, org, token, id, true).await?;
    let by = Some(&caller.actor.user_id);
    for _ in 0..3 {
        let read = services
            .store
            .user(org, id)
            .await?
            .ok_or(AccountError::NotFound)?;
        let mut next = read.clone();
        let now = services.clock.now();
        (next.status, next.deactivated_at) = if active {
            (UserStatus::Active, None)
        } else {
            (UserStatus::Deactivated, read.deactivated_at.or(Some(now)))
        };
        if next == read {
            return Ok(read);
        }
        let kind = if active {
            EventType::UserReactivated
        } else {
            EventType::UserDeactivated
        };
        let mut events = ChangeEvents::new(&*services.random, now);
        events.user(kind, by, &next, None);
        match write_account(services, &read, &next, &events).await {
            Ok(written) => {
                if !active {
                    services.store.end_sessions(org, id, None).await?;
                }
                return Ok(written);
            }
            Err(Refused::Write(WriteError::Stale)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AccountError::Changed)
}

/// Ends every session and grant of an account: the person's own ("sign out everywhere"), or
/// (admins) anyone's, a stolen laptop's included. Answers how many ended.
pub async fn sign_out_everywhere(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
) -> Result<usize, AccountError> {
    let caller = acting_on(services, org, token, id, false).await?;
    let user = match (&caller.actor.user_id == id, caller.user) {
        (true, Some(own)) => own,
        _ => services
            .store
            .user(org, id)
            .await?
            .ok_or(AccountError::NotFound)?,
    };
    let ended = services.store.end_sessions(org, id, None).await?;
    let by = Some(&caller.actor.user_id).filter(|by| *by != id);
    let mut events = ChangeEvents::new(&*services.random, services.clock.now());
    events.user(EventType::UserSignedOut, by, &user, None);
    services.store.append_events(&events).await?;
    Ok(ended)
}
