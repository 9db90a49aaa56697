//! A verified change of email: the person (with their current password) or an admin asks for a
//! new address; a link goes to the new address (24 hours, once) and a notice to the one in use,
//! which keeps working until the link is followed. Following it moves the account's email claim
//! from the old address to the new one in the account's own write, so the old address is free at
//! once. An address someone already holds is answered exactly like a free one (and mailed
//! nothing), so the answer tells nobody which addresses have accounts.

use std::time::Duration;

use crate::error::{Rejection, RejectionClass};
use crate::events::{ChangeEvents, EventType};
use crate::mail::EmailChangeMail;
use crate::model::{EmailChange, User};
use crate::ports::{AccountKey, Claim, Lookup, StoreError, UserUpdate, WriteError};
use crate::secret::{SecretToken, SessionToken};
use crate::services::Services;
use crate::throttle::{Counter, ThrottlePolicy};
use crate::types::{EmailAddress, Language, OrgDomain, UserId};
use crate::usecase::guard::{admit, AdmitError};
use crate::usecase::password::{check_current_password, PasswordChangeError};
use crate::usecase::session::AuthError;
use crate::usecase::{caller_in, load_org, Along, OrgLookupError};

/// How long the link to the new address works.
pub const EMAIL_CHANGE_TTL: Duration = Duration::from_secs(24 * 3600);

/// Changes asked for one account: a few a day, then waits that double (each mails an address
/// someone typed, so the account cannot become a way to mail strangers).
const EMAIL_CHANGE_MAILS: ThrottlePolicy = ThrottlePolicy {
    free: 5,
    base_delay: Duration::from_secs(60),
    max_delay: Duration::from_secs(3600),
    lock_after: None,
    forget_after: Some(Duration::from_secs(86_400)),
};

#[derive(Debug, thiserror::Error)]
pub enum EmailChangeError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("only admins can change someone else's email")]
    Forbidden,
    #[error("no such user")]
    NotFound,
    /// The person's current password was missing, wrong or guessed too often.
    #[error(transparent)]
    CurrentPassword(PasswordChangeError),
    #[error("people without email sign in with their identifier; invite them by email instead")]
    WithoutEmail,
    #[error("the account is deactivated")]
    Deactivated,
    #[error("the link is unknown, spent, or for an address the account no longer has")]
    InvalidToken,
    #[error("the link has expired; ask for the change again")]
    Expired,
    #[error("another account or invitation has taken this address meanwhile")]
    EmailTaken,
    #[error("{0}")]
    TooManyRequests(crate::throttle::Refusal),
    #[error("the account kept changing; try again")]
    Changed,
    #[error("changing the email failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for EmailChangeError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl Rejection for EmailChangeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Forbidden => "forbidden",
            Self::NotFound => "user_not_found",
            Self::CurrentPassword(e) => e.code(),
            Self::WithoutEmail => "user_without_email",
            Self::Deactivated => "account_deactivated",
            Self::InvalidToken => "invalid_token",
            Self::Expired => "token_expired",
            Self::EmailTaken => "email_taken",
            Self::TooManyRequests(_) => "too_many_attempts",
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
            Self::WithoutEmail | Self::InvalidToken => RejectionClass::Invalid,
            Self::Deactivated | Self::EmailTaken | Self::Changed => RejectionClass::Conflict,
            Self::Expired => RejectionClass::Gone,
            Self::TooManyRequests(_) => RejectionClass::Throttled,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::CurrentPassword(e) => e.retry_after(),
            Self::TooManyRequests(r) => r.retry_after(),
            _ => None,
        }
    }
}

/// The link in the mail to the new address.
pub fn email_change_link(services: &Services, org: &OrgDomain, token: &SecretToken) -> String {
    format!(
        "{}/{}/email-change?token={}",
        services.config.public_url,
        org,
        token.expose()
    )
}

/// Asks for `id`'s email to become `new`: the person themselves, with their current password, or
/// an admin for anyone (without). Answers the same whether or not `new` is free.
pub async fn request_email_change(
    services: &Services,
    org: &OrgDomain,
    token: Option<&SessionToken>,
    id: &UserId,
    new: &EmailAddress,
    current_password: Option<&str>,
    language: Option<Language>,
) -> Result<(), EmailChangeError> {
    let caller = caller_in::<EmailChangeError>(services, org, token, Along::default()).await?;
    let own = &caller.actor.user_id == id;
    let admin = crate::permissions::decide(
        caller.standing(),
        &caller.org.settings,
        crate::permissions::Action::ManageUsers,
    )
    .is_ok();
    if !own && !admin {
        return Err(EmailChangeError::Forbidden);
    }
    let user = match (own, caller.user) {
        (true, Some(user)) => user,
        _ => services
            .store
            .user(org, id)
            .await?
            .ok_or(EmailChangeError::NotFound)?,
    };
    if own {
        check_current_password(services, &user, current_password)
            .await
            .map_err(EmailChangeError::CurrentPassword)?;
    }
    let from = user.email.clone().ok_or(EmailChangeError::WithoutEmail)?;
    if !user.is_active() {
        return Err(EmailChangeError::Deactivated);
    }
    if from.normalized() == new.normalized() {
        return Ok(());
    }
    let counter = Counter::new(
        format!("email-change#{org}#{}", user.id),
        EMAIL_CHANGE_MAILS,
    );
    match admit(services, &[counter]).await {
        Ok(_) => {}
        Err(AdmitError::Refused(refusal)) => {
            return Err(EmailChangeError::TooManyRequests(refusal))
        }
        Err(AdmitError::Store(e)) => return Err(e.into()),
    }
    let now = services.clock.now();
    let found = services
        .store
        .look_up(
            org,
            &Lookup {
                claims: vec![AccountKey::Email(new.clone())],
                ..Lookup::default()
            },
        )
        .await?;
    let free = match found.claims.first() {
        Some(Claim::Free) | None => true,
        Some(Claim::Invitation { expires_at, .. }) => *expires_at <= now,
        Some(Claim::Account(_)) => false,
    };
    let requested_by = (!own).then(|| caller.actor.user_id.clone());
    let language = language.unwrap_or(caller.org.settings.language);
    let expires_at = now.plus(EMAIL_CHANGE_TTL);
    let org_name = caller.org.name();
    let mail = |to, link: Option<String>| EmailChangeMail {
        to,
        notice: link.is_none(),
        org: org_name,
        first_name: &user.first_name,
        new_email: new,
        by_admin: !own,
        link,
        expires_at,
        language,
    };
    if free {
        let secret = SecretToken::generate(services.random.as_ref());
        let change = EmailChange {
            org: org.clone(),
            user_id: user.id.clone(),
            token_hash: secret.hash(),
            from: from.clone(),
            to: new.clone(),
            requested_by,
            created_at: now,
            expires_at,
        };
        services
            .store
            .save_email_change(&change)
            .await
            .map_err(|e| EmailChangeError::Internal(e.into()))?;
        let link = email_change_link(services, org, &secret);
        send(services, mail(new, Some(link))).await;
    } else {
        // Taken: nothing goes to the address, and the answer is the same.
        tracing::info!(org = %org, user = %user.id, "an email change named an address in use");
    }
    send(services, mail(&from, None)).await;
    Ok(())
}

/// Sends one mail of a change (best effort: the person may ask again).
async fn send(services: &Services, mail: EmailChangeMail<'_>) {
    let sent = match mail.render() {
        Ok(mail) => services
            .mailer
            .send(&mail)
            .await
            .map_err(crate::Cause::from),
        Err(e) => Err(e.into()),
    };
    if let Err(cause) = sent {
        tracing::warn!(cause = %crate::Chain(&*cause), "an email change mail was not sent");
    }
}

/// The change a link names, while it can still be confirmed, with the account it changes.
pub async fn pending_email_change(
    services: &Services,
    org: &OrgDomain,
    token: &SecretToken,
) -> Result<(EmailChange, User), EmailChangeError> {
    load_org(services, org).await?;
    let change = services
        .store
        .email_change(&token.hash())
        .await?
        .filter(|c| &c.org == org)
        .ok_or(EmailChangeError::InvalidToken)?;
    if services.clock.now() >= change.expires_at {
        return Err(EmailChangeError::Expired);
    }
    let user = services
        .store
        .user(org, &change.user_id)
        .await?
        .filter(|u| u.is_active() && u.email.as_ref() == Some(&change.from))
        .ok_or(EmailChangeError::InvalidToken)?;
    Ok((change, user))
}

/// Follows the link: the account's email becomes the new address, once. The account's password
/// epoch moves on, so reset links mailed to the old address stop working.
pub async fn confirm_email_change(
    services: &Services,
    org: &OrgDomain,
    token: &SecretToken,
) -> Result<User, EmailChangeError> {
    for _ in 0..3 {
        let (change, user) = pending_email_change(services, org, token).await?;
        let mut next = user.clone();
        next.email = Some(change.to.clone());
        next.password_epoch += 1;
        let mut events = ChangeEvents::new(&*services.random, services.clock.now());
        events.user(
            EventType::UserEmailChanged,
            change.requested_by.as_ref(),
            &next,
            None,
        );
        let update = UserUpdate {
            at: Some(services.clock.now()),
            ..UserUpdate::new(&user, &next)
        };
        match services
            .store
            .confirm_email_change(&update, &token.hash(), &events)
            .await
        {
            Ok(()) => {
                next.version += 1;
                return Ok(next);
            }
            Err(WriteError::EmailTaken) => return Err(EmailChangeError::EmailTaken),
            // The account changed, or the link was spent by a concurrent confirmation.
            Err(WriteError::Stale) => continue,
            Err(e) => return Err(EmailChangeError::Internal(e.into())),
        }
    }
    Err(EmailChangeError::Changed)
}
