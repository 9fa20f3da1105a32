//! The `Blobs` port: named byte objects under `/`-separated keys — the bureau's feed files and
//! the monitoring baselines. S3 in production, a folder locally.
//!
//! Rules every adapter keeps:
//! - `list` returns every key under the prefix (all pages), in byte order of the keys.
//! - `open` streams; nothing is loaded whole. A missing key is `Ok(None)`, not an error.
//! - `put_file` and `put_scratch` replace the object at once: a reader sees the old object or
//!   the new one, never a part of the new one.

use std::path::Path;
use std::pin::Pin;

use tokio::io::AsyncRead;

pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("invalid blob key {0:?}: keys are non-empty, `/`-separated, without `..` or `\\`")]
    InvalidKey(String),
    #[error("the blob store failed")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl BlobError {
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        BlobError::Unavailable(Box::new(e))
    }
}

/// Checks a key the way every adapter does, so both refuse the same keys.
pub fn check_key(key: &str) -> Result<(), BlobError> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.contains('\\')
        || key.contains('\0')
        || key
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        Err(BlobError::InvalidKey(key.to_owned()))
    } else {
        Ok(())
    }
}

#[async_trait::async_trait]
pub trait Blobs: Send + Sync {
    /// Every key that starts with `prefix`, in byte order.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError>;
    /// A streaming reader of the object, or `None` when there is none.
    async fn open(&self, key: &str) -> Result<Option<BlobReader>, BlobError>;
    /// The bytes `start..end` of the object (fewer when it is shorter), or `None` when there
    /// is none. Adapters that can read a range alone (S3's `Range`, a file's seek) do; this
    /// one reads up to `end` and keeps the range.
    async fn read_range(
        &self,
        key: &str,
        start: u64,
        end: u64,
    ) -> Result<Option<Vec<u8>>, BlobError> {
        use tokio::io::AsyncReadExt;
        let Some(reader) = self.open(key).await? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        reader
            .take(end)
            .read_to_end(&mut bytes)
            .await
            .map_err(BlobError::unavailable)?;
        Ok(Some(bytes.split_off((start as usize).min(bytes.len()))))
    }
    /// Stores the content of a local file under `key`, replacing any object there.
    async fn put_file(&self, key: &str, path: &Path) -> Result<(), BlobError>;
    /// Stores a scratch file the caller is done with under `key`, as `put_file` does; the file
    /// is the store's to move rather than copy (a folder on the same file system), and is gone
    /// afterwards either way.
    async fn put_scratch(&self, key: &str, scratch: tempfile::TempPath) -> Result<(), BlobError> {
        self.put_file(key, &scratch).await
    }
    /// Stores `bytes` under `key`, replacing any object there.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError>;
    /// Removes the object; removing a missing one is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
}

/// Addresses through which a client outside puts one object straight into the store (a
/// pre-signed S3 PUT URL), so that a large file never passes through a function.
#[async_trait::async_trait]
pub trait Presign: Send + Sync {
    /// A URL that takes an HTTP PUT of the object's bytes at `key`, good for `expires_in`.
    async fn put_url(
        &self,
        key: &str,
        expires_in: std::time::Duration,
    ) -> Result<String, BlobError>;
}
