//! A second factor: an authenticator app (TOTP) that a person enrols with their password,
//! confirms with a first code (and receives their recovery codes then, shown once, kept hashed),
//! and removes with their password; an admin removes it for someone who lost their phone. Wrong
//! codes are counted per account, as passwords are: a few free, then waits that double, then a
//! lock only an admin's removal of the factor lifts.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{Rejection, RejectionClass};
use crate::events::{ChangeEvents, EventType};
use crate::mail::{RemovedFactor, SecondFactorRemovedMail};
use crate::model::{Org, TotpFactor, User};
use crate::ports::{StoreError, UserUpdate, WriteError};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::throttle::{Counter, Refusal, ThrottlePolicy};
use crate::totp::{normalized_recovery_code, qr_svg, recovery_code, TotpSecret, RECOVERY_CODES};
use crate::types::{OrgDomain, UserId};
use crate::usecase::guard::{admit, refund_all, AdmitError};
use crate::usecase::password::{check_current_password, PasswordChangeError};
use crate::usecase::session::AuthError;
use crate::usecase::{caller_in, own_or_managed, Along, OrgLookupError};

/// Wrong codes of one account: 5 free, then waits from a second doubling to 15 minutes, locked
/// after 50 (1,000 guesses at a 6-digit code then have one chance in 20,000).
pub const TOTP_GUESSES: ThrottlePolicy = ThrottlePolicy {
    free: 5,
    base_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(15 * 60),
    lock_after: Some(50),
    forget_after: None,
};

/// The counter of an account's wrong codes.
pub fn code_counter(org: &OrgDomain, user: &UserId) -> Counter {
    Counter::new(format!("totp#{org}#{user}"), TOTP_GUESSES)
}

/// What the person's app needs: the secret to type, or the URI in its QR code.
#[derive(Debug, Clone)]
pub struct TotpEnrolment {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SecondFactorError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only the person enrols their own authenticator app; admins may only remove one")]
    Forbidden,
    #[error("no such user")]
    NotFound,
    #[error(transparent)]
    CurrentPassword(PasswordChangeError),
    #[error("the account is deactivated")]
    Deactivated,
    #[error("an authenticator app is enrolled already; remove it first")]
    AlreadyEnrolled,
    #[error("no authenticator app is being enrolled; start again")]
    NotStarted,
    #[error("the code is not the app's current one (or was used already)")]
    InvalidCode,
    #[error("{0}")]
    TooManyAttempts(Refusal),
    #[error("the account changed meanwhile; try again")]
    Changed,
    #[error("the second factor could not be changed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for SecondFactorError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<AdmitError> for SecondFactorError {
    fn from(e: AdmitError) -> Self {
        match e {
            AdmitError::Refused(r) => Self::TooManyAttempts(r),
            AdmitError::Store(e) => e.into(),
        }
    }
}

impl Rejection for SecondFactorError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::NotFound => "user_not_found",
            Self::CurrentPassword(e) => e.code(),
            Self::Deactivated => "account_deactivated",
            Self::AlreadyEnrolled => "totp_already_enrolled",
            Self::NotStarted => "totp_not_started",
            Self::InvalidCode => "invalid_mfa_code",
            Self::TooManyAttempts(_) => "too_many_attempts",
            Self::Changed => "user_changed",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::Forbidden => RejectionClass::Forbidden,
            Self::NotFound => RejectionClass::NotFound,
            Self::CurrentPassword(e) => e.class(),
            Self::InvalidCode => RejectionClass::Invalid,
            Self::Deactivated | Self::AlreadyEnrolled | Self::NotStarted | Self::Changed => {
                RejectionClass::Conflict
            }
            Self::TooManyAttempts(_) => RejectionClass::Throttled,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::CurrentPassword(e) => e.retry_after(),
            Self::TooManyAttempts(r) => r.retry_after(),
            _ => None,
        }
    }
}

/// The person's own account, read with their session, and their organisation's name as people
/// read it; anyone else's account is refused.
async fn own_account(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
) -> Result<(User, String), SecondFactorError> {
    let caller = caller_in::<SecondFactorError>(services, org, token, Along::default()).await?;
    if &caller.actor.user_id != id {
        return Err(SecondFactorError::Forbidden);
    }
    let user = caller.user.ok_or(SecondFactorError::NotFound)?;
    if !user.is_active() {
        return Err(SecondFactorError::Deactivated);
    }
    Ok((user, caller.org.name().to_string()))
}

/// Writes the account as `next`, from the version read, with `events`.
async fn save(
    services: &Services,
    read: &User,
    next: &User,
    events: &ChangeEvents,
) -> Result<(), SecondFactorError> {
    match services
        .store
        .update_user(&UserUpdate::new(read, next), events)
        .await
    {
        Ok(()) => Ok(()),
        Err(WriteError::Stale) => Err(SecondFactorError::Changed),
        Err(e) => Err(SecondFactorError::Internal(e.into())),
    }
}

/// `POST /users/{id}/totp {current_password}`: a new secret for the person's app (any earlier
/// unconfirmed one is replaced). Not a factor until [`confirm_totp`].
pub async fn start_totp(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
    current_password: Option<&str>,
) -> Result<TotpEnrolment, SecondFactorError> {
    let (user, issuer) = own_account(services, org, token, id).await?;
    check_current_password(services, &user, current_password)
        .await
        .map_err(SecondFactorError::CurrentPassword)?;
    if user.totp.as_ref().is_some_and(TotpFactor::is_confirmed) {
        return Err(SecondFactorError::AlreadyEnrolled);
    }
    let (next, enrolment) = new_app(services, &issuer, &user);
    save(services, &user, &next, &ChangeEvents::none()).await?;
    Ok(enrolment)
}

/// The app the person is enrolling, as it was shown when they started (a page asks for its code
/// again after a wrong one).
pub async fn pending_totp(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
) -> Result<TotpEnrolment, SecondFactorError> {
    let (user, issuer) = own_account(services, org, token, id).await?;
    let factor = match &user.totp {
        Some(f) if f.is_confirmed() => return Err(SecondFactorError::AlreadyEnrolled),
        Some(f) => f,
        None => return Err(SecondFactorError::NotStarted),
    };
    let secret = services
        .access_codes
        .open_totp_secret(&factor.sealed_secret)
        .ok_or_else(|| SecondFactorError::Internal("the secret does not open".into()))?;
    Ok(enrolment_of(&issuer, &user, &secret))
}

/// The account with a new, unconfirmed app's secret (sealed), and what the app needs to hold it.
pub(crate) fn new_app(services: &Services, issuer: &str, user: &User) -> (User, TotpEnrolment) {
    let secret = TotpSecret::generate(services.random.as_ref());
    let mut next = user.clone();
    next.totp = Some(TotpFactor {
        sealed_secret: services
            .access_codes
            .seal_totp_secret(&secret, services.random.as_ref()),
        created_at: services.clock.now(),
        confirmed_at: None,
        last_step: None,
        recovery_hashes: Vec::new(),
    });
    (next, enrolment_of(issuer, user, &secret))
}

/// What an app needs to hold `secret` as the person's, named by `issuer` (the organisation).
pub(crate) fn enrolment_of(issuer: &str, user: &User, secret: &TotpSecret) -> TotpEnrolment {
    let account = match (&user.email, &user.uid) {
        (Some(email), _) => email.to_string(),
        (None, Some(uid)) => uid.sign_in_identifier(&user.org),
        (None, None) => user.id.to_string(),
    };
    let otpauth_uri = secret.otpauth_uri(issuer, &account);
    TotpEnrolment {
        secret: secret.base32(),
        qr_svg: qr_svg(&otpauth_uri),
        otpauth_uri,
    }
}

/// The step of `code` if it is the current one of the app in `factor` (and not used already).
pub(crate) fn accepted_step(
    services: &Services,
    factor: &TotpFactor,
    code: &str,
) -> Result<u64, SecondFactorError> {
    let secret = services
        .access_codes
        .open_totp_secret(&factor.sealed_secret)
        .ok_or_else(|| SecondFactorError::Internal("the secret does not open".into()))?;
    secret
        .accepts(code, services.clock.now(), factor.last_step)
        .ok_or(SecondFactorError::InvalidCode)
}

/// The app confirmed by a code of `step`: the factor it becomes, and its recovery codes (to show
/// once; the factor keeps their hashes).
pub(crate) fn confirmed(
    services: &Services,
    factor: &TotpFactor,
    code_step: u64,
) -> (TotpFactor, Vec<String>) {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| recovery_code(services.random.as_ref()))
        .collect();
    let factor = TotpFactor {
        confirmed_at: Some(services.clock.now()),
        last_step: Some(code_step),
        recovery_hashes: codes.iter().map(|c| recovery_hash(c)).collect(),
        ..factor.clone()
    };
    (factor, codes)
}

/// `POST /users/{id}/totp/confirm {code}`: the app's first code makes it the person's second
/// factor; the answer is their recovery codes, shown this once.
pub async fn confirm_totp(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
    code: &str,
) -> Result<Vec<String>, SecondFactorError> {
    let (user, _) = own_account(services, org, token, id).await?;
    let factor = match &user.totp {
        Some(f) if f.is_confirmed() => return Err(SecondFactorError::AlreadyEnrolled),
        Some(f) => f.clone(),
        None => return Err(SecondFactorError::NotStarted),
    };
    let counter = code_counter(org, id);
    let charged = admit(services, std::slice::from_ref(&counter)).await?;
    let code_step = accepted_step(services, &factor, code)?;
    let (factor, codes) = confirmed(services, &factor, code_step);
    let mut next = user.clone();
    next.totp = Some(factor);
    let now = services.clock.now();
    let mut events = ChangeEvents::new(&*services.random, now);
    events.user(EventType::UserMfaEnabled, None, &next, None);
    save(services, &user, &next, &events).await?;
    refund_all(services, &[counter], &charged).await;
    Ok(codes)
}

/// `DELETE /users/{id}/totp`: the person, with their password, or an admin (the person lost their
/// phone); the account's wrong-code count goes with it. Removing none changes nothing.
pub async fn remove_totp(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
    current_password: Option<&str>,
) -> Result<(), SecondFactorError> {
    let (caller, user, own) = own_or_managed(
        services,
        org,
        token,
        id,
        SecondFactorError::Forbidden,
        SecondFactorError::NotFound,
    )
    .await?;
    if own {
        check_current_password(services, &user, current_password)
            .await
            .map_err(SecondFactorError::CurrentPassword)?;
    }
    let Some(removed) = &user.totp else {
        return Ok(());
    };
    let mut next = user.clone();
    next.totp = None;
    let mut events = ChangeEvents::new(&*services.random, services.clock.now());
    if removed.is_confirmed() {
        let by = (!own).then_some(&caller.actor.user_id);
        events.user(EventType::UserMfaDisabled, by, &next, None);
    }
    save(services, &user, &next, &events).await?;
    services
        .store
        .clear_attempts(&code_counter(org, id).key)
        .await?;
    if !own && removed.is_confirmed() {
        tell_removed(
            services,
            &caller.org,
            &next,
            RemovedFactor::AuthenticatorApp,
        )
        .await;
    }
    Ok(())
}

/// Mails a person (when they have email) that an admin removed one of their second factors.
/// Best effort: the removal stands whether or not the mail goes.
pub(crate) async fn tell_removed(
    services: &Services,
    org: &Org,
    user: &User,
    factor: RemovedFactor<'_>,
) {
    let Some(to) = &user.email else { return };
    let mail = SecondFactorRemovedMail {
        to,
        org: org.name(),
        first_name: &user.first_name,
        factor,
        // Their next sign-in asks for a new factor only when none is left.
        required: org.settings.mfa_required_for.contains(&user.role) && !user.has_second_factor(),
        language: org.settings.language,
    };
    let sent = match mail.render() {
        Ok(mail) => services
            .mailer
            .send(&mail)
            .await
            .map_err(crate::Cause::from),
        Err(e) => Err(e.into()),
    };
    if let Err(cause) = sent {
        tracing::warn!(user = %user.id, cause = %crate::Chain(&*cause), "a second factor's removal was not mailed");
    }
}

/// How a recovery code is kept: the SHA-256 of it as normalised (about 50 random bits each, so a
/// fast hash; a guess is counted like a wrong code).
pub fn recovery_hash(code: &str) -> String {
    hex::encode(Sha256::digest(normalized_recovery_code(code).as_bytes()))
}
