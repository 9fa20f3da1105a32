//! The providers' send rates: a budget every sender draws on before handing a message over.

use crate::ports::TableError;

/// A provider with a rate of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    Email,
    Sms,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Email => "email",
            Provider::Sms => "sms",
        }
    }
}

/// Messages a second each provider may be given (none: not paced).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rates {
    pub email: Option<u32>,
    pub sms: Option<u32>,
}

impl Rates {
    pub fn of(&self, provider: Provider) -> Option<u32> {
        match provider {
            Provider::Email => self.email,
            Provider::Sms => self.sms,
        }
    }

    /// The e-mail rate no higher than SES's account quota (`SendQuota.MaxSendRate`, messages
    /// a second; a fraction rounds down, but never below one a second). Without a quota the
    /// configured rate stands; without a configured rate the quota is the rate.
    pub fn within_ses_quota(self, max_send_rate: Option<f64>) -> Self {
        let quota = max_send_rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| (r.floor() as u32).max(1));
        let email = match (self.email, quota) {
            (Some(configured), Some(quota)) => Some(configured.min(quota)),
            (configured, quota) => configured.or(quota),
        };
        Self { email, ..self }
    }
}

/// The second a send was granted in (Unix seconds), or `None` when its provider is not paced.
pub type Granted = Option<i64>;

#[async_trait::async_trait]
pub trait SendBudget: Send + Sync {
    /// The rates this budget keeps.
    fn rates(&self) -> Rates;
    /// Waits until one more send to `provider` fits in its rate, and takes it.
    async fn take(&self, provider: Provider) -> Result<Granted, TableError>;
    /// Puts back a send taken for a message that was not sent after all (another run had
    /// claimed it): the process's next message in the same second may use it.
    fn give_back(&self, provider: Provider, granted: Granted);
    /// Forgets the sends held but not yet made: after the provider throttled, the next send
    /// asks the shared budget afresh.
    fn drop_held(&self, provider: Provider);
}

/// No provider paced: nothing to ask, nothing to wait for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unpaced;

#[async_trait::async_trait]
impl SendBudget for Unpaced {
    fn rates(&self) -> Rates {
        Rates::default()
    }

    async fn take(&self, _: Provider) -> Result<Granted, TableError> {
        Ok(None)
    }

    fn give_back(&self, _: Provider, _: Granted) {}

    fn drop_held(&self, _: Provider) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lower_of_the_configured_rate_and_the_ses_quota_is_the_rate() {
        let configured = |email| Rates {
            email,
            sms: Some(5),
        };
        type Case = (&'static str, Option<u32>, Option<f64>, Option<u32>);
        #[rustfmt::skip]
        let table: &[Case] = &[
            // (reason, configured, SES quota, e-mail rate)
            ("the quota is lower", Some(200), Some(14.0), Some(14)),
            ("the configuration is lower", Some(10), Some(14.0), Some(10)),
            ("no quota read: the configuration", Some(50), None, Some(50)),
            ("no configuration: the quota", None, Some(14.0), Some(14)),
            ("neither: not paced", None, None, None),
            ("a fraction rounds down", None, Some(14.9), Some(14)),
            ("never below one a second", None, Some(0.5), Some(1)),
            ("a quota that is no number is ignored", Some(20), Some(f64::NAN), Some(20)),
            ("a quota of -1 (no limit) is ignored", Some(20), Some(-1.0), Some(20)),
        ];
        for (reason, email, quota, expected) in table {
            let rates = configured(*email).within_ses_quota(*quota);
            assert_eq!(rates.email, *expected, "{reason}");
            assert_eq!(rates.sms, Some(5), "{reason}: SMS untouched");
        }
    }
}
