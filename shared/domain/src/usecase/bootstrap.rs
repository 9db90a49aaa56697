//! Bootstrap: a new organisation with its first admin and a default group everyone joins.

use crate::error::{Rejection, RejectionClass};
use std::time::Duration;

use crate::clock::Timestamp;
use crate::events::{ChangeEvents, EventType};
use crate::model::{Group, Org, OrgEntry, Settings, User};
use crate::password::{Password, PasswordError};
use crate::ports::{Page, PageRequest, WriteError};
use crate::secret::SecretToken;
use crate::services::Services;
use crate::types::{EmailAddress, GroupName, OrgDomain, OrgName, PersonName, Role};
use crate::usecase::password::reset_link;

pub struct BootstrapRequest {
    pub domain: OrgDomain,
    pub admin_email: EmailAddress,
    pub admin_password: String,
    pub first_name: PersonName,
    pub last_name: PersonName,
    /// How emails and pages name the organisation (its `display_name` setting).
    pub display_name: Option<OrgName>,
}

#[derive(Debug)]
pub enum BootstrapOutcome {
    Created {
        org: Box<Org>,
        admin: Box<User>,
    },
    /// The organisation existed: nothing was changed (bootstrapping twice is harmless).
    AlreadyExists,
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("bootstrap failed")]
    Internal(#[source] crate::Cause),
}

impl Rejection for BootstrapError {
    fn code(&self) -> &'static str {
        match self {
            Self::Password(e) => e.code(),
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Password(_) => RejectionClass::Invalid,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

/// The name of the group every member joins by default.
pub const DEFAULT_GROUP_NAME: &str = "Everyone";

pub async fn bootstrap_org(
    services: &Services,
    request: BootstrapRequest,
) -> Result<BootstrapOutcome, BootstrapError> {
    if org_exists(services, &request.domain).await? {
        return Ok(BootstrapOutcome::AlreadyExists);
    }
    let password = Password::parse(
        &request.admin_password,
        Settings::default().password_policy(),
        &[
            request.domain.as_str(),
            request.first_name.as_str(),
            request.last_name.as_str(),
            request.admin_email.local_part(),
        ],
    )?;
    let first_admin = FirstAdmin {
        domain: request.domain,
        admin_email: request.admin_email,
        first_name: request.first_name,
        last_name: request.last_name,
        display_name: request.display_name,
    };
    create(services, first_admin, password).await
}

async fn org_exists(services: &Services, domain: &OrgDomain) -> Result<bool, BootstrapError> {
    Ok(services
        .store
        .org(domain)
        .await
        .map_err(|e| BootstrapError::Internal(e.into()))?
        .is_some())
}

/// The organisation, its group everyone joins and its first admin with `password`, in one write.
async fn create(
    services: &Services,
    request: FirstAdmin,
    password: Password,
) -> Result<BootstrapOutcome, BootstrapError> {
    let now = services.clock.now();
    let settings = Settings::default();
    let everyone = Group {
        id: services.random.group_id(),
        name: GroupName::parse(DEFAULT_GROUP_NAME)
            .map_err(|e| BootstrapError::Internal(e.into()))?,
        created_at: now,
        admins: Vec::new(),
        version: 0,
    };
    let org = Org {
        domain: request.domain.clone(),
        settings: Settings {
            default_groups: vec![everyone.id.clone()],
            display_name: request.display_name,
            ..settings
        },
        created_at: now,
        version: 0,
    };
    let digest = services
        .passwords
        .hash(password, services.random.clone())
        .await
        .map_err(|e| BootstrapError::Internal(e.into()))?;
    let admin = User {
        id: services.random.user_id(),
        org: request.domain,
        email: Some(request.admin_email),
        uid: None,
        first_name: request.first_name,
        last_name: request.last_name,
        role: Role::Admin,
        groups: vec![everyone.id.clone()],
        password: digest,
        created_at: now,
        version: 0,
        password_epoch: 0,
        status: crate::model::UserStatus::Active,
        deactivated_at: None,
        last_sign_in_at: None,
        totp: None,
        passkeys: Vec::new(),
    };
    // Made by the operator (no person of the organisation): no actor.
    let mut events = ChangeEvents::new(&*services.random, now);
    events.group(&org.domain, EventType::GroupCreated, None, &everyone, None);
    events.user(EventType::UserCreated, None, &admin, None);
    match services
        .store
        .create_org(&org, &[everyone], &admin, &events)
        .await
    {
        Ok(()) => Ok(BootstrapOutcome::Created {
            org: Box::new(org),
            admin: Box::new(admin),
        }),
        Err(WriteError::AlreadyExists) => Ok(BootstrapOutcome::AlreadyExists),
        Err(e) => Err(BootstrapError::Internal(e.into())),
    }
}

/// An organisation and its first admin as an operator names them (`gatehouse-admin create-org`).
pub struct FirstAdmin {
    pub domain: OrgDomain,
    pub admin_email: EmailAddress,
    pub first_name: PersonName,
    pub last_name: PersonName,
    /// How emails and pages name the organisation (its `display_name` setting).
    pub display_name: Option<OrgName>,
}

/// How long a set-password link an operator hands out may stay valid: an hour at least, a week
/// at most (the link is a password; it should not outlive its errand).
pub const SET_PASSWORD_LINK_MIN: Duration = Duration::from_secs(3600);
pub const SET_PASSWORD_LINK_MAX: Duration = Duration::from_secs(7 * 24 * 3600);

/// A one-time link that sets the password of an account: the reset page with a reset token that
/// the store keeps hashed, spent with the password change, void after `expires_at`.
#[derive(Debug)]
pub struct SetPasswordLink {
    pub link: String,
    pub expires_at: Timestamp,
}

#[derive(Debug)]
pub enum CreatedOrg {
    Created {
        admin: Box<User>,
        link: SetPasswordLink,
    },
    /// The organisation existed: nothing was changed.
    AlreadyExists,
}

#[derive(Debug, thiserror::Error)]
pub enum SetPasswordLinkError {
    #[error("no organisation {0}")]
    OrgNotFound(OrgDomain),
    #[error("no account with this email in {0}")]
    UserNotFound(OrgDomain),
    #[error("a link is valid for an hour to a week")]
    Validity,
    #[error("failed")]
    Internal(#[source] crate::Cause),
}

/// Creates the organisation with its first admin, whose password nobody knows: the answer holds
/// a one-time link with which the admin sets it (valid for `valid_for`), so no password passes
/// through an operator's command line, shell history or terminal. An existing organisation is
/// left alone.
pub async fn create_org_with_link(
    services: &Services,
    request: FirstAdmin,
    valid_for: Duration,
) -> Result<CreatedOrg, SetPasswordLinkError> {
    check_validity(valid_for)?;
    let internal = |e: BootstrapError| SetPasswordLinkError::Internal(e.into());
    if org_exists(services, &request.domain)
        .await
        .map_err(internal)?
    {
        return Ok(CreatedOrg::AlreadyExists);
    }
    // A password of 256 random bits nobody is told: the account can only be entered once its
    // owner has set their own through the link.
    let unknown = SecretToken::generate(services.random.as_ref());
    let password = Password::for_verification(unknown.expose())
        .ok_or_else(|| SetPasswordLinkError::Internal("random password too long".into()))?;
    match create(services, request, password)
        .await
        .map_err(internal)?
    {
        BootstrapOutcome::AlreadyExists => Ok(CreatedOrg::AlreadyExists),
        BootstrapOutcome::Created { org, admin } => {
            let link = save_link(services, &org.domain, &admin, valid_for).await?;
            Ok(CreatedOrg::Created { admin, link })
        }
    }
}

/// A one-time set-password link for the account with `email` (an admin who lost their password
/// while mail does not reach them, or whose first link lapsed). Earlier links stay valid until
/// spent or expired; the first password change spends its own link and ends every session.
pub async fn set_password_link(
    services: &Services,
    domain: &OrgDomain,
    email: &EmailAddress,
    valid_for: Duration,
) -> Result<SetPasswordLink, SetPasswordLinkError> {
    check_validity(valid_for)?;
    let internal = |e: crate::ports::StoreError| SetPasswordLinkError::Internal(e.into());
    if services
        .store
        .org(domain)
        .await
        .map_err(internal)?
        .is_none()
    {
        return Err(SetPasswordLinkError::OrgNotFound(domain.clone()));
    }
    let user = services
        .store
        .user_by_email(domain, email)
        .await
        .map_err(internal)?
        .ok_or_else(|| SetPasswordLinkError::UserNotFound(domain.clone()))?;
    save_link(services, domain, &user, valid_for).await
}

fn check_validity(valid_for: Duration) -> Result<(), SetPasswordLinkError> {
    if (SET_PASSWORD_LINK_MIN..=SET_PASSWORD_LINK_MAX).contains(&valid_for) {
        Ok(())
    } else {
        Err(SetPasswordLinkError::Validity)
    }
}

async fn save_link(
    services: &Services,
    domain: &OrgDomain,
    user: &User,
    valid_for: Duration,
) -> Result<SetPasswordLink, SetPasswordLinkError> {
    let (token, reset) = crate::usecase::password::issue_reset(services, domain, user, valid_for)
        .await
        .map_err(|e| SetPasswordLinkError::Internal(e.into()))?;
    Ok(SetPasswordLink {
        link: reset_link(services, domain, &token),
        expires_at: reset.expires_at,
    })
}

/// Every organisation, a page at a time, in the order of their domains.
pub async fn list_orgs(
    services: &Services,
    page: &PageRequest,
) -> Result<Page<OrgEntry>, crate::ports::StoreError> {
    services.store.orgs(page).await
}
