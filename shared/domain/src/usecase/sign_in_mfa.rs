//! The second step of a sign-in: after the right password, the `mfa_token` and a code of the
//! person's app (or one of their recovery codes) open the session; when the organisation requires
//! a second factor the person lacks, the token lets them enrol an app first, and its first code
//! opens the session. The token works from the client address the password came from, for the
//! password that was checked, for 5 minutes, once.

use crate::challenge::{Challenge, ChallengeKind, ChallengeToken};
use crate::error::{Rejection, RejectionClass};
use crate::events::{ChangeEvents, EventType};
use crate::model::{Org, TotpFactor, User};
use crate::ports::{AttemptsChange, Lookup, StoreError, UserUpdate, WriteError};
use crate::services::Services;
use crate::throttle::{Attempts, Refusal, ThrottlePolicy};
use crate::types::OrgDomain;
use crate::usecase::guard::{admit_as_read, hashed, AdmitError, ClientAddress};
use crate::usecase::second_factor::{
    accepted_step, code_counter, confirmed, enrolment_of, new_app, recovery_hash,
    SecondFactorError, TotpEnrolment,
};
use crate::usecase::session::new_session;
use crate::usecase::sign_in::failed;
use crate::usecase::{OrgLookupError, SignedIn};

/// What the person gives for the second step.
#[derive(Debug, Clone)]
pub enum Proof {
    /// Their app's current code.
    Code(String),
    /// One of their recovery codes (each works once).
    RecoveryCode(String),
}

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error("the mfa_token is unknown, expired, used, from another address, or its password changed: sign in again")]
    InvalidToken,
    #[error("the code is not the app's current one, not a recovery code left, or used already")]
    InvalidCode,
    #[error("this sign-in enrols an authenticator app first (POST …/sign-in/mfa/totp)")]
    EnrolmentRequired,
    #[error("the person has a second factor already: finish with its code (POST …/sign-in/mfa)")]
    AlreadyEnrolled,
    #[error("no authenticator app is being enrolled for this sign-in: start with POST …/sign-in/mfa/totp")]
    NotStarted,
    #[error("this account is deactivated")]
    Deactivated,
    #[error("{0}")]
    TooManyAttempts(Refusal),
    #[error("the sign-in could not be finished")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for MfaError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<AdmitError> for MfaError {
    fn from(e: AdmitError) -> Self {
        match e {
            AdmitError::Refused(r) => Self::TooManyAttempts(r),
            AdmitError::Store(e) => e.into(),
        }
    }
}

impl From<SecondFactorError> for MfaError {
    fn from(e: SecondFactorError) -> Self {
        match e {
            SecondFactorError::InvalidCode => Self::InvalidCode,
            other => Self::Internal(other.into()),
        }
    }
}

impl Rejection for MfaError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::InvalidToken => "invalid_mfa_token",
            Self::InvalidCode => "invalid_mfa_code",
            Self::EnrolmentRequired => "mfa_enrolment_required",
            Self::AlreadyEnrolled => "totp_already_enrolled",
            Self::NotStarted => "totp_not_started",
            Self::Deactivated => "account_deactivated",
            Self::TooManyAttempts(_) => "too_many_attempts",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::InvalidToken | Self::InvalidCode => RejectionClass::Unauthenticated,
            Self::EnrolmentRequired | Self::AlreadyEnrolled | Self::NotStarted => {
                RejectionClass::Conflict
            }
            Self::Deactivated => RejectionClass::Forbidden,
            Self::TooManyAttempts(_) => RejectionClass::Throttled,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::TooManyAttempts(r) => r.retry_after(),
            _ => None,
        }
    }
}

/// A sign-in finished with a second factor: the session, and the recovery codes when an app was
/// enrolled on the way (shown once).
#[derive(Debug)]
pub struct MfaSignedIn {
    pub signed_in: SignedIn,
    pub recovery_codes: Vec<String>,
}

/// What a live challenge stands for: the account it signs in (active, its password unchanged
/// since), whether it enrols an app, the organisation, and the account's wrong-code counter as
/// read with them.
struct Challenged {
    challenge: Challenge,
    user: User,
    enrolment: bool,
    org: Org,
    codes: Option<Attempts>,
}

/// The challenge a token names, while it is live, from the address its password came from.
async fn challenged(
    services: &Services,
    org: &OrgDomain,
    token: &ChallengeToken,
    client: &ClientAddress,
) -> Result<Challenged, MfaError> {
    // One batch: the organisation, the account, its wrong-code counter and the challenge.
    let found = services
        .store
        .look_up(
            org,
            &Lookup {
                org: true,
                user: Some(token.user_id.clone()),
                attempts: vec![code_counter(org, &token.user_id).key],
                challenge: Some(token.secret.hash()),
                ..Lookup::default()
            },
        )
        .await?;
    let org_read = found.org.ok_or(OrgLookupError::NotFound)?;
    let challenge = found.challenge.ok_or(MfaError::InvalidToken)?;
    let ChallengeKind::SecondFactor {
        user_id,
        password_epoch,
        client: from,
        enrolment,
        ..
    } = &challenge.kind
    else {
        return Err(MfaError::InvalidToken);
    };
    let live = challenge.is_live(services.clock.now());
    if !live || from != &hashed(client.as_str()) || user_id != &token.user_id {
        return Err(MfaError::InvalidToken);
    }
    let user = found
        .user
        .filter(|u| u.password_epoch == *password_epoch)
        .ok_or(MfaError::InvalidToken)?;
    if !user.is_active() {
        return Err(MfaError::Deactivated);
    }
    let enrolment = *enrolment;
    let codes = found.attempts.into_iter().next().flatten();
    Ok(Challenged {
        challenge,
        user,
        enrolment,
        org: org_read,
        codes,
    })
}

/// `POST /sign-in/mfa {mfa_token, code | recovery_code}`: the second factor opens the session.
/// Wrong codes count for the account, as in enrolment (5 free, then doubling waits, locked at 50
/// until an admin removes the app).
pub async fn finish_sign_in(
    services: &Services,
    org: &OrgDomain,
    token: &ChallengeToken,
    proof: &Proof,
    client: &ClientAddress,
) -> Result<SignedIn, MfaError> {
    for _ in 0..3 {
        let Challenged {
            challenge,
            user,
            enrolment,
            codes,
            ..
        } = challenged(services, org, token, client).await?;
        if enrolment {
            return Err(MfaError::EnrolmentRequired);
        }
        // The app was removed since the password (an admin did, for a lost phone): sign in again.
        let factor = match &user.totp {
            Some(f) if f.is_confirmed() => f.clone(),
            _ => return Err(MfaError::InvalidToken),
        };
        let counter = code_counter(org, &user.id);
        let charged =
            admit_as_read(services, std::slice::from_ref(&counter), Some(vec![codes])).await?;
        let next_factor = match proof {
            Proof::Code(code) => {
                accepted_step(services, &factor, code).map(|code_step| TotpFactor {
                    last_step: Some(code_step),
                    ..factor.clone()
                })
            }
            Proof::RecoveryCode(code) => {
                let hash = recovery_hash(code);
                let mut spent = factor.clone();
                let before = spent.recovery_hashes.len();
                spent.recovery_hashes.retain(|h| h != &hash);
                if spent.recovery_hashes.len() < before {
                    Ok(spent)
                } else {
                    Err(SecondFactorError::InvalidCode)
                }
            }
        };
        let next_factor = match next_factor {
            Ok(f) => f,
            Err(e) => {
                wrong_code(services, &user, client, &counter, &charged).await;
                return Err(e.into());
            }
        };
        let mut next = user.clone();
        next.totp = Some(next_factor);
        if let Some(signed_in) = open(services, &challenge, &user, next, &counter, &[]).await? {
            return Ok(signed_in);
        }
    }
    Err(MfaError::InvalidToken)
}

/// `POST /sign-in/mfa/totp {mfa_token}`: a new app's secret for a person whom the organisation
/// requires to have one (any earlier unconfirmed one is replaced).
pub async fn start_enrolment(
    services: &Services,
    org: &OrgDomain,
    token: &ChallengeToken,
    client: &ClientAddress,
) -> Result<TotpEnrolment, MfaError> {
    let Challenged {
        user,
        enrolment,
        org,
        ..
    } = challenged(services, org, token, client).await?;
    if !enrolment || user.has_second_factor() {
        return Err(MfaError::AlreadyEnrolled);
    }
    let (next, enrolment) = new_app(services, org.name(), &user);
    match services
        .store
        .update_user(&UserUpdate::new(&user, &next), &ChangeEvents::none())
        .await
    {
        Ok(()) => Ok(enrolment),
        // Another start at the same moment: this one's secret was not kept.
        Err(WriteError::Stale) => Err(MfaError::NotStarted),
        Err(e) => Err(MfaError::Internal(e.into())),
    }
}

/// The app being enrolled in this sign-in, as it was shown (for a page that asks for its code
/// again after a wrong one).
pub async fn pending_enrolment(
    services: &Services,
    org: &OrgDomain,
    token: &ChallengeToken,
    client: &ClientAddress,
) -> Result<TotpEnrolment, MfaError> {
    let Challenged {
        user,
        enrolment,
        org,
        ..
    } = challenged(services, org, token, client).await?;
    let factor = match &user.totp {
        Some(f) if enrolment && !f.is_confirmed() => f,
        Some(_) => return Err(MfaError::AlreadyEnrolled),
        None => return Err(MfaError::NotStarted),
    };
    let secret = services
        .access_codes
        .open_totp_secret(&factor.sealed_secret)
        .ok_or_else(|| MfaError::Internal("the secret does not open".into()))?;
    Ok(enrolment_of(org.name(), &user, &secret))
}

/// `POST /sign-in/mfa/totp/confirm {mfa_token, code}`: the new app's first code makes it the
/// person's second factor and opens the session; the recovery codes come with it, once.
pub async fn finish_enrolment(
    services: &Services,
    org: &OrgDomain,
    token: &ChallengeToken,
    code: &str,
    client: &ClientAddress,
) -> Result<MfaSignedIn, MfaError> {
    for _ in 0..3 {
        let Challenged {
            challenge,
            user,
            enrolment,
            codes,
            ..
        } = challenged(services, org, token, client).await?;
        let factor = match &user.totp {
            Some(f) if f.is_confirmed() || !enrolment => return Err(MfaError::AlreadyEnrolled),
            Some(f) => f.clone(),
            None => return Err(MfaError::NotStarted),
        };
        let counter = code_counter(org, &user.id);
        let charged =
            admit_as_read(services, std::slice::from_ref(&counter), Some(vec![codes])).await?;
        let code_step = match accepted_step(services, &factor, code) {
            Ok(code_step) => code_step,
            Err(e) => {
                wrong_code(services, &user, client, &counter, &charged).await;
                return Err(e.into());
            }
        };
        let (factor, recovery_codes) = confirmed(services, &factor, code_step);
        let mut next = user.clone();
        next.totp = Some(factor);
        let enabled = [EventType::UserMfaEnabled];
        if let Some(signed_in) = open(services, &challenge, &user, next, &counter, &enabled).await?
        {
            return Ok(MfaSignedIn {
                signed_in,
                recovery_codes,
            });
        }
    }
    Err(MfaError::InvalidToken)
}

/// Opens the session of a finished challenge, with the account written as `next` (the factor's
/// new state), the code counter cleared, the address made familiar. `None`: the account changed
/// meanwhile and the step is to be tried again from the start.
async fn open(
    services: &Services,
    challenge: &Challenge,
    user: &User,
    mut next: User,
    counter: &crate::throttle::Counter,
    also: &[EventType],
) -> Result<Option<SignedIn>, MfaError> {
    let now = services.clock.now();
    next.last_sign_in_at = Some(now);
    let (token, session) = new_session(services, &next, &["pwd", "otp", "mfa"]);
    let mut attempts = vec![AttemptsChange::Clear {
        key: counter.key.clone(),
    }];
    if let ChallengeKind::SecondFactor { familiar_key, .. } = &challenge.kind {
        attempts.push(AttemptsChange::Trust {
            key: familiar_key.clone(),
            until: now.plus(ThrottlePolicy::FAMILIAR_FOR),
        });
    }
    let mut events = ChangeEvents::new(&*services.random, now);
    for kind in also {
        events.user(*kind, None, &next, None);
    }
    events.user(EventType::UserSignedIn, None, &next, None);
    let change = UserUpdate::new(user, &next);
    match services
        .store
        .open_session_after(challenge, &change, &session, &attempts, &events)
        .await
    {
        Ok(()) => {
            next.version += 1;
            Ok(Some(SignedIn {
                token,
                expires_at: session.expires_at,
                user: next,
                amr: session.amr,
            }))
        }
        Err(WriteError::Stale) => Ok(None),
        Err(e) => Err(MfaError::Internal(e.into())),
    }
}

/// A wrong code after the right password: counted already; recorded as a failed sign-in (and a
/// lock, when it locked the account).
async fn wrong_code(
    services: &Services,
    user: &User,
    client: &ClientAddress,
    counter: &crate::throttle::Counter,
    charged: &[Attempts],
) {
    let now = services.clock.now();
    failed(
        services,
        user,
        client,
        std::slice::from_ref(counter),
        charged,
        now,
    )
    .await;
}
