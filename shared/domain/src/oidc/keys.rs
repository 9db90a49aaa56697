//! The keys ID and access tokens are signed with (RS256, RSA 2048), and their rotation.
//!
//! A key set is kept whole in one secret (Secrets Manager in AWS, a file locally) and read at
//! cold start, then again every [`RELOAD_EVERY`]. Rotation adds a key that signs only from
//! [`PUBLISHED_AHEAD`] later: by then every function has read it and every relying party that
//! cached the JWKS ([`JWKS_MAX_AGE`]) has fetched it again, so no token is ever signed by a key a
//! verifier cannot find. A key that no longer signs stays published until every token it signed
//! has expired ([`KEPT_AFTER`]), then the next rotation drops it.

use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clock::Timestamp;
use crate::secret::Randomness;

/// How long functions keep a key set before reading it again.
pub const RELOAD_EVERY: Duration = Duration::from_secs(5 * 60);
/// How long relying parties may cache the JWKS (`Cache-Control: max-age`).
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(10 * 60);
/// A new key is published this long before it signs: past every reload and every cached JWKS.
pub const PUBLISHED_AHEAD: Duration = Duration::from_secs(60 * 60);
/// The longest a signed token lives (ID and access tokens): see `oidc::tokens`.
pub const LONGEST_TOKEN: Duration = Duration::from_secs(15 * 60);
/// A key that stopped signing stays published this long: past the longest token and a cached
/// JWKS.
pub const KEPT_AFTER: Duration =
    Duration::from_secs(LONGEST_TOKEN.as_secs() + JWKS_MAX_AGE.as_secs());

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the key set is not readable")]
    Unreadable(#[source] crate::Cause),
    #[error("the key set holds no key that signs yet")]
    NoSigningKey,
    #[error("the signing keys could not be read")]
    Unavailable(#[source] crate::Cause),
    #[error("RSA key generation failed")]
    Generation,
}

/// One RSA key: its id (`kid`), when it was made and from when it signs.
pub struct SigningKey {
    pub kid: String,
    pub created_at: Timestamp,
    pub signs_from: Timestamp,
    pair: KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("signs_from", &self.signs_from)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new RSA 2048 key that signs from `signs_from`.
    pub fn generate(
        random: &dyn Randomness,
        now: Timestamp,
        signs_from: Timestamp,
    ) -> Result<Self, KeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generation)?;
        let mut id = [0u8; 12];
        random.fill(&mut id);
        Ok(Self {
            kid: URL_SAFE_NO_PAD.encode(id),
            created_at: now,
            signs_from,
            pair,
        })
    }

    /// RS256 over `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut signature,
            )
            .expect("RSA signing with a valid key does not fail");
        signature
    }

    /// Whether `signature` is this key's RS256 signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let public = self.pair.public_key();
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            public.as_ref(),
        )
        .verify(message, signature)
        .is_ok()
    }

    /// The public key as a JWK (RFC 7517).
    pub fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        })
    }
}

/// How a key set is kept (in the secret or the file): private keys as PKCS#8 DER in base64.
#[derive(Debug, Serialize, Deserialize)]
struct StoredKeySet {
    keys: Vec<StoredKey>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    created_at: Timestamp,
    signs_from: Timestamp,
    pkcs8: String,
}

/// Every key published: the one signing now, perhaps a next one, perhaps retired ones.
#[derive(Debug)]
pub struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    /// A first key set: one key that signs at once.
    pub fn first(random: &dyn Randomness, now: Timestamp) -> Result<Self, KeyError> {
        Ok(Self {
            keys: vec![SigningKey::generate(random, now, now)?],
        })
    }

    pub fn from_json(text: &str) -> Result<Self, KeyError> {
        let stored: StoredKeySet =
            serde_json::from_str(text).map_err(|e| KeyError::Unreadable(e.into()))?;
        let keys = stored
            .keys
            .into_iter()
            .map(|k| {
                let der = STANDARD
                    .decode(k.pkcs8.as_bytes())
                    .map_err(|e| KeyError::Unreadable(e.into()))?;
                let pair = KeyPair::from_pkcs8(&der)
                    .map_err(|e| KeyError::Unreadable(e.to_string().into()))?;
                Ok(SigningKey {
                    kid: k.kid,
                    created_at: k.created_at,
                    signs_from: k.signs_from,
                    pair,
                })
            })
            .collect::<Result<Vec<_>, KeyError>>()?;
        if keys.is_empty() {
            return Err(KeyError::NoSigningKey);
        }
        Ok(Self { keys })
    }

    /// The key set as kept: holds the private keys, so only for the secret or the file.
    pub fn to_json(&self) -> String {
        let stored = StoredKeySet {
            keys: self
                .keys
                .iter()
                .map(|k| StoredKey {
                    kid: k.kid.clone(),
                    created_at: k.created_at,
                    signs_from: k.signs_from,
                    pkcs8: STANDARD.encode(
                        k.pair
                            .as_der()
                            .expect("a generated or loaded key encodes")
                            .as_ref(),
                    ),
                })
                .collect(),
        };
        serde_json::to_string(&stored).expect("a key set serialises")
    }

    /// The key that signs at `now`: the newest one whose time has come.
    pub fn signing_key(&self, now: Timestamp) -> Result<&SigningKey, KeyError> {
        self.keys
            .iter()
            .filter(|k| k.signs_from <= now)
            .max_by_key(|k| (k.signs_from, k.created_at))
            .ok_or(KeyError::NoSigningKey)
    }

    pub fn key(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.kid.as_str()).collect()
    }

    /// The JWKS document: every key's public half.
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.keys.iter().map(SigningKey::jwk).collect::<Vec<_>>() })
    }

    /// Rotation: a new key that signs from `now + PUBLISHED_AHEAD`, and the keys no token
    /// needs any more dropped (those replaced by a key that has signed for `KEPT_AFTER`).
    /// Answers the new key's id.
    pub fn rotate(&mut self, random: &dyn Randomness, now: Timestamp) -> Result<String, KeyError> {
        let next = SigningKey::generate(random, now, now.plus(PUBLISHED_AHEAD))?;
        let kid = next.kid.clone();
        self.keys.push(next);
        let signs_from: Vec<Timestamp> = self.keys.iter().map(|k| k.signs_from).collect();
        self.keys.retain(|k| {
            // Replaced at the first later key's start; needed until KEPT_AFTER past that.
            let replaced_at = signs_from
                .iter()
                .filter(|t| **t > k.signs_from)
                .min()
                .copied();
            replaced_at.is_none_or(|at| at.plus(KEPT_AFTER) > now)
        });
        Ok(kid)
    }
}

/// Where the key set is kept: read at cold start and every [`RELOAD_EVERY`] by the adapter.
#[async_trait::async_trait]
pub trait SigningKeys: Send + Sync {
    async fn key_set(&self) -> Result<std::sync::Arc<KeySet>, KeyError>;
}

/// The key source of a function that signs nothing: every use is refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSigningKeys;

#[async_trait::async_trait]
impl SigningKeys for NoSigningKeys {
    async fn key_set(&self) -> Result<std::sync::Arc<KeySet>, KeyError> {
        Err(KeyError::Unavailable(
            "this function is given no signing keys".into(),
        ))
    }
}

/// A key set held in memory (the local run loads it from its file; tests make one).
pub struct FixedSigningKeys(pub std::sync::Arc<KeySet>);

#[async_trait::async_trait]
impl SigningKeys for FixedSigningKeys {
    async fn key_set(&self) -> Result<std::sync::Arc<KeySet>, KeyError> {
        Ok(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::OsRandomness;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_unix_seconds(s)
    }

    #[test]
    fn a_key_set_survives_its_stored_form_and_signs_what_its_jwk_verifies() {
        let set = KeySet::first(&OsRandomness, at(1_000)).unwrap();
        let again = KeySet::from_json(&set.to_json()).unwrap();
        let key = again.signing_key(at(1_000)).unwrap();
        assert_eq!(key.kid, set.signing_key(at(1_000)).unwrap().kid);
        let signature = key.sign(b"header.payload");
        assert!(set
            .signing_key(at(1_000))
            .unwrap()
            .verifies(b"header.payload", &signature));
        assert!(!key.verifies(b"header.payloaD", &signature));
        let jwk = key.jwk();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwk["n"].as_str().unwrap())
                .unwrap()
                .len(),
            256
        );
        assert!(!jwk.to_string().contains("\"d\""), "no private part");
    }

    #[test]
    fn a_rotated_key_is_published_before_it_signs_and_the_old_one_kept_until_its_tokens_expire() {
        let start = at(1_000_000);
        let mut set = KeySet::first(&OsRandomness, start).unwrap();
        let old = set.signing_key(start).unwrap().kid.clone();
        let new = set.rotate(&OsRandomness, start).unwrap();
        assert_eq!(set.kids().len(), 2, "both published");
        assert_eq!(
            set.signing_key(start).unwrap().kid,
            old,
            "the old one still signs"
        );
        let switch = start.plus(PUBLISHED_AHEAD);
        assert_eq!(set.signing_key(switch).unwrap().kid, new);
        // Rotating again soon after keeps the old key (tokens it signed may be alive).
        let soon = switch.plus(Duration::from_secs(60));
        let newest = set.rotate(&OsRandomness, soon).unwrap();
        assert!(set.key(&old).is_some());
        assert_eq!(set.kids().len(), 3);
        // Once KEPT_AFTER has passed since it was replaced, the next rotation drops it.
        let later = switch.plus(KEPT_AFTER).plus(Duration::from_secs(1));
        set.rotate(&OsRandomness, later).unwrap();
        assert!(set.key(&old).is_none(), "dropped");
        assert!(set.key(&new).is_some() && set.key(&newest).is_some());
    }

    #[test]
    fn a_broken_key_set_is_refused() {
        for text in [
            "",
            "{}",
            r#"{"keys":[]}"#,
            r#"{"keys":[{"kid":"a","created_at":0,"signs_from":0,"pkcs8":"AAAA"}]}"#,
        ] {
            assert!(
                matches!(
                    KeySet::from_json(text),
                    Err(KeyError::Unreadable(_) | KeyError::NoSigningKey)
                ),
                "{text}"
            );
        }
    }
}
