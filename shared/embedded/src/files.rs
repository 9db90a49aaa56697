//! [`LocalFiles`]: the file store of the local run, a directory. Its URLs point at the local
//! server (`/files/{key}`) and carry their permission as S3's presigned URLs do: the operation,
//! an expiry and an HMAC over both and the key, under a key made at start-up.

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gatehouse_domain::clock::Timestamp;
use gatehouse_domain::ports::{FileError, FileKey, FileStore};

/// What a file URL lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOp {
    Put,
    Get,
}

impl FileOp {
    fn as_str(self) -> &'static str {
        match self {
            Self::Put => "put",
            Self::Get => "get",
        }
    }
}

pub struct LocalFiles {
    dir: PathBuf,
    public_url: String,
    secret: [u8; 32],
}

impl LocalFiles {
    /// Files under `dir`, reached at `{public_url}/files/…`; `secret` signs the URLs.
    pub fn new(dir: &Path, public_url: &str, secret: [u8; 32]) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            public_url: public_url.trim_end_matches('/').to_string(),
            secret,
        })
    }

    fn signature(&self, op: FileOp, key: &str, expires: i64, filename: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        for part in [op.as_str(), key, &expires.to_string(), filename] {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        hex::encode(mac.finalize().into_bytes())
    }

    fn url(&self, op: FileOp, key: &str, expires: i64, filename: &str) -> String {
        let mut url = format!(
            "{}/files/{key}?op={}&expires={expires}&signature={}",
            self.public_url,
            op.as_str(),
            self.signature(op, key, expires, filename)
        );
        if !filename.is_empty() {
            url.push_str("&filename=");
            url.push_str(filename);
        }
        url
    }

    /// Whether a URL's query allows `op` on `key` at `now`.
    pub fn allows(
        &self,
        op: FileOp,
        key: &str,
        expires: i64,
        filename: &str,
        signature: &str,
        now: Timestamp,
    ) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.signature(op, key, expires, filename);
        now.unix_seconds() < expires
            && valid_key(key)
            && expected.as_bytes().ct_eq(signature.as_bytes()).into()
    }

    fn path(&self, key: &str) -> Result<PathBuf, FileError> {
        if !valid_key(key) {
            return Err(FileError::Unavailable(
                format!("not a file key: {key:?}").into(),
            ));
        }
        Ok(self.dir.join(key))
    }
}

/// Keys are `segment/segment/…` of letters, digits, `.`, `-` and `_`, none empty or dots only.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 512
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && !seg.chars().all(|c| c == '.')
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        })
}

fn io(e: std::io::Error) -> FileError {
    FileError::Unavailable(e.into())
}

fn expiry(now: Timestamp, valid_for: Duration) -> i64 {
    now.plus(valid_for).unix_seconds()
}

#[async_trait]
impl FileStore for LocalFiles {
    async fn upload_url(
        &self,
        key: &FileKey,
        now: Timestamp,
        valid_for: Duration,
    ) -> Result<String, FileError> {
        self.path(key)?;
        Ok(self.url(FileOp::Put, key, expiry(now, valid_for), ""))
    }

    async fn download_url(
        &self,
        key: &FileKey,
        filename: &str,
        now: Timestamp,
        valid_for: Duration,
    ) -> Result<String, FileError> {
        self.path(key)?;
        let filename: String = filename
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .collect();
        Ok(self.url(FileOp::Get, key, expiry(now, valid_for), &filename))
    }

    async fn read(&self, key: &FileKey, max_bytes: u64) -> Result<Option<Vec<u8>>, FileError> {
        let path = self.path(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.len() > max_bytes => return Err(FileError::TooLarge { limit: max_bytes }),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        }
        match tokio::fs::read(&path).await {
            Ok(bytes) if bytes.len() as u64 > max_bytes => {
                Err(FileError::TooLarge { limit: max_bytes })
            }
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn write(
        &self,
        key: &FileKey,
        bytes: Vec<u8>,
        _content_type: &str,
    ) -> Result<(), FileError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        // Whole or not at all: written aside, then renamed over.
        let aside = path.with_extension(format!("part-{}", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&aside, bytes).await.map_err(io)?;
        tokio::fs::rename(&aside, &path).await.map_err(io)
    }

    async fn delete(&self, key: &FileKey) -> Result<(), FileError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> LocalFiles {
        LocalFiles::new(dir, "http://127.0.0.1:3000/", [7; 32]).unwrap()
    }

    #[tokio::test]
    async fn urls_allow_their_operation_on_their_key_until_they_expire() {
        let dir = tempfile::tempdir().unwrap();
        let files = files(dir.path());
        let now = Timestamp::from_unix_seconds(1_000);
        let url = files
            .upload_url("uploads/acme/x", now, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(
            url.starts_with(
                "http://127.0.0.1:3000/files/uploads/acme/x?op=put&expires=1060&signature="
            ),
            "{url}"
        );
        let signature = url.rsplit_once("signature=").unwrap().1;
        let allows = |op, key, expires, at| {
            files.allows(
                op,
                key,
                expires,
                "",
                signature,
                Timestamp::from_unix_seconds(at),
            )
        };
        assert!(allows(FileOp::Put, "uploads/acme/x", 1060, 1059));
        assert!(
            !allows(FileOp::Put, "uploads/acme/x", 1060, 1060),
            "expired"
        );
        assert!(
            !allows(FileOp::Get, "uploads/acme/x", 1060, 1000),
            "another operation"
        );
        assert!(
            !allows(FileOp::Put, "uploads/other/x", 1060, 1000),
            "another key"
        );
        assert!(
            !allows(FileOp::Put, "uploads/acme/x", 9999, 1000),
            "a longer expiry"
        );
    }

    #[tokio::test]
    async fn files_round_trip_and_keys_stay_inside_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let files = files(dir.path());
        assert_eq!(files.read("reports/a.xlsx", 10).await.unwrap(), None);
        files
            .write("reports/a.xlsx", b"hello".to_vec(), "text/plain")
            .await
            .unwrap();
        assert_eq!(
            files.read("reports/a.xlsx", 10).await.unwrap(),
            Some(b"hello".to_vec())
        );
        assert!(matches!(
            files.read("reports/a.xlsx", 4).await,
            Err(FileError::TooLarge { limit: 4 })
        ));
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "a b",
            "",
        ] {
            assert!(!valid_key(bad), "{bad}");
            assert!(files.read(bad, 10).await.is_err(), "{bad}");
        }
    }
}
