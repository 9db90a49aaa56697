//! Sign up from an email invitation: spend the link's token, set a password, get signed in.

use crate::error::{Rejection, RejectionClass};
use crate::model::{InvitationState, InvitationStatus, User};
use crate::password::{Password, PasswordError};
use crate::ports::{Acceptance, StoreError, WriteError};
use crate::secret::SecretToken;
use crate::services::Services;
use crate::types::{OrgDomain, PersonName};
use crate::usecase::session::new_session;
use crate::usecase::{load_org, OrgLookupError, SignedIn};

pub struct EmailSignUpRequest {
    pub token: SecretToken,
    pub password: String,
    /// The invitee may correct the names the admin typed.
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    /// Unknown, already used or revoked: the answer does not say which.
    #[error("this sign-up link is not valid; it may have been used already")]
    InvalidToken,
    #[error("this invitation has expired; ask an administrator to send a new one")]
    Expired,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("this email address already has an account here")]
    EmailTaken,
    #[error("sign-up failed: {0}")]
    Internal(String),
}

impl From<StoreError> for SignUpError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl Rejection for SignUpError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::InvalidToken => "invalid_token",
            Self::Expired => "invitation_expired",
            Self::Password(e) => e.code(),
            Self::EmailTaken => "email_taken",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::InvalidToken | Self::Password(_) => RejectionClass::Invalid,
            Self::Expired => RejectionClass::Gone,
            Self::EmailTaken => RejectionClass::Conflict,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

pub async fn sign_up_with_email_invitation(
    services: &Services,
    org_domain: &OrgDomain,
    request: EmailSignUpRequest,
) -> Result<SignedIn, SignUpError> {
    let org = load_org(services, org_domain).await?;
    let token_hash = request.token.hash();
    let invitation = services
        .store
        .invitation_by_token(org_domain, &token_hash)
        .await?
        .ok_or(SignUpError::InvalidToken)?;
    let now = services.clock.now();
    match invitation.status_at(now) {
        InvitationStatus::Pending => {}
        InvitationStatus::Expired => return Err(SignUpError::Expired),
        InvitationStatus::Accepted | InvitationStatus::Revoked => {
            return Err(SignUpError::InvalidToken)
        }
    }
    let email = invitation
        .invitee
        .email()
        .cloned()
        .ok_or(SignUpError::InvalidToken)?;
    let first_name = request
        .first_name
        .unwrap_or_else(|| invitation.first_name.clone());
    let last_name = request
        .last_name
        .unwrap_or_else(|| invitation.last_name.clone());
    let password = Password::parse(
        &request.password,
        org.settings.password_policy(),
        &[
            org.domain.as_str(),
            first_name.as_str(),
            last_name.as_str(),
            email.local_part(),
        ],
    )?;
    let digest = services
        .passwords
        .hash(password, services.random.clone())
        .await
        .map_err(|e| SignUpError::Internal(e.to_string()))?;
    let user = User {
        id: services.random.user_id(),
        org: org.domain.clone(),
        email: Some(email),
        first_name,
        last_name,
        role: invitation.role.as_role(),
        groups: invitation.groups_on_acceptance(&org.settings),
        password: digest,
        created_at: now,
        version: 0,
    };
    let (session_token, session) = new_session(services, &user);
    let mut accepted = invitation;
    accepted.state = InvitationState::Accepted {
        user_id: user.id.clone(),
        at: now,
    };
    let acceptance = Acceptance {
        invitation: accepted,
        token: token_hash,
        user,
        session,
    };
    match services.store.accept_invitation(&acceptance).await {
        Ok(()) => Ok(SignedIn {
            token: session_token,
            expires_at: acceptance.session.expires_at,
            user: acceptance.user,
        }),
        Err(WriteError::Stale) => Err(SignUpError::InvalidToken),
        Err(WriteError::EmailTaken) => Err(SignUpError::EmailTaken),
        Err(e) => Err(SignUpError::Internal(e.to_string())),
    }
}
