//! Randomness, passed in, and the secrets made from it: link tokens and session tokens.
//! A secret is shown to its holder once and stored only as its SHA-256 hash.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

use crate::clock::Timestamp;
use crate::types::{InvitationId, ParseError, UserId};

/// Where random bytes come from. Production uses the OS CSPRNG ([`OsRandomness`]).
pub trait Randomness: Send + Sync {
    fn fill(&self, buf: &mut [u8]);
}

#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandomness;

impl Randomness for OsRandomness {
    fn fill(&self, buf: &mut [u8]) {
        use rand::RngCore;
        rand::rngs::OsRng.fill_bytes(buf);
    }
}

impl dyn Randomness {
    pub fn user_id(&self) -> UserId {
        let mut bytes = [0u8; 16];
        self.fill(&mut bytes);
        UserId::from_uuid(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    pub fn group_id(&self) -> crate::types::GroupId {
        let mut bytes = [0u8; 16];
        self.fill(&mut bytes);
        crate::types::GroupId::from_uuid(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    pub fn client_id(&self) -> crate::types::ClientId {
        let mut bytes = [0u8; 16];
        self.fill(&mut bytes);
        crate::types::ClientId::from_uuid(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// A time-ordered id (UUIDv7) so that ids sort by creation.
    pub fn webhook_id(&self, now: Timestamp) -> crate::types::WebhookId {
        let mut bytes = [0u8; 10];
        self.fill(&mut bytes);
        crate::types::WebhookId::from_uuid(time_ordered(now, &bytes))
    }

    /// A time-ordered id (UUIDv7) so that ids sort by creation.
    pub fn import_id(&self, now: Timestamp) -> crate::types::ImportId {
        let mut bytes = [0u8; 10];
        self.fill(&mut bytes);
        crate::types::ImportId::from_uuid(time_ordered(now, &bytes))
    }

    /// A time-ordered id (UUIDv7) so that ids sort by creation.
    pub fn invitation_id(&self, now: Timestamp) -> InvitationId {
        let mut bytes = [0u8; 10];
        self.fill(&mut bytes);
        InvitationId::from_uuid(time_ordered(now, &bytes))
    }
}

/// A UUIDv7 of `now` (to the second) and 10 bytes (of which 74 bits are kept).
pub fn time_ordered(now: Timestamp, bytes: &[u8; 10]) -> uuid::Uuid {
    let millis = u64::try_from(now.unix_seconds()).unwrap_or(0) * 1000;
    uuid::Builder::from_unix_timestamp_millis(millis, bytes).into_uuid()
}

/// A random, single-purpose secret carried in a link (256 bits, base64url without padding).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    const BYTES: usize = 32;
    const ENCODED_LEN: usize = 43;

    pub fn generate(random: &dyn Randomness) -> Self {
        let mut bytes = [0u8; Self::BYTES];
        random.fill(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        let decodes = s.len() == Self::ENCODED_LEN
            && URL_SAFE_NO_PAD
                .decode(s)
                .is_ok_and(|b| b.len() == Self::BYTES);
        if decodes {
            Ok(Self(s.to_string()))
        } else {
            Err(ParseError::new("invalid_token", "the token is malformed"))
        }
    }

    /// The clear text, for the one place it is shown: the link or the response.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(***)")
    }
}

/// What is stored of a secret: its SHA-256, hex. Tokens have 256 bits of entropy, so a plain
/// hash is enough to make a stolen table useless.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A bearer token: `<user id>.<secret>`. The user id lets a user's sessions be found together
/// (to end them all); only the secret's hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken {
    pub user_id: UserId,
    pub secret: SecretToken,
}

impl SessionToken {
    pub fn generate(user_id: UserId, random: &dyn Randomness) -> Self {
        Self {
            user_id,
            secret: SecretToken::generate(random),
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("invalid_token", "the bearer token is malformed");
        let (user, secret) = raw.trim().split_once('.').ok_or_else(bad)?;
        Ok(Self {
            user_id: UserId::parse(user).map_err(|_| bad())?,
            secret: SecretToken::parse(secret).map_err(|_| bad())?,
        })
    }

    pub fn expose(&self) -> String {
        format!("{}.{}", self.user_id, self.secret.expose())
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionToken({}.***)", self.user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_bits_and_round_trip() {
        let random: &dyn Randomness = &OsRandomness;
        let t = SecretToken::generate(random);
        assert_eq!(t.expose().len(), 43);
        assert_eq!(SecretToken::parse(t.expose()).unwrap(), t);
        assert_ne!(SecretToken::generate(random), t);
    }

    #[test]
    fn hashes_do_not_reveal_the_token() {
        let t = SecretToken::generate(&OsRandomness);
        let h = t.hash();
        assert_eq!(h.as_str().len(), 64);
        assert!(!h.as_str().contains(t.expose()));
        assert_eq!(t.hash(), h);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in ["", "abc", &"a".repeat(44), &"*".repeat(43)] {
            assert_eq!(SecretToken::parse(bad).unwrap_err().code, "invalid_token");
        }
    }

    #[test]
    fn session_tokens_round_trip_and_hide_their_secret() {
        let random: &dyn Randomness = &OsRandomness;
        let t = SessionToken::generate(random.user_id(), random);
        let parsed = SessionToken::parse(&t.expose()).unwrap();
        assert_eq!(parsed, t);
        assert!(!format!("{t:?}").contains(t.secret.expose()));
        assert!(SessionToken::parse("nodot").is_err());
    }

    #[test]
    fn invitation_ids_sort_by_time() {
        let random: &dyn Randomness = &OsRandomness;
        let a = random.invitation_id(Timestamp::from_unix_seconds(1_000));
        let b = random.invitation_id(Timestamp::from_unix_seconds(2_000));
        assert!(a < b);
    }
}
