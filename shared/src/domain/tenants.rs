//! Tenants' settings and their API keys as values: scopes, the settings a tenant's admin
//! changes, quiet hours, keys as listed and as issued, and the caller a key establishes. Stored
//! and authenticated by [`crate::records::tenants`].

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::monitoring::MonitoringSettings;
use super::portal::PortalSettings;
use super::resource::Resource;
use super::{Decimal2, EmailAddress, Error, Result, text};

pub const KEY_PREFIX: &str = "cw_";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

/// A tenant's settings, as its admin sees and changes them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    pub name: String,
    /// IANA time zone of the tenant's day (digests, schedules).
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// Who receives the daily monitoring digest.
    #[serde(default)]
    pub alert_recipients: Vec<EmailAddress>,
    #[serde(default = "default_price")]
    pub price_per_hit: Decimal2,
    #[serde(default = "default_gst")]
    pub gst_rate_percent: Decimal2,
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(default)]
    pub monitoring: MonitoringSettings,
    /// When the daily communications run sends nothing to this tenant's clients, in its time
    /// zone; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    /// The account portal: sign-in links, codes, disputes, promises to pay, payment links.
    #[serde(default)]
    pub portal: PortalSettings,
}

/// A daily span of local time, `"HH:MM"` to `"HH:MM"`, that may pass midnight (`20:00` to
/// `08:00`): the start is inside it, the end is not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

impl QuietHours {
    fn time(field: &str, value: &str) -> Result<NaiveTime> {
        let well_formed = value.len() == 5 && value.as_bytes()[2] == b':';
        well_formed
            .then(|| NaiveTime::parse_from_str(value, "%H:%M").ok())
            .flatten()
            .ok_or_else(|| {
                Error::invalid(
                    field,
                    "must be a time of day written HH:MM, such as \"20:00\"",
                )
            })
    }

    pub fn checked(self) -> Result<Self> {
        let start = Self::time("quiet_hours.start", &self.start)?;
        let end = Self::time("quiet_hours.end", &self.end)?;
        if start == end {
            return Err(Error::invalid(
                "quiet_hours.end",
                "must differ from the start (remove quiet_hours for none)",
            ));
        }
        Ok(self)
    }

    /// Whether the local time `at` is inside the quiet hours.
    pub fn contains(&self, at: NaiveTime) -> bool {
        let (Ok(start), Ok(end)) = (
            Self::time("start", &self.start),
            Self::time("end", &self.end),
        ) else {
            return false;
        };
        if start < end {
            start <= at && at < end
        } else {
            at >= start || at < end
        }
    }
}

fn default_time_zone() -> String {
    "Pacific/Auckland".into()
}

/// A tenant's time zone by its IANA name; one that cannot be read (settings are checked when
/// saved, so only a damaged record) counts as the default, Pacific/Auckland.
pub fn zone(time_zone: &str) -> chrono_tz::Tz {
    time_zone.parse().unwrap_or(chrono_tz::Pacific::Auckland)
}

fn default_price() -> Decimal2 {
    Decimal2(300)
}

fn default_gst() -> Decimal2 {
    Decimal2(1500)
}

fn default_currency() -> String {
    "NZD".into()
}

impl TenantSettings {
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            time_zone: default_time_zone(),
            alert_recipients: vec![],
            price_per_hit: default_price(),
            gst_rate_percent: default_gst(),
            currency: default_currency(),
            monitoring: Default::default(),
            quiet_hours: None,
            portal: PortalSettings::default(),
        }
    }

    pub fn checked(mut self) -> Result<Self> {
        self.name = text("name", &self.name, 200)?;
        self.monitoring = self.monitoring.checked()?;
        self.quiet_hours = self.quiet_hours.map(QuietHours::checked).transpose()?;
        self.portal = self.portal.checked()?;
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(Error::invalid(
                "time_zone",
                format!(
                    "{:?} is not an IANA time zone such as \"Pacific/Auckland\"",
                    self.time_zone
                ),
            ));
        }
        if self.alert_recipients.len() > 20 {
            return Err(Error::invalid("alert_recipients", "at most 20 addresses"));
        }
        if self.gst_rate_percent > Decimal2(10000) {
            return Err(Error::invalid("gst_rate_percent", "must be at most 100"));
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Error::invalid(
                "currency",
                "must be an ISO 4217 code such as \"NZD\"",
            ));
        }
        Ok(self)
    }
}

pub type Tenant = Resource<TenantSettings>;

/// A key as listed: never the key itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub scopes: BTreeSet<Scope>,
    /// The first characters of the key, so that a person can tell their keys apart.
    pub hint: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A newly issued key: the only moment the plain key exists outside the caller's hands.
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: String,
}

impl fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedKey")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Who is calling: established from an API key, carried by every tenant request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    pub key_id: String,
    pub scopes: BTreeSet<Scope>,
}

impl Caller {
    /// Admin implies write, write implies read.
    pub fn may(&self, scope: Scope) -> bool {
        self.scopes.iter().any(|s| *s >= scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(start: &str, end: &str) -> QuietHours {
        QuietHours {
            start: start.into(),
            end: end.into(),
        }
    }

    fn at(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    #[test]
    fn quiet_hours_may_pass_midnight_and_end_where_the_day_starts() {
        let night = hours("20:00", "08:00");
        assert!(night.contains(at("20:00")));
        assert!(night.contains(at("23:59")));
        assert!(night.contains(at("07:59")));
        assert!(!night.contains(at("08:00")));
        assert!(!night.contains(at("12:00")));
        let lunch = hours("12:00", "13:30");
        assert!(lunch.contains(at("12:45")));
        assert!(!lunch.contains(at("13:30")));
        assert!(!lunch.contains(at("09:00")));
    }

    #[test]
    fn quiet_hours_are_checked_naming_the_field() {
        for (start, end, field) in [
            ("8pm", "08:00", "quiet_hours.start"),
            ("20:00", "24:00", "quiet_hours.end"),
            ("20:00", "8:00", "quiet_hours.end"),
            ("20:00", "20:00", "quiet_hours.end"),
        ] {
            match hours(start, end).checked() {
                Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field, "{start}-{end}"),
                other => panic!("{start}-{end}: {other:?}"),
            }
        }
        assert!(hours("22:30", "07:00").checked().is_ok());
    }
}
