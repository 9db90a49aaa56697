//! Sign-ins half done: after the right password, the second factor (or its enrolment) is what is
//! left. The client holds a random token (the `mfa_token`); the store keeps its hash with whose
//! sign-in it is, for 5 minutes, and spends it with the session it opens.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::clock::Timestamp;
use crate::events::ChangeEvents;
use crate::model::Session;
use crate::ports::{AttemptsChange, StoreError, UserUpdate, WriteError};
use crate::secret::TokenHash;
use crate::types::{OrgDomain, UserId};

/// The token a client holds for a challenge: `{user id}.{secret}`, the form of a session's bearer
/// token, so that the second step reads the account, its wrong-code counter and the challenge in
/// one batch. The store keeps the secret's hash.
pub type ChallengeToken = crate::secret::SessionToken;

/// How long a half-done sign-in waits for its second step.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);

/// A sign-in waiting for its second step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub org: OrgDomain,
    /// SHA-256 of the token the client holds.
    pub token_hash: TokenHash,
    pub kind: ChallengeKind,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What the second step finishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChallengeKind {
    /// The password was right: a code of the person's app, a recovery code, or (`enrolment`)
    /// setting up an app that the organisation requires, finishes it.
    SecondFactor {
        user_id: UserId,
        /// The account's password epoch when its password was checked: a password changed since
        /// (reset, changed, set by an admin) ends the challenge.
        password_epoch: u64,
        /// A hash of the client address the password came from: only it finishes.
        client: String,
        /// The marker that makes the address familiar once the sign-in is done (a hash).
        familiar_key: String,
        enrolment: bool,
    },
    /// A passkey being registered by the signed-in person: the ceremony's state.
    PasskeyRegistration { user_id: UserId, state: String },
    /// A sign-in by passkey: the ceremony's state, and a hash of the client address the
    /// options went to (only it finishes).
    PasskeySignIn { state: String, client: String },
}

impl Challenge {
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}

#[async_trait]
pub trait ChallengeStore: Send + Sync {
    /// Keeps a new challenge (until its expiry; `ttl` lets the table drop it), with the
    /// password step's failure counters settled in the same write.
    async fn save_challenge(
        &self,
        challenge: &Challenge,
        attempts: &[AttemptsChange],
    ) -> Result<(), WriteError>;
    /// The challenge of this organisation with this token hash, expired or not.
    async fn challenge(
        &self,
        org: &OrgDomain,
        hash: &TokenHash,
    ) -> Result<Option<Challenge>, StoreError>;
    /// Opens the session the challenge led to, in one write: the challenge spent (`Stale` if it
    /// was already), the account written as `change` (a code's step, a spent recovery code, a
    /// new app: `Stale` if it changed), the counters settled and the events recorded.
    async fn open_session_after(
        &self,
        challenge: &Challenge,
        change: &UserUpdate<'_>,
        session: &Session,
        attempts: &[AttemptsChange],
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
    /// Ends a challenge without a session (a passkey registered): the challenge spent (`Stale`
    /// if it was already) and the account written as `change`, in one write.
    async fn spend_challenge(
        &self,
        challenge: &Challenge,
        change: &UserUpdate<'_>,
        events: &ChangeEvents,
    ) -> Result<(), WriteError>;
}
