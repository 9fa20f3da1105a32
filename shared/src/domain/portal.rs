//! A tenant's settings for the account portal, where its clients' communication contacts see
//! what they owe and answer it: how long a sign-in link works, whether codes go only by SMS,
//! the reasons a dispute may give, how far ahead a promise to pay may be, and where "Pay now"
//! leads.

use serde::{Deserialize, Serialize};

use super::{Error, Result, text, url_template};

pub const MAX_LINK_DAYS: u32 = 90;
pub const MAX_PROMISE_DAYS: u32 = 180;
pub const MAX_REASONS: usize = 20;
pub const MAX_REASON: usize = 100;
pub const MAX_PAYMENT_URL: usize = 500;
/// The merge tags a payment URL may carry; each is filled URL-encoded.
pub const PAYMENT_TAGS: [&str; 5] = [
    "invoice_number",
    "invoice_id",
    "client_id",
    "balance",
    "currency",
];

/// A client's contact acting in the account portal: whose invoices they may answer (the tenant
/// and client) and who they are (recorded on a dispute or a promise, and in the log). The
/// portal takes it from the contact's session; the communications feature acts as it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRef {
    pub tenant_id: String,
    pub client_id: String,
    pub contact_id: String,
    /// The contact's name as it was when they acted.
    pub contact_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalSettings {
    /// Days a portal link works after it was issued (1 to 90).
    #[serde(default = "default_link_days")]
    pub link_days: u32,
    /// Sign-in codes go only by SMS: a contact without a mobile number cannot sign in. When
    /// false, a contact without a mobile gets the code by e-mail (the weaker choice: the link
    /// and the code then arrive in the same mailbox).
    #[serde(default)]
    pub require_sms: bool,
    /// The reasons a contact chooses from when disputing an invoice, in the order shown.
    #[serde(default = "default_dispute_reasons")]
    pub dispute_reasons: Vec<String>,
    /// How many days from today a promise to pay may reach (1 to 180).
    #[serde(default = "default_promise_days")]
    pub promise_max_days: u32,
    /// Where "Pay now" leads for an invoice: an https URL that may carry the merge tags of
    /// [`PAYMENT_TAGS`], such as `https://pay.example.com/{{invoice_number}}`. No link when
    /// absent (clientwatch takes no payments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_url: Option<String>,
}

fn default_link_days() -> u32 {
    30
}

fn default_promise_days() -> u32 {
    30
}

pub fn default_dispute_reasons() -> Vec<String> {
    [
        "Already paid",
        "Amount is wrong",
        "Goods or service not received",
        "Other",
    ]
    .map(String::from)
    .to_vec()
}

impl Default for PortalSettings {
    fn default() -> Self {
        Self {
            link_days: default_link_days(),
            require_sms: false,
            dispute_reasons: default_dispute_reasons(),
            promise_max_days: default_promise_days(),
            payment_url: None,
        }
    }
}

impl PortalSettings {
    pub fn checked(mut self) -> Result<Self> {
        if !(1..=MAX_LINK_DAYS).contains(&self.link_days) {
            return Err(Error::invalid(
                "portal.link_days",
                format!("must be 1 to {MAX_LINK_DAYS}"),
            ));
        }
        if !(1..=MAX_PROMISE_DAYS).contains(&self.promise_max_days) {
            return Err(Error::invalid(
                "portal.promise_max_days",
                format!("must be 1 to {MAX_PROMISE_DAYS}"),
            ));
        }
        if self.dispute_reasons.is_empty() || self.dispute_reasons.len() > MAX_REASONS {
            return Err(Error::invalid(
                "portal.dispute_reasons",
                format!("must list 1 to {MAX_REASONS} reasons"),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, reason) in self.dispute_reasons.iter_mut().enumerate() {
            let field = format!("portal.dispute_reasons[{i}]");
            *reason = text(&field, reason, MAX_REASON)?;
            if !seen.insert(reason.to_lowercase()) {
                return Err(Error::invalid(field, "is listed twice"));
            }
        }
        if let Some(url) = &self.payment_url {
            check_payment_url(url)?;
        }
        Ok(self)
    }

    /// The "Pay now" address for an invoice, its tags filled URL-encoded; none without a
    /// payment URL.
    pub fn payment_link(&self, value: impl Fn(&str) -> String) -> Option<String> {
        url_template::fill(self.payment_url.as_deref()?, value)
    }
}

/// An https URL whose `{{...}}` are all known payment tags, and that is still a URL when they
/// are filled.
fn check_payment_url(url: &str) -> Result<()> {
    url_template::check("portal.payment_url", url, &PAYMENT_TAGS, MAX_PAYMENT_URL)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_url(url: &str) -> Result<PortalSettings> {
        PortalSettings {
            payment_url: Some(url.into()),
            ..Default::default()
        }
        .checked()
    }

    #[test]
    fn the_defaults_are_valid_and_thirty_days() {
        let settings = PortalSettings::default().checked().unwrap();
        assert_eq!(settings.link_days, 30);
        assert_eq!(settings.promise_max_days, 30);
        assert_eq!(settings.dispute_reasons.len(), 4);
    }

    #[test]
    fn a_payment_url_is_https_with_known_tags_only() {
        assert!(with_url("https://pay.example.com/{{invoice_number}}?c={{ currency }}").is_ok());
        for (url, says) in [
            ("http://pay.example.com/{{invoice_number}}", "https"),
            (
                "https://pay.example.com/{{password}}",
                "not a tag it may carry",
            ),
            ("https://pay.example.com/{{invoice_number", "not closed"),
            ("https://pay.example.com/x}}", "no `{{`"),
            ("{{invoice_number}}", "not a URL"),
        ] {
            let err = with_url(url).unwrap_err().to_string();
            assert!(err.contains(says), "{url}: {err}");
        }
    }

    #[test]
    fn a_payment_link_fills_its_tags_url_encoded() {
        let settings =
            with_url("https://pay.example.com/{{invoice_number}}?amt={{balance}}").unwrap();
        let link = settings
            .payment_link(|tag| match tag {
                "invoice_number" => "INV 7/&1".into(),
                "balance" => "12.50".into(),
                _ => String::new(),
            })
            .unwrap();
        assert_eq!(link, "https://pay.example.com/INV%207%2F%261?amt=12.50");
        assert_eq!(
            PortalSettings::default().payment_link(|_| String::new()),
            None
        );
    }

    #[test]
    fn reasons_are_one_to_twenty_distinct_lines() {
        let mut settings = PortalSettings {
            dispute_reasons: vec!["Paid".into(), "paid".into()],
            ..Default::default()
        };
        let err = settings.clone().checked().unwrap_err().to_string();
        assert!(err.contains("listed twice"), "{err}");
        settings.dispute_reasons = vec![];
        assert!(settings.clone().checked().is_err());
        settings.dispute_reasons = vec!["a\nb".into()];
        assert!(settings.checked().is_err());
    }

    #[test]
    fn link_and_promise_days_are_bounded() {
        for (link_days, promise_max_days) in [(0, 30), (91, 30), (30, 0), (30, 181)] {
            let settings = PortalSettings {
                link_days,
                promise_max_days,
                ..Default::default()
            };
            assert!(
                settings.checked().is_err(),
                "{link_days} {promise_max_days}"
            );
        }
    }
}
