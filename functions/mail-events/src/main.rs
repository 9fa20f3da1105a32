//! SES's reports on sent e-mail, delivered by SNS (see the library).

use clientwatch::adapters::aws;
use clientwatch::config::Config;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    clientwatch::telemetry::init();
    let config = Config::from_env()?;
    let svc = aws::services(&aws::sdk_config().await, &config);
    let svc = &svc;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        clientwatch_mail_events::handle(svc, &event.payload)
            .await
            .map_err(|e| {
                let message = clientwatch::schedule::full_message(&e);
                tracing::error!(error = %message, "SES reports not recorded");
                Box::new(e) as Box<dyn std::error::Error + Send + Sync>
            })
    }))
    .await
}
