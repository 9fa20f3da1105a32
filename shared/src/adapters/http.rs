//! The `WebhookClient` port over reqwest: a 10-second timeout for the whole exchange (3 s to
//! connect), no redirects followed, at most 1 KB of the answer read. Under
//! [`UrlPolicy::Public`] (Lambda) every name is resolved by a resolver that drops private,
//! loopback and link-local addresses, so a name that points inside (or is made to, after the
//! endpoint was saved) is never reached.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::domain::webhooks::{UrlPolicy, check_url, is_public};
use crate::ports::http::{EXCERPT_BYTES, HttpAnswer, HttpFailure, WebhookClient, excerpt};

pub const TIMEOUT: Duration = Duration::from_secs(10);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

pub struct HttpWebhooks {
    client: reqwest::Client,
    policy: UrlPolicy,
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
            policy,
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
        // A literal address is not resolved, so the resolver cannot refuse it: the URL is
        // checked again here (it was when the endpoint was saved).
        if let Err(e) = check_url(url, self.policy) {
            return Err(fail(&e));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn private_targets_are_refused_on_lambda_without_a_connection() {
        let client = HttpWebhooks::new(UrlPolicy::Public);
        for url in [
            "https://127.0.0.1:9/x",
            "https://10.0.0.1/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest/meta-data",
            "http://127.0.0.1:9/x",
            "https://localhost:9/x",
        ] {
            let refused = client.post(url, &[], b"{}").await.unwrap_err();
            assert!(
                refused.reason.starts_with("url:"),
                "{url}: {}",
                refused.reason
            );
        }
    }

    #[tokio::test]
    async fn a_name_that_resolves_inside_is_refused_by_the_resolver() {
        use reqwest::dns::Resolve;
        use std::str::FromStr;
        // `localhost` resolves (from /etc/hosts) to loopback only: no public address is left.
        let name = reqwest::dns::Name::from_str("localhost").unwrap();
        let refused = PublicOnly.resolve(name).await.err().expect("refused");
        assert!(
            refused.to_string().contains("no public address"),
            "{refused}"
        );
    }
}
