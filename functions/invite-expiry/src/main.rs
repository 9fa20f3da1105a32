//! The invite-expiry sweep on Lambda, fired by an EventBridge schedule. Each run marks every
//! invite whose week is over as expired and publishes one `InviteExpired` event for it; the
//! sweep is safe to run twice or late (an invite is marked once; links past their week are
//! refused on every request whether or not the sweep has run).

use clientwatch::adapters::aws;
use clientwatch::centre::invites;
use clientwatch::config::Config;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    clientwatch::telemetry::init();
    let config = Config::from_env()?;
    let svc = clientwatch::webhooks::with_fanout(aws::services(&aws::sdk_config().await, &config));
    let svc = &svc;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let report = invites::expire_due(svc).await.map_err(|e| {
            tracing::error!(error = %e, "invite expiry sweep failed");
            Box::new(e) as Box<dyn std::error::Error + Send + Sync>
        })?;
        tracing::info!(expired = report.expired, "invite expiry sweep done");
        Ok::<Value, Box<dyn std::error::Error + Send + Sync>>(json!(report))
    }))
    .await
}
