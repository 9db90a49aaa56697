//! Access codes: what an admin hands to a user without email so they can sign up.
//!
//! A code is 11 characters from a 31-letter alphabet without look-alikes (no 0/O, 1/I/L): about
//! 54 bits from the OS CSPRNG, shown in groups (`K7QM-4XTP-9HW`) and accepted with or without
//! dashes or spaces, in any case. It is never stored in clear: the invitation keeps it encrypted
//! (AES-256-GCM) so that admins can see it again, and it is found by a keyed hash (HMAC-SHA256).
//! Both keys derive from one secret from configuration.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

use crate::secret::{Randomness, SecretToken};
use crate::types::ParseError;

const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const LEN: usize = 11;

#[derive(Clone, PartialEq, Eq)]
pub struct AccessCode(String);

impl fmt::Debug for AccessCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessCode(***)")
    }
}

impl AccessCode {
    /// Bits of entropy: 11 × log2(31).
    pub const BITS: f64 = 54.49;

    pub fn generate(random: &dyn Randomness) -> Self {
        let mut code = String::with_capacity(LEN);
        let mut byte = [0u8; 1];
        while code.len() < LEN {
            random.fill(&mut byte);
            // 248 = 8 × 31: rejecting larger bytes keeps every letter equally likely.
            if byte[0] < 248 {
                code.push(char::from(ALPHABET[usize::from(byte[0] % 31)]));
            }
        }
        Self(code)
    }

    /// Accepts any case, with or without dashes and spaces.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let code: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b)) {
            Ok(Self(code))
        } else {
            Err(ParseError::new(
                "invalid_access_code",
                "an access code is 11 letters and digits, like K7QM-4XTP-9HW",
            ))
        }
    }

    /// Grouped for reading aloud: `K7QM-4XTP-9HW`.
    pub fn grouped(&self) -> String {
        format!("{}-{}-{}", &self.0[..4], &self.0[4..8], &self.0[8..])
    }
}

/// The keyed hash an access code is found by (HMAC-SHA256, hex).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CodeHash(String);

impl CodeHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An access code encrypted with AES-256-GCM (random 96-bit nonce), base64.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedCode {
    pub nonce: String,
    pub ciphertext: String,
}

impl fmt::Debug for SealedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedCode(..)")
    }
}

/// The keys for access codes, derived from one 256-bit secret; or none, in a process whose code
/// never seals, opens or looks up a code (in AWS, the functions not given the secret: the
/// deploy template's tests prove which cannot reach these methods).
#[derive(Clone)]
pub struct AccessCodeKeys {
    keys: Option<Keys>,
}

#[derive(Clone)]
struct Keys {
    cipher: Aes256Gcm,
    lookup: [u8; 32],
}

/// Why a process without the key reached code needing it: a deploy defect, never the caller's.
const NO_KEY: &str = "this process was started without the access-code key, and its code \
                      reached a use of it: give the function the secret (infra/template.yaml)";

impl fmt::Debug for AccessCodeKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessCodeKeys(***)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the access-code key must be at least 32 characters of random text (e.g. `openssl rand -base64 32`)")]
pub struct KeyError;

fn derive(master: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

const AAD: &[u8] = b"gatehouse access code v1";
/// Another purpose, another associated data: a sealed link token never opens as a code.
const LINK_AAD: &[u8] = b"gatehouse invitation link token v1";
const WEBHOOK_AAD: &[u8] = b"gatehouse webhook secret v1";
/// A person's authenticator-app secret.
const TOTP_AAD: &[u8] = b"gatehouse totp secret v1";

impl AccessCodeKeys {
    pub fn from_secret(master: &[u8; 32]) -> Self {
        let encryption = derive(master, b"gatehouse access code encryption");
        Self {
            keys: Some(Keys {
                cipher: Aes256Gcm::new(&encryption.into()),
                lookup: derive(master, b"gatehouse access code lookup"),
            }),
        }
    }

    /// No key: for a process that never seals, opens or looks up a code. Any of those would be
    /// a deploy defect, and stops the request (a panic, which the edge answers with a 500 and
    /// nothing written) rather than seal with a key no other function has.
    pub fn absent() -> Self {
        Self { keys: None }
    }

    pub fn is_present(&self) -> bool {
        self.keys.is_some()
    }

    fn keys(&self) -> &Keys {
        self.keys.as_ref().expect(NO_KEY)
    }

    /// From a secret text of at least 32 characters (`GATEHOUSE_ACCESS_CODE_KEY`), such as the
    /// base64 of 32 random bytes or a generated secret; the key is its SHA-256.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.chars().count() < 32 {
            return Err(KeyError);
        }
        let master: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        Ok(Self::from_secret(&master))
    }

    /// A fresh secret, base64, for a new installation.
    pub fn generate_secret(random: &dyn Randomness) -> String {
        let mut master = [0u8; 32];
        random.fill(&mut master);
        STANDARD.encode(master)
    }

    pub fn lookup_hash(&self, code: &AccessCode) -> CodeHash {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.keys().lookup)
            .expect("HMAC takes any key length");
        mac.update(code.0.as_bytes());
        CodeHash(hex::encode(mac.finalize().into_bytes()))
    }

    pub fn seal(&self, code: &AccessCode, random: &dyn Randomness) -> SealedCode {
        self.seal_bytes(code.0.as_bytes(), AAD, random)
    }

    /// The code, if this key sealed it.
    pub fn open(&self, sealed: &SealedCode) -> Option<AccessCode> {
        let plain = self.open_bytes(sealed, AAD)?;
        AccessCode::parse(std::str::from_utf8(&plain).ok()?).ok()
    }

    /// An invitation link's token, sealed so that admins can see the link again.
    pub fn seal_link_token(&self, token: &SecretToken, random: &dyn Randomness) -> SealedCode {
        self.seal_bytes(token.expose().as_bytes(), LINK_AAD, random)
    }

    pub fn open_link_token(&self, sealed: &SealedCode) -> Option<SecretToken> {
        let plain = self.open_bytes(sealed, LINK_AAD)?;
        SecretToken::parse(std::str::from_utf8(&plain).ok()?).ok()
    }

    /// A webhook endpoint's signing secret, sealed for the store.
    pub fn seal_webhook_secret(
        &self,
        secret: &crate::webhooks::WebhookSecret,
        random: &dyn Randomness,
    ) -> SealedCode {
        self.seal_bytes(secret.expose().as_bytes(), WEBHOOK_AAD, random)
    }

    pub fn seal_totp_secret(
        &self,
        secret: &crate::totp::TotpSecret,
        random: &dyn Randomness,
    ) -> SealedCode {
        self.seal_bytes(secret.as_bytes(), TOTP_AAD, random)
    }

    pub fn open_totp_secret(&self, sealed: &SealedCode) -> Option<crate::totp::TotpSecret> {
        crate::totp::TotpSecret::from_bytes(&self.open_bytes(sealed, TOTP_AAD)?)
    }

    pub fn open_webhook_secret(
        &self,
        sealed: &SealedCode,
    ) -> Option<crate::webhooks::WebhookSecret> {
        let plain = self.open_bytes(sealed, WEBHOOK_AAD)?;
        crate::webhooks::WebhookSecret::parse(std::str::from_utf8(&plain).ok()?).ok()
    }

    fn seal_bytes(&self, msg: &[u8], aad: &[u8], random: &dyn Randomness) -> SealedCode {
        let mut nonce = [0u8; 12];
        random.fill(&mut nonce);
        let ciphertext = self
            .keys()
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg, aad })
            .expect("AES-GCM encrypts any short message");
        SealedCode {
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(ciphertext),
        }
    }

    fn open_bytes(&self, sealed: &SealedCode, aad: &[u8]) -> Option<Vec<u8>> {
        let keys = self.keys();
        let nonce = STANDARD
            .decode(&sealed.nonce)
            .ok()
            .filter(|n| n.len() == 12)?;
        let ciphertext = STANDARD.decode(&sealed.ciphertext).ok()?;
        keys.cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad,
                },
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::OsRandomness;
    use proptest::prelude::*;

    fn keys() -> AccessCodeKeys {
        AccessCodeKeys::from_text(&AccessCodeKeys::generate_secret(&OsRandomness)).unwrap()
    }

    #[test]
    fn codes_are_typable_grouped_and_forgiving() {
        let code = AccessCode::generate(&OsRandomness);
        let grouped = code.grouped();
        assert_eq!(grouped.len(), 13);
        assert!(!grouped.contains(['0', 'O', '1', 'I', 'L']), "{grouped}");
        assert_eq!(AccessCode::parse(&grouped).unwrap(), code);
        assert_eq!(AccessCode::parse(&grouped.to_lowercase()).unwrap(), code);
        assert_eq!(AccessCode::parse(&grouped.replace('-', " ")).unwrap(), code);
        assert!(AccessCode::BITS >= 50.0 && (31f64).log2() * 11.0 >= AccessCode::BITS);
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in [
            "",
            "K7QM-4XTP-9H",
            "K7QM-4XTP-9HWW",
            "K7QM-4XTP-9H0",
            "K7QM-4XTP-9HO",
            "K7QM-4XTP-9HI",
            "K7QM_4XTP_9HW",
        ] {
            assert_eq!(
                AccessCode::parse(bad).unwrap_err().code,
                "invalid_access_code",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn every_letter_is_used() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.extend(AccessCode::generate(&OsRandomness).0.chars());
        }
        assert_eq!(seen.len(), 31);
    }

    #[test]
    fn sealed_codes_open_only_with_their_key_and_are_not_clear_text() {
        let (k1, k2) = (keys(), keys());
        let code = AccessCode::generate(&OsRandomness);
        let sealed = k1.seal(&code, &OsRandomness);
        assert!(!sealed.ciphertext.contains(&code.0));
        assert_eq!(k1.open(&sealed), Some(code.clone()));
        assert_eq!(k2.open(&sealed), None);
        let mut tampered = sealed.clone();
        tampered.ciphertext = STANDARD.encode(vec![0u8; 27]);
        assert_eq!(k1.open(&tampered), None);
        assert_ne!(
            k1.seal(&code, &OsRandomness),
            sealed,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn a_process_without_the_key_can_use_none_of_it() {
        let absent = AccessCodeKeys::absent();
        assert!(!absent.is_present() && keys().is_present());
        let code = AccessCode::generate(&OsRandomness);
        let sealed = keys().seal(&code, &OsRandomness);
        let token = SecretToken::generate(&OsRandomness);
        type Use = Box<dyn Fn(&AccessCodeKeys) + std::panic::RefUnwindSafe>;
        let uses: [Use; 5] = [
            Box::new(|k| drop(k.seal(&AccessCode::generate(&OsRandomness), &OsRandomness))),
            Box::new(|k| drop(k.lookup_hash(&AccessCode::generate(&OsRandomness)))),
            Box::new(move |k| drop(k.open(&sealed))),
            Box::new(move |k| drop(k.seal_link_token(&token, &OsRandomness))),
            Box::new(|k| {
                drop(k.open_link_token(&SealedCode {
                    nonce: String::new(),
                    ciphertext: String::new(),
                }))
            }),
        ];
        for (i, used) in uses.iter().enumerate() {
            let refused = std::panic::catch_unwind(|| used(&absent));
            let payload = refused.expect_err(&format!("use {i} refused"));
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|m| m.to_string()))
                .unwrap_or_default();
            assert!(message.contains("without the access-code key"), "{message}");
        }
    }

    #[test]
    fn lookup_hashes_are_keyed() {
        let (k1, k2) = (keys(), keys());
        let code = AccessCode::generate(&OsRandomness);
        assert_eq!(k1.lookup_hash(&code), k1.lookup_hash(&code));
        assert_ne!(k1.lookup_hash(&code), k2.lookup_hash(&code));
        assert!(AccessCodeKeys::from_text("c2hvcnQ=").is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC*") {
            let _ = AccessCode::parse(&s);
        }
    }
}
