//! The daily run on Lambda (both DailyRunFunction and FeedPartFunction run this binary):
//! configuration and AWS clients are built once per cold start; each invocation is one step.

use std::sync::Arc;

use clientwatch::adapters::aws;
use clientwatch::adapters::s3::S3Blobs;
use clientwatch::config::{self, Config, MonitoringConfig};
use clientwatch::monitoring::run::Sources;
use clientwatch_daily_run::DailyRun;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    clientwatch::telemetry::init();
    let (config, monitoring) = config::both(Config::from_env(), MonitoringConfig::from_env())?;
    let sdk = aws::sdk_config().await;
    let s3 = aws::s3_client(&sdk);
    let daily_run = DailyRun {
        svc: clientwatch::webhooks::with_fanout(aws::services(&sdk, &config)),
        sources: Sources {
            feeds: Arc::new(S3Blobs::new(s3.clone(), monitoring.feed_bucket)),
            state: Arc::new(S3Blobs::new(s3, monitoring.state_bucket)),
        },
        feed_time_zone: monitoring.feed_time_zone,
        digest_queue: monitoring.digest_queue_url.map(|url| {
            Arc::new(clientwatch::adapters::sqs::SqsQueue::new(
                aws_sdk_sqs::Client::new(&sdk),
                url,
            )) as Arc<dyn clientwatch::ports::WorkQueue>
        }),
    };
    let daily_run = &daily_run;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        daily_run.invoke(event.payload).await
    }))
    .await
}
