//! The daily communications run on Lambda (CommsRunFunction), fired by its EventBridge
//! schedule or invoked by hand with `{"day": "YYYY-MM-DD"}`. Configuration and AWS clients are
//! built once per cold start.

use clientwatch::adapters::aws;
use clientwatch::config::{self, CommsConfig, Config};
use clientwatch_comms_run::CommsRun;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    clientwatch::telemetry::init();
    let (config, comms) = config::both(Config::from_env(), CommsConfig::from_env())?;
    let sdk = aws::sdk_config().await;
    let queue = comms.work_queue_url.map(|url| {
        std::sync::Arc::new(clientwatch::adapters::sqs::SqsQueue::new(
            aws_sdk_sqs::Client::new(&sdk),
            url,
        )) as std::sync::Arc<dyn clientwatch::ports::WorkQueue>
    });
    let comms_run = CommsRun {
        svc: clientwatch::webhooks::with_fanout(
            aws::with_ses_quota(aws::services(&sdk, &config), &sdk).await,
        ),
        time_zone: comms.time_zone,
        queue,
    };
    let comms_run = &comms_run;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // The invocation's deadline (milliseconds since the epoch).
        let deadline = chrono::DateTime::from_timestamp_millis(event.context.deadline as i64);
        comms_run.handle(event.payload, deadline).await
    }))
    .await
}
