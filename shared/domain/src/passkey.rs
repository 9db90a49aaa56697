//! Passkeys (WebAuthn discoverable credentials): what an account keeps of them, and the port to
//! the ceremonies' checks. The domain keeps each passkey's public key as the ceremonies wrote it
//! (opaque text), and each ceremony's state the same way, in a challenge record until it ends.
//! Production's ceremonies are `gatehouse-passkeys` (webauthn-rs); a function that offers no
//! passkeys has [`NoPasskeys`].

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::types::{ParseError, UserId};

/// How many passkeys one account may keep.
pub const MAX_PASSKEYS: usize = 10;

/// A passkey of a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyCredential {
    /// The credential id, base64url: what the API calls it (`…/passkeys/{id}`).
    pub id: String,
    pub name: PasskeyName,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Timestamp>,
    /// The public key, its signature counter and flags, as the ceremonies keep them.
    pub key: String,
}

/// What the person calls a passkey ("Phone", "YubiKey"): 1 to 64 characters once trimmed, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PasskeyName(String);

impl PasskeyName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        let length = s.chars().count();
        if length == 0 || length > 64 || s.chars().any(char::is_control) {
            return Err(ParseError::new(
                "invalid_passkey_name",
                "a passkey's name is 1 to 64 characters, without control characters",
            ));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PasskeyName {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<PasskeyName> for String {
    fn from(n: PasskeyName) -> String {
        n.0
    }
}

/// The options a browser is given (`publicKey`, WebAuthn's JSON form) and the state the
/// ceremony's end is checked against (kept server-side only).
#[derive(Debug, Clone)]
pub struct CeremonyStart {
    pub public_key: serde_json::Value,
    pub state: String,
}

/// A passkey just registered: its credential id (base64url) and key.
#[derive(Debug, Clone)]
pub struct RegisteredKey {
    pub id: String,
    pub key: String,
}

/// Who an assertion says signed it: the user handle (the account's id) and the credential id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionOwner {
    pub user_id: UserId,
    pub credential_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    #[error("passkeys are not offered here (the public URL's host must be a domain name)")]
    Unavailable,
    #[error("the credential is not WebAuthn's JSON form: {0}")]
    Malformed(String),
    /// The signature, challenge, origin, RP ID, flags or anything else did not hold.
    #[error("the credential was refused: {0}")]
    Refused(String),
    /// The signature counter did not move forward: the key may have been copied.
    #[error("the authenticator's signature counter went back: it may be a copy")]
    CounterWentBack,
    #[error("the ceremony failed: {0}")]
    Internal(String),
}

/// The WebAuthn ceremonies: options to give the browser, and the checks of what it answers.
pub trait PasskeyCeremonies: Send + Sync {
    /// Whether passkeys are offered at all (the pages show their buttons only then).
    fn offered(&self) -> bool {
        true
    }
    /// Options to create a discoverable credential (resident key and user verification
    /// required) for `user`, excluding the keys it has.
    fn creation_options(
        &self,
        user: &UserId,
        user_name: &str,
        display_name: &str,
        exclude: &[&PasskeyCredential],
    ) -> Result<CeremonyStart, CeremonyError>;
    /// Checks `credential` (a `PublicKeyCredential.toJSON()` of a creation) against `state`.
    fn check_creation(
        &self,
        credential: &serde_json::Value,
        state: &str,
    ) -> Result<RegisteredKey, CeremonyError>;
    /// Options for a sign-in by a passkey alone (no credentials listed: the authenticator
    /// offers the ones it holds; user verification required).
    fn request_options(&self) -> Result<CeremonyStart, CeremonyError>;
    /// The account and credential an assertion names, before anything is checked.
    fn assertion_owner(
        &self,
        credential: &serde_json::Value,
    ) -> Result<AssertionOwner, CeremonyError>;
    /// Checks the assertion against `state` and the passkey; answers the key to keep (its
    /// counter moved on) when it changed.
    fn check_assertion(
        &self,
        credential: &serde_json::Value,
        state: &str,
        passkey: &PasskeyCredential,
    ) -> Result<Option<String>, CeremonyError>;
}

/// The ceremonies of a function that offers no passkeys.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPasskeys;

impl PasskeyCeremonies for NoPasskeys {
    fn offered(&self) -> bool {
        false
    }
    fn creation_options(
        &self,
        _: &UserId,
        _: &str,
        _: &str,
        _: &[&PasskeyCredential],
    ) -> Result<CeremonyStart, CeremonyError> {
        Err(CeremonyError::Unavailable)
    }
    fn check_creation(
        &self,
        _: &serde_json::Value,
        _: &str,
    ) -> Result<RegisteredKey, CeremonyError> {
        Err(CeremonyError::Unavailable)
    }
    fn request_options(&self) -> Result<CeremonyStart, CeremonyError> {
        Err(CeremonyError::Unavailable)
    }
    fn assertion_owner(&self, _: &serde_json::Value) -> Result<AssertionOwner, CeremonyError> {
        Err(CeremonyError::Unavailable)
    }
    fn check_assertion(
        &self,
        _: &serde_json::Value,
        _: &str,
        _: &PasskeyCredential,
    ) -> Result<Option<String>, CeremonyError> {
        Err(CeremonyError::Unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PasskeyName::parse("  Phone ").unwrap().as_str(), "Phone");
        assert_eq!(
            PasskeyName::parse(&"é".repeat(64))
                .unwrap()
                .as_str()
                .chars()
                .count(),
            64
        );
        for bad in ["", "   ", &"a".repeat(65), "a\nb"] {
            assert_eq!(
                PasskeyName::parse(bad).unwrap_err().code,
                "invalid_passkey_name"
            );
        }
    }
}
