//! A person's passkeys: registered while signed in (the options, then the browser's credential,
//! checked against the ceremony kept for 5 minutes and spent once), listed by name with their
//! last use, and removed by the person or an admin (who mails the person, as for an app). Adding
//! one asks for the person's password unless they signed in within [`RECENT_SIGN_IN`]: a session
//! taken later (a stolen cookie, a shared computer) cannot give its holder a passkey of their own.

use std::time::Duration;

use serde_json::Value;

use crate::challenge::{Challenge, ChallengeKind, CHALLENGE_TTL};
use crate::clock::Timestamp;
use crate::error::{Rejection, RejectionClass};
use crate::events::{ChangeEvents, EventType};
use crate::mail::RemovedFactor;
use crate::model::User;
use crate::passkey::{CeremonyError, PasskeyCredential, PasskeyName, MAX_PASSKEYS};
use crate::ports::{StoreError, UserUpdate, WriteError};
use crate::secret::{SecretToken, SessionToken};
use crate::services::Services;
use crate::types::{OrgDomain, UserId};
use crate::usecase::password::{check_current_password, PasswordChangeError};
use crate::usecase::second_factor::tell_removed;
use crate::usecase::session::AuthError;
use crate::usecase::{caller_in, own_or_managed, Along, OrgLookupError};

/// A ceremony begun: the flow that ends it (shown once; its hash is kept) and the options for
/// `navigator.credentials` (`publicKey`).
#[derive(Debug)]
pub struct PasskeyFlow {
    pub flow: SecretToken,
    pub public_key: Value,
    pub expires_at: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only the person registers their own passkeys; admins may list and remove them")]
    Forbidden,
    #[error("no such user")]
    NotFound,
    #[error("no such passkey")]
    PasskeyNotFound,
    #[error("the account is deactivated")]
    Deactivated,
    /// Signed in too long ago, and the current password was missing, wrong or guessed too often.
    #[error(transparent)]
    CurrentPassword(PasswordChangeError),
    #[error("an account keeps at most 10 passkeys; remove one first")]
    TooMany,
    #[error("this passkey is registered already")]
    AlreadyRegistered,
    #[error("the flow is unknown, expired, used, or another person's: start again")]
    InvalidFlow,
    #[error("the credential was refused")]
    Refused(#[source] CeremonyError),
    #[error("passkeys are not offered here")]
    Unavailable,
    #[error("the account changed meanwhile; try again")]
    Changed,
    #[error("the passkeys could not be changed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for PasskeyError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<CeremonyError> for PasskeyError {
    fn from(e: CeremonyError) -> Self {
        match e {
            CeremonyError::Unavailable => Self::Unavailable,
            CeremonyError::Internal(cause) => Self::Internal(cause.into()),
            refused => Self::Refused(refused),
        }
    }
}

impl Rejection for PasskeyError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::NotFound => "user_not_found",
            Self::PasskeyNotFound => "passkey_not_found",
            Self::Deactivated => "account_deactivated",
            Self::CurrentPassword(e) => e.code(),
            Self::TooMany => "too_many_passkeys",
            Self::AlreadyRegistered => "passkey_already_registered",
            Self::InvalidFlow => "invalid_passkey_flow",
            Self::Refused(_) => "invalid_passkey",
            Self::Unavailable => "passkeys_unavailable",
            Self::Changed => "user_changed",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::CurrentPassword(e) => e.class(),
            Self::NotFound | Self::PasskeyNotFound => RejectionClass::NotFound,
            Self::InvalidFlow | Self::Refused(_) => RejectionClass::Invalid,
            Self::Deactivated
            | Self::TooMany
            | Self::AlreadyRegistered
            | Self::Unavailable
            | Self::Changed => RejectionClass::Conflict,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::CurrentPassword(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// How long after signing in a person adds a passkey without typing their password again.
pub const RECENT_SIGN_IN: Duration = Duration::from_secs(10 * 60);

/// How a passkey names the person to their authenticator: their email, or `uid:domain`.
pub(crate) fn passkey_user_name(user: &User) -> String {
    match (&user.email, &user.uid) {
        (Some(email), _) => email.to_string(),
        (None, Some(uid)) => uid.sign_in_identifier(&user.org),
        (None, None) => user.id.to_string(),
    }
}

/// The caller's own, active account, and when they signed in for this session.
async fn own(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
) -> Result<(User, Timestamp), PasskeyError> {
    let caller = caller_in::<PasskeyError>(services, org, token, Along::default()).await?;
    if &caller.actor.user_id != id {
        return Err(PasskeyError::Forbidden);
    }
    let user = caller.user.ok_or(PasskeyError::NotFound)?;
    if !user.is_active() {
        return Err(PasskeyError::Deactivated);
    }
    Ok((user, caller.actor.authenticated_at))
}

/// `POST /users/{id}/passkeys/registration {current_password?}`: the options to create a passkey
/// (the person only). A password given is checked (counted like a sign-in); without one, the
/// person must have signed in within [`RECENT_SIGN_IN`] (`missing_current_password` otherwise).
pub async fn begin_registration(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
    current_password: Option<&str>,
) -> Result<PasskeyFlow, PasskeyError> {
    let (user, authenticated_at) = own(services, org, token, id).await?;
    if !services.passkeys.offered() {
        return Err(PasskeyError::Unavailable);
    }
    let recent = services.clock.now() <= authenticated_at.plus(RECENT_SIGN_IN);
    if current_password.is_some() || !recent {
        check_current_password(services, &user, current_password)
            .await
            .map_err(PasskeyError::CurrentPassword)?;
    }
    if user.passkeys.len() >= MAX_PASSKEYS {
        return Err(PasskeyError::TooMany);
    }
    let display_name = format!("{} {}", user.first_name.as_str(), user.last_name.as_str());
    let exclude: Vec<&PasskeyCredential> = user.passkeys.iter().collect();
    let start = services.passkeys.creation_options(
        &user.id,
        &passkey_user_name(&user),
        &display_name,
        &exclude,
    )?;
    let kind = ChallengeKind::PasskeyRegistration {
        user_id: user.id.clone(),
        state: start.state,
    };
    Ok(keep_ceremony(services, org, kind, start.public_key).await?)
}

/// Keeps a ceremony's state for [`CHALLENGE_TTL`] under a new flow's hash: the flow, with the
/// options for the browser.
pub(crate) async fn keep_ceremony(
    services: &Services,
    org: &OrgDomain,
    kind: ChallengeKind,
    public_key: Value,
) -> Result<PasskeyFlow, StoreError> {
    let now = services.clock.now();
    let flow = SecretToken::generate(services.random.as_ref());
    let challenge = Challenge {
        org: org.clone(),
        token_hash: flow.hash(),
        kind,
        created_at: now,
        expires_at: now.plus(CHALLENGE_TTL),
    };
    services
        .store
        .save_challenge(&challenge, &[])
        .await
        .map_err(|e| StoreError::Unavailable(e.into()))?;
    Ok(PasskeyFlow {
        flow,
        public_key,
        expires_at: challenge.expires_at,
    })
}

/// `POST /users/{id}/passkeys {flow, credential, name}`: the browser's new credential, checked
/// against the flow's ceremony, becomes one of the person's passkeys; the flow is spent with it.
pub async fn finish_registration(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
    flow: &SecretToken,
    credential: &Value,
    name: PasskeyName,
) -> Result<PasskeyCredential, PasskeyError> {
    for _ in 0..3 {
        let (user, _) = own(services, org, token, id).await?;
        let challenge = services
            .store
            .challenge(org, &flow.hash())
            .await?
            .filter(|c| c.is_live(services.clock.now()))
            .ok_or(PasskeyError::InvalidFlow)?;
        let ChallengeKind::PasskeyRegistration { user_id, state } = &challenge.kind else {
            return Err(PasskeyError::InvalidFlow);
        };
        if user_id != id {
            return Err(PasskeyError::InvalidFlow);
        }
        let registered = services.passkeys.check_creation(credential, state)?;
        if user.passkeys.iter().any(|p| p.id == registered.id) {
            return Err(PasskeyError::AlreadyRegistered);
        }
        if user.passkeys.len() >= MAX_PASSKEYS {
            return Err(PasskeyError::TooMany);
        }
        let passkey = PasskeyCredential {
            id: registered.id,
            name: name.clone(),
            created_at: services.clock.now(),
            last_used_at: None,
            key: registered.key,
        };
        let mut next = user.clone();
        next.passkeys.push(passkey.clone());
        let mut events = ChangeEvents::new(&*services.random, services.clock.now());
        events.user(EventType::UserMfaEnabled, None, &next, None);
        match services
            .store
            .spend_challenge(&challenge, &UserUpdate::new(&user, &next), &events)
            .await
        {
            Ok(()) => return Ok(passkey),
            // The flow was spent meanwhile (the next read says so), or the account changed.
            Err(WriteError::Stale) => continue,
            Err(e) => return Err(PasskeyError::Internal(e.into())),
        }
    }
    Err(PasskeyError::Changed)
}

/// `GET /users/{id}/passkeys`: the person's passkeys (to them, and to admins).
pub async fn list_passkeys(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
) -> Result<Vec<PasskeyCredential>, PasskeyError> {
    let (_, user, _) = own_or_managed(
        services,
        org,
        token,
        id,
        PasskeyError::Forbidden,
        PasskeyError::NotFound,
    )
    .await?;
    Ok(user.passkeys)
}

/// `DELETE /users/{id}/passkeys/{pk}`: the person or an admin removes a passkey; when an admin
/// does, the person is mailed.
pub async fn remove_passkey(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
    passkey: &str,
) -> Result<(), PasskeyError> {
    for _ in 0..3 {
        let (caller, user, own) = own_or_managed(
            services,
            org,
            token,
            id,
            PasskeyError::Forbidden,
            PasskeyError::NotFound,
        )
        .await?;
        let Some(removed) = user.passkeys.iter().find(|p| p.id == passkey).cloned() else {
            return Err(PasskeyError::PasskeyNotFound);
        };
        let mut next = user.clone();
        next.passkeys.retain(|p| p.id != passkey);
        let mut events = ChangeEvents::new(&*services.random, services.clock.now());
        let by = (!own).then_some(&caller.actor.user_id);
        events.user(EventType::UserMfaDisabled, by, &next, None);
        match services
            .store
            .update_user(&UserUpdate::new(&user, &next), &events)
            .await
        {
            Ok(()) => {
                if !own {
                    let factor = RemovedFactor::Passkey(removed.name.as_str());
                    tell_removed(services, &caller.org, &next, factor).await;
                }
                return Ok(());
            }
            Err(WriteError::Stale) => continue,
            Err(e) => return Err(PasskeyError::Internal(e.into())),
        }
    }
    Err(PasskeyError::Changed)
}
