//! The Customer Centre on Lambda: configuration and AWS clients are built once per cold start;
//! every request goes through the same router as the local server's.

use clientwatch::adapters::aws;
use clientwatch::config::Config;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    clientwatch::telemetry::init();
    let config = Config::from_env()?;
    let services =
        clientwatch::webhooks::with_fanout(aws::services(&aws::sdk_config().await, &config));
    lambda_http::run(clientwatch_portal::app(services)).await
}
