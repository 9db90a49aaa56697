//! Sign up from an invitation: from an email invitation's link, or with the access code of an
//! identifier invitation. Either way the credential is spent, a password set, and the new user
//! signed in.

use crate::access_code::AccessCode;
use crate::error::{Rejection, RejectionClass};
use crate::events::{ChangeEvents, EventType};
use crate::model::{Invitation, InvitationState, InvitationStatus, Org, User};
use crate::password::{Password, PasswordError};
use crate::ports::{Acceptance, Credential, Lookup, StoreError, WriteError};
use crate::secret::SecretToken;
use crate::services::Services;
use crate::throttle::{Counter, Refusal, ThrottlePolicy};
use crate::types::{OrgDomain, PersonName};
use crate::usecase::guard::{admit_as_read, refund_all, AdmitError, ClientAddress};
use crate::usecase::session::new_session;
use crate::usecase::{OrgLookupError, SignedIn};

pub struct EmailSignUpRequest {
    pub token: SecretToken,
    pub password: String,
    /// The invitee may correct the names the admin typed.
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
}

pub struct AccessCodeSignUpRequest {
    pub code: AccessCode,
    pub password: String,
}

/// What the sign-up page shows once a code is entered: the identifier to sign in with later.
#[derive(Debug, Clone)]
pub struct AccessCodeCheck {
    /// `uid:domain`.
    pub identifier: String,
    pub first_name: PersonName,
    pub last_name: PersonName,
}

#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    /// Unknown (mangled, or never made): the API's answer does not say which.
    #[error("this sign-up link is not valid; it may have been used already")]
    InvalidToken,
    /// Its invitation was accepted: to the API the same `invalid_token`; a page tells the link
    /// holder to sign in instead.
    #[error("this sign-up link is not valid; it may have been used already")]
    Used,
    #[error("this invitation has expired; ask an administrator to send a new one")]
    Expired,
    #[error(
        "this invitation was withdrawn by an administrator; ask them if you should still join"
    )]
    Revoked,
    /// Unknown, used, revoked or expired: the answer does not say which.
    #[error("this access code is not valid; check it, or ask an administrator for a new one")]
    InvalidAccessCode,
    #[error("this organisation does not allow sign-up without email")]
    WithoutEmailDisabled,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("this email address already has an account here")]
    EmailTaken,
    #[error("this identifier already has an account here")]
    UidTaken,
    #[error("{0}")]
    TooManyAttempts(Refusal),
    #[error("sign-up failed")]
    Internal(#[source] crate::Cause),
}

impl From<AdmitError> for SignUpError {
    fn from(e: AdmitError) -> Self {
        match e {
            AdmitError::Refused(r) => Self::TooManyAttempts(r),
            AdmitError::Store(e) => Self::Internal(e.into()),
        }
    }
}

impl From<StoreError> for SignUpError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl Rejection for SignUpError {
    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::TooManyAttempts(r) => r.retry_after(),
            _ => None,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::InvalidToken | Self::Used => "invalid_token",
            Self::Expired => "invitation_expired",
            Self::Revoked => "invitation_revoked",
            Self::InvalidAccessCode => "invalid_access_code",
            Self::WithoutEmailDisabled => "sign_up_without_email_disabled",
            Self::Password(e) => e.code(),
            Self::EmailTaken => "email_taken",
            Self::UidTaken => "uid_taken",
            Self::TooManyAttempts(_) => "too_many_attempts",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::InvalidToken | Self::Used | Self::InvalidAccessCode | Self::Password(_) => {
                RejectionClass::Invalid
            }
            Self::Expired | Self::Revoked => RejectionClass::Gone,
            Self::WithoutEmailDisabled => RejectionClass::Forbidden,
            Self::EmailTaken | Self::UidTaken => RejectionClass::Conflict,
            Self::TooManyAttempts(_) => RejectionClass::Throttled,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

pub async fn sign_up_with_email_invitation(
    services: &Services,
    org_domain: &OrgDomain,
    request: EmailSignUpRequest,
) -> Result<SignedIn, SignUpError> {
    let (org, invitation) = pending_invitation_of(services, org_domain, &request.token).await?;
    let first_name = request
        .first_name
        .unwrap_or_else(|| invitation.first_name.clone());
    let last_name = request
        .last_name
        .unwrap_or_else(|| invitation.last_name.clone());
    accept(
        services,
        &org,
        invitation,
        &request.password,
        first_name,
        last_name,
    )
    .await
    .map_err(|e| match e {
        SignUpError::InvalidAccessCode => SignUpError::InvalidToken,
        e => e,
    })
}

/// The organisation and the pending invitation a link token belongs to; unknown, used and
/// malformed tokens are `InvalidToken`, `Expired` and `Revoked` say so. Reads only: the
/// organisation and the token's item in one round trip, then the invitation it names.
pub(crate) async fn pending_invitation_of(
    services: &Services,
    org_domain: &OrgDomain,
    token: &SecretToken,
) -> Result<(Org, Invitation), SignUpError> {
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
        InvitationStatus::Accepted => return Err(SignUpError::Used),
    }
    Ok((org, invitation))
}

/// The organisation and the pending invitation an access code belongs to, in an organisation
/// that allows sign-up without email. Every other case is the same `InvalidAccessCode`. Guesses
/// are counted per client and per organisation before the code's invitation is read: the
/// organisation, both counters and the code's item come in one round trip, the charge is
/// written while the invitation is read, and a right code's charges are taken back together.
///
/// The organisation's counter holds back only clients that have guessed wrong lately, and only
/// their attempts are charged to it: otherwise an outsider's guesses from many addresses would
/// make every employee typing their code for the first time wait. The price is one uncounted
/// guess per fresh address a day; with 54-bit codes that is nothing an attacker can use.
async fn invitation_for_code(
    services: &Services,
    org_domain: &OrgDomain,
    code: &AccessCode,
    client: &ClientAddress,
) -> Result<(Org, Invitation), SignUpError> {
    let client_counter = Counter::new(
        format!("code-client#{org_domain}#{}", client.as_str()),
        ThrottlePolicy::CODE_CLIENT,
    );
    let org_counter = Counter::new(format!("code-org#{org_domain}"), ThrottlePolicy::CODE_ORG);
    let credential = Credential::AccessCode(services.access_codes.lookup_hash(code));
    let found = services
        .store
        .look_up(
            org_domain,
            &Lookup {
                org: true,
                attempts: vec![client_counter.key.clone(), org_counter.key.clone()],
                credential: Some(credential.clone()),
                ..Lookup::default()
            },
        )
        .await?;
    let org = found.org.ok_or(OrgLookupError::NotFound)?;
    if !org.settings.sign_up_without_email {
        return Err(SignUpError::WithoutEmailDisabled);
    }
    let target = found.credential_of;
    let mut read = found.attempts.into_iter();
    let (client_read, org_read) = (read.next().flatten(), read.next().flatten());
    let now = services.clock.now();
    let has_guessed_wrong = client_read
        .as_ref()
        .is_some_and(|a| a.current(&client_counter.policy, now).failures > 0);
    let (counters, just_read) = if has_guessed_wrong {
        (
            vec![client_counter, org_counter],
            vec![client_read, org_read],
        )
    } else {
        (vec![client_counter], vec![client_read])
    };
    let (charged, invitation) =
        tokio::join!(admit_as_read(services, &counters, Some(just_read)), async {
            match &target {
                Some(id) => {
                    services
                        .store
                        .invitation_holding(org_domain, id, &credential)
                        .await
                }
                None => Ok(None),
            }
        });
    let charged = charged?;
    let invitation = invitation?.ok_or(SignUpError::InvalidAccessCode)?;
    if invitation.status_at(services.clock.now()) != InvitationStatus::Pending
        || invitation.invitee.uid().is_none()
    {
        return Err(SignUpError::InvalidAccessCode);
    }
    // A right code was no wrong guess: take back its charges, and only its own, so that one
    // valid code cannot wipe the wrong guesses counted before it.
    refund_all(services, &counters, &charged).await;
    Ok((org, invitation))
}

/// Says which identifier a code signs up, without spending it.
pub async fn check_access_code(
    services: &Services,
    org_domain: &OrgDomain,
    code: &AccessCode,
    client: &ClientAddress,
) -> Result<AccessCodeCheck, SignUpError> {
    let (org, invitation) = invitation_for_code(services, org_domain, code, client).await?;
    let uid = invitation
        .invitee
        .uid()
        .ok_or(SignUpError::InvalidAccessCode)?;
    Ok(AccessCodeCheck {
        identifier: uid.sign_in_identifier(&org.domain),
        first_name: invitation.first_name.clone(),
        last_name: invitation.last_name.clone(),
    })
}

pub async fn sign_up_with_access_code(
    services: &Services,
    org_domain: &OrgDomain,
    request: AccessCodeSignUpRequest,
    client: &ClientAddress,
) -> Result<SignedIn, SignUpError> {
    let (org, invitation) =
        invitation_for_code(services, org_domain, &request.code, client).await?;
    let (first_name, last_name) = (invitation.first_name.clone(), invitation.last_name.clone());
    accept(
        services,
        &org,
        invitation,
        &request.password,
        first_name,
        last_name,
    )
    .await
}

/// Makes the account a pending invitation offers and signs it in, spending the credential.
async fn accept(
    services: &Services,
    org: &Org,
    invitation: Invitation,
    password: &str,
    first_name: PersonName,
    last_name: PersonName,
) -> Result<SignedIn, SignUpError> {
    let email = invitation.invitee.email().cloned();
    let uid = invitation.invitee.uid().cloned();
    let personal = email
        .as_ref()
        .map(|e| e.local_part().to_string())
        .or_else(|| uid.as_ref().map(|u| u.to_string()))
        .unwrap_or_default();
    let password = Password::parse(
        password,
        org.settings.password_policy(),
        &[
            org.domain.as_str(),
            first_name.as_str(),
            last_name.as_str(),
            &personal,
        ],
    )?;
    let digest = services
        .passwords
        .hash(password, services.random.clone())
        .await
        .map_err(|e| SignUpError::Internal(e.into()))?;
    let user_id = services.random.user_id();
    let mut invitation = invitation;
    // A change of the invitation meanwhile that leaves it pending with the same credential (the
    // cleanup recording a reminder, say) is no reason to refuse: accept it as it is now.
    for _ in 0..3 {
        let now = services.clock.now();
        let user = User {
            id: user_id.clone(),
            org: org.domain.clone(),
            email: email.clone(),
            uid: uid.clone(),
            first_name: first_name.clone(),
            last_name: last_name.clone(),
            role: invitation.role.as_role(),
            groups: invitation.groups_on_acceptance(&org.settings),
            password: digest.clone(),
            created_at: now,
            version: 0,
            password_epoch: 0,
            status: crate::model::UserStatus::Active,
            deactivated_at: None,
            // Accepting opens their first session.
            last_sign_in_at: Some(now),
            totp: None,
            passkeys: Vec::new(),
        };
        let (session_token, session) = new_session(services, &user, &["pwd"]);
        let mut accepted = invitation.clone();
        accepted.state = InvitationState::Accepted {
            user_id: user.id.clone(),
            at: now,
        };
        accepted.record(
            crate::lifecycle::EventKind::Accepted,
            now,
            Some(user.id.clone()),
        );
        let mut events = ChangeEvents::new(&*services.random, now);
        events.invitation_history(Some(&invitation), &accepted);
        events.user(EventType::UserCreated, None, &user, None);
        let acceptance = Acceptance {
            invitation: accepted,
            user,
            session,
            events,
        };
        match services.store.accept_invitation(&acceptance).await {
            Ok(()) => {
                services
                    .metrics
                    .count(crate::metrics::Metric::InvitationsAccepted, 1);
                return Ok(SignedIn {
                    token: session_token,
                    expires_at: acceptance.session.expires_at,
                    user: acceptance.user,
                    amr: acceptance.session.amr,
                });
            }
            Err(WriteError::Stale) => {
                let now_stored = services
                    .store
                    .invitation(&org.domain, &invitation.id)
                    .await?;
                match now_stored {
                    Some(current)
                        if current.invitee == invitation.invitee
                            && current.status_at(services.clock.now())
                                == InvitationStatus::Pending =>
                    {
                        invitation = current;
                    }
                    _ => return Err(SignUpError::InvalidAccessCode),
                }
            }
            Err(WriteError::EmailTaken) => return Err(SignUpError::EmailTaken),
            Err(WriteError::UidTaken) => return Err(SignUpError::UidTaken),
            Err(e) => return Err(SignUpError::Internal(e.into())),
        }
    }
    Err(SignUpError::InvalidAccessCode)
}
