//! [`S3Files`]: uploads, reports and exports in one S3 bucket, reached by people through
//! presigned URLs.

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use std::time::{Duration, UNIX_EPOCH};

use gatehouse_domain::clock::Timestamp;
use gatehouse_domain::ports::{FileError, FileKey, FileStore};

#[derive(Debug, Clone)]
pub struct S3Files {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Files {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// A client for `config`, addressing buckets by path (`{endpoint}/{bucket}/{key}`) when an
    /// endpoint is configured (`AWS_ENDPOINT_URL`, e.g. moto), by virtual host otherwise.
    pub fn client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
        let path_style = config.endpoint_url().is_some();
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(config)
                .force_path_style(path_style)
                .build(),
        )
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

fn unavailable(e: impl Into<gatehouse_domain::Cause>) -> FileError {
    FileError::Unavailable(e.into())
}

/// Presigned from `now` (the domain's clock), for `valid_for`.
fn presigning(now: Timestamp, valid_for: Duration) -> Result<PresigningConfig, FileError> {
    let start = UNIX_EPOCH + Duration::from_secs(u64::try_from(now.unix_seconds()).unwrap_or(0));
    PresigningConfig::builder()
        .start_time(start)
        .expires_in(valid_for)
        .build()
        .map_err(unavailable)
}

#[async_trait]
impl FileStore for S3Files {
    async fn upload_url(
        &self,
        key: &FileKey,
        now: Timestamp,
        valid_for: Duration,
    ) -> Result<String, FileError> {
        let signed = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning(now, valid_for)?)
            .await
            .map_err(unavailable)?;
        Ok(signed.uri().to_string())
    }

    async fn download_url(
        &self,
        key: &FileKey,
        filename: &str,
        now: Timestamp,
        valid_for: Duration,
    ) -> Result<String, FileError> {
        let filename: String = filename
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .collect();
        let signed = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!("attachment; filename=\"{filename}\""))
            .response_cache_control("private, no-store")
            .presigned(presigning(now, valid_for)?)
            .await
            .map_err(unavailable)?;
        Ok(signed.uri().to_string())
    }

    async fn read(&self, key: &FileKey, max_bytes: u64) -> Result<Option<Vec<u8>>, FileError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        let length = out.content_length().and_then(|n| u64::try_from(n).ok());
        if length.is_some_and(|n| n > max_bytes) {
            return Err(FileError::TooLarge { limit: max_bytes });
        }
        let mut body = out.body;
        let mut bytes = Vec::new();
        while let Some(chunk) = body.try_next().await.map_err(unavailable)? {
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                return Err(FileError::TooLarge { limit: max_bytes });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some(bytes))
    }

    async fn write(
        &self,
        key: &FileKey,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), FileError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn delete(&self, key: &FileKey) -> Result<(), FileError> {
        // S3 answers a delete of a key that is not there as a success.
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
