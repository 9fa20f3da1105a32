//! A work queue (SQS on Lambda): messages handed to workers that take them in batches and
//! retry what failed, with a dead-letter queue behind.

#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} message(s) were not queued: {reason}")]
pub struct QueueError {
    pub total: usize,
    pub failed: usize,
    pub reason: String,
}

#[async_trait::async_trait]
pub trait WorkQueue: Send + Sync {
    /// Queues every message (JSON text) or says how many were not.
    async fn enqueue(&self, messages: &[String]) -> Result<(), QueueError>;
}
