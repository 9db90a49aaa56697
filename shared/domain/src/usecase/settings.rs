//! An organisation's settings ("authorisations"): admins read and change them.

use crate::error::{Rejection, RejectionClass};
use crate::events::{ChangeEvents, EventType};
use crate::model::Settings;
use crate::permissions::Action;
use crate::ports::{StoreError, WriteError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::{EmailDomain, GroupId, OrgDomain, OrgName, PersonalMessage};
use crate::usecase::session::AuthError;
use crate::usecase::{admin_of, load_org, OrgLookupError};

/// A partial change: `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    pub sign_up_without_email: Option<bool>,
    pub allowed_email_domains: Option<Vec<EmailDomain>>,
    pub default_groups: Option<Vec<GroupId>>,
    /// `Some(None)` removes the default message.
    pub invitation_message: Option<Option<PersonalMessage>>,
    pub invitation_ttl_days: Option<u32>,
    pub password_min_length: Option<u32>,
    /// `Some(None)` removes the display name (emails then use the domain).
    pub display_name: Option<Option<OrgName>>,
    pub members_can_invite: Option<bool>,
    pub group_admins_can_invite: Option<bool>,
    pub self_registration: Option<bool>,
    /// Days after sending when pending invitations are reminded; empty: no reminders.
    pub reminder_days: Option<Vec<u32>>,
    pub language: Option<crate::types::Language>,
    pub invitations_per_hour: Option<u32>,
    pub admin_invitations_per_hour: Option<u32>,
    pub invitations_per_address_per_day: Option<u32>,
    pub trusted_networks: Option<Vec<crate::types::TrustedNetwork>>,
    /// `Some(None)`: people land on the welcome page after signing up.
    pub sign_up_client: Option<Option<crate::types::ClientId>>,
    /// The roles whose people must have a second factor; empty: none.
    pub mfa_required_for: Option<Vec<crate::types::Role>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins can see and change settings")]
    Forbidden,
    #[error("invitation_ttl_days must be from 1 to {max}", max = Settings::MAX_INVITATION_TTL_DAYS)]
    InvalidTtl,
    #[error("password_min_length must be from 8 to {max}", max = Settings::MAX_PASSWORD_MIN_LENGTH)]
    InvalidPasswordMinLength,
    #[error("there is no group {0} in this organisation")]
    UnknownGroup(GroupId),
    #[error("reminder_days must be at most {max} distinct days, each from 1 to {ttl}", max = Settings::MAX_REMINDERS, ttl = Settings::MAX_INVITATION_TTL_DAYS)]
    InvalidReminderDays,
    #[error("{0}")]
    InvalidLimit(&'static str),
    #[error("at most {max} trusted networks", max = Settings::MAX_TRUSTED_NETWORKS)]
    TooManyTrustedNetworks,
    #[error(
        "sign_up_client must be an application of this organisation with an initiate_login_uri"
    )]
    InvalidSignUpClient,
    #[error("the settings changed meanwhile; read them again")]
    Conflict,
    #[error("settings failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for SettingsError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl Rejection for SettingsError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::InvalidTtl => "invalid_invitation_ttl",
            Self::InvalidPasswordMinLength => "invalid_password_min_length",
            Self::UnknownGroup(_) => "unknown_group",
            Self::InvalidReminderDays => "invalid_reminder_days",
            Self::InvalidLimit(_) => "invalid_invitation_limit",
            Self::TooManyTrustedNetworks => "invalid_trusted_network",
            Self::InvalidSignUpClient => "invalid_sign_up_client",
            Self::Conflict => "settings_changed",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::InvalidTtl
            | Self::InvalidPasswordMinLength
            | Self::UnknownGroup(_)
            | Self::InvalidReminderDays
            | Self::InvalidLimit(_)
            | Self::TooManyTrustedNetworks
            | Self::InvalidSignUpClient => RejectionClass::Invalid,
            Self::Conflict => RejectionClass::Conflict,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

pub async fn get_settings(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
) -> Result<Settings, SettingsError> {
    let (org, _) = admin_of(
        services,
        org,
        token,
        Action::ChangeSettings,
        SettingsError::Forbidden,
    )
    .await?;
    Ok(org.settings)
}

impl SettingsChange {
    fn apply(&self, settings: &mut Settings) {
        if let Some(v) = self.sign_up_without_email {
            settings.sign_up_without_email = v;
        }
        if let Some(v) = &self.allowed_email_domains {
            settings.allowed_email_domains = v.clone();
        }
        if let Some(v) = &self.default_groups {
            settings.default_groups = v.clone();
        }
        if let Some(v) = &self.invitation_message {
            settings.invitation_message = v.clone();
        }
        if let Some(v) = self.invitation_ttl_days {
            settings.invitation_ttl_days = v;
        }
        if let Some(v) = self.password_min_length {
            settings.password_min_length = v;
        }
        if let Some(v) = &self.display_name {
            settings.display_name = v.clone();
        }
        if let Some(v) = self.members_can_invite {
            settings.members_can_invite = v;
        }
        if let Some(v) = self.group_admins_can_invite {
            settings.group_admins_can_invite = v;
        }
        if let Some(v) = self.self_registration {
            settings.self_registration = v;
        }
        if let Some(v) = &self.reminder_days {
            settings.reminder_days = v.clone();
        }
        if let Some(v) = self.language {
            settings.language = v;
        }
        if let Some(v) = self.invitations_per_hour {
            settings.invitations_per_hour = v;
        }
        if let Some(v) = self.admin_invitations_per_hour {
            settings.admin_invitations_per_hour = v;
        }
        if let Some(v) = self.invitations_per_address_per_day {
            settings.invitations_per_address_per_day = v;
        }
        if let Some(v) = &self.trusted_networks {
            settings.trusted_networks = v.clone();
        }
        if let Some(v) = &self.sign_up_client {
            settings.sign_up_client = v.clone();
        }
        if let Some(v) = &self.mfa_required_for {
            // Each role once, in the order admin, member, guest.
            let mut roles = v.clone();
            roles.sort_by_key(|r| match r.as_str() {
                "admin" => 0,
                "member" => 1,
                _ => 2,
            });
            roles.dedup();
            settings.mfa_required_for = roles;
        }
    }
}

/// Applies `change` to the current settings. Concurrent changes to different settings both
/// land: a change that lost the race is re-applied to the newer settings (a few times at most).
/// Turning a feature off deletes nothing.
pub async fn update_settings(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    mut change: SettingsChange,
) -> Result<Settings, SettingsError> {
    let (_, actor) = admin_of(
        services,
        org,
        token,
        Action::ChangeSettings,
        SettingsError::Forbidden,
    )
    .await?;
    if change
        .invitation_ttl_days
        .is_some_and(|d| d == 0 || d > Settings::MAX_INVITATION_TTL_DAYS)
    {
        return Err(SettingsError::InvalidTtl);
    }
    if change
        .password_min_length
        .is_some_and(|n| !(8..=Settings::MAX_PASSWORD_MIN_LENGTH).contains(&n))
    {
        return Err(SettingsError::InvalidPasswordMinLength);
    }
    for (value, max, why) in [
        (
            change.invitations_per_hour,
            Settings::MAX_INVITATIONS_PER_HOUR,
            "invitations_per_hour must be from 1 to 1000",
        ),
        (
            change.admin_invitations_per_hour,
            Settings::MAX_ADMIN_INVITATIONS_PER_HOUR,
            "admin_invitations_per_hour must be from 1 to 10000",
        ),
        (
            change.invitations_per_address_per_day,
            Settings::MAX_INVITATIONS_PER_ADDRESS_PER_DAY,
            "invitations_per_address_per_day must be from 1 to 20",
        ),
    ] {
        if value.is_some_and(|v| v == 0 || v > max) {
            return Err(SettingsError::InvalidLimit(why));
        }
    }
    if let Some(networks) = &mut change.trusted_networks {
        networks.dedup();
        if networks.len() > Settings::MAX_TRUSTED_NETWORKS {
            return Err(SettingsError::TooManyTrustedNetworks);
        }
    }
    if let Some(days) = &mut change.reminder_days {
        if days.len() > Settings::MAX_REMINDERS
            || days
                .iter()
                .any(|d| *d == 0 || *d > Settings::MAX_INVITATION_TTL_DAYS)
        {
            return Err(SettingsError::InvalidReminderDays);
        }
        days.sort_unstable();
        days.dedup();
    }
    if let Some(groups) = &mut change.default_groups {
        let mut unique: Vec<GroupId> = Vec::new();
        for g in groups.iter() {
            if !unique.contains(g) {
                unique.push(g.clone());
            }
        }
        let known = services.store.groups(org).await?;
        if let Some(missing) = unique.iter().find(|g| !known.iter().any(|k| &k.id == *g)) {
            return Err(SettingsError::UnknownGroup(missing.clone()));
        }
        *groups = unique;
    }
    if let Some(Some(id)) = &change.sign_up_client {
        let client = services.store.client(org, id).await?;
        if client.is_none_or(|c| c.initiate_login_uri.is_none()) {
            return Err(SettingsError::InvalidSignUpClient);
        }
    }
    for _ in 0..3 {
        let mut current = load_org(services, org).await?;
        change.apply(&mut current.settings);
        let mut events = ChangeEvents::new(&*services.random, services.clock.now());
        let view = crate::views::SettingsView::from(&current.settings);
        events.resource(org, EventType::SettingsUpdated, Some(&actor.user_id), &view);
        match services.store.update_org(&current, &events).await {
            Ok(()) => return Ok(current.settings),
            Err(WriteError::Stale) => continue,
            Err(e) => return Err(SettingsError::Internal(e.into())),
        }
    }
    Err(SettingsError::Conflict)
}
