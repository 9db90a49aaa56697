//! Passwords: the NIST SP 800-63B rules for choosing one, and argon2id for keeping it.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::fmt;
use std::sync::{Arc, OnceLock};
use thiserror::Error;

use crate::secret::Randomness;

/// Why a chosen password is refused. The message says what to do, never echoes the password.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PasswordError {
    #[error("the password needs at least {min} characters")]
    TooShort { min: usize },
    #[error("the password may have at most {max} characters")]
    TooLong { max: usize },
    #[error("the password is too common or too easy to guess; choose another")]
    Common,
    #[error("the password contains your name or the organisation's name; choose another")]
    Contextual,
}

impl PasswordError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "password_too_short",
            Self::TooLong { .. } => "password_too_long",
            Self::Common => "password_too_common",
            Self::Contextual => "password_contextual",
        }
    }
}

/// Minimum and maximum lengths, in Unicode characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_chars: usize,
}

impl PasswordPolicy {
    /// NIST 800-63B never allows fewer than 8.
    pub const FLOOR: usize = 8;
    pub const DEFAULT_MIN: usize = 12;
    /// Well above the 64 NIST asks to accept.
    pub const MAX_CHARS: usize = 256;

    pub fn new(min_chars: usize) -> Self {
        Self {
            min_chars: min_chars.clamp(Self::FLOOR, Self::MAX_CHARS),
        }
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MIN)
    }
}

/// A password that passed the rules. Any Unicode is allowed; there are no composition rules.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// `context` holds words the password must not contain: the org's domain, the user's names,
    /// the local part of their email or their identifier.
    pub fn parse(
        raw: &str,
        policy: PasswordPolicy,
        context: &[&str],
    ) -> Result<Self, PasswordError> {
        let raw = &normalize(raw);
        let chars = raw.chars().count();
        if chars < policy.min_chars {
            return Err(PasswordError::TooShort {
                min: policy.min_chars,
            });
        }
        if chars > PasswordPolicy::MAX_CHARS {
            return Err(PasswordError::TooLong {
                max: PasswordPolicy::MAX_CHARS,
            });
        }
        let lower = raw.to_lowercase();
        if is_common(&lower) {
            return Err(PasswordError::Common);
        }
        let contextual = context
            .iter()
            .map(|w| w.trim().to_lowercase())
            .filter(|w| w.chars().count() >= 3)
            .any(|w| lower.contains(&w));
        if contextual {
            return Err(PasswordError::Contextual);
        }
        Ok(Self(raw.to_string()))
    }

    /// A password as typed at sign-in: not checked against the rules (they may have changed),
    /// only bounded so that hashing stays cheap.
    pub fn for_verification(raw: &str) -> Option<Self> {
        (raw.chars().count() <= PasswordPolicy::MAX_CHARS).then(|| Self(normalize(raw)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// NFKC, as NIST SP 800-63B asks before hashing, so that the same password typed on another
/// keyboard (composed or decomposed accents, full-width letters) still matches.
fn normalize(raw: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    raw.nfkc().collect()
}

const COMMON: &str = include_str!("common_passwords.txt");

fn common_words() -> &'static std::collections::HashSet<&'static str> {
    static WORDS: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| {
        COMMON
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Common passwords, and common ones dressed up: a listed word with digits or symbols around
/// it, a repeated short unit (`abcabcabcabc`), a run of neighbouring characters (`123456789012`,
/// `qwertyuiop`).
fn is_common(lower: &str) -> bool {
    let words = common_words();
    if words.contains(lower) {
        return true;
    }
    let core = lower.trim_matches(|c: char| {
        c.is_ascii_digit() || c.is_ascii_punctuation() || c.is_whitespace()
    });
    if core.is_empty() || words.contains(core) {
        return true;
    }
    let leet: String = core
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' => 'i',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            _ => c,
        })
        .collect();
    if words.contains(leet.as_str()) {
        return true;
    }
    is_repetition(lower) || is_sequence(lower) || is_keyboard_walk(lower)
}

fn is_repetition(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    (1..=4).any(|unit| {
        chars.len() >= unit * 2 && chars.iter().enumerate().all(|(i, c)| *c == chars[i % unit])
    })
}

fn is_sequence(s: &str) -> bool {
    let codes: Vec<i64> = s.chars().map(|c| i64::from(u32::from(c))).collect();
    if codes.len() < 3 {
        return false;
    }
    let steps: Vec<i64> = codes.windows(2).map(|w| w[1] - w[0]).collect();
    // 1234567890 wraps from 9 to 0; treat that as a step too.
    let step_ok = |d: i64, expected: i64| {
        d == expected || (expected == 1 && d == -9) || (expected == -1 && d == 9)
    };
    [1, -1]
        .iter()
        .any(|e| steps.iter().all(|d| step_ok(*d, *e)))
}

fn is_keyboard_walk(s: &str) -> bool {
    const ROWS: [&str; 4] = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"];
    let row_text: String = ROWS.concat();
    let reversed: String = row_text.chars().rev().collect();
    let stripped: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    stripped.chars().count() >= 6 && (row_text.contains(&stripped) || reversed.contains(&stripped))
}

/// A stored password: an argon2id PHC string.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PasswordDigest(String);

impl fmt::Debug for PasswordDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordDigest(***)")
    }
}

impl PasswordDigest {
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

/// argon2id with the given costs. Hashing and verifying block for tens of milliseconds: call them
/// through [`PasswordHashing::hash`] and [`PasswordHashing::verify`], which run off the async executor.
#[derive(Clone)]
pub struct PasswordHashing {
    params: Params,
    dummy: Arc<OnceLock<PasswordDigest>>,
    verifications: Arc<std::sync::atomic::AtomicU64>,
}

impl fmt::Debug for PasswordHashing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PasswordHashing(argon2id m={} t={} p={})",
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost()
        )
    }
}

/// OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
pub const OWASP_M_KIB: u32 = 19 * 1024;
pub const OWASP_T: u32 = 2;
pub const OWASP_P: u32 = 1;

#[derive(Debug, Error)]
#[error("password hashing failed: {0}")]
pub struct HashingError(String);

impl Default for PasswordHashing {
    fn default() -> Self {
        Self::new(OWASP_M_KIB, OWASP_T, OWASP_P)
            .expect("OWASP parameters are valid argon2 parameters")
    }
}

impl PasswordHashing {
    /// Refuses parameters below OWASP's minimum.
    pub fn new(m_kib: u32, t: u32, p: u32) -> Result<Self, HashingError> {
        if m_kib < OWASP_M_KIB || t < OWASP_T || p < OWASP_P {
            return Err(HashingError(format!(
                "argon2id parameters m={m_kib} t={t} p={p} are below OWASP's m={OWASP_M_KIB} t={OWASP_T} p={OWASP_P}"
            )));
        }
        let params = Params::new(m_kib, t, p, None).map_err(|e| HashingError(e.to_string()))?;
        Ok(Self {
            params,
            dummy: Arc::new(OnceLock::new()),
            verifications: Arc::default(),
        })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes synchronously; prefer [`Self::hash`] from async code.
    pub fn hash_blocking(
        &self,
        password: &Password,
        random: &dyn Randomness,
    ) -> Result<PasswordDigest, HashingError> {
        let mut salt = [0u8; 16];
        random.fill(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| HashingError(e.to_string()))?;
        self.argon2()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| PasswordDigest(h.to_string()))
            .map_err(|e| HashingError(e.to_string()))
    }

    /// How many verifications (real or dummy) this hasher and its clones have run.
    pub fn verifications(&self) -> u64 {
        self.verifications
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Verifies synchronously. A digest that does not parse never matches.
    pub fn verify_blocking(&self, password: &Password, digest: &PasswordDigest) -> bool {
        self.verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match PasswordHash::new(digest.as_phc()) {
            Ok(parsed) => self
                .argon2()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }

    pub async fn hash(
        &self,
        password: Password,
        random: Arc<dyn Randomness>,
    ) -> Result<PasswordDigest, HashingError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.hash_blocking(&password, random.as_ref()))
            .await
            .map_err(|e| HashingError(e.to_string()))?
    }

    /// Verifies `password` against `digest`, or against a dummy digest of the same cost when
    /// there is no account, so that an unknown account takes as long as a wrong password.
    pub async fn verify(
        &self,
        password: Password,
        digest: Option<PasswordDigest>,
        random: Arc<dyn Randomness>,
    ) -> bool {
        let this = self.clone();
        tokio::task::spawn_blocking(move || match digest {
            Some(d) => this.verify_blocking(&password, &d),
            None => {
                let dummy = this.dummy.get_or_init(|| {
                    let placeholder = Password("gatehouse dummy password".into());
                    this.hash_blocking(&placeholder, random.as_ref())
                        .unwrap_or_else(|_| PasswordDigest(String::new()))
                });
                let _ = this.verify_blocking(&password, dummy);
                false
            }
        })
        .await
        .unwrap_or(false)
    }

    /// True when `digest` was made with weaker parameters than these (or another algorithm).
    pub fn needs_rehash(&self, digest: &PasswordDigest) -> bool {
        let Ok(parsed) = PasswordHash::new(digest.as_phc()) else {
            return true;
        };
        if parsed.algorithm.as_str() != "argon2id" {
            return true;
        }
        match Params::try_from(&parsed) {
            Ok(p) => {
                p.m_cost() < self.params.m_cost()
                    || p.t_cost() < self.params.t_cost()
                    || p.p_cost() < self.params.p_cost()
            }
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::OsRandomness;

    fn parse(p: &str) -> Result<Password, PasswordError> {
        Password::parse(p, PasswordPolicy::default(), &["acme", "Alice", "Martin"])
    }

    #[test]
    fn length_rules_follow_nist() {
        assert_eq!(
            parse("short pass").unwrap_err(),
            PasswordError::TooShort { min: 12 }
        );
        assert!(parse("correct horse battery").is_ok());
        let long = "this passphrase is long: sixty-four characters or more are accepted";
        assert!(long.chars().count() >= 64);
        assert!(parse(long).is_ok());
        assert_eq!(
            parse(&"xy".repeat(129)).unwrap_err(),
            PasswordError::TooLong { max: 256 }
        );
        assert_eq!(PasswordPolicy::new(4).min_chars, 8, "never below 8");
    }

    #[test]
    fn passwords_are_nfkc_normalized_so_equivalent_input_matches() {
        let composed = parse("café au lait, s'il vous plaît").unwrap();
        let decomposed =
            Password::for_verification("cafe\u{301} au lait, s'il vous plai\u{302}t").unwrap();
        assert_eq!(composed.expose(), decomposed.expose());
        let hashing = PasswordHashing::default();
        let digest = hashing.hash_blocking(&composed, &OsRandomness).unwrap();
        assert!(hashing.verify_blocking(&decomposed, &digest));
        let full_width = parse("ｃｏｒｒｅｃｔ horse battery").unwrap();
        assert_eq!(full_width.expose(), "correct horse battery");
    }

    #[test]
    fn any_unicode_and_spaces_are_fine_without_composition_rules() {
        assert!(parse("мой пароль очень длинный").is_ok());
        assert!(parse("lowercase only words here").is_ok());
        assert!(parse("🦀🦀 crabs in the bay 🦀").is_ok());
    }

    #[test]
    fn common_and_dressed_up_common_passwords_are_refused() {
        for bad in [
            "password1234",
            "Password2024!",
            "P@ssw0rd!!!!",
            "123456789012",
            "qwertyuiopas",
            "aaaaaaaaaaaa",
            "abcabcabcabc",
            "abcdefghijkl",
            "iloveyou1234",
            "!!!!!!!!!!!!",
            "098765432109",
        ] {
            assert_eq!(parse(bad).unwrap_err(), PasswordError::Common, "{bad}");
        }
    }

    #[test]
    fn names_and_org_domain_are_refused() {
        assert_eq!(
            parse("alice-in-wonderland").unwrap_err(),
            PasswordError::Contextual
        );
        assert_eq!(
            parse("the acme rocket co").unwrap_err(),
            PasswordError::Contextual
        );
        assert_eq!(
            parse("MARTIN the great 77").unwrap_err(),
            PasswordError::Contextual
        );
    }

    #[test]
    fn hashes_are_argon2id_at_owasp_parameters_and_verify() {
        let hashing = PasswordHashing::default();
        let pw = parse("correct horse battery").unwrap();
        let digest = hashing.hash_blocking(&pw, &OsRandomness).unwrap();
        assert!(
            digest
                .as_phc()
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            digest.as_phc()
        );
        assert!(hashing.verify_blocking(&pw, &digest));
        let wrong = Password::for_verification("correct horse battery!").unwrap();
        assert!(!hashing.verify_blocking(&wrong, &digest));
        assert!(!hashing.needs_rehash(&digest));
    }

    #[test]
    fn weaker_digests_need_a_rehash_and_weak_parameters_are_refused() {
        let stronger = PasswordHashing::new(OWASP_M_KIB * 2, 3, 1).unwrap();
        let digest = PasswordHashing::default()
            .hash_blocking(&parse("correct horse battery").unwrap(), &OsRandomness)
            .unwrap();
        assert!(stronger.needs_rehash(&digest));
        assert!(PasswordHashing::new(1024, 1, 1).is_err());
        assert!(stronger.needs_rehash(&PasswordDigest::from_phc("$2b$10$notargon".into())));
    }

    #[tokio::test]
    async fn unknown_accounts_verify_against_a_dummy_and_fail() {
        let hashing = PasswordHashing::default();
        let pw = Password::for_verification("gatehouse dummy password").unwrap();
        assert!(!hashing.verify(pw, None, Arc::new(OsRandomness)).await);
        assert!(
            hashing.dummy.get().is_some(),
            "the dummy digest was computed, costing a hash"
        );
    }
}
