//! The ports and configuration a use case runs with, built once at start-up.

use std::sync::Arc;
use std::time::Duration;

use crate::access_code::AccessCodeKeys;
use crate::clock::Clock;
use crate::password::PasswordHashing;
use crate::ports::{Mailer, Store};
use crate::secret::Randomness;

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the front end lives; links in emails start with it (no trailing slash).
    pub public_url: String,
    /// How long a session lasts after sign-in.
    pub session_ttl: Duration,
    /// A password-reset request is answered no sooner than this, whether or not it sent mail.
    pub reset_response_floor: Duration,
}

impl Config {
    pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_string(),
            session_ttl: Self::DEFAULT_SESSION_TTL,
            reset_response_floor: Duration::from_millis(400),
        }
    }
}

#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Randomness>,
    pub passwords: PasswordHashing,
    /// Encrypts access codes and derives the keyed hashes they are found by.
    pub access_codes: AccessCodeKeys,
    pub config: Config,
}
