//! What a tenant monitors: the kinds of fact the bureau's feed reports, the tenant's monitoring
//! settings (product, kinds, monthly cap) and how often a monitor's hits are due. Values and
//! rules only; the monitoring feature (`crate::monitoring`) works with them, and tenants' settings
//! carry them.

use std::collections::BTreeSet;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{Error, Result, text};

/// What kind of fact a hit is about; the tenant's product type chooses among them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    Address,
    Default,
    Judgement,
    Insolvency,
    Enquiry,
    Directorship,
    Shareholding,
    NameChange,
    StatusChange,
}

impl FactKind {
    pub const ALL: [FactKind; 9] = [
        FactKind::Address,
        FactKind::Default,
        FactKind::Judgement,
        FactKind::Insolvency,
        FactKind::Enquiry,
        FactKind::Directorship,
        FactKind::Shareholding,
        FactKind::NameChange,
        FactKind::StatusChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FactKind::Address => "address",
            FactKind::Default => "default",
            FactKind::Judgement => "judgement",
            FactKind::Insolvency => "insolvency",
            FactKind::Enquiry => "enquiry",
            FactKind::Directorship => "directorship",
            FactKind::Shareholding => "shareholding",
            FactKind::NameChange => "name_change",
            FactKind::StatusChange => "status_change",
        }
    }

    /// How a person reads it in a digest.
    pub fn label(self) -> &'static str {
        match self {
            FactKind::Address => "New address",
            FactKind::Default => "New default",
            FactKind::Judgement => "New judgement",
            FactKind::Insolvency => "Insolvency",
            FactKind::Enquiry => "Credit enquiry",
            FactKind::Directorship => "New directorship",
            FactKind::Shareholding => "New shareholding",
            FactKind::NameChange => "Company name changed",
            FactKind::StatusChange => "Company status changed",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Product {
    /// Every kind of fact.
    #[default]
    AllActivity,
    /// Only the kinds listed in `kinds`.
    Selected,
}

/// A tenant's monitoring settings (part of the tenant's settings).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoringSettings {
    #[serde(default)]
    pub enabled: bool,
    /// Used when a monitor is started without a reason of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_reason: Option<String>,
    #[serde(default)]
    pub product: Product,
    /// The kinds a `selected` product reports.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub kinds: BTreeSet<FactKind>,
    /// At most this many billed hits a calendar month; hits past it are withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_cap: Option<u32>,
}

impl MonitoringSettings {
    pub fn checked(mut self) -> Result<Self> {
        if let Some(reason) = &self.default_reason {
            self.default_reason = Some(text("monitoring.default_reason", reason, 200)?);
        }
        if self.product == Product::Selected && self.kinds.is_empty() {
            return Err(Error::invalid(
                "monitoring.kinds",
                "a selected product needs at least one kind of event",
            ));
        }
        Ok(self)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    #[default]
    Daily,
    Weekly,
    Monthly,
}

impl Frequency {
    /// The run day on which hits found on `day` reach the tenant: the same day for daily
    /// monitors, the next Monday (or that day, when it is one) for weekly, the first of the next
    /// month (or that day, when it is the first) for monthly. A hit of a day that is not due is
    /// held until then, so a weekly digest covers everything new since the last one.
    pub fn due_on(self, day: NaiveDate) -> NaiveDate {
        match self {
            Frequency::Daily => day,
            Frequency::Weekly => {
                let ahead = (7 - day.weekday().num_days_from_monday()) % 7;
                day + Days::new(u64::from(ahead))
            }
            Frequency::Monthly if day.day() == 1 => day,
            Frequency::Monthly => {
                let first = day.with_day(1).expect("the first exists");
                first + Months::new(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn hits_are_due_on_the_frequencys_next_run_day() {
        // 2026-11-23 is a Monday.
        assert_eq!(Frequency::Daily.due_on(d("2026-11-25")), d("2026-11-25"));
        assert_eq!(Frequency::Weekly.due_on(d("2026-11-23")), d("2026-11-23"));
        assert_eq!(Frequency::Weekly.due_on(d("2026-11-24")), d("2026-11-30"));
        assert_eq!(Frequency::Weekly.due_on(d("2026-11-29")), d("2026-11-30"));
        assert_eq!(Frequency::Monthly.due_on(d("2026-12-01")), d("2026-12-01"));
        assert_eq!(Frequency::Monthly.due_on(d("2026-12-31")), d("2027-01-01"));
    }

    #[test]
    fn a_selected_product_needs_kinds_and_reports_only_them() {
        let s = MonitoringSettings {
            enabled: true,
            product: Product::Selected,
            ..Default::default()
        };
        assert!(s.clone().checked().is_err());
        let s = MonitoringSettings {
            kinds: BTreeSet::from([FactKind::Default]),
            ..s
        };
        let reports = |s: &MonitoringSettings, kind| {
            super::super::kind_filter::kind_filter(s, kind)
                == super::super::kind_filter::KindFilter::Hit
        };
        assert!(reports(&s, FactKind::Default));
        assert!(!reports(&s, FactKind::Enquiry));
        let off = MonitoringSettings::default();
        assert!(!reports(&off, FactKind::Default));
    }
}
