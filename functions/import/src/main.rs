//! The client import function on Lambda: an import file uploaded to the uploads bucket
//! (`imports/{tenant}/{import}/file`) fires it through S3's event, and it works the file
//! through in checkpointed chunks (`clientwatch::flows::imports::run`). A run cut short (the
//! function's timeout, a crash) fails the invocation, and Lambda's retry of the asynchronous
//! event, or a direct invocation with `{"tenant_id": ..., "import_id": ...}`, goes on from the
//! last checkpoint without making a client twice.

use clientwatch::adapters::aws;
use clientwatch::adapters::s3::S3Blobs;
use clientwatch::config::{self, Config, ImportConfig};
use clientwatch::flows::imports::{self, Ran};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    clientwatch::telemetry::init();
    let (config, import) = config::both(Config::from_env(), ImportConfig::from_env())?;
    let sdk = aws::sdk_config().await;
    let svc = clientwatch::webhooks::with_fanout(aws::services(&sdk, &config));
    let files = S3Blobs::new(aws::s3_client(&sdk), import.uploads_bucket);
    let (svc, files) = (&svc, &files);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let mut done = Vec::new();
        for (tenant_id, import_id) in imports_named(&event.payload) {
            let ran = imports::run(svc, files, &tenant_id, &import_id)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, %import_id, "client import stopped; it goes on from its checkpoint when run again");
                    Box::new(e) as BoxError
                })?;
            let status = match ran {
                Ran::Finished(import) => json!(import.status),
                Ran::NoFile => json!("no_file"),
                Ran::Overtaken => json!("overtaken"),
            };
            tracing::info!(%import_id, %status, "client import run ended");
            done.push(json!({"import_id": import_id, "status": status}));
        }
        Ok::<Value, BoxError>(json!({ "imports": done }))
    }))
    .await
}

/// The (tenant, import) pairs an invocation names: the import files of an S3 event's records
/// (keys arrive URL-encoded, a space as `+`), or a direct `{"tenant_id", "import_id"}`.
fn imports_named(payload: &Value) -> Vec<(String, String)> {
    if let (Some(tenant), Some(import)) =
        (payload["tenant_id"].as_str(), payload["import_id"].as_str())
    {
        return vec![(tenant.to_owned(), import.to_owned())];
    }
    payload["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|record| record["s3"]["object"]["key"].as_str())
        .filter_map(|key| {
            let key = urlencoding::decode(&key.replace('+', " "))
                .ok()?
                .into_owned();
            imports::of_file(&key)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::imports_named;
    use serde_json::json;

    #[test]
    fn an_s3_event_names_the_imports_of_its_uploaded_files_only() {
        let event = json!({"Records": [
            {"s3": {"object": {"key": "imports/t1/i1/file"}}},
            {"s3": {"object": {"key": "imports/t%3A2/i2/file"}}},
            {"s3": {"object": {"key": "imports/t1/i1/results.ndjson"}}},
            {"s3": {"object": {"key": "feeds/2026-01-01/part-0001.ndjson"}}},
        ]});
        assert_eq!(
            imports_named(&event),
            vec![
                ("t1".to_owned(), "i1".to_owned()),
                ("t:2".to_owned(), "i2".to_owned())
            ]
        );
    }

    #[test]
    fn a_direct_invocation_names_one_import() {
        assert_eq!(
            imports_named(&json!({"tenant_id": "t1", "import_id": "i9"})),
            vec![("t1".to_owned(), "i9".to_owned())]
        );
        assert!(imports_named(&json!({})).is_empty());
    }
}
