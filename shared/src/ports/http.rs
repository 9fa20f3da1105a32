//! Posting a webhook to a partner's endpoint: one HTTP POST, its status, how long it took and a
//! short excerpt of the answer (never the whole body).

use std::time::Duration;

/// The longest excerpt of an answer's body that is kept.
pub const EXCERPT_BYTES: usize = 1024;

/// What the endpoint answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    /// At most [`EXCERPT_BYTES`] of the body, as text (invalid UTF-8 replaced).
    pub excerpt: String,
    pub latency: Duration,
}

/// Why there was no answer: a timeout, a refused connection, a target not allowed.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct HttpFailure {
    pub reason: String,
    pub latency: Duration,
}

#[async_trait::async_trait]
pub trait WebhookClient: Send + Sync {
    /// POSTs `body` (JSON) with `headers` to `url`; follows no redirect.
    async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<HttpAnswer, HttpFailure>;
}

/// The first [`EXCERPT_BYTES`] of `body` as text.
pub fn excerpt(body: &[u8]) -> String {
    let cut = &body[..body.len().min(EXCERPT_BYTES)];
    String::from_utf8_lossy(cut).into_owned()
}
