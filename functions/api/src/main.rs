//! The partner API on Lambda: configuration and AWS clients are built once per cold start;
//! every request goes through the same router as the local server's. Asynchronous imports'
//! files go to the uploads bucket through pre-signed URLs, and the upload's S3 event starts
//! the import function (so this function never runs an import itself).

use std::sync::Arc;

use clientwatch::adapters::aws;
use clientwatch::adapters::s3::S3Blobs;
use clientwatch::config::{self, ApiConfig, Config, ImportConfig};
use clientwatch_api::{CursorKey, ImportFiles};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    clientwatch::telemetry::init();
    let ((config, api), import) = config::both(
        config::both(Config::from_env(), ApiConfig::from_env()),
        ImportConfig::from_env(),
    )?;
    let sdk = aws::sdk_config().await;
    let services = clientwatch::webhooks::with_fanout(aws::services(&sdk, &config));
    let cursors = CursorKey::from_secret(&api.cursor_key);
    let uploads = Arc::new(S3Blobs::new(aws::s3_client(&sdk), import.uploads_bucket));
    let imports = ImportFiles {
        files: uploads.clone(),
        presign: Some(uploads),
        run_here: false,
    };
    // Bureau profiles' scores are read from the daily runs' baselines.
    let baselines = clientwatch_api::Baselines(Arc::new(S3Blobs::new(
        aws::s3_client(&sdk),
        api.state_bucket,
    )));
    lambda_http::run(clientwatch_api::with_baselines(
        clientwatch_api::app_with_imports(services, cursors, imports),
        baselines,
    ))
    .await
}
