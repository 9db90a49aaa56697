//! Passwords: the NIST SP 800-63B rules for choosing one, and argon2id for keeping it.

use argon2_rust::params::Memory;
use argon2_rust::{Algorithm, Argon2, Hasher, Params, Version};
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

/// argon2id with the given costs, computed by `argon2-rust` (a port of the C reference with
/// runtime-dispatched SIMD; chosen by measurement, see BENCHMARKS.md). Hashing and verifying block
/// for milliseconds: call them through [`PasswordHashing::hash`] and [`PasswordHashing::verify`],
/// which run off the async executor, at most one per core at a time, each on a hasher whose
/// memory (19 MiB at OWASP's costs) is kept for the next hash, so memory stays flat under load.
#[derive(Clone)]
pub struct PasswordHashing {
    argon2: Argon2,
    workers: Arc<HashWorkers>,
    dummy: Arc<OnceLock<PasswordDigest>>,
    verifications: Arc<std::sync::atomic::AtomicU64>,
}

impl fmt::Debug for PasswordHashing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params = self.argon2.params();
        write!(
            f,
            "PasswordHashing(argon2id m={} t={} p={}, {} at once)",
            params.memory_kib(),
            params.passes(),
            params.lanes(),
            self.workers.size
        )
    }
}

/// At most `size` hashes at once, each on a hasher kept for the next one: memory is `size`
/// arenas whatever the load.
struct HashWorkers {
    size: usize,
    permits: Arc<tokio::sync::Semaphore>,
    idle: std::sync::Mutex<Vec<Hasher>>,
    /// When a hasher was last given back.
    last_used: std::sync::Mutex<Option<std::time::Instant>>,
}

impl HashWorkers {
    fn new(size: usize) -> Self {
        Self {
            size,
            permits: Arc::new(tokio::sync::Semaphore::new(size)),
            idle: std::sync::Mutex::new(Vec::with_capacity(size)),
            last_used: std::sync::Mutex::new(None),
        }
    }

    /// Runs `work` on an idle hasher (a new one only when none is idle) and keeps it after.
    fn with_hasher<R>(&self, argon2: Argon2, work: impl FnOnce(&mut Hasher) -> R) -> R {
        let mut hasher = self.idle().pop().unwrap_or_else(|| argon2.hasher());
        let out = work(&mut hasher);
        self.idle().push(hasher);
        *self
            .last_used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(std::time::Instant::now());
        out
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Hasher>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
pub const OWASP_M_KIB: u32 = 19 * 1024;
pub const OWASP_T: u32 = 2;
pub const OWASP_P: u32 = 1;

/// Stored digests costing more than this many times the configured memory or passes, or more
/// lanes, are not verified: a corrupt record must not make sign-in allocate gigabytes.
const STORED_COST_CEILING: u32 = 8;
const MAX_STORED_LANES: u32 = 16;

#[derive(Debug, Error)]
#[error("password hashing failed")]
pub struct HashingError(#[source] crate::Cause);

impl Default for PasswordHashing {
    fn default() -> Self {
        Self::new(OWASP_M_KIB, OWASP_T, OWASP_P)
            .expect("OWASP parameters are valid argon2 parameters")
    }
}

impl PasswordHashing {
    /// Refuses parameters below OWASP's minimum. Hashes run one per core at a time.
    pub fn new(m_kib: u32, t: u32, p: u32) -> Result<Self, HashingError> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::with_workers(m_kib, t, p, cores)
    }

    /// As [`Self::new`], with at most `workers` hashes at once (and as many hash buffers).
    pub fn with_workers(m_kib: u32, t: u32, p: u32, workers: usize) -> Result<Self, HashingError> {
        if m_kib < OWASP_M_KIB || t < OWASP_T || p < OWASP_P {
            return Err(HashingError(format!(
                "argon2id parameters m={m_kib} t={t} p={p} are below OWASP's m={OWASP_M_KIB} t={OWASP_T} p={OWASP_P}"
            )
            .into()));
        }
        let params = Params::builder()
            .memory(Memory::kib(u64::from(m_kib)))
            .passes(t)
            .lanes(p)
            .threads(1)
            .build()
            .map_err(|e| HashingError(e.into()))?;
        Ok(Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            workers: Arc::new(HashWorkers::new(workers.max(1))),
            dummy: Arc::new(OnceLock::new()),
            verifications: Arc::default(),
        })
    }

    /// Hashes synchronously; prefer [`Self::hash`] from async code.
    pub fn hash_blocking(
        &self,
        password: &Password,
        random: &dyn Randomness,
    ) -> Result<PasswordDigest, HashingError> {
        let mut salt = [0u8; 16];
        random.fill(&mut salt);
        self.workers
            .with_hasher(self.argon2, |h| {
                h.set_argon2(self.argon2);
                h.hash_encoded(password.expose().as_bytes(), &salt)
            })
            .map(PasswordDigest)
            .map_err(|e| HashingError(e.into()))
    }

    /// How many hash buffers this hasher and its clones hold (one per worker that ever ran).
    pub fn hash_buffers(&self) -> usize {
        self.workers.idle().len()
    }

    /// Frees the kept hash buffers (19 MiB each) if none has been used for `quiet`: a
    /// long-running process gives their memory back between bursts of sign-ins. Answers how
    /// many were freed.
    pub fn release_idle_buffers(&self, quiet: std::time::Duration) -> usize {
        let last = *self
            .workers
            .last_used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_none_or(|at| at.elapsed() < quiet) {
            return 0;
        }
        let mut idle = self.workers.idle();
        let freed = idle.len();
        idle.clear();
        idle.shrink_to_fit();
        freed
    }

    /// How many verifications (real or dummy) this hasher and its clones have run.
    pub fn verifications(&self) -> u64 {
        self.verifications
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Verifies synchronously. A digest that does not parse, is not argon2id or costs far more
    /// than these parameters never matches.
    pub fn verify_blocking(&self, password: &Password, digest: &PasswordDigest) -> bool {
        self.verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(stored) = self.stored_params(digest) else {
            return false;
        };
        let ours = self.argon2.params();
        let affordable = stored.memory_kib()
            <= ours.memory_kib().saturating_mul(STORED_COST_CEILING)
            && stored.passes() <= ours.passes().saturating_mul(STORED_COST_CEILING)
            && stored.lanes() <= MAX_STORED_LANES;
        if !affordable {
            tracing::warn!("a stored password digest costs far more than configured; not verified");
            return false;
        }
        self.workers.with_hasher(self.argon2, |h| {
            h.set_argon2(self.argon2);
            h.verify_encoded(
                digest.as_phc(),
                password.expose().as_bytes(),
                Algorithm::Argon2id,
            )
            .is_ok()
        })
    }

    /// The parameters of an argon2id digest, if it is one.
    fn stored_params(&self, digest: &PasswordDigest) -> Option<Params> {
        argon2_rust::decode_string(digest.as_phc(), Algorithm::Argon2id)
            .ok()
            .map(|d| d.params)
    }

    /// Runs blocking hash work off the async executor once a worker is free.
    async fn on_a_worker<R: Send + 'static>(
        &self,
        work: impl FnOnce(&Self) -> R + Send + 'static,
    ) -> Result<R, HashingError> {
        let permit = self
            .workers
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| HashingError(e.into()))?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&this)
        })
        .await
        .map_err(|e| HashingError(e.into()))
    }

    pub async fn hash(
        &self,
        password: Password,
        random: Arc<dyn Randomness>,
    ) -> Result<PasswordDigest, HashingError> {
        self.on_a_worker(move |this| this.hash_blocking(&password, random.as_ref()))
            .await?
    }

    /// Verifies `password` against `digest`, or against a dummy digest of the same cost when
    /// there is no account, so that an unknown account takes as long as a wrong password.
    pub async fn verify(
        &self,
        password: Password,
        digest: Option<PasswordDigest>,
        random: Arc<dyn Randomness>,
    ) -> bool {
        self.on_a_worker(move |this| match digest {
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
        let ours = self.argon2.params();
        match self.stored_params(digest) {
            Some(p) => {
                p.memory_kib() < ours.memory_kib()
                    || p.passes() < ours.passes()
                    || p.lanes() < ours.lanes()
            }
            None => true,
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

    /// A digest the previous implementation (RustCrypto `argon2` 0.5) stored.
    const STORED_BY_RUSTCRYPTO: &str = "$argon2id$v=19$m=19456,t=2,p=1$Z2F0ZWhvdXNlLXNhbHQhIQ$sPtG7R80tfOvkmj+z/YLIHq/yOam1Zh+Iq30d/W9w6Q";

    #[test]
    fn digests_stored_before_still_verify() {
        let hashing = PasswordHashing::default();
        let digest = PasswordDigest::from_phc(STORED_BY_RUSTCRYPTO.into());
        let right = Password::for_verification("correct horse battery staple").unwrap();
        let wrong = Password::for_verification("correct horse battery stapler").unwrap();
        assert!(hashing.verify_blocking(&right, &digest));
        assert!(!hashing.verify_blocking(&wrong, &digest));
        assert!(!hashing.needs_rehash(&digest));
    }

    #[test]
    fn rfc_9106_argon2id_test_vector() {
        // RFC 9106 section 5.3: password 32 x 0x01, salt 16 x 0x02, secret 8 x 0x03,
        // associated data 12 x 0x04, m=32 KiB, t=3, p=4, 32-byte tag.
        let params = Params::builder()
            .memory(Memory::kib(32))
            .passes(3)
            .lanes(4)
            .build()
            .unwrap();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut tag = [0u8; 32];
        argon2
            .hash_into_with_ad(&[1; 32], &[2; 16], &[3; 8], &[4; 12], &mut tag)
            .unwrap();
        assert_eq!(
            hex::encode(tag),
            "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
        );
        // The other implementation agrees.
        let reference = argon2::Argon2::new_with_secret(
            &[3; 8],
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::ParamsBuilder::new()
                .m_cost(32)
                .t_cost(3)
                .p_cost(4)
                .data(argon2::AssociatedData::new(&[4; 12]).unwrap())
                .build()
                .unwrap(),
        )
        .unwrap();
        let mut other = [0u8; 32];
        reference
            .hash_password_into(&[1; 32], &[2; 16], &mut other)
            .unwrap();
        assert_eq!(other, tag);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Differential: each implementation's PHC string verifies with the other, and with the
        /// same salt both write the same string.
        #[test]
        fn phc_strings_interoperate_with_rustcrypto_argon2(
            password in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            salt in proptest::collection::vec(proptest::prelude::any::<u8>(), 8..33),
            lanes in 1u32..=4,
            extra_kib in 0u32..=96,
            passes in 1u32..=3,
        ) {
            use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
            let m_kib = 8 * lanes + extra_kib;
            let ours = Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::builder().memory(Memory::kib(u64::from(m_kib))).passes(passes).lanes(lanes).threads(1).build().unwrap(),
            );
            let theirs = argon2::Argon2::new(
                argon2::Algorithm::Argon2id,
                argon2::Version::V0x13,
                argon2::Params::new(m_kib, passes, lanes, None).unwrap(),
            );
            let our_phc = ours.hasher().hash_encoded(&password, &salt).unwrap();
            let parsed = PasswordHash::new(&our_phc).unwrap();
            proptest::prop_assert!(theirs.verify_password(&password, &parsed).is_ok());
            let salt_b64 = SaltString::encode_b64(&salt).unwrap();
            let their_phc = theirs.hash_password(&password, &salt_b64).unwrap().to_string();
            proptest::prop_assert_eq!(&their_phc, &our_phc);
            proptest::prop_assert!(ours.hasher().verify_encoded(&their_phc, &password, Algorithm::Argon2id).is_ok());
            let mut wrong = password.clone();
            wrong.push(b'!');
            proptest::prop_assert!(ours.hasher().verify_encoded(&their_phc, &wrong, Algorithm::Argon2id).is_err());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_hashing_keeps_one_buffer_per_worker() {
        let hashing = PasswordHashing::with_workers(OWASP_M_KIB, OWASP_T, OWASP_P, 2).unwrap();
        let digest = hashing
            .hash(
                parse("correct horse battery").unwrap(),
                Arc::new(OsRandomness),
            )
            .await
            .unwrap();
        let tasks: Vec<_> = (0..12)
            .map(|n| {
                let hashing = hashing.clone();
                let digest = digest.clone();
                tokio::spawn(async move {
                    let typed = if n % 2 == 0 {
                        "correct horse battery"
                    } else {
                        "wrong horse battery"
                    };
                    let pw = Password::for_verification(typed).unwrap();
                    (n % 2 == 0)
                        == hashing
                            .verify(pw, Some(digest), Arc::new(OsRandomness))
                            .await
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap(), "right passwords match, wrong ones do not");
        }
        let buffers = hashing.hash_buffers();
        assert_eq!(
            hashing.release_idle_buffers(std::time::Duration::from_secs(3600)),
            0,
            "kept while recently used"
        );
        assert_eq!(
            hashing.release_idle_buffers(std::time::Duration::ZERO),
            buffers,
            "freed once quiet"
        );
        assert_eq!(hashing.hash_buffers(), 0);
        assert!(
            (1..=2).contains(&buffers),
            "{buffers} hash buffers for 2 workers"
        );
        assert_eq!(hashing.verifications(), 12);
        let again = hashing
            .hash(
                parse("another long passphrase").unwrap(),
                Arc::new(OsRandomness),
            )
            .await;
        assert!(again.is_ok(), "a hash after the release makes a new buffer");
        assert_eq!(hashing.hash_buffers(), 1);
    }

    #[test]
    fn a_stored_digest_costing_gigabytes_is_not_verified() {
        let hashing = PasswordHashing::default();
        let hostile = PasswordDigest::from_phc(
            "$argon2id$v=19$m=4194304,t=2,p=1$Z2F0ZWhvdXNlLXNhbHQhIQ$sPtG7R80tfOvkmj+z/YLIHq/yOam1Zh+Iq30d/W9w6Q".into(),
        );
        let pw = Password::for_verification("correct horse battery staple").unwrap();
        assert!(!hashing.verify_blocking(&pw, &hostile));
        assert_eq!(hashing.hash_buffers(), 0, "nothing was allocated for it");
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
