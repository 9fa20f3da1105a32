//! The fan-out: every event a tenant's endpoint subscribes to becomes a delivery, written before
//! the event goes on to the bus. It wraps the `Events` port, so every publisher (the outbox,
//! the digest's pages, the invite sweep, an import's end) fans out in this one place and keeps
//! its own guarantee: an event whose deliveries could not be written is reported as not
//! published, and its publisher publishes it again. A delivery's key is its stable message id
//! (from the event's id and the endpoint's), written only if absent, so an event published twice
//! is delivered once.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::deliveries::{Delivery, Status};
use super::endpoints;
use crate::domain::webhooks::{EVENT_TYPES, message_id};
use crate::keys;
use crate::ports::{Clock, DomainEvent, Events, PublishError, SortKey, Table, TableError};

/// Endpoints read per tenant event (a tenant has few).
const ENDPOINTS: usize = 100;

/// `Events` that fans each tenant event out to the tenant's endpoints, then publishes it on.
pub struct Fanout {
    pub table: Arc<dyn Table>,
    pub clock: Arc<dyn Clock>,
    pub inner: Arc<dyn Events>,
}

impl Fanout {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>, inner: Arc<dyn Events>) -> Self {
        Self {
            table,
            clock,
            inner,
        }
    }
}

/// The id an event keeps on every publish: its `event_id` (outbox events), else its `id` (a
/// hit's stable id), else a hash of its type and detail (which are the same when it is
/// published again).
pub fn event_key(event: &DomainEvent) -> String {
    for field in ["event_id", "id"] {
        if let Some(id) = event.detail.get(field).and_then(Value::as_str) {
            return format!("{}:{id}", event.detail_type);
        }
    }
    let digest = Sha256::digest(format!("{}\n{}", event.detail_type, event.detail));
    format!("{}:{}", event.detail_type, hex::encode(&digest[..16]))
}

/// The body every endpoint receives: the Standard Webhooks shape.
pub fn payload(event: &DomainEvent) -> String {
    json!({
        "type": event.detail_type,
        "timestamp": event.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": event.detail,
    })
    .to_string()
}

/// The tenant an event belongs to, if it is one an endpoint may subscribe to.
fn tenant_of(event: &DomainEvent) -> Option<&str> {
    if !EVENT_TYPES.contains(&event.detail_type.as_str()) {
        return None;
    }
    let tenant_id = event.detail.get("tenant_id").and_then(Value::as_str)?;
    crate::domain::input::id_problem(tenant_id)
        .is_none()
        .then_some(tenant_id)
}

/// A tenant's endpoints (those unreadable are skipped, saying so).
async fn endpoints_of(
    table: &dyn Table,
    tenant_id: &str,
) -> Result<Vec<endpoints::Endpoint>, TableError> {
    let page = table
        .query(
            crate::ports::Query::partition(keys::tenant_pk(tenant_id))
                .sk(SortKey::BeginsWith(keys::WEBHOOKS.into()))
                .limit(ENDPOINTS),
        )
        .await?;
    Ok(page
        .items
        .iter()
        .filter_map(|item| match crate::records::resource::from_item(item) {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::warn!(error = %e, "a webhook endpoint could not be read; skipped");
                None
            }
        })
        .collect())
}

/// Writes the deliveries of one event; `Ok` when every subscribed endpoint has its delivery.
pub async fn fan_out(
    table: &dyn Table,
    now: DateTime<Utc>,
    event: &DomainEvent,
) -> Result<usize, TableError> {
    let Some(tenant_id) = tenant_of(event) else {
        return Ok(0);
    };
    let endpoints = endpoints_of(table, tenant_id).await?;
    write_deliveries(table, now, event, tenant_id, &endpoints).await
}

async fn write_deliveries(
    table: &dyn Table,
    now: DateTime<Utc>,
    event: &DomainEvent,
    tenant_id: &str,
    endpoints: &[endpoints::Endpoint],
) -> Result<usize, TableError> {
    let key = event_key(event);
    let mut written = 0;
    for endpoint in endpoints {
        if !endpoint.spec.wants(&event.detail_type) {
            continue;
        }
        let msg_id = message_id(&key, &endpoint.id);
        let delivery = Delivery {
            msg_id,
            tenant_id: tenant_id.to_owned(),
            endpoint_id: endpoint.id.clone(),
            event_type: event.detail_type.clone(),
            event_time: event.time,
            payload: payload(event),
            // A disabled endpoint's events are kept (withheld), so a replay after it is enabled
            // again sends them: a partner that was down loses nothing.
            status: if endpoint.spec.enabled {
                Status::Pending
            } else {
                Status::Withheld
            },
            created_at: now,
            next_attempt_at: endpoint.spec.enabled.then_some(now),
            first_attempt_at: None,
            tries: 0,
            attempts: Vec::new(),
        };
        match table
            .put(
                delivery.item(1, now + Duration::days(super::deliveries::KEEP_DAYS))?,
                crate::ports::Condition::Absent,
            )
            .await
        {
            Ok(()) => written += 1,
            Err(TableError::ConditionFailed(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

#[async_trait::async_trait]
impl Events for Fanout {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), PublishError> {
        let now = self.clock.now();
        let mut failed = Vec::new();
        let mut onward = Vec::new();
        let mut positions = Vec::new();
        // A digest's page holds hundreds of one tenant's hits: its endpoints are read once.
        let mut known: HashMap<String, Vec<endpoints::Endpoint>> = HashMap::new();
        for (i, event) in events.iter().enumerate() {
            let written = match tenant_of(event) {
                None => Ok(0),
                Some(tenant_id) => {
                    let found = match known.get(tenant_id) {
                        Some(found) => Ok(found),
                        None => endpoints_of(self.table.as_ref(), tenant_id)
                            .await
                            .map(|found| &*known.entry(tenant_id.to_owned()).or_insert(found)),
                    };
                    match found {
                        Ok(found) => {
                            write_deliveries(self.table.as_ref(), now, event, tenant_id, found)
                                .await
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            match written {
                Ok(_) => {
                    onward.push(event.clone());
                    positions.push(i);
                }
                Err(e) => {
                    tracing::warn!(error = %e, detail_type = %event.detail_type, "webhook deliveries not written; the event is reported unpublished");
                    failed.push((i, "WebhookFanoutFailed".to_owned(), e.to_string()));
                }
            }
        }
        if onward.is_empty() {
        } else if let Err(e) = self.inner.publish(&onward).await {
            failed.extend(
                e.failed
                    .into_iter()
                    .map(|(j, code, message)| (positions[j], code, message)),
            );
        }
        if failed.is_empty() {
            return Ok(());
        }
        failed.sort();
        Err(PublishError {
            total: events.len(),
            failed,
        })
    }
}

/// `svc` with its events fanned out to webhook endpoints first: how every function that
/// publishes builds its services.
pub fn with_fanout(mut svc: crate::Services) -> crate::Services {
    svc.events = Arc::new(Fanout::new(
        svc.table.clone(),
        svc.clock.clone(),
        svc.events.clone(),
    ));
    svc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(detail: Value) -> DomainEvent {
        DomainEvent::new(
            "InviteExpired",
            detail,
            "2026-12-01T00:00:00Z".parse().unwrap(),
        )
    }

    #[test]
    fn an_event_keeps_its_key_on_every_publish() {
        let cases = [
            (json!({"event_id": "e1", "id": "h1"}), "InviteExpired:e1"),
            (json!({"id": "h1", "tenant_id": "t"}), "InviteExpired:h1"),
        ];
        for (detail, want) in cases {
            assert_eq!(event_key(&event(detail)), want);
        }
        // Without an id, the same detail gives the same key, another detail another.
        let plain = json!({"tenant_id": "t", "invite_id": "i1"});
        assert_eq!(event_key(&event(plain.clone())), event_key(&event(plain)));
        assert_ne!(
            event_key(&event(json!({"tenant_id": "t", "invite_id": "i1"}))),
            event_key(&event(json!({"tenant_id": "t", "invite_id": "i2"})))
        );
    }

    #[test]
    fn the_payload_is_type_timestamp_and_data() {
        let body: Value =
            serde_json::from_str(&payload(&event(json!({"tenant_id": "t"})))).unwrap();
        assert_eq!(
            body,
            json!({"type": "InviteExpired", "timestamp": "2026-12-01T00:00:00.000Z", "data": {"tenant_id": "t"}})
        );
    }

    #[test]
    fn only_tenant_events_of_known_types_fan_out() {
        let mut internal = event(json!({"tenant_id": "t"}));
        internal.detail_type = "FeedPartReady".into();
        assert_eq!(tenant_of(&internal), None);
        assert_eq!(tenant_of(&event(json!({"tenant_id": "t"}))), Some("t"));
        assert_eq!(tenant_of(&event(json!({"tenant_id": "a#b"}))), None);
        assert_eq!(tenant_of(&event(json!({"client_id": "c"}))), None);
    }
}
