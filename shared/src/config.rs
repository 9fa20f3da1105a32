//! Configuration, read from the environment once at start-up. Everything missing or malformed
//! is reported together, so a misconfigured function fails its cold start with one clear
//! message instead of failing its first request.
//!
//! [`Config`] is what every function needs; [`MonitoringConfig`] is read only by the functions
//! of the daily run, so the API does not start needing the feed buckets.

use std::fmt;

use crate::domain::EmailAddress;
use crate::ports::Rates;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `TABLE_NAME`: the DynamoDB table.
    pub table_name: String,
    /// `EVENT_BUS_NAME`: the EventBridge bus domain events go to.
    pub event_bus_name: String,
    /// `MAIL_FROM`: the verified SES sender of every e-mail.
    pub mail_from: EmailAddress,
    /// `DEFAULT_PHONE_REGION`: how national phone numbers are read (default `NZ`).
    pub default_phone_region: String,
    /// `PORTAL_URL`: where the Customer Centre is served (`https://...`); invite links start
    /// with it.
    pub portal_url: String,
    /// `SES_CONFIGURATION_SET` (optional): the SES configuration set every e-mail is sent
    /// through, whose event destination reports bounces, complaints and deliveries.
    pub ses_configuration_set: Option<String>,
    /// `EMAIL_SEND_RATE`, `SMS_SEND_RATE` (optional): messages a second the communications
    /// may hand to SES and to SNS, all workers together (`adapters::pacing`). Unset: not paced
    /// (on Lambda the e-mail rate is then the SES account's maximum send rate).
    pub send_rates: Rates,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError(Vec<String>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration is incomplete: {}", self.0.join("; "))
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// Every problem found, in the order the variables were read.
    pub fn problems(&self) -> &[String] {
        &self.0
    }
}

/// Both configurations, or one error naming the problems of both.
pub fn both<A, B>(
    a: Result<A, ConfigError>,
    b: Result<B, ConfigError>,
) -> Result<(A, B), ConfigError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(ConfigError(
            a.err()
                .into_iter()
                .chain(b.err())
                .flat_map(|e| e.0)
                .collect(),
        )),
    }
}

/// Reads a required variable: its trimmed value, or a problem noted and an empty string.
fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
    name: &str,
) -> String {
    match lookup(name).filter(|v| !v.trim().is_empty()) {
        Some(v) => v.trim().to_owned(),
        None => {
            problems.push(format!("{name} is not set"));
            String::new()
        }
    }
}

/// `EMAIL_SEND_RATE` and `SMS_SEND_RATE` alone, for the one-process mode (which reads no
/// other [`Config`]): unset, not paced.
pub fn send_rates_from_env() -> Result<Rates, ConfigError> {
    let lookup = |name: &str| std::env::var(name).ok();
    let mut problems = Vec::new();
    let rates = Rates {
        email: rate(&lookup, &mut problems, "EMAIL_SEND_RATE"),
        sms: rate(&lookup, &mut problems, "SMS_SEND_RATE"),
    };
    if problems.is_empty() {
        Ok(rates)
    } else {
        Err(ConfigError(problems))
    }
}

/// Reads an optional send rate: a whole number of messages a second, 1 to 100,000.
fn rate(
    lookup: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
    name: &str,
) -> Option<u32> {
    let raw = lookup(name).filter(|v| !v.trim().is_empty())?;
    match raw.trim().parse::<u32>() {
        Ok(n) if (1..=100_000).contains(&n) => Some(n),
        _ => {
            problems.push(format!(
                "{name} {raw:?} is not a send rate: a whole number of messages a second, 1 to 100000"
            ));
            None
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let table_name = required(&lookup, &mut problems, "TABLE_NAME");
        let event_bus_name = required(&lookup, &mut problems, "EVENT_BUS_NAME");
        let mail_from_raw = required(&lookup, &mut problems, "MAIL_FROM");
        let mail_from = match EmailAddress::parse(&mail_from_raw) {
            Ok(address) => Some(address),
            Err(e) if !mail_from_raw.is_empty() => {
                problems.push(format!("MAIL_FROM is {e}"));
                None
            }
            Err(_) => None,
        };
        let default_phone_region = lookup("DEFAULT_PHONE_REGION").unwrap_or_else(|| "NZ".into());
        if default_phone_region
            .parse::<phonenumber::country::Id>()
            .is_err()
        {
            problems.push(format!(
                "DEFAULT_PHONE_REGION {default_phone_region:?} is not a two-letter country code"
            ));
        }
        let portal_url = required(&lookup, &mut problems, "PORTAL_URL");
        let local = ["http://localhost", "http://127.0.0.1"]
            .iter()
            .any(|l| portal_url.starts_with(l));
        if !portal_url.is_empty() && !portal_url.starts_with("https://") && !local {
            problems.push(format!(
                "PORTAL_URL {portal_url:?} must start with https:// (customers' links carry a secret)"
            ));
        }
        let send_rates = Rates {
            email: rate(&lookup, &mut problems, "EMAIL_SEND_RATE"),
            sms: rate(&lookup, &mut problems, "SMS_SEND_RATE"),
        };
        match mail_from {
            Some(mail_from) if problems.is_empty() => Ok(Self {
                send_rates,
                table_name,
                event_bus_name,
                mail_from,
                default_phone_region,
                portal_url: portal_url.trim_end_matches('/').to_owned(),
                ses_configuration_set: lookup("SES_CONFIGURATION_SET")
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty()),
            }),
            _ => Err(ConfigError(problems)),
        }
    }
}

/// The daily run's settings: where the bureau's feed arrives and where baselines are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitoringConfig {
    /// `FEED_BUCKET`: the S3 bucket the bureau's feed parts arrive in (`feeds/YYYY-MM-DD/`).
    pub feed_bucket: String,
    /// `STATE_BUCKET`: the S3 bucket holding the baselines between runs.
    pub state_bucket: String,
    /// `FEED_TIME_ZONE`: the IANA zone whose calendar names the feed's days (default
    /// `Pacific/Auckland`); a run fired at an instant monitors that instant's date there.
    pub feed_time_zone: chrono_tz::Tz,
    /// `DIGEST_QUEUE_URL` (optional): the SQS queue the digest step hands each tenant's digest
    /// to; the same function, fed by it, sends each. Unset: the step sends every digest itself.
    pub digest_queue_url: Option<String>,
}

/// The webhooks function's settings: the queue its schedule fills and its workers drain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhooksConfig {
    /// `WEBHOOK_QUEUE_URL`: the SQS queue of due deliveries.
    pub queue_url: String,
}

impl WebhooksConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let queue_url = required(&lookup, &mut problems, "WEBHOOK_QUEUE_URL");
        if problems.is_empty() {
            Ok(Self { queue_url })
        } else {
            Err(ConfigError(problems))
        }
    }
}

pub const DEFAULT_FEED_TIME_ZONE: chrono_tz::Tz = chrono_tz::Pacific::Auckland;

impl MonitoringConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let feed_bucket = required(&lookup, &mut problems, "FEED_BUCKET");
        let state_bucket = required(&lookup, &mut problems, "STATE_BUCKET");
        let feed_time_zone = match lookup("FEED_TIME_ZONE").filter(|v| !v.trim().is_empty()) {
            None => DEFAULT_FEED_TIME_ZONE,
            Some(zone) => zone.trim().parse().unwrap_or_else(|_| {
                problems.push(format!(
                    "FEED_TIME_ZONE {zone:?} is not an IANA time zone such as \"Pacific/Auckland\""
                ));
                DEFAULT_FEED_TIME_ZONE
            }),
        };
        if problems.is_empty() {
            Ok(Self {
                feed_bucket,
                state_bucket,
                feed_time_zone,
                digest_queue_url: lookup("DIGEST_QUEUE_URL")
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty()),
            })
        } else {
            Err(ConfigError(problems))
        }
    }
}

/// Where asynchronous client imports keep their files (the API and the import function).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportConfig {
    /// `UPLOADS_BUCKET`: the S3 bucket partners upload import files to (through pre-signed
    /// URLs, under `imports/`) and where each import's results are written.
    pub uploads_bucket: String,
}

impl ImportConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let uploads_bucket = required(&lookup, &mut problems, "UPLOADS_BUCKET");
        if problems.is_empty() {
            Ok(Self { uploads_bucket })
        } else {
            Err(ConfigError(problems))
        }
    }
}

/// The communications run's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommsConfig {
    /// `COMMS_TIME_ZONE`: the IANA zone whose calendar names the run's day (default
    /// `Pacific/Auckland`); a run fired at an instant does that instant's date there.
    pub time_zone: chrono_tz::Tz,
    /// `COMMS_QUEUE_URL` (optional): the SQS queue the scheduled run hands its shards to; the
    /// same function, fed by it, works through each. Unset: the run works every shard itself.
    pub work_queue_url: Option<String>,
}

impl CommsConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let work_queue_url = lookup("COMMS_QUEUE_URL")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        match lookup("COMMS_TIME_ZONE").filter(|v| !v.trim().is_empty()) {
            None => Ok(Self {
                time_zone: DEFAULT_FEED_TIME_ZONE,
                work_queue_url,
            }),
            Some(zone) => zone
                .trim()
                .parse()
                .map(|time_zone| Self {
                    time_zone,
                    work_queue_url,
                })
                .map_err(|_| {
                    ConfigError(vec![format!(
                        "COMMS_TIME_ZONE {zone:?} is not an IANA time zone such as \"Pacific/Auckland\""
                    )])
                }),
        }
    }
}

/// The partner API's settings.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// `CURSOR_KEY`: the secret list cursors are sealed with (at least 32 characters). On
    /// Lambda it comes from a generated Secrets Manager secret; locally from `.local/cursor.key`.
    /// Changing it makes every cursor given out before unusable (a 422), nothing else.
    pub cursor_key: String,
    /// `STATE_BUCKET`: where the daily runs keep their baselines; bureau profiles' scores are
    /// read from there.
    pub state_bucket: String,
}

/// Shortest `CURSOR_KEY` accepted: 32 characters.
pub const MIN_CURSOR_KEY: usize = 32;

impl fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiConfig")
            .field("cursor_key", &"<redacted>")
            .field("state_bucket", &self.state_bucket)
            .finish()
    }
}

impl ApiConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let cursor_key = required(&lookup, &mut problems, "CURSOR_KEY");
        if !cursor_key.is_empty() && cursor_key.chars().count() < MIN_CURSOR_KEY {
            problems.push(format!(
                "CURSOR_KEY must be a secret of at least {MIN_CURSOR_KEY} characters, not {}",
                cursor_key.chars().count()
            ));
        }
        let state_bucket = required(&lookup, &mut problems, "STATE_BUCKET");
        if problems.is_empty() {
            Ok(Self {
                cursor_key,
                state_bucket,
            })
        } else {
            Err(ConfigError(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(lookup(vars))
    }

    fn monitoring(vars: &[(&str, &str)]) -> Result<MonitoringConfig, ConfigError> {
        MonitoringConfig::from_lookup(lookup(vars))
    }

    #[test]
    fn a_complete_environment_gives_a_config() {
        let config = from(&[
            ("TABLE_NAME", "clientwatch"),
            ("EVENT_BUS_NAME", "default"),
            ("MAIL_FROM", "alerts@example.com"),
            ("PORTAL_URL", "https://centre.example.com/"),
        ])
        .unwrap();
        assert_eq!(config.portal_url, "https://centre.example.com");
        assert_eq!(config.table_name, "clientwatch");
        assert_eq!(config.default_phone_region, "NZ");
    }

    #[test]
    fn every_missing_or_bad_variable_is_named_at_once() {
        let err = from(&[("MAIL_FROM", "not-an-address")]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("TABLE_NAME is not set"), "{message}");
        assert!(message.contains("EVENT_BUS_NAME is not set"), "{message}");
        assert!(message.contains("PORTAL_URL is not set"), "{message}");
        assert!(
            message.contains("MAIL_FROM is not a valid e-mail"),
            "{message}"
        );
    }

    #[test]
    fn send_rates_are_whole_messages_a_second_or_unset() {
        let with = |email: &str, sms: &str| {
            from(&[
                ("TABLE_NAME", "t"),
                ("EVENT_BUS_NAME", "b"),
                ("MAIL_FROM", "a@example.com"),
                ("PORTAL_URL", "https://centre.example.com"),
                ("EMAIL_SEND_RATE", email),
                ("SMS_SEND_RATE", sms),
            ])
        };
        type Rates = Option<(Option<u32>, Option<u32>)>;
        #[rustfmt::skip]
        let table: &[(&str, &str, &str, Rates)] = &[
            // (reason, EMAIL_SEND_RATE, SMS_SEND_RATE, the rates, or refused)
            ("unset: not paced", "", "", Some((None, None))),
            ("both set", "14", " 20 ", Some((Some(14), Some(20)))),
            ("zero would send nothing", "0", "", None),
            ("a fraction", "1.5", "", None),
            ("not a number", "", "fast", None),
            ("negative", "-3", "", None),
            ("more than any account's", "1000000", "", None),
        ];
        for (reason, email, sms, expected) in table {
            match (with(email, sms), expected) {
                (Ok(c), Some((e, s))) => {
                    assert_eq!((c.send_rates.email, c.send_rates.sms), (*e, *s), "{reason}")
                }
                (Err(err), None) => assert!(
                    err.to_string().contains("SEND_RATE")
                        && err.to_string().contains("1 to 100000"),
                    "{reason}: {err}"
                ),
                (got, _) => panic!("{reason}: {got:?}"),
            }
        }
    }

    #[test]
    fn a_portal_url_without_https_is_refused_unless_local() {
        let with = |url: &str| {
            from(&[
                ("TABLE_NAME", "t"),
                ("EVENT_BUS_NAME", "b"),
                ("MAIL_FROM", "a@example.com"),
                ("PORTAL_URL", url),
            ])
        };
        let err = with("http://centre.example.com").unwrap_err().to_string();
        assert!(
            err.contains("PORTAL_URL") && err.contains("https://"),
            "{err}"
        );
        assert!(with("http://localhost:3000").is_ok());
        assert!(with("https://centre.example.com").is_ok());
    }

    #[test]
    fn the_api_config_does_not_need_the_monitoring_variables() {
        let config = from(&[
            ("TABLE_NAME", "clientwatch"),
            ("EVENT_BUS_NAME", "default"),
            ("MAIL_FROM", "alerts@example.com"),
            ("PORTAL_URL", "https://centre.example.com"),
        ]);
        assert!(config.is_ok());
    }

    #[test]
    fn monitoring_config_defaults_the_feed_time_zone_to_auckland() {
        let config = monitoring(&[
            ("FEED_BUCKET", " clientwatch-feed "),
            ("STATE_BUCKET", "clientwatch-state"),
        ])
        .unwrap();
        assert_eq!(config.feed_bucket, "clientwatch-feed");
        assert_eq!(config.state_bucket, "clientwatch-state");
        assert_eq!(config.feed_time_zone, chrono_tz::Pacific::Auckland);
    }

    #[test]
    fn monitoring_config_reads_an_iana_feed_time_zone() {
        let config = monitoring(&[
            ("FEED_BUCKET", "f"),
            ("STATE_BUCKET", "s"),
            ("FEED_TIME_ZONE", "Australia/Sydney"),
        ])
        .unwrap();
        assert_eq!(config.feed_time_zone, chrono_tz::Australia::Sydney);
    }

    #[test]
    fn every_missing_or_bad_monitoring_variable_is_named_at_once() {
        let err =
            monitoring(&[("STATE_BUCKET", "  "), ("FEED_TIME_ZONE", "Mars/Olympus")]).unwrap_err();
        assert_eq!(
            err.problems(),
            [
                "FEED_BUCKET is not set",
                "STATE_BUCKET is not set",
                "FEED_TIME_ZONE \"Mars/Olympus\" is not an IANA time zone such as \"Pacific/Auckland\"",
            ]
        );
    }

    #[test]
    fn comms_config_reads_its_zone_or_defaults_to_auckland() {
        let config = CommsConfig::from_lookup(lookup(&[])).unwrap();
        assert_eq!(config.time_zone, chrono_tz::Pacific::Auckland);
        let config =
            CommsConfig::from_lookup(lookup(&[("COMMS_TIME_ZONE", "Europe/London")])).unwrap();
        assert_eq!(config.time_zone, chrono_tz::Europe::London);
        let err = CommsConfig::from_lookup(lookup(&[("COMMS_TIME_ZONE", "Nowhere")])).unwrap_err();
        assert_eq!(
            err.problems(),
            ["COMMS_TIME_ZONE \"Nowhere\" is not an IANA time zone such as \"Pacific/Auckland\""]
        );
    }

    #[test]
    fn both_configs_report_their_problems_together() {
        let vars = [("TABLE_NAME", "clientwatch"), ("FEED_BUCKET", "f")];
        let err = both(
            Config::from_lookup(lookup(&vars)),
            MonitoringConfig::from_lookup(lookup(&vars)),
        )
        .unwrap_err();
        assert_eq!(
            err.problems(),
            [
                "EVENT_BUS_NAME is not set",
                "MAIL_FROM is not set",
                "PORTAL_URL is not set",
                "STATE_BUCKET is not set",
            ]
        );
    }

    #[test]
    fn the_api_needs_a_cursor_key_of_32_characters_and_never_prints_it() {
        let missing = ApiConfig::from_lookup(lookup(&[])).unwrap_err();
        assert!(missing.to_string().contains("CURSOR_KEY is not set"));
        assert!(missing.to_string().contains("STATE_BUCKET is not set"));
        let short = ApiConfig::from_lookup(lookup(&[
            ("CURSOR_KEY", "too-short"),
            ("STATE_BUCKET", "state"),
        ]))
        .unwrap_err();
        assert!(
            short.to_string().contains("at least 32 characters, not 9"),
            "{short}"
        );
        let secret = "k".repeat(40);
        let config = ApiConfig::from_lookup(lookup(&[
            ("CURSOR_KEY", &secret),
            ("STATE_BUCKET", "clientwatch-state"),
        ]))
        .unwrap();
        assert_eq!(config.cursor_key, secret);
        assert_eq!(config.state_bucket, "clientwatch-state");
        assert!(!format!("{config:?}").contains(&secret));
    }
}
