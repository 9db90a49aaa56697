//! Safe retries. A creating request sent with an `Idempotency-Key` runs once: its retries (same
//! caller, same key, same request) answer what the first one answered, a request with the same
//! key but another method, path or body is refused, and one sent while the first is still
//! running is told to wait. Only successes are kept: after a refusal or a failure the key is free
//! again, so that the client can correct the request and send it with the same key.

use sha2::{Digest, Sha256};
use std::time::Duration;

use crate::error::{Rejection, RejectionClass};
use crate::ports::{RequestClaim, StoreError, StoredAnswer};
use crate::secret::SessionToken;
use crate::services::Services;
use crate::types::IdempotencyKey;

/// How long the first answer is kept for retries.
pub const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);
/// How long a running request holds its key: past it (the process died), a retry runs again.
pub const RUNNING_FOR: Duration = Duration::from_secs(30);

/// A request that carries an idempotency key, as the edge received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedRequest {
    /// The key's record: a hash of the caller's session token and the key, so that keys are the
    /// caller's own and no other caller can ever be answered from them.
    record_key: String,
    /// A hash of the method, the path and the body (JSON compared by meaning, not spelling).
    fingerprint: String,
    /// Seals the kept answer: derived from the caller's token and the key like `record_key` but
    /// from another text, so that the store (which holds `record_key`) cannot derive it. A kept
    /// answer may hold what is shown once (a client secret, an access code): only a retry by
    /// the same caller with the same key can read it.
    answer_key: [u8; 32],
}

impl KeyedRequest {
    pub fn new(
        caller: &SessionToken,
        key: &IdempotencyKey,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Self {
        let record_key = hex::encode(Sha256::digest(
            format!("{}\n{}", caller.expose(), key.as_str()).as_bytes(),
        ));
        let mut fingerprint = Sha256::new();
        fingerprint.update(method.as_bytes());
        fingerprint.update(b"\n");
        fingerprint.update(path.as_bytes());
        fingerprint.update(b"\n");
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(json) => {
                fingerprint.update(b"json\n");
                fingerprint.update(canonical_json(&json).as_bytes());
            }
            Err(_) => {
                fingerprint.update(b"bytes\n");
                fingerprint.update(body);
            }
        }
        let answer_key =
            Sha256::digest(format!("answer\n{}\n{}", caller.expose(), key.as_str()).as_bytes())
                .into();
        Self {
            record_key,
            fingerprint: hex::encode(fingerprint.finalize()),
            answer_key,
        }
    }
}

/// JSON with object members sorted by name and no insignificant space: two spellings of one
/// value write the same text.
fn canonical_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = members
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical_json(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", inner.join(","))
        }
        other => other.to_string(),
    }
}

/// What to do with a keyed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// First time: run it, then [`finish`].
    Run,
    /// A retry: answer this, as the first time.
    Replay(StoredAnswer),
}

#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    #[error("this Idempotency-Key was sent with another request; use a new key for a new request")]
    KeyReused,
    #[error("a request with this Idempotency-Key is still running; try again in a moment")]
    Running,
    #[error("idempotency records unavailable")]
    Store(#[from] StoreError),
    /// The kept answer does not open with this request's key (it cannot be this caller's).
    #[error("the kept answer could not be read")]
    Unreadable,
}

impl Rejection for IdempotencyError {
    fn code(&self) -> &'static str {
        match self {
            Self::KeyReused => "idempotency_key_reused",
            Self::Running => "idempotency_key_in_use",
            Self::Store(_) | Self::Unreadable => "internal",
        }
    }
    fn class(&self) -> RejectionClass {
        match self {
            Self::KeyReused => RejectionClass::Invalid,
            Self::Running => RejectionClass::Conflict,
            Self::Store(_) | Self::Unreadable => RejectionClass::Internal,
        }
    }
    fn retry_after(&self) -> Option<Duration> {
        matches!(self, Self::Running).then_some(Duration::from_secs(1))
    }
}

/// Claims the request's key, or says how its earlier request was answered.
pub async fn begin(services: &Services, request: &KeyedRequest) -> Result<Begun, IdempotencyError> {
    let now = services.clock.now();
    let claim = services
        .store
        .claim_request(
            &request.record_key,
            &request.fingerprint,
            now,
            now.plus(RUNNING_FOR),
            now.plus(KEPT_FOR),
        )
        .await?;
    match claim {
        RequestClaim::Claimed => Ok(Begun::Run),
        RequestClaim::Running { fingerprint } | RequestClaim::Answered { fingerprint, .. }
            if fingerprint != request.fingerprint =>
        {
            Err(IdempotencyError::KeyReused)
        }
        RequestClaim::Running { .. } => Err(IdempotencyError::Running),
        RequestClaim::Answered { mut answer, .. } => {
            answer.body = open(request, &answer.body)?;
            Ok(Begun::Replay(answer))
        }
    }
}

/// Marks a sealed body (answers kept before sealing are plain JSON, which never starts so).
const SEALED: &[u8] = b"sealed1:";

fn seal(request: &KeyedRequest, random: &dyn crate::secret::Randomness, body: &[u8]) -> Vec<u8> {
    use aes_gcm::aead::{Aead, KeyInit};
    let cipher = aes_gcm::Aes256Gcm::new(&request.answer_key.into());
    let mut nonce = [0u8; 12];
    random.fill(&mut nonce);
    let sealed = cipher
        .encrypt(aes_gcm::Nonce::from_slice(&nonce), body)
        .expect("AES-GCM seals any answer under 64 GiB");
    [SEALED, &nonce, &sealed].concat()
}

fn open(request: &KeyedRequest, kept: &[u8]) -> Result<Vec<u8>, IdempotencyError> {
    use aes_gcm::aead::{Aead, KeyInit};
    let Some(sealed) = kept.strip_prefix(SEALED) else {
        return Ok(kept.to_vec());
    };
    if sealed.len() < 12 {
        return Err(IdempotencyError::Unreadable);
    }
    let (nonce, ciphertext) = sealed.split_at(12);
    aes_gcm::Aes256Gcm::new(&request.answer_key.into())
        .decrypt(aes_gcm::Nonce::from_slice(nonce), ciphertext)
        .map_err(|_| IdempotencyError::Unreadable)
}

/// Ends a request that [`begin`] let run: a success (`Some`) is kept for its retries; anything
/// else gives the key up. A store that fails here is logged: the key then stays claimed until
/// its claim lapses, and nothing the request did is undone.
pub async fn finish(services: &Services, request: &KeyedRequest, success: Option<&StoredAnswer>) {
    let store = &services.store;
    let outcome = match success {
        Some(answer) => {
            let forget_at = services.clock.now().plus(KEPT_FOR);
            let sealed = StoredAnswer {
                body: seal(request, services.random.as_ref(), &answer.body),
                ..answer.clone()
            };
            store
                .save_answer(
                    &request.record_key,
                    &request.fingerprint,
                    &sealed,
                    forget_at,
                )
                .await
        }
        None => store.release_request(&request.record_key).await,
    };
    if let Err(cause) = outcome {
        tracing::warn!(cause = %crate::Chain(&cause), "idempotency record not updated; the key stays claimed until its claim lapses");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{OsRandomness, Randomness};

    fn token() -> SessionToken {
        let random: &dyn Randomness = &OsRandomness;
        SessionToken::generate(random.user_id(), random)
    }

    #[test]
    fn one_request_spelled_two_ways_is_one_request() {
        let caller = token();
        let key = IdempotencyKey::parse("k1").unwrap();
        let a = KeyedRequest::new(
            &caller,
            &key,
            "POST",
            "/p",
            br#"{"a":1,"b":[1,{"y":2,"x":1}]}"#,
        );
        let b = KeyedRequest::new(
            &caller,
            &key,
            "POST",
            "/p",
            b"{ \"b\": [1, {\"x\": 1, \"y\": 2}],\n \"a\": 1 }",
        );
        assert_eq!(a, b);
    }

    #[test]
    fn another_body_path_or_method_is_another_request() {
        let caller = token();
        let key = IdempotencyKey::parse("k1").unwrap();
        let first = KeyedRequest::new(&caller, &key, "POST", "/p", br#"{"a":1}"#);
        for (method, path, body) in [
            ("POST", "/p", &br#"{"a":2}"#[..]),
            ("POST", "/q", &br#"{"a":1}"#[..]),
            ("PUT", "/p", &br#"{"a":1}"#[..]),
            ("POST", "/p", &b"not json"[..]),
        ] {
            let other = KeyedRequest::new(&caller, &key, method, path, body);
            assert_eq!(other.record_key, first.record_key);
            assert_ne!(other.fingerprint, first.fingerprint, "{method} {path}");
        }
    }

    #[test]
    fn keys_belong_to_their_caller() {
        let key = IdempotencyKey::parse("k1").unwrap();
        let a = KeyedRequest::new(&token(), &key, "POST", "/p", b"{}");
        let b = KeyedRequest::new(&token(), &key, "POST", "/p", b"{}");
        assert_ne!(a.record_key, b.record_key);
        assert_eq!(a.fingerprint, b.fingerprint);
    }

    #[test]
    fn a_kept_answer_is_sealed_for_its_caller_and_key_alone() {
        let caller = token();
        let key = IdempotencyKey::parse("k1").unwrap();
        let request = KeyedRequest::new(&caller, &key, "POST", "/p", b"{}");
        let answer = br#"{"client_secret":"s3cr3t-shown-once"}"#;
        let kept = seal(&request, &OsRandomness, answer);
        assert!(
            !kept.windows(8).any(|w| w == b"s3cr3t-s"),
            "not kept in the clear"
        );
        assert_eq!(open(&request, &kept).unwrap(), answer);
        // Another caller with the same key, or the same caller with another key, cannot read it.
        let other_caller = KeyedRequest::new(&token(), &key, "POST", "/p", b"{}");
        let other_key = KeyedRequest::new(
            &caller,
            &IdempotencyKey::parse("k2").unwrap(),
            "POST",
            "/p",
            b"{}",
        );
        assert!(matches!(
            open(&other_caller, &kept),
            Err(IdempotencyError::Unreadable)
        ));
        assert!(matches!(
            open(&other_key, &kept),
            Err(IdempotencyError::Unreadable)
        ));
        // Answers kept before sealing replay as they were.
        assert_eq!(open(&request, b"{\"id\":1}").unwrap(), b"{\"id\":1}");
    }
}
