//! Webhooks as values and rules: an endpoint's spec (its URL, the event types it wants), which
//! targets an endpoint may have, the Standard Webhooks signature (HMAC-SHA256 over
//! `{id}.{timestamp}.{body}`, a `whsec_` secret), and the pure decision of what an attempt's
//! outcome leads to (done, retry when, give up, disable). The feature around them
//! (`crate::webhooks`) stores, fans out and sends.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Error, Result, text};

/// The event types an endpoint may subscribe to: the tenant events clientwatch publishes.
pub const EVENT_TYPES: &[&str] = &[
    "MonitoringHit",
    "CustomerCentreUpdated",
    "InviteExpired",
    "InvoiceDisputed",
    "PaymentPromised",
    "PaymentPromiseBroken",
    "ImportCompleted",
    "ClientDataChanged",
];

/// What a partner sends to register an endpoint (and changes by merge patch).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// Where events are POSTed: https (http to localhost in local mode only).
    pub url: String,
    /// The event types delivered; at least one, each of [`EVENT_TYPES`].
    pub event_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether events are sent. The partner turns it off and on; clientwatch turns it off when
    /// the endpoint answers 410 Gone or has failed for days (saying why in `disabled_reason`).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Why clientwatch disabled the endpoint; read-only (cleared when the partner enables it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
}

fn yes() -> bool {
    true
}

/// Which targets an endpoint may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlPolicy {
    /// On Lambda: https only, to public addresses.
    Public,
    /// The local one-process mode (and its tests): also `http://localhost` and loopback.
    Local,
}

pub const MAX_URL: usize = 2000;
pub const MAX_DESCRIPTION: usize = 1000;

impl WebhookSpec {
    /// The spec checked: a URL the policy allows, known event types (each once, in the order
    /// given), a description of one line. `disabled_reason` is the system's to set.
    pub fn checked(mut self, policy: UrlPolicy) -> Result<Self> {
        self.url = check_url(&self.url, policy)?;
        if self.event_types.is_empty() {
            return Err(Error::invalid(
                "event_types",
                "name at least one event type",
            ));
        }
        let mut seen = Vec::new();
        for (i, t) in self.event_types.iter().enumerate() {
            if !EVENT_TYPES.contains(&t.as_str()) {
                return Err(Error::invalid(
                    format!("event_types[{i}]"),
                    format!("unknown event type; one of {}", EVENT_TYPES.join(", ")),
                ));
            }
            if !seen.contains(t) {
                seen.push(t.clone());
            }
        }
        self.event_types = seen;
        if let Some(d) = &self.description {
            self.description = Some(text("description", d, MAX_DESCRIPTION)?);
        }
        Ok(self)
    }

    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types.iter().any(|t| t == event_type)
    }
}

/// A URL an endpoint may have, normalised, or an error naming `url`.
pub fn check_url(raw: &str, policy: UrlPolicy) -> Result<String> {
    let bad = |m: &str| Error::invalid("url", m.to_owned());
    if raw.len() > MAX_URL {
        return Err(bad("at most 2000 characters"));
    }
    super::input::characters("url", raw)?;
    let url = url::Url::parse(raw.trim()).map_err(|e| bad(&format!("not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry a user name or password"));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment (#...)"));
    }
    let host = url.host().ok_or_else(|| bad("must name a host"))?;
    let local_target = match &host {
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        url::Host::Ipv4(ip) => !is_public(IpAddr::V4(*ip)),
        url::Host::Ipv6(ip) => !is_public(IpAddr::V6(*ip)),
    };
    let loopback = match &host {
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    match (url.scheme(), policy) {
        ("https", UrlPolicy::Public) if local_target => {
            Err(bad("must not be a private, loopback or link-local address"))
        }
        ("https", _) => Ok(url.to_string()),
        ("http", UrlPolicy::Local) if loopback => Ok(url.to_string()),
        ("http", UrlPolicy::Local) => Err(bad("must be https (http only to localhost)")),
        _ => Err(bad("must be https")),
    }
}

/// Whether a resolved address may be sent to from Lambda: not private, loopback, link-local,
/// unspecified, multicast, shared (CGNAT), documentation or a v4-mapped one of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64
}

// ---- signing ----------------------------------------------------------------------------------

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A secret as the partner receives it: `whsec_` and the key's bytes in base64.
pub fn secret_text(key: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The key bytes of a `whsec_` secret.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|k| k ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// One `v1,<base64>` signature of the Standard Webhooks scheme.
pub fn signature(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut signed = format!("{msg_id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    format!("v1,{}", STANDARD.encode(hmac_sha256(key, &signed)))
}

/// The `webhook-signature` header: one signature per key, space-separated (during a rotation's
/// overlap, the new key's and the old one's).
pub fn signature_header(keys: &[Vec<u8>], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|k| signature(k, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The stable `webhook-id` of an event's delivery to an endpoint: the same for every attempt,
/// retry and replay, and for the same event published twice.
pub fn message_id(event_key: &str, endpoint_id: &str) -> String {
    let digest = Sha256::digest(format!("{event_key}\n{endpoint_id}"));
    format!("msg_{}", hex::encode(&digest[..16]))
}

// ---- retries ------------------------------------------------------------------------------------

/// How long a delivery is retried from its first attempt.
pub const RETRY_WINDOW_HOURS: i64 = 72;
/// How long an endpoint may fail every delivery before it is disabled.
pub const DISABLE_AFTER_HOURS: i64 = 72;
/// The first retry's delay; each next one doubles, up to [`MAX_DELAY_SECONDS`].
pub const FIRST_DELAY_SECONDS: i64 = 30;
pub const MAX_DELAY_SECONDS: i64 = 12 * 3600;

/// What an attempt came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered with this status.
    Status(u16),
    /// No answer: a timeout, a refused connection, a refused target.
    NoAnswer,
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// 2xx: delivered.
    Done,
    /// Try again at this time.
    Retry(DateTime<Utc>),
    /// Retried for [`RETRY_WINDOW_HOURS`]: given up.
    GiveUp,
    /// 410 Gone: the endpoint does not want events any more; disable it.
    Disable,
}

/// The decision after attempt number `attempt` (1 for the first) of a delivery first tried at
/// `first`, made at `now`; `jitter` in [0, 1) spreads retries (from ±20 % of the delay).
pub fn next(
    outcome: Outcome,
    attempt: u32,
    first: DateTime<Utc>,
    now: DateTime<Utc>,
    jitter: f64,
) -> Next {
    match outcome {
        Outcome::Status(s) if (200..300).contains(&s) => return Next::Done,
        Outcome::Status(410) => return Next::Disable,
        _ => {}
    }
    let delay = retry_delay(attempt, jitter);
    let at = now + delay;
    if at - first > Duration::hours(RETRY_WINDOW_HOURS) {
        Next::GiveUp
    } else {
        Next::Retry(at)
    }
}

/// The delay after attempt `attempt`: 30 s doubling to 12 h, times 0.8 to 1.2.
pub fn retry_delay(attempt: u32, jitter: f64) -> Duration {
    let base = FIRST_DELAY_SECONDS
        .saturating_mul(1i64 << attempt.saturating_sub(1).min(20))
        .min(MAX_DELAY_SECONDS);
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    Duration::milliseconds((base as f64 * 1000.0 * factor) as i64)
}

/// Whether an endpoint that has failed every delivery since `failing_since` is to be disabled
/// at `now`.
pub fn failing_too_long(failing_since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    failing_since.is_some_and(|since| now - since >= Duration::hours(DISABLE_AFTER_HOURS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str, types: &[&str]) -> WebhookSpec {
        WebhookSpec {
            url: url.into(),
            event_types: types.iter().map(|t| t.to_string()).collect(),
            description: None,
            enabled: true,
            disabled_reason: None,
        }
    }

    fn field(e: Error) -> String {
        match e {
            Error::Invalid { field, .. } => field,
            e => panic!("not invalid: {e}"),
        }
    }

    #[test]
    fn urls_are_checked_by_policy() {
        use UrlPolicy::*;
        let cases: &[(&str, UrlPolicy, bool)] = &[
            ("https://hooks.example.com/in", Public, true),
            ("https://hooks.example.com:8443/in?x=1", Public, true),
            ("http://hooks.example.com/in", Public, false),
            ("http://hooks.example.com/in", Local, false),
            ("http://localhost:8080/in", Local, true),
            ("http://127.0.0.1:8080/in", Local, true),
            ("http://[::1]:8080/in", Local, true),
            ("http://localhost:8080/in", Public, false),
            ("https://localhost/in", Public, false),
            ("https://127.0.0.1/in", Public, false),
            ("https://10.1.2.3/in", Public, false),
            ("https://172.16.0.1/in", Public, false),
            ("https://192.168.1.1/in", Public, false),
            ("https://169.254.169.254/latest/meta-data", Public, false),
            ("https://100.64.0.1/", Public, false),
            ("https://0.0.0.0/", Public, false),
            ("https://[::1]/", Public, false),
            ("https://[fe80::1]/", Public, false),
            ("https://[fd00::1]/", Public, false),
            ("https://[::ffff:10.0.0.1]/", Public, false),
            ("https://8.8.8.8/", Public, true),
            ("https://user:pw@hooks.example.com/", Public, false),
            ("https://hooks.example.com/#frag", Public, false),
            ("ftp://hooks.example.com/", Local, false),
            ("not a url", Public, false),
            ("https://hooks.example.com/\u{0}", Public, false),
        ];
        for (url, policy, ok) in cases {
            let got = check_url(url, *policy);
            assert_eq!(got.is_ok(), *ok, "{url} under {policy:?}: {got:?}");
            if let Err(e) = got {
                assert_eq!(field(e), "url");
            }
        }
    }

    #[test]
    fn specs_name_the_bad_field() {
        let cases: &[(WebhookSpec, Option<&str>)] = &[
            (spec("https://a.example/x", &["MonitoringHit"]), None),
            (spec("https://a.example/x", &[]), Some("event_types")),
            (
                spec("https://a.example/x", &["MonitoringHit", "Nope"]),
                Some("event_types[1]"),
            ),
            (spec("http://a.example/x", &["MonitoringHit"]), Some("url")),
            (
                WebhookSpec {
                    description: Some("x".repeat(100_000)),
                    ..spec("https://a.example/x", &["InviteExpired"])
                },
                Some("description"),
            ),
            (
                WebhookSpec {
                    description: Some("a\u{0}b".into()),
                    ..spec("https://a.example/x", &["InviteExpired"])
                },
                Some("description"),
            ),
        ];
        for (s, want) in cases {
            let got = s.clone().checked(UrlPolicy::Public);
            match (got, want) {
                (Ok(_), None) => {}
                (Err(e), Some(f)) => assert_eq!(field(e), *f),
                (got, want) => panic!("{s:?}: {got:?}, wanted {want:?}"),
            }
        }
        let twice = spec("https://a.example/x", &["InviteExpired", "InviteExpired"])
            .checked(UrlPolicy::Public)
            .unwrap();
        assert_eq!(twice.event_types, vec!["InviteExpired"]);
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231 test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        let mac = hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex::encode(mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The specification's own example.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(secret_text(&key), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let two = signature_header(&[key.clone(), key], "msg_1", 1, b"{}");
        assert_eq!(two.split(' ').count(), 2);
    }

    #[test]
    fn message_ids_are_stable_per_event_and_endpoint() {
        assert_eq!(message_id("e1", "w1"), message_id("e1", "w1"));
        assert_ne!(message_id("e1", "w1"), message_id("e1", "w2"));
        assert_ne!(message_id("e1", "w1"), message_id("e2", "w1"));
        assert!(message_id("e1", "w1").starts_with("msg_"));
    }

    #[test]
    fn outcomes_decide_the_next_attempt() {
        let t0: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
        let h = |n: i64| t0 + Duration::hours(n);
        let cases: &[(Outcome, u32, DateTime<Utc>, Next)] = &[
            (Outcome::Status(200), 1, t0, Next::Done),
            (Outcome::Status(204), 9, h(50), Next::Done),
            (Outcome::Status(410), 1, t0, Next::Disable),
            (
                Outcome::Status(500),
                1,
                t0,
                Next::Retry(t0 + Duration::seconds(30)),
            ),
            (
                Outcome::NoAnswer,
                2,
                t0,
                Next::Retry(t0 + Duration::seconds(60)),
            ),
            (
                Outcome::Status(429),
                3,
                t0,
                Next::Retry(t0 + Duration::seconds(120)),
            ),
            (Outcome::Status(500), 30, h(60), Next::Retry(h(72))),
            (Outcome::Status(500), 30, h(61), Next::GiveUp),
            (Outcome::Status(301), 1, h(72), Next::GiveUp),
        ];
        for (outcome, attempt, now, want) in cases {
            // jitter 0.5 is the delay itself.
            assert_eq!(
                next(*outcome, *attempt, t0, *now, 0.5),
                *want,
                "{outcome:?} #{attempt} at {now}"
            );
        }
    }

    #[test]
    fn retries_back_off_with_jitter_over_about_three_days() {
        assert_eq!(retry_delay(1, 0.0), Duration::seconds(24));
        assert_eq!(retry_delay(1, 1.0), Duration::seconds(36));
        assert_eq!(retry_delay(12, 0.5), Duration::hours(12));
        assert_eq!(retry_delay(40, 0.5), Duration::hours(12));
        // Failing every time: how many attempts, over how long.
        let t0: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
        let (mut now, mut attempt) = (t0, 1);
        while let Next::Retry(at) = next(Outcome::Status(500), attempt, t0, now, 0.5) {
            now = at;
            attempt += 1;
        }
        assert!((15..=17).contains(&attempt), "{attempt} attempts");
        assert!(now - t0 > Duration::hours(60), "{}", now - t0);
    }

    #[test]
    fn endpoints_are_disabled_after_three_days_of_failures() {
        let t0: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
        assert!(!failing_too_long(None, t0));
        assert!(!failing_too_long(Some(t0), t0 + Duration::hours(71)));
        assert!(failing_too_long(Some(t0), t0 + Duration::hours(72)));
    }
}
