//! Signed webhooks on Lambda, one binary for two triggers. Every minute a schedule queues the
//! deliveries that are due on SQS (`webhooks::send::enqueue_due`); the same function, fed by
//! that queue in batches of ten, sends each message's delivery (`webhooks::send::send_ref`:
//! claim, sign, post with a 10 s timeout to public addresses only, record the outcome and the
//! next attempt). A message whose delivery could not be handled (the store failed) is reported
//! as a batch item failure, so SQS gives it again; after five receipts it goes to the
//! dead-letter queue and its alarm. An endpoint's own failures are not errors here: they are
//! recorded and retried on the delivery's back-off.

use clientwatch::adapters::aws;
use clientwatch::adapters::http::HttpWebhooks;
use clientwatch::adapters::sqs::SqsQueue;
use clientwatch::config::{Config, WebhooksConfig, both};
use clientwatch::domain::webhooks::UrlPolicy;
use clientwatch::telemetry::Metrics;
use clientwatch::webhooks::send::{self, DueRef, Report};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

/// Deliveries queued by one tick of the schedule.
const PER_TICK: usize = 1000;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The CloudWatch namespace of the senders' figures.
const METRICS_NAMESPACE: &str = "clientwatch/Webhooks";
/// Endpoints disabled (a 410, or three days of failures): alarmed.
const ENDPOINTS_DISABLED: &str = "EndpointsDisabled";

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    clientwatch::telemetry::init();
    let (config, webhooks) = both(Config::from_env(), WebhooksConfig::from_env())?;
    let sdk = aws::sdk_config().await;
    let svc = aws::services(&sdk, &config);
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), webhooks.queue_url);
    let client = HttpWebhooks::new(UrlPolicy::Public);
    let (svc, queue, client) = (&svc, &queue, &client);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        match event.payload.get("Records").and_then(Value::as_array) {
            Some(records) => {
                let mut metrics = Metrics::start(METRICS_NAMESPACE);
                let mut report = Report::default();
                let mut failures = Vec::new();
                for record in records {
                    let id = record["messageId"].as_str().unwrap_or_default().to_owned();
                    let body = record["body"].as_str().unwrap_or_default();
                    let Ok(due) = serde_json::from_str::<DueRef>(body) else {
                        // Not ours: retrying cannot help; the dead-letter queue keeps nothing.
                        tracing::error!(message_id = %id, "a queue message that is not a delivery was dropped");
                        continue;
                    };
                    if let Err(e) = send::send_ref(svc, client, &due, &mut report).await {
                        tracing::error!(error = %e, msg_id = %due.msg_id, "a webhook delivery failed; SQS gives it again");
                        failures.push(json!({ "itemIdentifier": id }));
                    }
                }
                tracing::info!(?report, "webhook deliveries sent");
                metrics
                    .count("Delivered", report.delivered)
                    .count("Retrying", report.retrying)
                    .count("DeliveriesFailed", report.failed)
                    .count("Withheld", report.withheld)
                    .count(ENDPOINTS_DISABLED, report.disabled)
                    .emit();
                Ok::<Value, BoxError>(json!({ "batchItemFailures": failures }))
            }
            None => {
                let queued = send::enqueue_due(svc, queue, PER_TICK).await.map_err(|e| {
                    tracing::error!(error = %e, "queuing due webhook deliveries failed");
                    Box::new(e) as BoxError
                })?;
                tracing::info!(queued, "due webhook deliveries queued");
                Ok(json!({ "queued": queued }))
            }
        }
    }))
    .await
}
