//! The OpenID Connect signing keys in a Secrets Manager secret (`GATEHOUSE_SIGNING_KEYS_SECRET`):
//! read at cold start, read again every [`RELOAD_EVERY`] so that a rotation reaches warm
//! functions before its key signs, and written by `gatehouse-admin rotate-signing-key`.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use gatehouse_domain::oidc::keys::{KeyError, KeySet, SigningKeys, RELOAD_EVERY};
use tokio::sync::Mutex;

pub struct SecretSigningKeys {
    client: aws_sdk_secretsmanager::Client,
    secret: String,
    loaded: std::sync::Mutex<(Instant, Arc<KeySet>)>,
    /// One reload at a time.
    reloading: Mutex<()>,
}

impl SecretSigningKeys {
    fn current(&self) -> (Instant, Arc<KeySet>) {
        let loaded = self
            .loaded
            .lock()
            .expect("no panic while the key set is swapped");
        (loaded.0, loaded.1.clone())
    }

    fn keep(&self, keys: Option<Arc<KeySet>>) {
        let mut loaded = self
            .loaded
            .lock()
            .expect("no panic while the key set is swapped");
        loaded.0 = Instant::now();
        if let Some(keys) = keys {
            loaded.1 = keys;
        }
    }
}

impl SecretSigningKeys {
    /// Reads the key set now: a missing or unreadable secret fails the cold start.
    pub async fn load(
        client: aws_sdk_secretsmanager::Client,
        secret: String,
    ) -> anyhow::Result<Self> {
        let keys = fetch_key_set(&client, &secret)
            .await
            .with_context(|| format!("read the signing keys secret {secret}"))?;
        Ok(Self {
            client,
            secret,
            loaded: std::sync::Mutex::new((Instant::now(), Arc::new(keys))),
            reloading: Mutex::new(()),
        })
    }
}

async fn fetch_key_set(
    client: &aws_sdk_secretsmanager::Client,
    secret: &str,
) -> Result<KeySet, KeyError> {
    let value = client
        .get_secret_value()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| KeyError::Unavailable(e.into()))?;
    let text = value
        .secret_string()
        .ok_or_else(|| KeyError::Unreadable("the secret holds no text".into()))?;
    KeySet::from_json(text)
}

/// Writes `keys` as the secret's new current version.
pub async fn write_key_set(
    client: &aws_sdk_secretsmanager::Client,
    secret: &str,
    keys: &KeySet,
) -> anyhow::Result<()> {
    client
        .put_secret_value()
        .secret_id(secret)
        .secret_string(keys.to_json())
        .send()
        .await
        .with_context(|| format!("write the signing keys secret {secret}"))?;
    Ok(())
}

/// The key set in `secret`, `None` if the secret holds no value yet.
pub async fn read_key_set(
    client: &aws_sdk_secretsmanager::Client,
    secret: &str,
) -> anyhow::Result<Option<KeySet>> {
    let value = match client.get_secret_value().secret_id(secret).send().await {
        Ok(value) => value,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e).with_context(|| format!("read the signing keys secret {secret}")),
    };
    match value.secret_string() {
        None => Ok(None),
        Some(text) => {
            Ok(Some(KeySet::from_json(text).with_context(|| {
                format!("the signing keys secret {secret}")
            })?))
        }
    }
}

#[async_trait::async_trait]
impl SigningKeys for SecretSigningKeys {
    async fn key_set(&self) -> Result<Arc<KeySet>, KeyError> {
        let (at, keys) = self.current();
        if at.elapsed() < RELOAD_EVERY {
            return Ok(keys);
        }
        let _one = self.reloading.lock().await;
        let (at, keys) = self.current();
        if at.elapsed() < RELOAD_EVERY {
            return Ok(keys);
        }
        match fetch_key_set(&self.client, &self.secret).await {
            Ok(fresh) => self.keep(Some(Arc::new(fresh))),
            // The keys read before still verify and sign: try again after the next interval.
            Err(e) => {
                tracing::warn!(cause = %gatehouse_domain::Chain(&e), "the signing keys were not read again; the ones read before stay in use");
                self.keep(None);
            }
        }
        Ok(self.current().1)
    }
}
