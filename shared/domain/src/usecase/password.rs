//! Passwords after sign-up: a user with email resets theirs by a mailed single-use link; a user
//! without email gets a new one from an admin; anybody signed in changes theirs with the current
//! one. Every change ends the user's other sessions, voids every reset link issued before it
//! (however many were mailed) and lifts a sign-in lock. A new reset request leaves the older
//! links working until one of them is used: mail arrives out of order, and any link of the
//! person's own inbox is as good as the newest.

use crate::events::{ChangeEvents, EventActor, EventType};
use std::time::Duration;

use crate::error::{Rejection, RejectionClass};
use crate::mail::PasswordResetMail;
use crate::model::{Org, PasswordReset, User};
use crate::password::{Password, PasswordError};
use crate::ports::{StoreError, WriteError};
use crate::secret::{SecretToken, SessionToken, TokenHash};
use crate::services::Services;
use crate::throttle::{Counter, ThrottlePolicy};
use crate::types::{EmailAddress, OrgDomain, UserId};
use crate::usecase::guard::{admit, clear, hashed, AdmitError};
use crate::usecase::session::AuthError;
use crate::usecase::sign_in::{account_counter, user_counters};
use crate::usecase::{caller_in, load_org, Along, Caller, OrgLookupError};

/// How long a reset link works.
pub const RESET_TTL: Duration = Duration::from_secs(3600);

/// Reset emails to one address: a few, then at most one per doubling interval, so the form
/// cannot be used to flood an inbox. Throttled requests still answer 202.
const RESET_MAILS: ThrottlePolicy = ThrottlePolicy {
    free: 3,
    base_delay: Duration::from_secs(60),
    max_delay: Duration::from_secs(3600),
    lock_after: None,
    forget_after: Some(Duration::from_secs(86_400)),
};

#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("this reset link is not valid; it may have been used already")]
    InvalidToken,
    #[error("this reset link has expired; ask for a new one")]
    Expired,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("only admins can set another user's password")]
    Forbidden,
    #[error("no such user")]
    UserNotFound,
    #[error("this user has an email address: they reset their password themselves")]
    UserHasEmail,
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("give the current password to change your own")]
    CurrentPasswordMissing,
    #[error("{0}")]
    TooManyAttempts(crate::throttle::Refusal),
    #[error("the account changed meanwhile; try again")]
    Changed,
    #[error("changing the password failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for PasswordChangeError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<AdmitError> for PasswordChangeError {
    fn from(e: AdmitError) -> Self {
        match e {
            AdmitError::Refused(r) => Self::TooManyAttempts(r),
            AdmitError::Store(e) => Self::Internal(e.into()),
        }
    }
}

impl Rejection for PasswordChangeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::InvalidToken => "invalid_token",
            Self::Expired => "token_expired",
            Self::Password(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::UserNotFound => "user_not_found",
            Self::UserHasEmail => "user_has_email",
            Self::WrongCurrentPassword => "wrong_current_password",
            Self::CurrentPasswordMissing => "missing_current_password",
            Self::TooManyAttempts(_) => "too_many_attempts",
            Self::Changed => "user_changed",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::Auth(e) => e.class(),
            Self::InvalidToken
            | Self::Password(_)
            | Self::WrongCurrentPassword
            | Self::CurrentPasswordMissing => RejectionClass::Invalid,
            Self::Expired => RejectionClass::Gone,
            Self::Forbidden => RejectionClass::Forbidden,
            Self::UserNotFound => RejectionClass::NotFound,
            Self::UserHasEmail | Self::Changed => RejectionClass::Conflict,
            Self::TooManyAttempts(_) => RejectionClass::Throttled,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::TooManyAttempts(r) => r.retry_after(),
            _ => None,
        }
    }
}

/// The reset link in the email.
pub fn reset_link(services: &Services, org: &OrgDomain, token: &SecretToken) -> String {
    format!(
        "{}/{}/reset-password?token={}",
        services.config.public_url,
        org,
        token.expose()
    )
}

/// Saves a password reset of `user`'s, valid for `valid_for`: its token (for the link) and
/// the reset as saved.
pub(crate) async fn issue_reset(
    services: &Services,
    org_domain: &OrgDomain,
    user: &User,
    valid_for: Duration,
) -> Result<(SecretToken, PasswordReset), WriteError> {
    let now = services.clock.now();
    let token = SecretToken::generate(services.random.as_ref());
    let reset = PasswordReset {
        org: org_domain.clone(),
        user_id: user.id.clone(),
        token_hash: token.hash(),
        created_at: now,
        expires_at: now.plus(valid_for),
        password_epoch: user.password_epoch,
    };
    services.store.save_password_reset(&reset).await?;
    Ok((token, reset))
}

/// Mails a reset link if an account has this email, in `language` (the page's) or else the
/// organisation's. The answer is the same either way; the caller pads the response time so
/// that it does not tell either.
/// The counter of reset mails to one address (keyed by its hash).
pub(crate) fn reset_mail_counter(org: &OrgDomain, email: &EmailAddress) -> Counter {
    Counter::new(
        format!("reset-mail#{org}#{}", hashed(&email.normalized())),
        RESET_MAILS,
    )
}

pub async fn request_password_reset(
    services: &Services,
    org_domain: &OrgDomain,
    email: &EmailAddress,
    language: Option<crate::types::Language>,
) -> Result<(), PasswordChangeError> {
    let org = load_org(services, org_domain).await?;
    let counter = reset_mail_counter(org_domain, email);
    match admit(services, &[counter]).await {
        Ok(_) => {}
        Err(AdmitError::Refused(_)) => {
            tracing::info!(org = %org_domain, "password reset mail throttled");
            return Ok(());
        }
        Err(AdmitError::Store(e)) => return Err(e.into()),
    }
    // A deactivated account is sent nothing, and the answer is the same.
    let user = services.store.user_by_email(org_domain, email).await?;
    let Some(user) = user.filter(User::is_active) else {
        return Ok(());
    };
    let (token, reset) = issue_reset(services, org_domain, &user, RESET_TTL)
        .await
        .map_err(|e| PasswordChangeError::Internal(e.into()))?;
    let mail = PasswordResetMail {
        to: email,
        org: org.name(),
        first_name: &user.first_name,
        link: reset_link(services, org_domain, &token),
        expires_at: reset.expires_at,
        language: language.unwrap_or(org.settings.language),
    }
    .render()
    .map_err(|e| PasswordChangeError::Internal(e.into()))?;
    if let Err(e) = services.mailer.send(&mail).await {
        // The user may ask again; nothing else depends on this mail.
        tracing::warn!(org = %org_domain, cause = %crate::Chain(&e), "password reset mail not sent");
    }
    Ok(())
}

fn new_password(org: &Org, user: &User, raw: &str) -> Result<Password, PasswordError> {
    let personal = user
        .email
        .as_ref()
        .map(|e| e.local_part().to_string())
        .or_else(|| user.uid.as_ref().map(|u| u.to_string()))
        .unwrap_or_default();
    Password::parse(
        raw,
        org.settings.password_policy(),
        &[
            org.domain.as_str(),
            user.first_name.as_str(),
            user.last_name.as_str(),
            &personal,
        ],
    )
}

/// Who changes a password, from where (a security event says both).
fn changed_by(by: Option<&UserId>, client: &crate::usecase::ClientAddress) -> EventActor {
    EventActor {
        user_id: by.cloned(),
        client_address: Some(client.as_str().to_string()),
    }
}

/// Saves `user` with a new password (spending `reset` if given), ends its sessions but `keep`,
/// and lifts any sign-in lock.
async fn store_new_password(
    services: &Services,
    org: &Org,
    mut user: User,
    raw: &str,
    reset: Option<&TokenHash>,
    keep: Option<&TokenHash>,
    actor: EventActor,
) -> Result<(), PasswordChangeError> {
    let password = new_password(org, &user, raw)?;
    user.password = services
        .passwords
        .hash(password, services.random.clone())
        .await
        .map_err(|e| PasswordChangeError::Internal(e.into()))?;
    user.password_epoch += 1;
    let mut events = ChangeEvents::new(&*services.random, services.clock.now());
    events.user(
        EventType::UserPasswordChanged,
        actor.user_id.as_ref(),
        &user,
        actor.client_address.as_deref(),
    );
    match services.store.change_password(&user, reset, &events).await {
        Ok(()) => {}
        Err(WriteError::Stale) if reset.is_some() => return Err(PasswordChangeError::InvalidToken),
        Err(WriteError::Stale) => return Err(PasswordChangeError::Changed),
        Err(e) => return Err(PasswordChangeError::Internal(e.into())),
    }
    services
        .store
        .end_sessions(&org.domain, &user.id, keep)
        .await?;
    for counter in user_counters(&user) {
        clear(services, &counter).await;
    }
    Ok(())
}

/// Sets the new password with a reset link's token, once, within the hour.
pub async fn confirm_password_reset(
    services: &Services,
    org_domain: &OrgDomain,
    token: &SecretToken,
    new: &str,
    client: &crate::usecase::ClientAddress,
) -> Result<(), PasswordChangeError> {
    let org = load_org(services, org_domain).await?;
    let hash = token.hash();
    let reset = services
        .store
        .password_reset(&hash)
        .await?
        .filter(|r| &r.org == org_domain)
        .ok_or(PasswordChangeError::InvalidToken)?;
    if services.clock.now() >= reset.expires_at {
        return Err(PasswordChangeError::Expired);
    }
    let user = services
        .store
        .user(org_domain, &reset.user_id)
        .await?
        .filter(User::is_active)
        .ok_or(PasswordChangeError::InvalidToken)?;
    // Issued before the password last changed (by another link, by its owner, by an admin).
    if user.password_epoch != reset.password_epoch {
        return Err(PasswordChangeError::InvalidToken);
    }
    let actor = changed_by(None, client);
    store_new_password(services, &org, user, new, Some(&hash), None, actor).await
}

/// Checks a person's current password before a change only they may make (their password, their
/// email, erasing their account). Guessing it here is guessing a password: it is counted like a
/// sign-in, on the account's counter. Refusals: `CurrentPasswordMissing`, `WrongCurrentPassword`,
/// `TooManyAttempts`.
pub(crate) async fn check_current_password(
    services: &Services,
    user: &User,
    current: Option<&str>,
) -> Result<(), PasswordChangeError> {
    let current = current.ok_or(PasswordChangeError::CurrentPasswordMissing)?;
    let counters = user_counters(user);
    let counter = counters
        .first()
        .cloned()
        .unwrap_or_else(|| account_counter(&user.org, user.id.as_str()));
    admit(services, std::slice::from_ref(&counter)).await?;
    let current =
        Password::for_verification(current).ok_or(PasswordChangeError::WrongCurrentPassword)?;
    let verified = services
        .passwords
        .verify(
            current,
            Some(user.password.clone()),
            services.random.clone(),
        )
        .await;
    if verified {
        Ok(())
    } else {
        Err(PasswordChangeError::WrongCurrentPassword)
    }
}

/// `PUT /users/{id}/password`: a signed-in user changes their own password with the current one
/// (other sessions end); an admin sets the password of a user without email (all their sessions
/// end). Admins cannot set the password of users with email: those reset it themselves.
pub async fn set_password(
    services: &Services,
    org_domain: &OrgDomain,
    token: Option<&SessionToken>,
    target: &UserId,
    new: &str,
    current: Option<&str>,
    client: &crate::usecase::ClientAddress,
) -> Result<(), PasswordChangeError> {
    let Caller { org, actor, .. } =
        caller_in::<PasswordChangeError>(services, org_domain, token, Along::default()).await?;
    if &actor.user_id == target {
        let user = services
            .store
            .user(org_domain, target)
            .await?
            .ok_or(PasswordChangeError::UserNotFound)?;
        check_current_password(services, &user, current).await?;
        let keep = token.map(|t| t.secret.hash());
        let actor = changed_by(None, client);
        return store_new_password(services, &org, user, new, None, keep.as_ref(), actor).await;
    }
    let who = crate::permissions::Standing {
        role: actor.role,
        administers: &[],
    };
    if crate::permissions::decide(who, &org.settings, crate::permissions::Action::ManageUsers)
        .is_err()
    {
        return Err(PasswordChangeError::Forbidden);
    }
    let user = services
        .store
        .user(org_domain, target)
        .await?
        .ok_or(PasswordChangeError::UserNotFound)?;
    if user.email.is_some() {
        return Err(PasswordChangeError::UserHasEmail);
    }
    let by = Some(&actor.user_id);
    store_new_password(
        services,
        &org,
        user,
        new,
        None,
        None,
        changed_by(by, client),
    )
    .await
}
