//! What the hosted pages read besides the use cases the API runs: the organisation as a page
//! shows it, an email invitation shown before it is used (opening a link spends nothing: mail
//! scanners follow links), the account behind a page's session, and signing out.

use crate::clock::Timestamp;
use crate::model::{InvitationStatus, Org, User};
use crate::ports::{Credential, Lookup};
use crate::secret::{SecretToken, SessionToken};
use crate::services::Services;
use crate::types::{EmailAddress, InviteeRole, OrgDomain, PersonName, PersonalMessage};
use crate::usecase::session::{authenticate, AuthError};
use crate::usecase::sign_up::SignUpError;
use crate::usecase::{load_org, OrgLookupError};

/// The organisation a page belongs to (its display name, the settings a page needs).
pub async fn organisation(services: &Services, org: &OrgDomain) -> Result<Org, OrgLookupError> {
    load_org(services, org).await
}

/// An email invitation (or a registration's confirmation) as its sign-up page shows it.
#[derive(Debug, Clone)]
pub struct InvitationPreview {
    pub org: Org,
    /// Who invited, as people read their name (none: the person registered themselves).
    pub inviter: Option<String>,
    pub email: EmailAddress,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub role: InviteeRole,
    pub message: Option<PersonalMessage>,
    pub expires_at: Timestamp,
    /// The person registered (through the link or by themselves) and confirms their address,
    /// rather than being invited.
    pub confirmation: bool,
}

/// The pending email invitation `token` belongs to, read without spending it. Unknown, used and
/// malformed tokens are `InvalidToken`; `Expired` and `Revoked` say so.
pub async fn preview_invitation(
    services: &Services,
    org_domain: &OrgDomain,
    token: &SecretToken,
) -> Result<InvitationPreview, SignUpError> {
    let credential = Credential::LinkToken(token.hash());
    let found = services
        .store
        .look_up(
            org_domain,
            &Lookup {
                org: true,
                credential: Some(credential.clone()),
                ..Lookup::default()
            },
        )
        .await?;
    let org = found.org.ok_or(OrgLookupError::NotFound)?;
    let id = found.credential_of.ok_or(SignUpError::InvalidToken)?;
    let invitation = services
        .store
        .invitation_holding(org_domain, &id, &credential)
        .await?
        .ok_or(SignUpError::InvalidToken)?;
    match invitation.status_at(services.clock.now()) {
        InvitationStatus::Pending => {}
        InvitationStatus::Expired => return Err(SignUpError::Expired),
        InvitationStatus::Revoked => return Err(SignUpError::Revoked),
        InvitationStatus::Accepted => return Err(SignUpError::InvalidToken),
    }
    let email = invitation
        .invitee
        .email()
        .cloned()
        .ok_or(SignUpError::InvalidToken)?;
    let inviter = match &invitation.invited_by {
        Some(id) => services
            .store
            .user(org_domain, id)
            .await?
            .map(|u| format!("{} {}", u.first_name, u.last_name)),
        None => None,
    };
    let confirmation = invitation.lifecycle.mail != crate::lifecycle::MailKind::Invitation;
    let message = invitation
        .message
        .clone()
        .or_else(|| org.settings.invitation_message.clone())
        .filter(|_| !confirmation);
    Ok(InvitationPreview {
        inviter,
        email,
        first_name: invitation.first_name,
        last_name: invitation.last_name,
        role: invitation.role,
        message,
        expires_at: invitation.expires_at,
        confirmation,
        org,
    })
}

/// The account a page's session belongs to.
pub async fn signed_in_user(
    services: &Services,
    org: &OrgDomain,
    token: &SessionToken,
) -> Result<User, AuthError> {
    let actor = authenticate(services, org, Some(token)).await?;
    services
        .store
        .user(org, &actor.user_id)
        .await?
        .ok_or(AuthError::Unauthenticated)
}

/// Ends the session `token` opened (signing out of the pages); an unknown one is already ended.
pub async fn sign_out(
    services: &Services,
    org: &OrgDomain,
    token: &SessionToken,
) -> Result<(), AuthError> {
    services
        .store
        .end_session(org, &token.user_id, &token.secret.hash())
        .await?;
    Ok(())
}
