//! What a tenant monitors: the kinds of fact the bureau's feed reports, the tenant's monitoring
//! settings (product, kinds, monthly cap, score threshold, prices per kind), what a hit says
//! changed ([`HitChange`]) and how often a monitor's hits are due. Values and rules only; the
//! monitoring feature (`crate::monitoring`) works with them, and tenants' settings carry them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{Decimal2, Error, Result, text, url_template};

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
    /// A subject's credit score moved (its band changed, or its value by at least the tenant's
    /// threshold).
    ScoreChange,
    /// A company filed (or restated) financial statements.
    FinancialStatements,
}

impl FactKind {
    pub const ALL: [FactKind; 11] = [
        FactKind::Address,
        FactKind::Default,
        FactKind::Judgement,
        FactKind::Insolvency,
        FactKind::Enquiry,
        FactKind::Directorship,
        FactKind::Shareholding,
        FactKind::NameChange,
        FactKind::StatusChange,
        FactKind::ScoreChange,
        FactKind::FinancialStatements,
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
            FactKind::ScoreChange => "score_change",
            FactKind::FinancialStatements => "financial_statements",
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
            FactKind::ScoreChange => "Credit score changed",
            FactKind::FinancialStatements => "Financial statements filed",
        }
    }
}

/// A credit score as the feed gives it and a baseline keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreValue {
    pub value: i32,
    pub band: String,
}

/// A company's key figures for one period, in cents of `currency`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub period_end: String,
    pub turnover_cents: i64,
    pub profit_loss_cents: i64,
    pub net_assets_cents: i64,
    pub currency: String,
}

/// A subject's open defaults and judgements: how many, and their total in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adverse {
    pub count: u32,
    pub total_cents: i64,
    pub currency: String,
}

/// What a hit changed from and to, where that means something: typed per kind, serialised
/// with a `type` tag beside the hit's `details` (the fact as the feed gave it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HitChange {
    /// A new address: the subject's previous current address (the latest-reported address
    /// already known; none when it had no known address) and the new one.
    Address { old: Option<String>, new: String },
    /// A new default or judgement: the subject's open defaults and judgements (in the new
    /// one's currency) before and after it.
    Adverse { old: Adverse, new: Adverse },
    /// A company's name or status.
    Value { old: String, new: String },
    /// A credit score: old and new value and band, and the move in points (new − old).
    Score {
        old: ScoreValue,
        new: ScoreValue,
        points: i32,
    },
    /// Financial statements: the period filed (`new`) against the period before it (`old`,
    /// when known); for a restated period, `old` is the figures first filed for it (when the
    /// baseline kept them: it keeps the latest period's).
    Statements {
        restated: bool,
        old: Option<Figures>,
        new: Figures,
    },
}

/// The default move of a credit score, in points, that is a hit when the band stays.
pub const DEFAULT_SCORE_THRESHOLD: u32 = 50;

/// Whether a score change is a hit for a tenant whose threshold is `threshold` points: the
/// band changed (case and spacing aside), or the value moved by at least the threshold
/// either way.
pub fn score_is_hit(old: &ScoreValue, new: &ScoreValue, threshold: u32) -> bool {
    let band = |b: &str| b.split_whitespace().collect::<String>().to_lowercase();
    band(&old.band) != band(&new.band) || (new.value - old.value).unsigned_abs() >= threshold
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
    /// A credit score move of at least this many points is a hit even when its band stays
    /// ([`DEFAULT_SCORE_THRESHOLD`] when not set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_threshold: Option<u32>,
    /// A price for a kind of hit other than the tenant's `price_per_hit`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub price_per_kind: BTreeMap<FactKind, Decimal2>,
    /// Where a client in the digest links to, such as the loan system's client page: an https
    /// URL that may carry the tags of [`CLIENT_LINK_TAGS`], filled URL-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_link: Option<String>,
    /// Whether the daily run applies the bureau's new current address and a company's new
    /// name and status to the client record (never a field a sync source owns).
    #[serde(default)]
    pub apply_bureau_changes: bool,
}

/// The tags a client link may carry: the client's id here, the bureau's subject id, and the
/// client's first external reference (by system name).
pub const CLIENT_LINK_TAGS: [&str; 3] = ["client_id", "subject", "external_ref"];
pub const MAX_CLIENT_LINK: usize = 500;

impl MonitoringSettings {
    /// The tenant's score threshold, or the default.
    pub fn score_threshold(&self) -> u32 {
        self.score_threshold.unwrap_or(DEFAULT_SCORE_THRESHOLD)
    }

    /// The digest's link for a client, its tags filled; none without a client link.
    pub fn client_link(&self, value: impl Fn(&str) -> String) -> Option<String> {
        url_template::fill(self.client_link.as_deref()?, value)
    }

    pub fn checked(mut self) -> Result<Self> {
        if let Some(url) = &self.client_link {
            url_template::check(
                "monitoring.client_link",
                url,
                &CLIENT_LINK_TAGS,
                MAX_CLIENT_LINK,
            )?;
        }
        if let Some(reason) = &self.default_reason {
            self.default_reason = Some(text("monitoring.default_reason", reason, 200)?);
        }
        if self
            .score_threshold
            .is_some_and(|t| !(1..=1000).contains(&t))
        {
            return Err(Error::invalid(
                "monitoring.score_threshold",
                "must be a number of points from 1 to 1000",
            ));
        }
        for (kind, price) in &self.price_per_kind {
            if price.0 < 0 {
                return Err(Error::invalid(
                    format!("monitoring.price_per_kind.{}", kind.as_str()),
                    "must be 0 or more",
                ));
            }
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
    fn score_is_hit_table() {
        let s = |value, band: &str| ScoreValue {
            value,
            band: band.into(),
        };
        type Row<'a> = (&'a str, ScoreValue, ScoreValue, u32, bool);
        #[rustfmt::skip]
        let table: &[Row<'_>] = &[
            // (reason, old, new, threshold, hit?)
            ("the band changed, a small move", s(700, "B"), s(690, "C"), 50, true),
            ("a drop of exactly the threshold", s(700, "B"), s(650, "B"), 50, true),
            ("a rise past the threshold", s(600, "C"), s(661, "C"), 50, true),
            ("a move under the threshold", s(700, "B"), s(651, "B"), 50, false),
            ("a rise under the threshold", s(700, "B"), s(749, "B"), 50, false),
            ("unchanged", s(700, "B"), s(700, "B"), 50, false),
            ("the band's case is not a change", s(700, "b "), s(700, "B"), 50, false),
            ("a tenant threshold of 10", s(700, "B"), s(690, "B"), 10, true),
            ("a tenant threshold of 200", s(700, "B"), s(560, "B"), 200, false),
        ];
        for (reason, old, new, threshold, hit) in table {
            assert_eq!(score_is_hit(old, new, *threshold), *hit, "{reason}");
        }
    }

    #[test]
    fn score_threshold_and_prices_are_checked() {
        let ok = MonitoringSettings {
            score_threshold: Some(25),
            price_per_kind: BTreeMap::from([(FactKind::ScoreChange, Decimal2(150))]),
            ..Default::default()
        };
        assert_eq!(ok.clone().checked().unwrap().score_threshold(), 25);
        assert_eq!(MonitoringSettings::default().score_threshold(), 50);
        let zero = MonitoringSettings {
            score_threshold: Some(0),
            ..Default::default()
        };
        assert!(zero.checked().is_err());
        let negative = MonitoringSettings {
            price_per_kind: BTreeMap::from([(FactKind::Default, Decimal2(-1))]),
            ..Default::default()
        };
        let err = negative.checked().unwrap_err().to_string();
        assert!(err.contains("price_per_kind.default"), "{err}");
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
