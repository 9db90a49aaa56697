//! Signing in with a passkey alone: the options (no account named: the authenticator offers the
//! discoverable credentials it holds for this site), then the assertion, whose user handle names
//! the account. The flow works once, for 5 minutes, from the address the options went to; a
//! signature counter that goes back is refused and logged. A passkey asks for user verification,
//! so it is both factors: it satisfies the organisation's second-factor policy.

use serde_json::Value;

use crate::challenge::ChallengeKind;
use crate::error::{Rejection, RejectionClass};
use crate::events::{ChangeEvents, EventType};
use crate::passkey::CeremonyError;
use crate::ports::{Lookup, StoreError, UserUpdate, WriteError};
use crate::secret::SecretToken;
use crate::services::Services;
use crate::types::OrgDomain;
use crate::usecase::guard::{hashed, ClientAddress};
use crate::usecase::passkeys::{keep_ceremony, PasskeyFlow};
use crate::usecase::session::new_session;
use crate::usecase::{load_org, OrgLookupError, SignedIn};

/// What a passkey sign-in says of how the person proved who they are (RFC 8176): a key held in
/// an authenticator, unlocked by the person (user verification), which makes two factors.
pub const PASSKEY_AMR: [&str; 3] = ["hwk", "user", "mfa"];

#[derive(Debug, thiserror::Error)]
pub enum PasskeySignInError {
    #[error(transparent)]
    Org(#[from] OrgLookupError),
    #[error("the flow is unknown, expired, used, or from another address: start again")]
    InvalidFlow,
    #[error("the passkey was not accepted")]
    InvalidPasskey(#[source] Option<CeremonyError>),
    #[error("this account is deactivated")]
    Deactivated,
    #[error("passkeys are not offered here")]
    Unavailable,
    #[error("the sign-in could not be finished")]
    Internal(#[source] crate::Cause),
}

impl From<StoreError> for PasskeySignInError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<CeremonyError> for PasskeySignInError {
    fn from(e: CeremonyError) -> Self {
        match e {
            CeremonyError::Unavailable => Self::Unavailable,
            CeremonyError::Internal(cause) => Self::Internal(cause.into()),
            refused => Self::InvalidPasskey(Some(refused)),
        }
    }
}

impl Rejection for PasskeySignInError {
    fn code(&self) -> &'static str {
        match self {
            Self::Org(e) => e.code(),
            Self::InvalidFlow => "invalid_passkey_flow",
            Self::InvalidPasskey(_) => "invalid_passkey",
            Self::Deactivated => "account_deactivated",
            Self::Unavailable => "passkeys_unavailable",
            Self::Internal(_) => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::Org(e) => e.class(),
            Self::InvalidFlow | Self::InvalidPasskey(_) => RejectionClass::Unauthenticated,
            Self::Deactivated => RejectionClass::Forbidden,
            Self::Unavailable => RejectionClass::Conflict,
            Self::Internal(_) => RejectionClass::Internal,
        }
    }
}

/// `POST /sign-in/passkey/options`: a sign-in by passkey begins.
pub async fn begin_passkey_sign_in(
    services: &Services,
    org: &OrgDomain,
    client: &ClientAddress,
) -> Result<PasskeyFlow, PasskeySignInError> {
    load_org(services, org).await?;
    let start = services.passkeys.request_options()?;
    let kind = ChallengeKind::PasskeySignIn {
        state: start.state,
        client: hashed(client.as_str()),
    };
    Ok(keep_ceremony(services, org, kind, start.public_key).await?)
}

/// `POST /sign-in/passkey {flow, credential}`: the assertion, checked against the flow's
/// ceremony and the passkey its user handle and credential id name, opens a session; the flow
/// is spent, and the passkey's counter and last use written, with it.
pub async fn finish_passkey_sign_in(
    services: &Services,
    org: &OrgDomain,
    flow: &SecretToken,
    credential: &Value,
    client: &ClientAddress,
) -> Result<SignedIn, PasskeySignInError> {
    let owner = services.passkeys.assertion_owner(credential)?;
    for _ in 0..3 {
        // One batch: the organisation, the account the passkey names and the flow.
        let found = services
            .store
            .look_up(
                org,
                &Lookup {
                    org: true,
                    user: Some(owner.user_id.clone()),
                    challenge: Some(flow.hash()),
                    ..Lookup::default()
                },
            )
            .await?;
        found.org.ok_or(OrgLookupError::NotFound)?;
        let challenge = found
            .challenge
            .filter(|c| c.is_live(services.clock.now()))
            .ok_or(PasskeySignInError::InvalidFlow)?;
        let ChallengeKind::PasskeySignIn {
            state,
            client: from,
        } = &challenge.kind
        else {
            return Err(PasskeySignInError::InvalidFlow);
        };
        if from != &hashed(client.as_str()) {
            return Err(PasskeySignInError::InvalidFlow);
        }
        let user = found.user.ok_or(PasskeySignInError::InvalidPasskey(None))?;
        let Some(at) = user
            .passkeys
            .iter()
            .position(|p| p.id == owner.credential_id)
        else {
            return Err(PasskeySignInError::InvalidPasskey(None));
        };
        if !user.is_active() {
            return Err(PasskeySignInError::Deactivated);
        }
        let key = match services
            .passkeys
            .check_assertion(credential, state, &user.passkeys[at])
        {
            Ok(key) => key,
            Err(CeremonyError::CounterWentBack) => {
                tracing::warn!(
                    user = %user.id,
                    passkey = %owner.credential_id,
                    "a passkey's signature counter went back: sign-in refused (a copied authenticator?)"
                );
                return Err(CeremonyError::CounterWentBack.into());
            }
            Err(e) => return Err(e.into()),
        };
        let now = services.clock.now();
        let mut next = user.clone();
        next.last_sign_in_at = Some(now);
        let used = &mut next.passkeys[at];
        used.last_used_at = Some(now);
        if let Some(key) = key {
            used.key = key;
        }
        let (token, session) = new_session(services, &next, &PASSKEY_AMR);
        let mut events = ChangeEvents::new(&*services.random, now);
        events.user(EventType::UserSignedIn, None, &next, Some(client.as_str()));
        let change = UserUpdate::new(&user, &next);
        match services
            .store
            .open_session_after(&challenge, &change, &session, &[], &events)
            .await
        {
            Ok(()) => {
                next.version += 1;
                return Ok(SignedIn {
                    token,
                    expires_at: session.expires_at,
                    user: next,
                    amr: session.amr,
                });
            }
            // The flow was spent meanwhile (the next read says so), or the account changed.
            Err(WriteError::Stale) => continue,
            Err(e) => return Err(PasskeySignInError::Internal(e.into())),
        }
    }
    Err(PasskeySignInError::InvalidFlow)
}
