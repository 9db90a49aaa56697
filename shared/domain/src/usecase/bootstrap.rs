//! Bootstrap: a new organisation with its first admin and a default group everyone joins.

use crate::error::{Rejection, RejectionClass};
use crate::model::{Group, Org, Settings, User};
use crate::password::{Password, PasswordError};
use crate::ports::WriteError;
use crate::services::Services;
use crate::types::{EmailAddress, GroupName, OrgDomain, PersonName, Role};

pub struct BootstrapRequest {
    pub domain: OrgDomain,
    pub admin_email: EmailAddress,
    pub admin_password: String,
    pub first_name: PersonName,
    pub last_name: PersonName,
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
    #[error("bootstrap failed: {0}")]
    Internal(String),
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
    let store = &services.store;
    if store
        .org(&request.domain)
        .await
        .map_err(|e| BootstrapError::Internal(e.to_string()))?
        .is_some()
    {
        return Ok(BootstrapOutcome::AlreadyExists);
    }
    let now = services.clock.now();
    let settings = Settings::default();
    let password = Password::parse(
        &request.admin_password,
        settings.password_policy(),
        &[
            request.domain.as_str(),
            request.first_name.as_str(),
            request.last_name.as_str(),
            request.admin_email.local_part(),
        ],
    )?;
    let everyone = Group {
        id: services.random.group_id(),
        name: GroupName::parse(DEFAULT_GROUP_NAME)
            .map_err(|e| BootstrapError::Internal(e.to_string()))?,
        created_at: now,
        admins: Vec::new(),
        version: 0,
    };
    let org = Org {
        domain: request.domain.clone(),
        settings: Settings {
            default_groups: vec![everyone.id.clone()],
            ..settings
        },
        created_at: now,
        version: 0,
    };
    let digest = services
        .passwords
        .hash(password, services.random.clone())
        .await
        .map_err(|e| BootstrapError::Internal(e.to_string()))?;
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
    };
    match store.create_org(&org, &[everyone], &admin).await {
        Ok(()) => Ok(BootstrapOutcome::Created {
            org: Box::new(org),
            admin: Box::new(admin),
        }),
        Err(WriteError::AlreadyExists) => Ok(BootstrapOutcome::AlreadyExists),
        Err(e) => Err(BootstrapError::Internal(e.to_string())),
    }
}
