//! The OpenID Connect signing keys of the local run, in a file of the data folder
//! (`signing-keys.json`, readable by its owner only): made on first start, read again every
//! [`RELOAD_EVERY`] so that `gatehouse-admin rotate-signing-key --embedded` reaches a running
//! server.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use gatehouse_domain::clock::Timestamp;
use gatehouse_domain::oidc::keys::{KeyError, KeySet, SigningKeys, RELOAD_EVERY};
use gatehouse_domain::secret::Randomness;
use tokio::sync::Mutex;

pub struct FileSigningKeys {
    path: PathBuf,
    loaded: std::sync::Mutex<(Instant, Arc<KeySet>)>,
    /// One reload at a time.
    reloading: Mutex<()>,
}

impl FileSigningKeys {
    /// Reads the key set at `path`, making a first one there if there is none.
    pub fn open_or_create(
        path: &Path,
        random: &dyn Randomness,
        now: Timestamp,
    ) -> Result<Self, KeyError> {
        let keys = match read_key_file(path)? {
            Some(keys) => keys,
            None => {
                let keys = KeySet::first(random, now)?;
                write_key_file(path, &keys)?;
                keys
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            loaded: std::sync::Mutex::new((Instant::now(), Arc::new(keys))),
            reloading: Mutex::new(()),
        })
    }
}

/// The key set in the file, `None` if there is no file.
pub fn read_key_file(path: &Path) -> Result<Option<KeySet>, KeyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => KeySet::from_json(&text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(KeyError::Unavailable(e.into())),
    }
}

/// Replaces the file with `keys`, whole or not at all (written beside it, then moved).
pub fn write_key_file(path: &Path, keys: &KeySet) -> Result<(), KeyError> {
    let io = |e: std::io::Error| KeyError::Unavailable(e.into());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    let partial = PathBuf::from(name);
    let _ = std::fs::remove_file(&partial);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&partial).map_err(io)?;
    std::io::Write::write_all(&mut file, keys.to_json().as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&partial, path).map_err(io)
}

#[async_trait::async_trait]
impl SigningKeys for FileSigningKeys {
    async fn key_set(&self) -> Result<Arc<KeySet>, KeyError> {
        let current = || {
            let loaded = self
                .loaded
                .lock()
                .expect("no panic while the key set is swapped");
            (loaded.0, loaded.1.clone())
        };
        let (at, keys) = current();
        if at.elapsed() < RELOAD_EVERY {
            return Ok(keys);
        }
        let _one = self.reloading.lock().await;
        if current().0.elapsed() >= RELOAD_EVERY {
            let fresh = match read_key_file(&self.path) {
                Ok(Some(keys)) => Some(Arc::new(keys)),
                Ok(None) => {
                    tracing::warn!(
                        "the signing keys file is gone; the keys read before stay in use"
                    );
                    None
                }
                Err(e) => {
                    tracing::warn!(cause = %gatehouse_domain::Chain(&e), "the signing keys file was not read again");
                    None
                }
            };
            let mut loaded = self
                .loaded
                .lock()
                .expect("no panic while the key set is swapped");
            loaded.0 = Instant::now();
            if let Some(keys) = fresh {
                loaded.1 = keys;
            }
        }
        Ok(current().1)
    }
}
