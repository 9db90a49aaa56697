//! The ports and configuration a use case runs with, built once at start-up.

use std::sync::Arc;
use std::time::Duration;

use crate::access_code::AccessCodeKeys;
use crate::clock::Clock;
use crate::password::PasswordHashing;
use crate::ports::{FileStore, Mailer, Store};
use crate::secret::Randomness;

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the front end lives; links in emails start with it (no trailing slash).
    pub public_url: String,
    /// How long a session lasts after sign-in.
    pub session_ttl: Duration,
    /// Requests that mail someone only if an account or invitation matches (password resets,
    /// registrations) are answered no sooner than this, whether or not they sent mail, so that
    /// their timing says nothing more than their answer.
    pub mail_response_floor: Duration,
    /// Webhooks may be plain `http` to the loopback interface (the local run only).
    pub webhooks_to_loopback: bool,
}

impl Config {
    pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_string(),
            session_ttl: Self::DEFAULT_SESSION_TTL,
            mail_response_floor: Duration::from_millis(400),
            webhooks_to_loopback: false,
        }
    }
}

#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    /// Uploads, reports and exports (only the import and export functions are given real ones).
    pub files: Arc<dyn FileStore>,
    pub clock: Arc<dyn Clock>,
    /// Counts of what happened, for operators (CloudWatch metrics when deployed).
    pub metrics: Arc<dyn crate::metrics::Metrics>,
    pub random: Arc<dyn Randomness>,
    pub passwords: PasswordHashing,
    /// Encrypts access codes and derives the keyed hashes they are found by.
    pub access_codes: AccessCodeKeys,
    /// Sign ID and access tokens (only the functions that sign or verify them are given real
    /// ones).
    pub signing_keys: Arc<dyn crate::oidc::keys::SigningKeys>,
    /// The WebAuthn ceremonies (only the functions that register or check passkeys are given
    /// real ones).
    pub passkeys: Arc<dyn crate::passkey::PasskeyCeremonies>,
    pub config: Config,
}

/// The mailer of a program that sends no mail (the operators' command): every send is refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMail;

#[async_trait::async_trait]
impl crate::ports::Mailer for NoMail {
    async fn send(&self, _: &crate::ports::OutgoingEmail) -> Result<(), crate::ports::MailError> {
        Err(crate::ports::MailError("this program sends no mail".into()))
    }
}

/// The file store of a function that keeps no files: every use answers that there is none.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFiles;

#[async_trait::async_trait]
impl crate::ports::FileStore for NoFiles {
    async fn upload_url(
        &self,
        _: &crate::ports::FileKey,
        _: crate::clock::Timestamp,
        _: Duration,
    ) -> Result<String, crate::ports::FileError> {
        Err(Self::error())
    }
    async fn download_url(
        &self,
        _: &crate::ports::FileKey,
        _: &str,
        _: crate::clock::Timestamp,
        _: Duration,
    ) -> Result<String, crate::ports::FileError> {
        Err(Self::error())
    }
    async fn read(
        &self,
        _: &crate::ports::FileKey,
        _: u64,
    ) -> Result<Option<Vec<u8>>, crate::ports::FileError> {
        Err(Self::error())
    }
    async fn write(
        &self,
        _: &crate::ports::FileKey,
        _: Vec<u8>,
        _: &str,
    ) -> Result<(), crate::ports::FileError> {
        Err(Self::error())
    }
    async fn delete(&self, _: &crate::ports::FileKey) -> Result<(), crate::ports::FileError> {
        Err(Self::error())
    }
}

impl NoFiles {
    fn error() -> crate::ports::FileError {
        crate::ports::FileError::Unavailable("this function has no file storage".into())
    }
}
