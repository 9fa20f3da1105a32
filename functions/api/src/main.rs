//! The partner API on Lambda: configuration and AWS clients are built once per cold start;
//! every request goes through the same router as the local server's.

use clientwatch::adapters::aws;
use clientwatch::config::{self, ApiConfig, Config};
use clientwatch_api::CursorKey;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    clientwatch::telemetry::init();
    let (config, api) = config::both(Config::from_env(), ApiConfig::from_env())?;
    let services = aws::services(&aws::sdk_config().await, &config);
    let cursors = CursorKey::from_secret(&api.cursor_key);
    lambda_http::run(clientwatch_api::app(services, cursors)).await
}
