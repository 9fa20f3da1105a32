//! `Events` and `WorkQueue` for tests: events and queue messages are kept in memory, in order;
//! events are logged by type (local runs append them to the outbox instead).

use std::sync::Mutex;

use crate::ports::{DomainEvent, Events, PublishError, QueueError, WorkQueue};

#[derive(Debug, Default)]
pub struct RecordingEvents(Mutex<Vec<DomainEvent>>);

impl RecordingEvents {
    /// Everything published so far.
    pub fn recorded(&self) -> Vec<DomainEvent> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait::async_trait]
impl Events for RecordingEvents {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), PublishError> {
        // One line a batch: a day's thousands of hits would otherwise be thousands of lines.
        if let Some(first) = events.first() {
            tracing::info!(count = events.len(), detail_type = %first.detail_type, "events published");
        }
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(events);
        Ok(())
    }
}

/// A `WorkQueue` for tests and one-process runs: the messages handed to it, kept in order until
/// taken.
#[derive(Debug, Default)]
pub struct RecordingQueue(Mutex<Vec<String>>);

impl RecordingQueue {
    /// The messages queued since the last call, in order.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[async_trait::async_trait]
impl WorkQueue for RecordingQueue {
    async fn enqueue(&self, messages: &[String]) -> Result<(), QueueError> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(messages);
        Ok(())
    }
}
