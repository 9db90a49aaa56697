//! The organisation's invitation link (admins activate, show and deactivate it), registration
//! through it, and self-registration (with `self_registration` on) the same way: the visitor gives an email address and names, receives a single-use confirmation
//! link and creates the account with it (the email sign-up), so nobody registers an address that
//! is not theirs. Looking the link up never uses it; only a registration counts, atomically with
//! the invitation it creates.

use crate::events::{of_invitation, ChangeEvents, EventType};
use std::time::Duration;

use crate::error::{Rejection, RejectionClass};
use crate::lifecycle::{Lifecycle, MailKind};
use crate::model::{
    Delivery, Invitation, InvitationLink, InvitationState, Invitee, LinkUnusable, Org,
};
use crate::permissions::{decide, Action};
use crate::ports::{StoreError, WriteError};
use crate::secret::{SecretToken, SessionToken};
use crate::services::Services;
use crate::throttle::{Counter, Refusal, ThrottlePolicy};
use crate::types::{EmailAddress, GroupId, InviteeRole, Language, OrgDomain, PersonName};
use crate::usecase::guard::{admit, AdmitError, ClientAddress};
use crate::usecase::session::AuthError;
use crate::usecase::{caller_in, invite, load_org, Along, OrgLookupError};

/// How long a registration's confirmation link works.
pub const CONFIRMATION_VALID_FOR: Duration = Duration::from_secs(24 * 3600);
/// The longest expiry an admin may give the link.
pub const MAX_LINK_DAYS: u32 = 365;
/// The most registrations an admin may allow through the link (more: leave it unlimited).
pub const MAX_LINK_USES: u32 = 1_000_000;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins manage the invitation link")]
    Forbidden,
    #[error("the organisation has no active invitation link")]
    NoLink,
    #[error("there is no group {0} in this organisation")]
    UnknownGroup(GroupId),
    #[error("expires_in_days must be from 1 to {MAX_LINK_DAYS}")]
    InvalidExpiry,
    #[error("max_uses must be from 1 to {MAX_LINK_USES}")]
    InvalidMaxUses,
    #[error("the invitation link changed meanwhile; try again")]
    Changed,
    #[error("storage failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for LinkError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl Rejection for LinkError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::NoLink => "invitation_link_inactive",
            Self::UnknownGroup(_) => "unknown_group",
            Self::InvalidExpiry => "invalid_link_expiry",
            Self::InvalidMaxUses => "invalid_max_uses",
            Self::Changed => "invitation_link_changed",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::NoLink => RejectionClass::NotFound,
            Self::UnknownGroup(_) | Self::InvalidExpiry | Self::InvalidMaxUses => {
                RejectionClass::Invalid
            }
            Self::Changed => RejectionClass::Conflict,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

/// What an admin chooses when activating the link.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    pub role: InviteeRole,
    pub groups: Vec<GroupId>,
    pub expires_in_days: Option<u32>,
    pub max_uses: Option<u32>,
}

/// The link as admins see it, with its URL while it is active.
#[derive(Debug, Clone)]
pub struct LinkView {
    pub link: InvitationLink,
    pub url: Option<String>,
}

/// Where the link leads: the registration page of the organisation.
pub fn link_url(services: &Services, org: &OrgDomain, token: &SecretToken) -> String {
    format!(
        "{}/{}/join?token={}",
        services.config.public_url,
        org,
        token.expose()
    )
}

fn view(services: &Services, link: InvitationLink) -> LinkView {
    let url = link
        .active
        .then(|| services.access_codes.open_link_token(&link.sealed_token))
        .flatten()
        .map(|t| link_url(services, &link.org, &t));
    LinkView { link, url }
}

/// Activates a new invitation link (admins): a new token every time, so a link handed out
/// before (active or not) stays dead.
pub async fn activate_link(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    options: LinkOptions,
) -> Result<LinkView, LinkError> {
    if options
        .expires_in_days
        .is_some_and(|d| d == 0 || d > MAX_LINK_DAYS)
    {
        return Err(LinkError::InvalidExpiry);
    }
    if options
        .max_uses
        .is_some_and(|m| m == 0 || m > MAX_LINK_USES)
    {
        return Err(LinkError::InvalidMaxUses);
    }
    let mut groups: Vec<GroupId> = Vec::new();
    for g in &options.groups {
        if !groups.contains(g) {
            groups.push(g.clone());
        }
    }
    let along = Along { groups: &groups };
    let caller = caller_in::<LinkError>(services, org, token, along).await?;
    decide(caller.standing(), &caller.org.settings, Action::ManageLink)
        .map_err(|_| LinkError::Forbidden)?;
    if let Some((missing, _)) = groups.iter().zip(&caller.groups).find(|(_, g)| g.is_none()) {
        return Err(LinkError::UnknownGroup(missing.clone()));
    }
    let now = services.clock.now();
    let secret = SecretToken::generate(services.random.as_ref());
    let mut link = InvitationLink {
        org: org.clone(),
        token_hash: secret.hash(),
        sealed_token: services
            .access_codes
            .seal_link_token(&secret, services.random.as_ref()),
        role: options.role,
        groups,
        expires_at: options
            .expires_in_days
            .map(|d| now.plus(Duration::from_secs(u64::from(d) * 86_400))),
        max_uses: options.max_uses,
        uses: 0,
        active: true,
        created_by: caller.actor.user_id.clone(),
        created_at: now,
        version: 0,
    };
    for _ in 0..3 {
        let current = services.store.invitation_link(org).await?;
        let read = current.map(|c| c.version);
        let mut events = ChangeEvents::new(&*services.random, now);
        let data = crate::views::LinkView::without_url(&link);
        let by = Some(&caller.actor.user_id);
        events.resource(org, EventType::InvitationLinkActivated, by, &data);
        match services
            .store
            .save_invitation_link(&link, read, &events)
            .await
        {
            Ok(()) => {
                link.version = read.map_or(0, |v| v + 1);
                return Ok(LinkView {
                    url: Some(link_url(services, org, &secret)),
                    link,
                });
            }
            Err(WriteError::Stale) => continue,
            Err(e) => return Err(LinkError::Internal(e.into())),
        }
    }
    Err(LinkError::Changed)
}

/// The link (admins), with its URL while active and how often it was used.
pub async fn link_status(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
) -> Result<LinkView, LinkError> {
    let caller = caller_in::<LinkError>(services, org, token, Along::default()).await?;
    decide(caller.standing(), &caller.org.settings, Action::ManageLink)
        .map_err(|_| LinkError::Forbidden)?;
    let link = services
        .store
        .invitation_link(org)
        .await?
        .ok_or(LinkError::NoLink)?;
    Ok(view(services, link))
}

/// Deactivates the link at once (admins); deactivating an inactive link changes nothing.
pub async fn deactivate_link(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
) -> Result<LinkView, LinkError> {
    let caller = caller_in::<LinkError>(services, org, token, Along::default()).await?;
    decide(caller.standing(), &caller.org.settings, Action::ManageLink)
        .map_err(|_| LinkError::Forbidden)?;
    for _ in 0..5 {
        let current = services
            .store
            .invitation_link(org)
            .await?
            .ok_or(LinkError::NoLink)?;
        if !current.active {
            return Ok(view(services, current));
        }
        let mut off = current.clone();
        off.active = false;
        let mut events = ChangeEvents::new(&*services.random, services.clock.now());
        let data = crate::views::LinkView::without_url(&off);
        let by = Some(&caller.actor.user_id);
        events.resource(org, EventType::InvitationLinkDeactivated, by, &data);
        match services
            .store
            .save_invitation_link(&off, Some(current.version), &events)
            .await
        {
            Ok(()) => {
                off.version += 1;
                return Ok(view(services, off));
            }
            Err(WriteError::Stale) => continue,
            Err(e) => return Err(LinkError::Internal(e.into())),
        }
    }
    Err(LinkError::Changed)
}

#[derive(Debug, Clone)]
pub struct LinkRegistration {
    pub token: SecretToken,
    pub email: EmailAddress,
    pub first_name: PersonName,
    pub last_name: PersonName,
    /// The language of the confirmation (the page's); the organisation's when `None`.
    pub language: Option<Language>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error("this invitation link is not (or no longer) valid")]
    LinkInvalid,
    #[error("this invitation link has expired")]
    LinkExpired,
    #[error("this invitation link has been used as often as it may")]
    LinkUsedUp,
    #[error("members can only register with an email address at one of the organisation's allowed domains")]
    EmailDomainNotAllowed,
    #[error("this organisation does not let people register themselves")]
    SelfRegistrationOff,
    #[error("too many registrations from this network address; try again later")]
    TooManyRegistrations(Refusal),
    /// The link changed while registering (retried inside; never answered).
    #[error("the invitation link changed meanwhile")]
    LinkChanged,
    #[error("registering failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for RegistrationError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<AdmitError> for RegistrationError {
    fn from(e: AdmitError) -> Self {
        match e {
            AdmitError::Refused(r) => Self::TooManyRegistrations(r),
            AdmitError::Store(e) => Self::Internal(e.into()),
        }
    }
}

impl Rejection for RegistrationError {
    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::TooManyRegistrations(r) => r.retry_after(),
            _ => None,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::LinkInvalid => "invitation_link_invalid",
            Self::LinkExpired => "invitation_link_expired",
            Self::LinkUsedUp => "invitation_link_used_up",
            Self::EmailDomainNotAllowed => "email_domain_not_allowed",
            Self::SelfRegistrationOff => "self_registration_disabled",
            Self::TooManyRegistrations(_) => "too_many_registrations",
            Self::LinkChanged => "invitation_link_changed",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::LinkInvalid | Self::LinkExpired | Self::LinkUsedUp => RejectionClass::Gone,
            Self::EmailDomainNotAllowed => RejectionClass::Invalid,
            Self::SelfRegistrationOff => RejectionClass::Forbidden,
            Self::TooManyRegistrations(_) => RejectionClass::Throttled,
            Self::LinkChanged => RejectionClass::Conflict,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

/// The link a visitor holds, checked without using it (a mail scanner following the link
/// changes nothing): what it grants, or why it cannot be used.
pub async fn check_link(
    services: &Services,
    org_domain: &OrgDomain,
    token: &SecretToken,
) -> Result<(Org, InvitationLink), RegistrationError> {
    let org = load_org(services, org_domain).await?;
    let link = services
        .store
        .invitation_link(org_domain)
        .await?
        .filter(|l| l.token_hash == token.hash())
        .ok_or(RegistrationError::LinkInvalid)?;
    link.usable_at(services.clock.now()).map_err(|e| match e {
        LinkUnusable::Inactive => RegistrationError::LinkInvalid,
        LinkUnusable::Expired => RegistrationError::LinkExpired,
        LinkUnusable::UsedUp => RegistrationError::LinkUsedUp,
    })?;
    Ok((org, link))
}

/// Registers through the link: a pending invitation with the link's role and groups, and a
/// confirmation mailed to the address; the account is made when its link is followed. Answers
/// the same whether or not the address already has an account or a pending invitation (then
/// nothing is made or sent), so the link tells nobody who is registered. Each registration uses
/// the link once, counted with the invitation in one write: when one use is left, exactly one of
/// many concurrent registrations gets it.
pub async fn register_with_link(
    services: &Services,
    org_domain: &OrgDomain,
    request: LinkRegistration,
    client: &ClientAddress,
) -> Result<(), RegistrationError> {
    let mut charged = false;
    for _ in 0..5 {
        let (org, link) = check_link(services, org_domain, &request.token).await?;
        if !charged {
            charge_registration(services, org_domain, client).await?;
            charged = true;
        }
        let person = Registrant {
            email: &request.email,
            first_name: &request.first_name,
            last_name: &request.last_name,
            language: request.language,
        };
        match register(services, &org, person, Some(&link)).await {
            // The link changed (used, deactivated, replaced): look again.
            Err(RegistrationError::LinkChanged) => continue,
            other => return other,
        }
    }
    Err(RegistrationError::Internal(
        "the invitation link kept changing".into(),
    ))
}

/// Who registers themselves, with the organisation's `self_registration` on: as
/// [`register_with_link`], as a member of the default groups, with no link to count.
pub async fn register_self(
    services: &Services,
    org_domain: &OrgDomain,
    request: SelfRegistration,
    client: &ClientAddress,
) -> Result<(), RegistrationError> {
    let org = load_org(services, org_domain).await?;
    if !org.settings.self_registration {
        return Err(RegistrationError::SelfRegistrationOff);
    }
    charge_registration(services, org_domain, client).await?;
    let person = Registrant {
        email: &request.email,
        first_name: &request.first_name,
        last_name: &request.last_name,
        language: request.language,
    };
    register(services, &org, person, None).await
}

#[derive(Debug, Clone)]
pub struct SelfRegistration {
    pub email: EmailAddress,
    pub first_name: PersonName,
    pub last_name: PersonName,
    /// As [`LinkRegistration::language`].
    pub language: Option<Language>,
}

/// Counts a registration against the client's allowance in the organisation (before anything is
/// written or mailed); refused once the allowance is spent.
async fn charge_registration(
    services: &Services,
    org_domain: &OrgDomain,
    client: &ClientAddress,
) -> Result<(), RegistrationError> {
    let counter = Counter::new(
        format!("register-client#{org_domain}#{}", client.as_str()),
        ThrottlePolicy::REGISTRATION_CLIENT,
    );
    admit(services, &[counter]).await?;
    Ok(())
}

struct Registrant<'a> {
    email: &'a EmailAddress,
    first_name: &'a PersonName,
    last_name: &'a PersonName,
    language: Option<Language>,
}

/// The pending invitation of a registration and its confirmation mail. Through a link, the
/// link's use is counted with it (`LinkChanged` if the link changed since it was read).
async fn register(
    services: &Services,
    org: &Org,
    person: Registrant<'_>,
    link: Option<&InvitationLink>,
) -> Result<(), RegistrationError> {
    let role = link.map_or(InviteeRole::Member, |l| l.role);
    if role == InviteeRole::Member && !org.settings.allows_member_email(person.email) {
        return Err(RegistrationError::EmailDomainNotAllowed);
    }
    let now = services.clock.now();
    let confirmation = SecretToken::generate(services.random.as_ref());
    let invitation = Invitation {
        id: services.random.invitation_id(now),
        org: org.domain.clone(),
        invitee: Invitee::Email {
            email: person.email.clone(),
            token_hash: confirmation.hash(),
        },
        role,
        first_name: person.first_name.clone(),
        last_name: person.last_name.clone(),
        groups: link.map(|l| l.groups.clone()).unwrap_or_default(),
        message: None,
        invited_by: link.map(|l| l.created_by.clone()),
        created_at: now,
        expires_at: now.plus(CONFIRMATION_VALID_FOR),
        state: InvitationState::Pending,
        delivery: Delivery::Queued,
        lifecycle: Lifecycle {
            language: person.language.unwrap_or(org.settings.language),
            mail: if link.is_some() {
                MailKind::LinkConfirmation
            } else {
                MailKind::SelfConfirmation
            },
            ..Lifecycle::for_new(
                now,
                None,
                Some(invite::seal(services, &confirmation)),
                Vec::new(),
            )
        },
        version: 0,
    };
    let events = of_invitation(services, None, &invitation);
    let created = match link {
        Some(link) => {
            services
                .store
                .register_through_link(link, &invitation, &events)
                .await
        }
        None => services.store.create_invitation(&invitation, &events).await,
    };
    match created {
        Ok(()) => {}
        Err(WriteError::EmailTaken | WriteError::AlreadyExists) => {
            tracing::info!(org = %org.domain, "a registration for an address already here; nothing sent");
            return Ok(());
        }
        Err(WriteError::Stale) if link.is_some() => return Err(RegistrationError::LinkChanged),
        Err(e) => return Err(RegistrationError::Internal(e.into())),
    }
    invite::deliver(services, org, invitation, &confirmation).await;
    Ok(())
}
