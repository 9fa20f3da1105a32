//! The `Blobs` port over one S3 bucket: the key is the object key. `list` follows
//! `ListObjectsV2` continuation tokens to the last page; `open` streams the `GetObject` body;
//! `put_file` streams the file from disk. A `PutObject` replaces an object whole, so readers see
//! the old object or the new one.

use std::path::Path;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

use crate::ports::blobs::{BlobError, BlobReader, Blobs, check_key};

/// What a `GetObject` found.
enum Got {
    Object(Box<aws_sdk_s3::operation::get_object::GetObjectOutput>),
    Missing,
    /// A range that starts past the object's end: nothing in it.
    PastEnd,
}

/// S3's own largest page, and so the default.
const MAX_PAGE: i32 = 1000;

#[derive(Clone, Debug)]
pub struct S3Blobs {
    client: Client,
    bucket: String,
    page_size: i32,
}

impl S3Blobs {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            page_size: MAX_PAGE,
        }
    }

    /// One `GetObject` of the whole object or of `range` (`bytes=a-b`): a missing key is
    /// `Missing` (a missing bucket is a failure), a range past the object's end `PastEnd`.
    async fn get(&self, key: &str, range: Option<String>) -> Result<Got, BlobError> {
        check_key(key)?;
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_range(range)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Got::Object(Box::new(out))),
            Err(SdkError::ServiceError(e))
                if e.err().is_no_such_key()
                    || (e.raw().status().as_u16() == 404
                        && e.err().code() != Some("NoSuchBucket")) =>
            {
                Ok(Got::Missing)
            }
            Err(SdkError::ServiceError(e)) if e.raw().status().as_u16() == 416 => Ok(Got::PastEnd),
            Err(e) => Err(self.failed("GetObject", key, e)),
        }
    }

    /// Keys asked for per `ListObjectsV2` call (1 to 1000); S3 may return fewer.
    pub fn with_page_size(mut self, page_size: u16) -> Self {
        self.page_size = i32::from(page_size).clamp(1, MAX_PAGE);
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn failed(
        &self,
        operation: &'static str,
        target: &str,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> BlobError {
        BlobError::unavailable(S3Failure {
            operation,
            target: target.to_owned(),
            bucket: self.bucket.clone(),
            detail: chain(&e),
            source: Box::new(e),
        })
    }
}

/// One failed S3 call: which call, on what, and the messages of the SDK error's whole chain
/// (its own message is only "service error" or "dispatch failure"). The SDK error stays the
/// source, so the raw response is in its `Debug`.
#[derive(Debug, thiserror::Error)]
#[error("S3 {operation} of {target:?} in bucket {bucket:?} failed: {detail}")]
struct S3Failure {
    operation: &'static str,
    target: String,
    bucket: String,
    detail: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// An error's message followed by those of its sources, as `a: b: c`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[async_trait::async_trait]
impl Blobs for S3Blobs {
    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .max_keys(self.page_size)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.failed("ListObjectsV2", prefix, e))?;
            // Keys the port cannot name (a console's `folder/` markers) are left out, as the
            // folder adapter leaves out its staging files.
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key())
                    .filter(|key| check_key(key).is_ok())
                    .map(str::to_owned),
            );
            if !page.is_truncated().unwrap_or(false) {
                break;
            }
            match page.next_continuation_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => {
                    return Err(self.failed(
                        "ListObjectsV2",
                        prefix,
                        std::io::Error::other("a truncated page without a continuation token"),
                    ));
                }
            }
        }
        // S3 lists in UTF-8 byte order already; sorting keeps the rule whatever answers.
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }

    async fn open(&self, key: &str) -> Result<Option<BlobReader>, BlobError> {
        Ok(match self.get(key, None).await? {
            Got::Object(out) => Some(Box::pin(out.body.into_async_read())),
            Got::Missing => None,
            // Only a ranged read starts past the end.
            Got::PastEnd => Some(Box::pin(tokio::io::empty())),
        })
    }

    async fn read_range(
        &self,
        key: &str,
        start: u64,
        end: u64,
    ) -> Result<Option<Vec<u8>>, BlobError> {
        let range = (end > start).then(|| format!("bytes={start}-{}", end - 1));
        let out = match self.get(key, range).await? {
            Got::Object(out) if end > start => out,
            Got::Object(_) | Got::PastEnd => return Ok(Some(Vec::new())),
            Got::Missing => return Ok(None),
        };
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| self.failed("GetObject", key, e))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<(), BlobError> {
        check_key(key)?;
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| self.failed("PutObject", key, e))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body)
            .send()
            .await
            .map_err(|e| self.failed("PutObject", key, e))?;
        Ok(())
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        check_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| self.failed("PutObject", key, e))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        check_key(key)?;
        // S3 answers a delete of a missing key with success.
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.failed("DeleteObject", key, e))?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl crate::ports::blobs::Presign for S3Blobs {
    async fn put_url(
        &self,
        key: &str,
        expires_in: std::time::Duration,
    ) -> Result<String, BlobError> {
        check_key(key)?;
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(expires_in)
            .map_err(|e| self.failed("presign PutObject", key, e))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| self.failed("presign PutObject", key, e))?;
        Ok(request.uri().to_owned())
    }
}
