//! What the hosted pages read besides the use cases the API runs: the organisation as a page
//! shows it, an email invitation shown before it is used (opening a link spends nothing: mail
//! scanners follow links), the account behind a page's session, and signing out.

use crate::clock::Timestamp;
use crate::model::{Org, User};
use crate::secret::{SecretToken, SessionToken};
use crate::services::Services;
use crate::types::{EmailAddress, InviteeRole, OrgDomain, PersonName, PersonalMessage};
use crate::usecase::session::{authenticate, AuthError};
use crate::usecase::sign_up::{pending_invitation_of, SignUpError};
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
    let (org, invitation) = pending_invitation_of(services, org_domain, token).await?;
    let email = invitation
        .invitee
        .email()
        .cloned()
        .ok_or(SignUpError::InvalidToken)?;
    // As the email named them (kept with the invitation: no read of the inviter's account).
    let inviter = invitation.lifecycle.inviter_name.clone();
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
