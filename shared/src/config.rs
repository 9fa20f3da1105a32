//! Configuration, read from the environment once at start-up. Everything missing or malformed
//! is reported together, so a misconfigured function fails its cold start with one clear
//! message instead of failing its first request.

use std::fmt;

use crate::domain::EmailAddress;

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
}

#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError(Vec<String>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration is incomplete: {}", self.0.join("; "))
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let mut required = |name: &str| match lookup(name).filter(|v| !v.trim().is_empty()) {
            Some(v) => v.trim().to_owned(),
            None => {
                problems.push(format!("{name} is not set"));
                String::new()
            }
        };
        let table_name = required("TABLE_NAME");
        let event_bus_name = required("EVENT_BUS_NAME");
        let mail_from_raw = required("MAIL_FROM");
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
        match mail_from {
            Some(mail_from) if problems.is_empty() => Ok(Self {
                table_name,
                event_bus_name,
                mail_from,
                default_phone_region,
            }),
            _ => Err(ConfigError(problems)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn a_complete_environment_gives_a_config() {
        let config = from(&[
            ("TABLE_NAME", "clientwatch"),
            ("EVENT_BUS_NAME", "default"),
            ("MAIL_FROM", "alerts@example.com"),
        ])
        .unwrap();
        assert_eq!(config.table_name, "clientwatch");
        assert_eq!(config.default_phone_region, "NZ");
    }

    #[test]
    fn every_missing_or_bad_variable_is_named_at_once() {
        let err = from(&[("MAIL_FROM", "not-an-address")]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("TABLE_NAME is not set"), "{message}");
        assert!(message.contains("EVENT_BUS_NAME is not set"), "{message}");
        assert!(
            message.contains("MAIL_FROM is not a valid e-mail"),
            "{message}"
        );
    }
}
