//! Invite by email (save the invitation with a single-use link token, then mail the link) or
//! by identifier (save it with an access code for the admin to hand over).

use crate::access_code::AccessCode;
use crate::error::{Rejection, RejectionClass};
use crate::events::of_invitation;
use crate::lifecycle::{reminder_times, EventKind, Lifecycle, MailKind};
use crate::mail::{InvitationMail, LinkConfirmationMail};
use crate::model::{Delivery, Invitation, InvitationState, Invitee, Org};
use crate::ports::{StoreError, WriteError};
use crate::secret::{SecretToken, SessionToken};
use crate::services::Services;
use crate::types::{
    EmailAddress, GroupId, InvitationId, InviteeRole, OrgDomain, PersonName, PersonalMessage, Uid,
};
use crate::usecase::quota::InvitationQuota;
use crate::usecase::session::AuthError;
use crate::usecase::{administered_groups, caller_in, Along, OrgLookupError};

/// Who to invite: by email, or by identifier (uid) for a user without email.
#[derive(Debug, Clone)]
pub enum InviteeRequest {
    Email(EmailAddress),
    Uid(Uid),
}

#[derive(Debug, Clone)]
pub struct InvitationRequest {
    pub invitee: InviteeRequest,
    pub role: InviteeRole,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub groups: Vec<GroupId>,
    /// Overrides the organisation's default invitation message.
    pub message: Option<PersonalMessage>,
    /// The language of its emails; the organisation's when `None`.
    pub language: Option<crate::types::Language>,
}

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins can do this")]
    Forbidden,
    /// A delegated invitation the organisation's settings do not allow.
    #[error("{0}")]
    Refused(crate::permissions::Refusal),
    #[error("members can only be invited with an email address at one of the organisation's allowed domains")]
    EmailDomainNotAllowed,
    #[error("there is no group {0} in this organisation")]
    UnknownGroup(GroupId),
    #[error("this email address already has an account or a pending invitation here")]
    EmailTaken,
    #[error("this identifier already has an account or a pending invitation here")]
    UidTaken,
    #[error("invitations by identifier need the setting sign_up_without_email")]
    WithoutEmailDisabled,
    #[error("too many invitations: at most the organisation's invitations_per_hour from one inviter and invitations_per_address_per_day to one address; try again in {} seconds", .0.as_secs())]
    TooManyInvitations(std::time::Duration),
    #[error("inviting failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for InviteError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl Rejection for InviteError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::Refused(r) => r.code(),
            Self::EmailDomainNotAllowed => "email_domain_not_allowed",
            Self::UnknownGroup(_) => "unknown_group",
            Self::EmailTaken => "email_taken",
            Self::UidTaken => "uid_taken",
            Self::WithoutEmailDisabled => "sign_up_without_email_disabled",
            Self::TooManyInvitations(_) => "too_many_invitations",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden | Self::Refused(_) | Self::WithoutEmailDisabled => {
                RejectionClass::Forbidden
            }
            Self::EmailDomainNotAllowed | Self::UnknownGroup(_) => RejectionClass::Invalid,
            Self::EmailTaken | Self::UidTaken => RejectionClass::Conflict,
            Self::TooManyInvitations(_) => RejectionClass::Throttled,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::TooManyInvitations(wait) => Some(*wait),
            _ => None,
        }
    }
}

/// What an invitation's address counts as for the per-address quota.
fn quota_address(invitee: &Invitee) -> String {
    match invitee {
        Invitee::Email { email, .. } => email.normalized(),
        Invitee::Uid { uid, .. } => format!("uid:{}", uid.normalized()),
    }
}

/// The sign-up link in an invitation email.
pub fn sign_up_link(services: &Services, org: &OrgDomain, token: &SecretToken) -> String {
    format!(
        "{}/{}/sign-up?token={}",
        services.config.public_url,
        org,
        token.expose()
    )
}

/// A new invitation, and for an identifier invitation its access code (shown to the admin).
#[derive(Debug, Clone)]
pub struct Invited {
    pub invitation: Invitation,
    pub access_code: Option<AccessCode>,
}

/// Invites by email (the invitee is mailed a single-use link) or by identifier (an access code
/// is made for the admin to hand over; needs `sign_up_without_email`).
pub async fn invite(
    services: &Services,
    org_domain: &OrgDomain,
    token: Option<&SessionToken>,
    request: InvitationRequest,
) -> Result<Invited, InviteError> {
    let wanted = distinct(&request.groups);
    let asked = match &request.invitee {
        InviteeRequest::Email(_) => Asked::Email(request.role),
        InviteeRequest::Uid(_) => Asked::Uid,
    };
    let (org, inviter, found_groups) =
        inviter_in(services, org_domain, token, &wanted, asked).await?;
    match &request.invitee {
        InviteeRequest::Email(email) => {
            if request.role == InviteeRole::Member && !org.settings.allows_member_email(email) {
                return Err(InviteError::EmailDomainNotAllowed);
            }
        }
        InviteeRequest::Uid(_) => {
            if !org.settings.sign_up_without_email {
                return Err(InviteError::WithoutEmailDisabled);
            }
        }
    }
    if let Some((missing, _)) = wanted.iter().zip(&found_groups).find(|(_, g)| g.is_none()) {
        return Err(InviteError::UnknownGroup(missing.clone()));
    }
    let groups = wanted;

    let now = services.clock.now();
    let (invitee, link_token, access_code) = match request.invitee {
        InviteeRequest::Email(email) => {
            let link_token = SecretToken::generate(services.random.as_ref());
            let invitee = Invitee::Email {
                email,
                token_hash: link_token.hash(),
            };
            (invitee, Some(link_token), None)
        }
        InviteeRequest::Uid(uid) => {
            let code = AccessCode::generate(services.random.as_ref());
            let invitee = Invitee::Uid {
                uid,
                access_code: services.access_codes.seal(&code, services.random.as_ref()),
                code_hash: services.access_codes.lookup_hash(&code),
            };
            (invitee, None, Some(code))
        }
    };
    let expires_at = now.plus(org.settings.invitation_ttl());
    let (sealed, reminders) = match &link_token {
        Some(t) => (
            Some(seal(services, t)),
            reminder_times(&org.settings, now, expires_at),
        ),
        None => (None, Vec::new()),
    };
    let invitation = Invitation {
        id: services.random.invitation_id(now),
        org: org.domain.clone(),
        invitee,
        role: request.role,
        first_name: request.first_name,
        last_name: request.last_name,
        groups,
        message: request
            .message
            .or_else(|| org.settings.invitation_message.clone()),
        invited_by: Some(inviter.id.clone()),
        created_at: now,
        expires_at,
        state: InvitationState::Pending,
        delivery: if link_token.is_some() {
            Delivery::Queued
        } else {
            Delivery::Manual
        },
        lifecycle: Lifecycle {
            inviter_name: inviter.name.clone(),
            inviter_email: inviter.email.clone(),
            language: request.language.unwrap_or(org.settings.language),
            ..Lifecycle::for_new(now, Some(inviter.id.clone()), sealed, reminders)
        },
        version: 0,
    };
    // Counted in the same write: past a cap, nothing is written or mailed.
    let quota = InvitationQuota::new(
        &org.domain,
        &org.settings,
        &inviter.id,
        inviter.is_admin,
        &quota_address(&invitation.invitee),
        now,
    );
    let events = of_invitation(services, None, &invitation);
    match services
        .store
        .create_invitation_charged(&invitation, &quota.charges(), &events)
        .await
    {
        Ok(()) => {}
        Err(WriteError::EmailTaken) => return Err(InviteError::EmailTaken),
        Err(WriteError::UidTaken) => return Err(InviteError::UidTaken),
        Err(WriteError::QuotaSpent(i)) => {
            return Err(InviteError::TooManyInvitations(quota.wait(i)))
        }
        Err(e) => return Err(InviteError::Internal(e.into())),
    }
    services
        .metrics
        .count(crate::metrics::Metric::InvitationsCreated, 1);
    let invitation = match &link_token {
        Some(t) => deliver(services, &org, invitation, t).await,
        None => invitation,
    };
    Ok(Invited {
        invitation,
        access_code,
    })
}

/// A link token as an invitation keeps it, so that retries and reminders mail the same link.
pub(crate) fn seal(services: &Services, token: &SecretToken) -> crate::access_code::SealedCode {
    services
        .access_codes
        .seal_link_token(token, services.random.as_ref())
}

/// Who invites: an admin of the organisation, or a member or group admin the settings let
/// invite by email (see [`crate::permissions`]), with their name for the email. The
/// organisation, the session, the inviter's account and the groups named are read in one round
/// trip.
struct Inviter {
    id: crate::types::UserId,
    name: Option<String>,
    email: Option<crate::types::EmailAddress>,
    is_admin: bool,
}

/// What the inviter asks for.
#[derive(Debug, Clone, Copy)]
enum Asked {
    Email(InviteeRole),
    Uid,
    /// Resending any invitation (admins).
    Resend,
}

/// The groups asked for come along too (`None` for ids that are no group here).
async fn inviter_in(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    groups: &[GroupId],
    asked: Asked,
) -> Result<(Org, Inviter, Vec<Option<crate::model::Group>>), InviteError> {
    use crate::permissions::{decide, Action, Refusal, Standing};
    let along = Along { groups };
    let caller = caller_in::<InviteError>(services, org, token, along).await?;
    let action = match asked {
        Asked::Email(role) => Action::InviteByEmail { role, groups },
        Asked::Uid => Action::InviteByUid,
        Asked::Resend => Action::Resend { own: false },
    };
    let settings = &caller.org.settings;
    let mut administers = caller.administers.clone();
    // Administering none of the groups named (or naming none): whether they administer any
    // group decides the answer (group_not_administered or only_admins_can_invite).
    if administers.is_empty() && matches!(asked, Asked::Email(_)) && !caller.actor.is_admin() {
        administers = administered_groups(services, &caller.org, &caller.actor.user_id).await?;
    }
    let who = Standing {
        role: caller.actor.role,
        administers: &administers,
    };
    match decide(who, settings, action) {
        Ok(()) => {}
        Err(Refusal::AdminsOnly) => return Err(InviteError::Forbidden),
        Err(refusal) => return Err(InviteError::Refused(refusal)),
    }
    let inviter = Inviter {
        name: caller
            .user
            .as_ref()
            .map(|u| format!("{} {}", u.first_name, u.last_name)),
        email: caller.user.and_then(|u| u.email),
        is_admin: caller.actor.is_admin(),
        id: caller.actor.user_id,
    };
    Ok((caller.org, inviter, caller.groups))
}

#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    #[error(transparent)]
    Invite(#[from] InviteError),
    #[error("no such invitation")]
    NotFound,
    #[error("the invitation was accepted")]
    Accepted,
    #[error("the invitation was revoked; invite again")]
    Revoked,
    #[error("the invitation changed meanwhile; try again")]
    Changed,
}

impl Rejection for ResendError {
    fn code(&self) -> &'static str {
        match self {
            Self::Invite(e) => e.code(),
            Self::NotFound => "invitation_not_found",
            Self::Accepted => "invitation_accepted",
            Self::Revoked => "invitation_revoked",
            Self::Changed => "invitation_changed",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Invite(e) => e.class(),
            Self::NotFound => RejectionClass::NotFound,
            Self::Accepted | Self::Revoked | Self::Changed => RejectionClass::Conflict,
        }
    }
    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::Invite(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// Gives a pending (or expired) invitation a fresh deadline and sends it again: an email
/// invitation gets a new link (the old one stops working) and is mailed, which is also how an
/// invitation whose mail failed (`delivery: queued`) goes out; an identifier invitation keeps
/// its access code, shown again to the admin.
pub async fn resend_invitation(
    services: &Services,
    org_domain: &OrgDomain,
    token: Option<&SessionToken>,
    id: &InvitationId,
) -> Result<Invited, ResendError> {
    let (org, inviter, _) = inviter_in(services, org_domain, token, &[], Asked::Resend).await?;
    let previous = services
        .store
        .invitation(org_domain, id)
        .await
        .map_err(InviteError::from)?
        .ok_or(ResendError::NotFound)?;
    match previous.state {
        InvitationState::Pending => {}
        InvitationState::Accepted { .. } => return Err(ResendError::Accepted),
        InvitationState::Revoked { .. } => return Err(ResendError::Revoked),
    }
    let now = services.clock.now();
    let mut renewed = previous.clone();
    renewed.expires_at = now.plus(org.settings.invitation_ttl());
    renewed.record(EventKind::Resent, now, Some(inviter.id.clone()));
    renewed.lifecycle.expiry_noted = false;
    let mut link_token = None;
    let mut access_code = None;
    match &mut renewed.invitee {
        Invitee::Email { token_hash, .. } => {
            let fresh = SecretToken::generate(services.random.as_ref());
            *token_hash = fresh.hash();
            renewed.delivery = Delivery::Queued;
            let life = &mut renewed.lifecycle;
            life.sealed_token = Some(seal(services, &fresh));
            life.retry_at = Some(now.plus(crate::lifecycle::RETRY_FIRST_WAIT));
            life.failed_sends = 0;
            if life.mail == MailKind::Invitation {
                life.reminders = reminder_times(&org.settings, now, renewed.expires_at);
            }
            link_token = Some(fresh);
        }
        Invitee::Uid {
            access_code: sealed,
            ..
        } => access_code = services.access_codes.open(sealed),
    }
    // A resend mails again: it counts like an invitation, in the same write.
    let quota = InvitationQuota::new(
        &org.domain,
        &org.settings,
        &inviter.id,
        inviter.is_admin,
        &quota_address(&previous.invitee),
        now,
    );
    let events = of_invitation(services, Some(&previous), &renewed);
    match services
        .store
        .update_invitation_charged(&renewed, &previous, &quota.charges(), &events)
        .await
    {
        Ok(()) => renewed.version = previous.version + 1,
        Err(WriteError::QuotaSpent(i)) => {
            return Err(InviteError::TooManyInvitations(quota.wait(i)).into())
        }
        Err(WriteError::EmailTaken) => return Err(InviteError::EmailTaken.into()),
        Err(WriteError::UidTaken) => return Err(InviteError::UidTaken.into()),
        Err(WriteError::Stale) => return Err(ResendError::Changed),
        Err(e) => return Err(InviteError::Internal(e.into()).into()),
    }
    let invitation = match &link_token {
        Some(t) => deliver(services, &org, renewed, t).await,
        None => renewed,
    };
    Ok(Invited {
        invitation,
        access_code,
    })
}

/// The ids once each, in the order given.
fn distinct(wanted: &[GroupId]) -> Vec<GroupId> {
    let mut groups: Vec<GroupId> = Vec::with_capacity(wanted.len());
    for g in wanted {
        if !groups.contains(g) {
            groups.push(g.clone());
        }
    }
    groups
}

/// Mails the invitation and records that it went out. A failure leaves the invitation saved
/// with `Delivery::Queued`, for the cleanup to retry (or a resend): it is logged, never lost.
pub(crate) async fn deliver(
    services: &Services,
    org: &Org,
    mut invitation: Invitation,
    link_token: &SecretToken,
) -> Invitation {
    if invitation.invitee.email().is_none() {
        return invitation;
    }
    let sent = match email_of(services, org, &invitation, link_token, false) {
        Ok(m) => services.mailer.send(&m).await.map_err(crate::Cause::from),
        Err(e) => Err(e.into()),
    };
    if let Err(cause) = sent {
        tracing::warn!(invitation = %invitation.id, org = %invitation.org, cause = %crate::Chain(&*cause), "invitation email not sent; left queued for retry");
        return invitation;
    }
    let read = invitation.clone();
    invitation.mark_sent(services.clock.now());
    let events = of_invitation(services, Some(&read), &invitation);
    let recorded = crate::usecase::sent_record::recording_sent(|| {
        services
            .store
            .update_invitation(&invitation, &read, &events)
    })
    .await;
    match recorded {
        Ok(()) => {
            invitation.version += 1;
            invitation
        }
        Err(e) => {
            tracing::warn!(invitation = %invitation.id, cause = %crate::Chain(&e), "invitation email sent but not recorded as sent");
            read
        }
    }
}

/// The email an email invitation's link goes out in (see [`MailKind`]); `reminder`: as a
/// reminder of it. An identifier invitation has none.
pub(crate) fn email_of(
    services: &Services,
    org: &Org,
    invitation: &Invitation,
    link_token: &SecretToken,
    reminder: bool,
) -> Result<crate::ports::OutgoingEmail, crate::mail::RenderError> {
    let Some(email) = invitation.invitee.email() else {
        return Err(crate::mail::RenderError::not_mailed());
    };
    let link = sign_up_link(services, &invitation.org, link_token);
    let life = &invitation.lifecycle;
    let mut email = match life.mail {
        MailKind::Invitation => InvitationMail {
            to: email,
            org: org.name(),
            first_name: &invitation.first_name,
            inviter: life
                .inviter_name
                .clone()
                .unwrap_or_else(|| match life.language {
                    crate::types::Language::En => format!("An administrator of {}", org.name()),
                    crate::types::Language::Fr => format!("Un administrateur de {}", org.name()),
                }),
            reply_to: life.inviter_email.as_ref(),
            role: invitation.role.as_role(),
            message: invitation.message.as_ref(),
            link,
            expires_at: invitation.expires_at,
            reminder,
            // The reminders still to come after this one (a reminder is taken off before it goes).
            last_reminder: life.reminders.last().copied(),
            language: life.language,
        }
        .render(),
        MailKind::LinkConfirmation | MailKind::SelfConfirmation => LinkConfirmationMail {
            to: email,
            via_link: life.mail == MailKind::LinkConfirmation,
            org: org.name(),
            first_name: &invitation.first_name,
            role: invitation.role.as_role(),
            link,
            expires_at: invitation.expires_at,
            language: life.language,
        }
        .render(),
    }?;
    email.about = Some(crate::ports::MailTopic {
        org: invitation.org.clone(),
        invitation: invitation.id.clone(),
    });
    Ok(email)
}
