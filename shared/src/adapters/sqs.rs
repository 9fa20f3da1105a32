//! The `WorkQueue` port over SQS `SendMessageBatch`: ten messages a call (the service's limit),
//! every entry's failure counted.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::ports::{QueueError, WorkQueue};

pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

#[async_trait::async_trait]
impl WorkQueue for SqsQueue {
    async fn enqueue(&self, messages: &[String]) -> Result<(), QueueError> {
        let mut failed = 0;
        let mut reason = String::new();
        for chunk in messages.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| QueueError {
                    total: messages.len(),
                    failed: messages.len(),
                    reason: e.to_string(),
                })?;
            match self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) => {
                    for f in out.failed() {
                        failed += 1;
                        reason = f.code().to_owned();
                    }
                }
                Err(e) => {
                    failed += chunk.len();
                    reason = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
                }
            }
        }
        if failed == 0 {
            Ok(())
        } else {
            Err(QueueError {
                total: messages.len(),
                failed,
                reason,
            })
        }
    }
}
