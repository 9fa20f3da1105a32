//! Publishing domain events for partner systems (and for our own fan-out).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

/// Every event clientwatch publishes carries this source.
pub const SOURCE: &str = "clientwatch";

#[derive(Clone, Debug, PartialEq)]
pub struct DomainEvent {
    /// What happened, e.g. `MonitoringHit` or `InviteExpired`.
    pub detail_type: String,
    /// A JSON object; always names the tenant (`tenant_id`) for tenant events.
    pub detail: Value,
    pub time: DateTime<Utc>,
    /// The run day the event belongs to, when it comes from a daily run (the digest of day D
    /// publishes its hits for D, whenever it runs). Not sent to EventBridge; the local outbox
    /// files events by it.
    pub day: Option<NaiveDate>,
}

impl DomainEvent {
    pub fn new(detail_type: impl Into<String>, detail: Value, time: DateTime<Utc>) -> Self {
        Self {
            detail_type: detail_type.into(),
            detail,
            time,
            day: None,
        }
    }

    /// The same event, filed under run day `day`.
    pub fn on_day(mut self, day: NaiveDate) -> Self {
        self.day = Some(day);
        self
    }
}

/// Some events were not accepted, after retries of the ones that could be retried.
#[derive(Debug, thiserror::Error)]
#[error("{} of {total} event(s) were not published: {}", failed.len(), summary(failed))]
pub struct PublishError {
    pub total: usize,
    /// (position in the published slice, error code, message) of every event not accepted.
    pub failed: Vec<(usize, String, String)>,
}

fn summary(failed: &[(usize, String, String)]) -> String {
    failed
        .iter()
        .map(|(i, code, _)| format!("#{i} {code}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait::async_trait]
pub trait Events: Send + Sync {
    /// Publishes every event or reports exactly which were not accepted.
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), PublishError>;
}
