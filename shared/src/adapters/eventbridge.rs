//! The `Events` port over EventBridge `PutEvents`: ten entries a call (the service's limit),
//! `FailedEntryCount` checked on every answer, and entries that failed for a passing reason
//! (throttling, an internal failure) sent again with back-off. Entries the service refused for
//! good are reported, by position, without being retried.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::retry::{Backoff, drain};
use crate::ports::events::SOURCE;
use crate::ports::{DomainEvent, Events, PublishError};

const BATCH: usize = 10;

/// An entry's failure: error code and message.
type Failure = (String, String);

/// One `PutEvents` call: the outcome of each entry, in order (`None` when accepted).
#[async_trait::async_trait]
pub(crate) trait EntrySink: Sync {
    async fn put(&self, batch: &[&DomainEvent]) -> Vec<Option<Failure>>;
}

fn retryable(code: &str) -> bool {
    [
        "Throttl",
        "InternalFailure",
        "ServiceUnavailable",
        "RequestFailed",
    ]
    .iter()
    .any(|c| code.contains(c))
}

/// Publishes in batches of ten, retrying what may succeed later.
pub(crate) async fn publish_batched(
    sink: &dyn EntrySink,
    backoff: Backoff,
    events: &[DomainEvent],
) -> Result<(), PublishError> {
    let mut failed = Vec::new();
    let all: Vec<usize> = (0..events.len()).collect();
    for chunk in all.chunks(BATCH) {
        // Pending entries carry their position and their last failure.
        let pending: Vec<(usize, Option<Failure>)> = chunk.iter().map(|&i| (i, None)).collect();
        let (refused, left) = drain(backoff, pending, |pending| async move {
            let batch: Vec<&DomainEvent> = pending.iter().map(|(i, _)| &events[*i]).collect();
            let outcomes = sink.put(&batch).await;
            let (mut refused, mut again) = (Vec::new(), Vec::new());
            for ((i, _), outcome) in pending.into_iter().zip(outcomes) {
                match outcome {
                    None => {}
                    Some((code, message)) if retryable(&code) => {
                        again.push((i, Some((code, message))))
                    }
                    Some((code, message)) => refused.push((i, code, message)),
                }
            }
            Ok::<_, std::convert::Infallible>((refused, again))
        })
        .await
        .unwrap_or_else(|never| match never {});
        failed.extend(refused);
        failed.extend(left.into_iter().map(|(i, last)| {
            let (code, message) = last.unwrap_or_default();
            (i, code, message)
        }));
    }
    if failed.is_empty() {
        return Ok(());
    }
    failed.sort();
    tracing::warn!(
        failed = failed.len(),
        total = events.len(),
        "events not published"
    );
    Err(PublishError {
        total: events.len(),
        failed,
    })
}

pub struct EventBridgeEvents {
    client: Client,
    bus: String,
    backoff: Backoff,
}

impl EventBridgeEvents {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
            backoff: Backoff::default(),
        }
    }
}

#[async_trait::async_trait]
impl EntrySink for EventBridgeEvents {
    async fn put(&self, batch: &[&DomainEvent]) -> Vec<Option<Failure>> {
        let entries = batch
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(SOURCE)
                    .detail_type(&e.detail_type)
                    .detail(e.detail.to_string())
                    .time(DateTime::from_millis(e.time.timestamp_millis()))
                    .build()
            })
            .collect();
        match self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) => {
                let results = out.entries.unwrap_or_default();
                (0..batch.len())
                    .map(|i| match results.get(i) {
                        Some(r) if r.error_code.is_none() => None,
                        Some(r) => Some((
                            r.error_code.clone().unwrap_or_default(),
                            r.error_message.clone().unwrap_or_default(),
                        )),
                        None => Some(("RequestFailed".into(), "no result for entry".into())),
                    })
                    .collect()
            }
            Err(e) => {
                let message = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
                vec![Some(("RequestFailed".into(), message)); batch.len()]
            }
        }
    }
}

#[async_trait::async_trait]
impl Events for EventBridgeEvents {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), PublishError> {
        publish_batched(self, self.backoff, events).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    /// A service that throttles chosen events on their first try and refuses others for good.
    struct FlakyService {
        throttle_once: Mutex<Vec<String>>,
        refuse: Vec<String>,
        calls: Mutex<Vec<Vec<String>>>,
    }

    #[async_trait::async_trait]
    impl EntrySink for FlakyService {
        async fn put(&self, batch: &[&DomainEvent]) -> Vec<Option<Failure>> {
            let names: Vec<String> = batch.iter().map(|e| e.detail_type.clone()).collect();
            self.calls.lock().unwrap().push(names.clone());
            let mut throttle = self.throttle_once.lock().unwrap();
            names
                .iter()
                .map(|n| {
                    if self.refuse.contains(n) {
                        Some(("MalformedDetail".into(), "bad".into()))
                    } else if let Some(pos) = throttle.iter().position(|t| t == n) {
                        throttle.remove(pos);
                        Some(("ThrottlingException".into(), "slow down".into()))
                    } else {
                        None
                    }
                })
                .collect()
        }
    }

    fn events(n: usize) -> Vec<DomainEvent> {
        (0..n)
            .map(|i| DomainEvent::new(format!("e{i}"), serde_json::json!({}), chrono::Utc::now()))
            .collect()
    }

    fn quick() -> Backoff {
        Backoff {
            attempts: 4,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
        }
    }

    #[tokio::test]
    async fn throttled_entries_are_sent_again_and_only_they() {
        let service = FlakyService {
            throttle_once: Mutex::new(vec!["e3".into(), "e11".into()]),
            refuse: vec![],
            calls: Mutex::new(vec![]),
        };
        publish_batched(&service, quick(), &events(12))
            .await
            .unwrap();
        let calls = service.calls.lock().unwrap();
        assert_eq!(calls.len(), 4, "{calls:?}");
        assert_eq!(calls[0].len(), 10);
        assert_eq!(calls[1], vec!["e3"]);
        assert_eq!(calls[2], vec!["e10", "e11"]);
        assert_eq!(calls[3], vec!["e11"]);
    }

    #[tokio::test]
    async fn refused_entries_are_reported_by_position_without_retry() {
        let service = FlakyService {
            throttle_once: Mutex::new(vec!["e1".into()]),
            refuse: vec!["e2".into()],
            calls: Mutex::new(vec![]),
        };
        let err = publish_batched(&service, quick(), &events(3))
            .await
            .unwrap_err();
        assert_eq!(err.total, 3);
        assert_eq!(
            err.failed,
            vec![(2, "MalformedDetail".into(), "bad".into())]
        );
        assert_eq!(service.calls.lock().unwrap().len(), 2);
    }
}
