//! Deliveries: one item per (event, endpoint), keyed by its message id, carrying the exact body
//! that is signed, its status, when it is next due, and its attempts (the delivery log). A
//! pending delivery sits in the due index (`gsi1` `WEBHOOKS#DUE`, by due time); every delivery
//! sits in its endpoint's log (`gsi2`, by event time) for `GET /v1/webhooks/{id}/deliveries` and
//! replay. Deliveries expire after [`KEEP_DAYS`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::endpoints;
use crate::Services;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{Condition, Cursor, Index, IndexKey, Item, Query, SortKey, TableError};

/// How long a delivery and its attempts are kept (and can be replayed).
pub const KEEP_DAYS: i64 = 30;
/// Attempts kept in a delivery's log (the oldest are dropped beyond).
pub const MAX_ATTEMPTS_KEPT: usize = 40;
/// Deliveries re-queued by one replay call.
pub const MAX_REPLAY: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for its next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up: retried for three days, or the endpoint answered 410 Gone.
    Failed,
    /// Not sent: the endpoint was disabled (a replay sends it once it is enabled).
    Withheld,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// The endpoint's HTTP status, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Why there was no answer (timeout, connection refused, target refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub latency_ms: u64,
    /// At most 1 KB of the answer's body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_excerpt: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub msg_id: String,
    pub tenant_id: String,
    pub endpoint_id: String,
    pub event_type: String,
    pub event_time: DateTime<Utc>,
    /// The body, exactly as signed and sent.
    pub payload: String,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The first attempt since it was queued (or re-queued by a replay): its retry window's
    /// start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_attempt_at: Option<DateTime<Utc>>,
    /// Attempts since it was queued (the back-off's exponent).
    #[serde(default)]
    pub tries: u32,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
}

impl Delivery {
    /// The stored item at `version`, expiring at `expires`.
    pub fn item(&self, version: u64, expires: DateTime<Utc>) -> Result<Item, TableError> {
        let mut item = Item::from_record(
            keys::webhook_delivery(&self.tenant_id, &self.endpoint_id, &self.msg_id),
            self,
        )?
        .with_version(version)
        .with_expiry(expires.timestamp())
        .with_index(
            Index::Gsi2,
            IndexKey::new(
                keys::webhook_log(&self.tenant_id, &self.endpoint_id),
                format!(
                    "{}#{}",
                    self.event_time.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
                    self.msg_id
                ),
            ),
        );
        if let (Status::Pending, Some(due)) = (self.status, self.next_attempt_at) {
            item = item.with_index(
                Index::Gsi1,
                IndexKey::new(
                    keys::WEBHOOKS_DUE,
                    keys::webhook_due_order(due, &self.tenant_id, &self.endpoint_id, &self.msg_id),
                ),
            );
        }
        Ok(item)
    }

    /// The delivery as the log shows it.
    pub fn view(&self) -> Value {
        json!({
            "id": self.msg_id,
            "event_type": self.event_type,
            "event_time": self.event_time,
            "status": self.status,
            "created_at": self.created_at,
            "next_attempt_at": self.next_attempt_at,
            "attempts": self.attempts,
        })
    }

    pub fn record_attempt(&mut self, attempt: Attempt) {
        self.attempts.push(attempt);
        if self.attempts.len() > MAX_ATTEMPTS_KEPT {
            let extra = self.attempts.len() - MAX_ATTEMPTS_KEPT;
            self.attempts.drain(..extra);
        }
    }
}

/// The stored delivery and its version and expiry.
pub fn from_item(item: &Item) -> Result<(Delivery, u64, i64)> {
    Ok((
        item.record()?,
        item.version,
        item.expires_at.unwrap_or_default(),
    ))
}

/// One page of an endpoint's deliveries, newest event first.
pub async fn list(
    svc: &Services,
    tenant_id: &str,
    endpoint_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Delivery>, Option<Cursor>)> {
    endpoints::get(svc.table.as_ref(), tenant_id, endpoint_id).await?;
    let page = svc
        .table
        .query(
            Query::index(Index::Gsi2, keys::webhook_log(tenant_id, endpoint_id))
                .descending()
                .limit(limit)
                .after(cursor),
        )
        .await?;
    let items = page
        .items
        .iter()
        .map(|i| from_item(i).map(|(d, _, _)| d))
        .collect::<Result<_>>()?;
    Ok((items, page.next))
}

/// What a replay sends again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replay {
    /// Every delivery of events from this time on (at most [`MAX_REPLAY`] a call).
    Since(DateTime<Utc>),
    /// One message, by its `webhook-id`.
    Message(String),
}

/// Queues deliveries again, due now, with their message ids (receivers drop the ones they
/// already have) and a fresh retry window; returns how many. The endpoint must be enabled.
pub async fn replay(
    svc: &Services,
    tenant_id: &str,
    endpoint_id: &str,
    what: Replay,
) -> Result<usize> {
    let endpoint = endpoints::get(svc.table.as_ref(), tenant_id, endpoint_id).await?;
    if !endpoint.spec.enabled {
        return Err(Error::Conflict(
            "the endpoint is disabled; enable it (PATCH enabled: true) before replaying".into(),
        ));
    }
    let items: Vec<Item> = match what {
        Replay::Message(msg_id) => {
            crate::domain::input::id("message_id", &msg_id)?;
            match svc
                .table
                .get(&keys::webhook_delivery(tenant_id, endpoint_id, &msg_id))
                .await?
            {
                Some(item) => vec![item],
                None => return Err(Error::NotFound("delivery")),
            }
        }
        Replay::Since(since) => {
            let mut all = Vec::new();
            let mut query = Query::index(Index::Gsi2, keys::webhook_log(tenant_id, endpoint_id))
                .sk(SortKey::From(
                    since.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                ))
                .limit(200);
            loop {
                let page = svc.table.query(query.clone()).await?;
                all.extend(page.items);
                match page.next {
                    Some(next) if all.len() < MAX_REPLAY => query = query.after(Some(next)),
                    _ => break,
                }
            }
            all.truncate(MAX_REPLAY);
            all
        }
    };
    let now = svc.clock.now();
    let mut queued = 0;
    for item in items {
        // A delivery read through the index is read again by its key, for its version.
        let Some(item) = svc.table.get(&item.key).await? else {
            continue;
        };
        let (mut d, version, expires) = from_item(&item)?;
        d.status = Status::Pending;
        d.next_attempt_at = Some(now);
        d.first_attempt_at = None;
        d.tries = 0;
        let expires = DateTime::from_timestamp(expires, 0).unwrap_or(now);
        match svc
            .table
            .put(d.item(version + 1, expires)?, Condition::VersionIs(version))
            .await
        {
            // Being sent right now: it will be sent anyway.
            Ok(()) | Err(TableError::ConditionFailed(_)) => queued += 1,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(queued)
}
