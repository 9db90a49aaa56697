//! Invite by email: save the invitation with a single-use link token, then mail the link.

use crate::error::{Rejection, RejectionClass};
use crate::mail::InvitationMail;
use crate::model::{Delivery, Invitation, InvitationState, Invitee, Org};
use crate::ports::{StoreError, WriteError};
use crate::secret::{SecretToken, SessionToken};
use crate::services::Services;
use crate::types::{EmailAddress, GroupId, InviteeRole, OrgDomain, PersonName, PersonalMessage};
use crate::usecase::session::AuthError;
use crate::usecase::{authenticate, load_org, Actor, OrgLookupError};

#[derive(Debug, Clone)]
pub struct EmailInvitationRequest {
    pub email: EmailAddress,
    pub role: InviteeRole,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub groups: Vec<GroupId>,
    /// Overrides the organisation's default invitation message.
    pub message: Option<PersonalMessage>,
}

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins can invite")]
    Forbidden,
    #[error("members can only be invited with an email address at one of the organisation's allowed domains")]
    EmailDomainNotAllowed,
    #[error("there is no group {0} in this organisation")]
    UnknownGroup(GroupId),
    #[error("this email address already has an account or a pending invitation here")]
    EmailTaken,
    #[error("inviting failed: {0}")]
    Internal(String),
}

impl From<StoreError> for InviteError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl Rejection for InviteError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::EmailDomainNotAllowed => "email_domain_not_allowed",
            Self::UnknownGroup(_) => "unknown_group",
            Self::EmailTaken => "email_taken",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::EmailDomainNotAllowed | Self::UnknownGroup(_) => RejectionClass::Invalid,
            Self::EmailTaken => RejectionClass::Conflict,
            Self::Internal(_) => RejectionClass::Internal,
        }
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

pub async fn invite_by_email(
    services: &Services,
    org_domain: &OrgDomain,
    token: Option<&SessionToken>,
    request: EmailInvitationRequest,
) -> Result<Invitation, InviteError> {
    let org = load_org(services, org_domain).await?;
    let actor = authenticate(services, org_domain, token).await?;
    if !actor.is_admin() {
        return Err(InviteError::Forbidden);
    }
    if request.role == InviteeRole::Member && !org.settings.allows_member_email(&request.email) {
        return Err(InviteError::EmailDomainNotAllowed);
    }
    let groups = existing_groups(services, &org, &request.groups).await?;

    let now = services.clock.now();
    let link_token = SecretToken::generate(services.random.as_ref());
    let invitation = Invitation {
        id: services.random.invitation_id(now),
        org: org.domain.clone(),
        invitee: Invitee::Email {
            email: request.email,
        },
        role: request.role,
        first_name: request.first_name,
        last_name: request.last_name,
        groups,
        message: request
            .message
            .or_else(|| org.settings.invitation_message.clone()),
        invited_by: actor.user_id.clone(),
        created_at: now,
        expires_at: now.plus(org.settings.invitation_ttl()),
        state: InvitationState::Pending,
        delivery: Delivery::Queued,
        token_hash: link_token.hash(),
        version: 0,
    };
    match services.store.create_invitation(&invitation).await {
        Ok(()) => {}
        Err(WriteError::EmailTaken) => return Err(InviteError::EmailTaken),
        Err(e) => return Err(InviteError::Internal(e.to_string())),
    }
    Ok(deliver(services, &actor, invitation, &link_token).await)
}

/// Drops duplicates; refuses ids that are not groups of this organisation.
async fn existing_groups(
    services: &Services,
    org: &Org,
    wanted: &[GroupId],
) -> Result<Vec<GroupId>, InviteError> {
    let mut groups: Vec<GroupId> = Vec::with_capacity(wanted.len());
    for g in wanted {
        if !groups.contains(g) {
            groups.push(g.clone());
        }
    }
    if groups.is_empty() {
        return Ok(groups);
    }
    let known = services.store.groups(&org.domain).await?;
    if let Some(missing) = groups.iter().find(|g| !known.iter().any(|k| &k.id == *g)) {
        return Err(InviteError::UnknownGroup(missing.clone()));
    }
    Ok(groups)
}

/// Mails the invitation and records that it went out. A failure leaves the invitation saved
/// with `Delivery::Queued` so that a resend or retry sends it: it is logged, never lost.
async fn deliver(
    services: &Services,
    actor: &Actor,
    mut invitation: Invitation,
    link_token: &SecretToken,
) -> Invitation {
    let Some(email) = invitation.invitee.email().cloned() else {
        return invitation;
    };
    let inviter = match services.store.user(&invitation.org, &actor.user_id).await {
        Ok(Some(u)) => format!("{} {}", u.first_name, u.last_name),
        _ => format!("An administrator of {}", invitation.org),
    };
    let mail = InvitationMail {
        to: &email,
        org: &invitation.org,
        first_name: &invitation.first_name,
        inviter,
        role: invitation.role.as_role(),
        message: invitation.message.as_ref(),
        link: sign_up_link(services, &invitation.org, link_token),
        expires_at: invitation.expires_at,
    };
    let sent = match mail.render() {
        Ok(m) => services.mailer.send(&m).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(cause) = sent {
        tracing::warn!(invitation = %invitation.id, org = %invitation.org, %cause, "invitation email not sent; left queued for retry");
        return invitation;
    }
    let read = invitation.clone();
    invitation.delivery = Delivery::Sent;
    match services
        .store
        .update_invitation(&invitation, &read.token_hash)
        .await
    {
        Ok(()) => {
            invitation.version += 1;
            invitation
        }
        Err(e) => {
            tracing::warn!(invitation = %invitation.id, cause = %e, "invitation email sent but not recorded as sent");
            read
        }
    }
}
