//! Sign in with email (or `uid:domain`) and password. The answer never says whether the account exists, and an
//! unknown account costs the same password-hash work as a wrong password.

use crate::challenge::{Challenge, ChallengeKind, CHALLENGE_TTL};
use crate::clock::Timestamp;
use crate::error::{Rejection, RejectionClass};
use crate::events::{ChangeEvents, EventType};
use crate::password::Password;
use crate::ports::{AccountKey, AttemptsChange, Lookup, StoreError, WriteError};
use crate::services::Services;
use crate::throttle::{Counter, Refusal, ThrottlePolicy};
use crate::types::{OrgDomain, SignInIdentifier};
use crate::usecase::guard::{
    admit_as_read, hashed, quick_refund, refund, AdmitError, ClientAddress,
};
use crate::usecase::session::new_session;
use crate::usecase::{OrgLookupError, SignedIn};

/// What the right password leads to: a session, or the second step of the sign-in.
#[derive(Debug)]
pub enum SignInOutcome {
    SignedIn(Box<SignedIn>),
    SecondFactor(SecondStep),
}

impl SignInOutcome {
    /// The session, when the password alone opened one.
    pub fn signed_in(self) -> Option<SignedIn> {
        match self {
            Self::SignedIn(s) => Some(*s),
            Self::SecondFactor(_) => None,
        }
    }
}

/// The sign-in's second step: the token that finishes it (shown once) and how.
#[derive(Debug)]
pub struct SecondStep {
    pub token: crate::challenge::ChallengeToken,
    /// What finishes it: `totp`, `recovery_code`; empty when an app must be enrolled first.
    pub methods: Vec<&'static str>,
    /// The organisation requires a second factor the person does not have: they set up an
    /// authenticator app now.
    pub enrolment_required: bool,
    pub expires_at: Timestamp,
}

pub struct SignInRequest {
    /// As typed: an email address, or `uid:domain`.
    pub identifier: String,
    pub password: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error("the identifier or the password is wrong")]
    InvalidCredentials,
    #[error("this organisation does not allow sign-in without email")]
    WithoutEmailDisabled,
    /// The password was right, but an admin deactivated the account.
    #[error("this account is deactivated")]
    AccountDeactivated,
    #[error("{0}")]
    TooManyAttempts(Refusal),
    #[error("sign-in failed")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for SignInError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<AdmitError> for SignInError {
    fn from(e: AdmitError) -> Self {
        match e {
            AdmitError::Refused(r) => Self::TooManyAttempts(r),
            AdmitError::Store(e) => Self::Internal(e.into()),
        }
    }
}

impl Rejection for SignInError {
    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::TooManyAttempts(r) => r.retry_after(),
            _ => None,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::InvalidCredentials => "invalid_credentials",
            Self::WithoutEmailDisabled => "sign_up_without_email_disabled",
            Self::AccountDeactivated => "account_deactivated",
            Self::TooManyAttempts(_) => "too_many_attempts",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::InvalidCredentials => RejectionClass::Unauthenticated,
            Self::WithoutEmailDisabled => RejectionClass::Forbidden,
            Self::AccountDeactivated => RejectionClass::Forbidden,
            Self::TooManyAttempts(_) => RejectionClass::Throttled,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

/// Four requests in three round trips when the password is right: the organisation, the
/// account's identifier, the address's familiarity and the failure counters in one read; the
/// charge written while the account is read; the session written with the account's counter
/// cleared, the address marked familiar and the client's charge taken back. A wrong password
/// costs the first two round trips only.
pub async fn sign_in(
    services: &Services,
    org_domain: &OrgDomain,
    request: SignInRequest,
    client: &ClientAddress,
) -> Result<SignInOutcome, SignInError> {
    use crate::metrics::Metric;
    let outcome = attempt(services, org_domain, request, client).await;
    let metric = match &outcome {
        Ok(SignInOutcome::SignedIn(_)) => Some(Metric::SignInsSucceeded),
        Ok(SignInOutcome::SecondFactor(_)) => None,
        Err(SignInError::InvalidCredentials) => Some(Metric::SignInsFailed),
        Err(SignInError::TooManyAttempts(_)) => Some(Metric::SignInsThrottled),
        Err(_) => None,
    };
    if let Some(metric) = metric {
        services.metrics.count(metric, 1);
    }
    outcome
}

async fn attempt(
    services: &Services,
    org_domain: &OrgDomain,
    request: SignInRequest,
    client: &ClientAddress,
) -> Result<SignInOutcome, SignInError> {
    let identifier = SignInIdentifier::parse_in(&request.identifier, org_domain);
    // Counted before anything is looked up, so that a throttled or locked identifier answers the
    // same whether or not an account has it.
    let target = match &identifier {
        Ok(id) => id.normalized(),
        Err(_) => request.identifier.trim().to_lowercase(),
    };
    let account = account_counter(org_domain, &target);
    let familiar = familiar_counter(org_domain, &target);
    let marker = familiarity_key(org_domain, &target, client);
    let client_counter = Counter::new(
        format!("sign-in-client#{org_domain}#{}", client.as_str()),
        ThrottlePolicy::SIGN_IN_CLIENT,
    );
    let account_key = match &identifier {
        Ok(SignInIdentifier::Email(email)) => Some(AccountKey::Email(email.clone())),
        // `uid:domain` works only in its own organisation.
        Ok(SignInIdentifier::Uid { uid, domain }) if domain == org_domain => {
            Some(AccountKey::Uid(uid.clone()))
        }
        _ => None,
    };
    let found = services
        .store
        .look_up(
            org_domain,
            &Lookup {
                org: true,
                account: account_key,
                attempts: vec![
                    marker.clone(),
                    account.key.clone(),
                    familiar.key.clone(),
                    client_counter.key.clone(),
                ],
                ..Lookup::default()
            },
        )
        .await?;
    let org = found.org.ok_or(OrgLookupError::NotFound)?;
    let password =
        Password::for_verification(&request.password).ok_or(SignInError::InvalidCredentials)?;
    if matches!(identifier, Ok(SignInIdentifier::Uid { .. })) && !org.settings.sign_up_without_email
    {
        return Err(SignInError::WithoutEmailDisabled);
    }
    // From an address the owner signs in from, strangers' guesses elsewhere hold nothing back,
    // and nothing but the account's own counter holds the owner back: the address's limits are
    // for strangers (an office of hundreds behind one address signs in at 9:00).
    let mut read = found.attempts.into_iter();
    let now = services.clock.now();
    let is_familiar = read.next().flatten().is_some_and(|m| now < m.trusted_until);
    let (account_read, familiar_read, client_read) = (
        read.next().flatten(),
        read.next().flatten(),
        read.next().flatten(),
    );
    let (target_counter, target_read) = if is_familiar {
        (familiar, familiar_read)
    } else {
        (account, account_read)
    };
    // A stranger's address shares the organisation's trusted network's larger allowance when it
    // is in one (read apart: which network is known only now).
    let trusted = client.ip().and_then(|ip| {
        org.settings
            .trusted_networks
            .iter()
            .find(|n| n.contains(ip))
    });
    let (counters, just_read) = match (is_familiar, trusted) {
        (true, _) => (vec![target_counter.clone()], Some(vec![target_read])),
        (false, Some(network)) => {
            let shared = Counter::new(
                format!("sign-in-network#{org_domain}#{network}"),
                ThrottlePolicy::SIGN_IN_TRUSTED_NETWORK,
            );
            (vec![target_counter.clone(), shared], None)
        }
        (false, None) => (
            vec![target_counter.clone(), client_counter],
            Some(vec![target_read, client_read]),
        ),
    };
    let account_id = found.account;
    let (charged, user) = tokio::join!(admit_as_read(services, &counters, just_read), async {
        match &account_id {
            Some(id) => services.store.user(org_domain, id).await,
            None => Ok(None),
        }
    });
    let charged = charged?;
    let user = user?;
    let verified = services
        .passwords
        .verify(
            password.clone(),
            user.as_ref().map(|u| u.password.clone()),
            services.random.clone(),
        )
        .await;
    let user = match user {
        Some(user) if verified => user,
        Some(user) => {
            failed(services, &user, client, &counters, &charged, now).await;
            return Err(SignInError::InvalidCredentials);
        }
        None => return Err(SignInError::InvalidCredentials),
    };
    if !user.is_active() {
        // Only the right password learns it; the attempt was no stranger's failure.
        refund_all(services, &counters, &charged).await;
        return Err(SignInError::AccountDeactivated);
    }
    let mut user = user;
    if services.passwords.needs_rehash(&user.password) {
        rehash(services, &mut user, password).await;
    }
    let required = org.settings.mfa_required_for.contains(&user.role);
    if user.has_second_factor() || required {
        let target = &target_counter;
        let pending =
            second_step(services, &user, client, marker, target, &counters, &charged).await?;
        return Ok(SignInOutcome::SecondFactor(pending));
    }
    // A success ends the run of failures it was counted with, was no failure of the client, and
    // makes (or keeps) the address familiar.
    let (token, session) = new_session(services, &user, &["pwd"]);
    let cleared = [
        AttemptsChange::Clear {
            key: target_counter.key.clone(),
        },
        AttemptsChange::Trust {
            key: marker,
            until: session.created_at.plus(ThrottlePolicy::FAMILIAR_FOR),
        },
    ];
    let client_counter = counters.get(1);
    let client_charge = charged.get(1);
    let quick = client_counter
        .zip(client_charge)
        .and_then(|(counter, c)| quick_refund(counter, c));
    let mut changes = cleared.to_vec();
    changes.extend(quick.clone());
    let mut events = ChangeEvents::new(&*services.random, session.created_at);
    // Signing in is the person's own doing: no actor but the address.
    events.user(EventType::UserSignedIn, None, &user, Some(client.as_str()));
    let opened = match services
        .store
        .open_session(&session, &changes, &events)
        .await
    {
        // The client's counter had nothing left to take back (it was cleared meanwhile), or the
        // account was deactivated since it was read.
        Err(WriteError::Stale) if quick.is_some() => {
            services
                .store
                .open_session(&session, &cleared, &events)
                .await
        }
        other => other,
    };
    if let Err(WriteError::Stale) = opened {
        let now_active = services.store.user(org_domain, &user.id).await?;
        if !now_active
            .as_ref()
            .is_some_and(crate::model::User::is_active)
        {
            refund_all(services, &counters, &charged).await;
            return Err(SignInError::AccountDeactivated);
        }
    }
    opened.map_err(|e| SignInError::Internal(e.into()))?;
    if let (None, Some(counter), Some(charge)) = (&quick, client_counter, client_charge) {
        refund(services, counter, charge).await;
    }
    Ok(SignInOutcome::SignedIn(Box::new(SignedIn {
        token,
        expires_at: session.expires_at,
        user,
        amr: session.amr,
    })))
}

/// The right password of a person with a second factor (or whom the organisation requires to
/// have one): no session yet, but a challenge its token finishes. The password's run of failures
/// ends and the client's charge is taken back, as for a sign-in; the address becomes familiar
/// only once the sign-in is done.
async fn second_step(
    services: &Services,
    user: &crate::model::User,
    client: &ClientAddress,
    familiar_key: String,
    target: &Counter,
    counters: &[Counter],
    charged: &[crate::throttle::Attempts],
) -> Result<SecondStep, SignInError> {
    let now = services.clock.now();
    let token =
        crate::challenge::ChallengeToken::generate(user.id.clone(), services.random.as_ref());
    let enrolment = !user.has_second_factor();
    let challenge = Challenge {
        org: user.org.clone(),
        token_hash: token.secret.hash(),
        kind: ChallengeKind::SecondFactor {
            user_id: user.id.clone(),
            password_epoch: user.password_epoch,
            client: hashed(client.as_str()),
            familiar_key,
            enrolment,
        },
        created_at: now,
        expires_at: now.plus(CHALLENGE_TTL),
    };
    let cleared = [AttemptsChange::Clear {
        key: target.key.clone(),
    }];
    let quick = counters
        .get(1)
        .zip(charged.get(1))
        .and_then(|(counter, c)| quick_refund(counter, c));
    let mut changes = cleared.to_vec();
    changes.extend(quick.clone());
    let saved = match services.store.save_challenge(&challenge, &changes).await {
        Err(WriteError::Stale) if quick.is_some() => {
            services.store.save_challenge(&challenge, &cleared).await
        }
        other => other,
    };
    saved.map_err(|e| SignInError::Internal(e.into()))?;
    if let (None, Some(counter), Some(charge)) = (&quick, counters.get(1), charged.get(1)) {
        refund(services, counter, charge).await;
    }
    let methods = if enrolment {
        Vec::new()
    } else {
        user.second_factors()
            .into_iter()
            .flat_map(|kind| match kind {
                "totp" => vec!["totp", "recovery_code"],
                other => vec![other],
            })
            .collect()
    };
    Ok(SecondStep {
        token,
        methods,
        enrolment_required: enrolment,
        expires_at: challenge.expires_at,
    })
}

/// Records a wrong password for an account (the failure is already counted): `user.sign_in_failed`,
/// and `user.locked` when this failure locked the account. Best effort: the answer stays the
/// same whether or not the record is written.
pub(crate) async fn failed(
    services: &Services,
    user: &crate::model::User,
    client: &ClientAddress,
    counters: &[Counter],
    charged: &[crate::throttle::Attempts],
    now: crate::clock::Timestamp,
) {
    let mut events = ChangeEvents::new(&*services.random, now);
    let address = Some(client.as_str());
    events.user(EventType::UserSignInFailed, None, user, address);
    // It was admitted before this failure, so a lock now is this failure's doing.
    let locked = counters
        .first()
        .zip(charged.first())
        .is_some_and(|(c, a)| a.admits(&c.policy, now) == Err(crate::throttle::Refusal::Locked));
    if locked {
        events.user(EventType::UserLocked, None, user, address);
    }
    if let Err(e) = services.store.append_events(&events).await {
        tracing::warn!(user = %user.id, cause = %crate::Chain(&e), "a failed sign-in was not recorded");
    }
}

/// Takes back every charge of an attempt that was no failure (best effort, as refunds are).
async fn refund_all(
    services: &Services,
    counters: &[Counter],
    charged: &[crate::throttle::Attempts],
) {
    for (counter, charge) in counters.iter().zip(charged) {
        refund(services, counter, charge).await;
    }
}

/// Upgrades a digest made with weaker parameters. A failure only means it is tried next time.
async fn rehash(services: &Services, user: &mut crate::model::User, password: Password) {
    let Ok(digest) = services
        .passwords
        .hash(password, services.random.clone())
        .await
    else {
        return;
    };
    let mut upgraded = user.clone();
    upgraded.password = digest;
    let change = crate::ports::UserUpdate::new(user, &upgraded);
    match services
        .store
        .update_user(&change, &ChangeEvents::none())
        .await
    {
        Ok(()) => {
            upgraded.version += 1;
            *user = upgraded;
        }
        Err(e) => {
            tracing::info!(user = %user.id, cause = %crate::Chain(&e), "password rehash deferred")
        }
    }
}

/// The failure counter of an account's identifier (normalised), whether or not the account
/// exists, for attempts from addresses it has not signed in from.
pub(crate) fn account_counter(org: &OrgDomain, identifier: &str) -> Counter {
    Counter::new(
        format!("sign-in#{org}#{}", hashed(identifier)),
        ThrottlePolicy::SIGN_IN_ACCOUNT,
    )
}

/// The failure counter of an account's identifier for attempts from familiar addresses.
fn familiar_counter(org: &OrgDomain, identifier: &str) -> Counter {
    Counter::new(
        format!("sign-in-familiar#{org}#{}", hashed(identifier)),
        ThrottlePolicy::SIGN_IN_FAMILIAR,
    )
}

/// The marker saying that the account behind an identifier signed in from this address lately.
/// Neither the identifier nor the address is stored.
fn familiarity_key(org: &OrgDomain, identifier: &str, client: &ClientAddress) -> String {
    familiarity_key_for(org, identifier, client.as_str())
}

/// [`familiarity_key`] of a client address as events record it (an erasure forgets them).
pub(crate) fn familiarity_key_for(org: &OrgDomain, identifier: &str, address: &str) -> String {
    format!(
        "sign-in-known#{org}#{}",
        hashed(&format!("{identifier}\n{address}"))
    )
}

/// The failure counters of a user's identifiers (email and/or `uid:domain`), of both kinds: a
/// password reset clears them all.
pub(crate) fn user_counters(user: &crate::model::User) -> Vec<Counter> {
    let mut identifiers = Vec::new();
    if let Some(email) = &user.email {
        identifiers.push(email.normalized());
    }
    if let Some(uid) = &user.uid {
        let identifier = SignInIdentifier::Uid {
            uid: uid.clone(),
            domain: user.org.clone(),
        };
        identifiers.push(identifier.normalized());
    }
    identifiers
        .iter()
        .flat_map(|id| {
            [
                account_counter(&user.org, id),
                familiar_counter(&user.org, id),
            ]
        })
        .collect()
}
