//! The `WebhookClient` port over reqwest: a 10-second timeout for the whole exchange (3 s to
//! connect), no redirects followed, at most 1 KB of the answer read. Under
//! [`UrlPolicy::Public`] (Lambda) every name is resolved by a resolver that drops private,
//! loopback and link-local addresses, so a name that points inside (or is made to, after the
//! endpoint was saved) is never reached.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::domain::webhooks::{UrlPolicy, is_public};
use crate::ports::http::{EXCERPT_BYTES, HttpAnswer, HttpFailure, WebhookClient, excerpt};

pub const TIMEOUT: Duration = Duration::from_secs(10);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

pub struct HttpWebhooks {
    client: reqwest::Client,
}

impl HttpWebhooks {
    pub fn new(policy: UrlPolicy) -> Self {
        let mut builder = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("clientwatch-webhooks/1");
        if policy == UrlPolicy::Public {
            builder = builder.dns_resolver(Arc::new(PublicOnly)).no_proxy();
        }
        Self {
            // Only a broken TLS back end fails here; the function cannot send anything then.
            client: builder.build().expect("the HTTP client builds"),
        }
    }
}

/// Resolves names to their public addresses only.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[async_trait::async_trait]
impl WebhookClient for HttpWebhooks {
    async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<HttpAnswer, HttpFailure> {
        let started = Instant::now();
        let fail = |e: &dyn std::fmt::Display| HttpFailure {
            reason: e.to_string(),
            latency: started.elapsed(),
        };
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| fail(&Reason(&e)))?;
        let status = response.status().as_u16();
        let mut stream = response.bytes_stream();
        let mut kept = Vec::new();
        while kept.len() < EXCERPT_BYTES {
            match stream.next().await {
                Some(Ok(chunk)) => kept.extend_from_slice(&chunk),
                // The status is the answer; a body cut short only shortens the excerpt.
                Some(Err(_)) | None => break,
            }
        }
        Ok(HttpAnswer {
            status,
            excerpt: excerpt(&kept),
            latency: started.elapsed(),
        })
    }
}

/// A reqwest error with its causes, without the URL (which may carry a partner's token).
struct Reason<'a>(&'a reqwest::Error);

impl std::fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = self.0;
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else if e.is_redirect() {
            "redirected"
        } else {
            "failed"
        };
        write!(f, "{what}")?;
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}
