//! Events that are never lost: the outbox. An event that tells of a change is written into the
//! change's own transaction, as a row of the `OUTBOX` partition, so a change never stands
//! without its event. After the commit the writer publishes the event and removes the row.
//! A process that dies between the commit and the publish, or an event bus that refuses the
//! event, leaves the row behind; [`flush`] (called by every communications run, and after a
//! portal action) publishes what is left.
//!
//! Delivery is at least once: every event carries a stable `event_id` in its `detail`, the same
//! on every attempt, so receivers drop a repeat. Repeats are rare: a row is *held* by one
//! publisher at a time (a lease of [`LEASE_SECONDS`], taken under the row's version), so two
//! runs at once, or a run and the writer, never publish the same row side by side. The writer
//! holds its row from the commit; a row is published again only when its holder died after
//! publishing and before removing it, and its lease ran out.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Services;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{Condition, DomainEvent, Item, Key, Query, TableError, TxOp};

/// How long a publisher holds a row: far longer than one publish call (with its retries), so
/// only a publisher that died loses its hold.
pub const LEASE_SECONDS: i64 = 300;
/// Rows read at a time by [`flush`].
const PAGE: usize = 100;
/// Events published in one call (EventBridge's `PutEvents` takes 10).
const BATCH: usize = 10;

/// The stored row: the event as it will be published, and who holds it until when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Row {
    event_id: String,
    detail_type: String,
    detail: Value,
    time: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    day: Option<NaiveDate>,
    /// Unix seconds until which a publisher holds the row; others leave it alone till then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lease_until: Option<i64>,
}

impl Row {
    fn event(&self) -> DomainEvent {
        DomainEvent {
            detail_type: self.detail_type.clone(),
            detail: self.detail.clone(),
            time: self.time,
            day: self.day,
        }
    }
}

/// An event staged for a change: its row goes into the change's transaction ([`Staged::op`]),
/// then [`publish`] sends it.
#[derive(Clone, Debug)]
pub struct Staged {
    key: Key,
    row: Row,
}

impl Staged {
    /// `event` with a new `event_id` in its detail (a JSON object), held by this writer.
    pub fn new(svc: &Services, mut event: DomainEvent) -> Self {
        let event_id = svc.ids.id();
        if let Value::Object(detail) = &mut event.detail {
            detail.insert("event_id".into(), Value::from(event_id.clone()));
        }
        let now = svc.clock.now();
        let order = format!("{}#{event_id}", now.format("%Y-%m-%dT%H:%M:%S%.6fZ"));
        Self {
            key: keys::outbox(&order),
            row: Row {
                event_id,
                detail_type: event.detail_type,
                detail: event.detail,
                time: event.time,
                day: event.day,
                lease_until: Some((now + Duration::seconds(LEASE_SECONDS)).timestamp()),
            },
        }
    }

    pub fn event_id(&self) -> &str {
        &self.row.event_id
    }

    /// The event as it is published.
    pub fn event(&self) -> DomainEvent {
        self.row.event()
    }

    /// The row's write, for the change's transaction (its key is new: it cannot fail).
    pub fn op(&self) -> Result<TxOp> {
        let item = Item::from_record(self.key.clone(), &self.row)?.with_version(1);
        Ok(TxOp::Put(item, Condition::Absent))
    }
}

/// Publishes a staged event after its change was committed, then removes its row. When the
/// bus refuses it, the row is let go (the next [`flush`] publishes it) and the failure is
/// returned for the caller to log: the change stands either way.
pub async fn publish(svc: &Services, staged: &Staged) -> Result<()> {
    let held = Held {
        key: staged.key.clone(),
        row: staged.row.clone(),
        version: 1,
    };
    match svc.events.publish(&[held.row.event()]).await {
        Ok(()) => {
            held.remove(svc).await;
            Ok(())
        }
        Err(e) => {
            held.release(svc).await;
            Err(Error::Unavailable("event bus", Box::new(e)))
        }
    }
}

/// [`publish`] for many staged events at once: [`BATCH`] to a call, their rows removed in
/// one batch once the bus took them (on the embedded store durable with the next durable
/// write: a row a crash left behind is only published again, and receivers drop the repeat).
/// A batch the bus refused is let go for the next [`flush`], and the failures are counted.
pub async fn publish_all(svc: &Services, staged: &[Staged]) -> Flushed {
    let mut done = Flushed::default();
    for batch in staged.chunks(BATCH) {
        let events: Vec<DomainEvent> = batch.iter().map(Staged::event).collect();
        match svc.events.publish(&events).await {
            Ok(()) => {
                done.published += batch.len() as u64;
                let keys = batch.iter().map(|s| s.key.clone()).collect();
                if let Err(e) = svc.table.batch_delete(keys).await {
                    tracing::warn!(error = %e, events = batch.len(), "published events stay in the outbox; they will be published again");
                }
            }
            Err(e) => {
                done.failed += batch.len() as u64;
                tracing::warn!(error = %e, events = batch.len(), "events wait in the outbox");
                for s in batch {
                    let held = Held {
                        key: s.key.clone(),
                        row: s.row.clone(),
                        version: 1,
                    };
                    held.release(svc).await;
                }
            }
        }
    }
    done
}

/// What [`flush`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Events left behind and published now.
    pub published: u64,
    /// Events the bus refused again: they wait for the next flush.
    pub failed: u64,
}

/// Publishes the events left in the outbox (by a crash between a change and its publish, or an
/// outage of the bus), oldest first, up to `max` of them; rows another publisher holds are left
/// to it.
pub async fn flush(svc: &Services, max: usize) -> Result<Flushed> {
    let mut flushed = Flushed::default();
    let mut cursor = None;
    let mut looked = 0;
    loop {
        let page = svc
            .table
            .query(Query::partition(keys::OUTBOX).limit(PAGE).after(cursor))
            .await?;
        let now = svc.clock.now();
        let mut held = Vec::new();
        for item in &page.items {
            looked += 1;
            let row: Row = item.record()?;
            if row.lease_until.is_some_and(|until| until > now.timestamp()) {
                continue;
            }
            if let Some(h) = Held::take(svc, item, row).await? {
                held.push(h);
            }
        }
        for batch in held.chunks(BATCH) {
            let events: Vec<DomainEvent> = batch.iter().map(|h| h.row.event()).collect();
            let refused: Vec<usize> = match svc.events.publish(&events).await {
                Ok(()) => Vec::new(),
                Err(e) => {
                    tracing::warn!(error = %e, "events left in the outbox were refused again");
                    e.failed.iter().map(|(i, _, _)| *i).collect()
                }
            };
            for (i, h) in batch.iter().enumerate() {
                if refused.contains(&i) {
                    flushed.failed += 1;
                    h.release(svc).await;
                } else {
                    flushed.published += 1;
                    h.remove(svc).await;
                }
            }
        }
        match page.next {
            Some(next) if looked < max => cursor = Some(next),
            _ => return Ok(flushed),
        }
    }
}

/// A row this process holds (its lease taken under `version`).
struct Held {
    key: Key,
    row: Row,
    version: u64,
}

impl Held {
    /// Takes the hold of a row no one holds; `None` when another publisher took it first.
    async fn take(svc: &Services, item: &Item, mut row: Row) -> Result<Option<Held>> {
        let until = svc.clock.now() + Duration::seconds(LEASE_SECONDS);
        row.lease_until = Some(until.timestamp());
        let version = item.version + 1;
        let next = Item::from_record(item.key.clone(), &row)?.with_version(version);
        match svc
            .table
            .put(next, Condition::VersionIs(item.version))
            .await
        {
            Ok(()) => Ok(Some(Held {
                key: item.key.clone(),
                row,
                version,
            })),
            Err(TableError::ConditionFailed(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the published row. A failure only means a repeat later (the receivers drop it
    /// by its `event_id`), so it is logged, not returned.
    async fn remove(&self, svc: &Services) {
        let removed = svc
            .table
            .delete(&self.key, Condition::VersionIs(self.version))
            .await;
        if let Err(e) = removed {
            tracing::warn!(error = %e, event_id = %self.row.event_id, "a published event stays in the outbox; it will be published again");
        }
    }

    /// Lets the row go at once, so the next flush need not wait for the lease. A failure is
    /// logged: the lease runs out anyway.
    async fn release(&self, svc: &Services) {
        let mut row = self.row.clone();
        row.lease_until = None;
        let released = match Item::from_record(self.key.clone(), &row) {
            Ok(item) => {
                svc.table
                    .put(
                        item.with_version(self.version + 1),
                        Condition::VersionIs(self.version),
                    )
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = released {
            tracing::warn!(error = %e, event_id = %self.row.event_id, "an unpublished event stays held until its lease ends");
        }
    }
}
