//! What the cross-function tests share: the local AWS emulator's clients, a fresh table and a
//! fresh bucket per test (so tests run in parallel), the embedded store in a temporary folder,
//! and read-back of what the emulator "sent".

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::{BillingMode, GlobalSecondaryIndex, TimeToLiveSpecification};
use chrono::{DateTime, Utc};
use clientwatch::Services;
use clientwatch::adapters::dynamodb::DynamoTable;
use clientwatch::adapters::embedded::EmbeddedTable;
use clientwatch::adapters::outbox::{Outbox, OutboxMailer};
use clientwatch::adapters::recorder::RecordingEvents;
use clientwatch::domain::EmailAddress;
use clientwatch::ports::{FixedClock, Ids, SeededIds, SystemIds, Table, Unpaced};
use serde_json::Value;
use tempfile::TempDir;

pub mod api;
pub mod browser;
pub mod counting;
pub mod faults;
pub mod faulty;
pub mod logs;
pub mod look;
pub mod monitoring;
pub mod portal;

/// Runs each named `async fn(TestApp)` as two tests: on the embedded store and on DynamoDB.
#[macro_export]
macro_rules! over_both_stores {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::api::TestApp::new($crate::Store::Embedded).await).await;
            })*
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::api::TestApp::new($crate::Store::DynamoDb).await).await;
            })*
        }
    };
}

/// Runs each named `async fn(Store)` as two tests: on the embedded store and on DynamoDB (for
/// tests that build their own worlds, several per store).
#[macro_export]
macro_rules! for_both_stores {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::Store::Embedded).await;
            })*
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::Store::DynamoDb).await;
            })*
        }
    };
}

/// The emulator's base URL; tests that need it fail with instructions when it is not running.
pub fn emulator_url() -> String {
    std::env::var("CLIENTWATCH_EMULATOR_URL").unwrap_or_else(|_| {
        panic!(
            "CLIENTWATCH_EMULATOR_URL is not set: run the tests with `make test`, which starts \
             the local AWS emulator, or start it yourself with `eval \"$(infra/emulator.sh start)\"`"
        )
    })
}

/// SDK configuration for the emulator, with dummy credentials: never real AWS.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(emulator_url())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "emulator"))
        .load()
        .await
}

/// An S3 client for the emulator, built as production builds it: with an endpoint configured,
/// the bucket goes in the path, which the emulator needs.
pub async fn s3_client() -> aws_sdk_s3::Client {
    clientwatch::adapters::aws::s3_client(&sdk_config().await)
}

/// Creates a new, empty bucket and returns its name.
pub async fn fresh_bucket(client: &aws_sdk_s3::Client) -> String {
    let name = unique("b");
    client
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .expect("bucket created");
    name
}

/// 10:00 on `day` in Auckland (the tests' tenants' zone): a communications run's "now" outside
/// quiet hours.
pub fn ten_in_auckland(day: chrono::NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(10, 0, 0)
        .expect("a valid time")
        .and_local_timezone(chrono_tz::Pacific::Auckland)
        .single()
        .expect("10:00 is never ambiguous in Auckland")
        .to_utc()
}

/// A unique name for a per-test resource.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", SystemIds.id())
}

/// Creates a new table shaped like the template's (keys, indexes, TTL) and returns its name.
pub async fn fresh_dynamo_table(client: &aws_sdk_dynamodb::Client) -> String {
    let template = std::env::var("CLIENTWATCH_TEMPLATE_TABLE")
        .unwrap_or_else(|_| "clientwatch-template".into());
    let described = client
        .describe_table()
        .table_name(&template)
        .send()
        .await
        .expect("the emulator has the template's table (infra/emulator.sh creates it)")
        .table
        .expect("a table description");
    let indexes = described
        .global_secondary_indexes()
        .iter()
        .map(|gsi| {
            GlobalSecondaryIndex::builder()
                .index_name(gsi.index_name().unwrap_or_default())
                .set_key_schema(Some(gsi.key_schema().to_vec()))
                .set_projection(gsi.projection().cloned())
                .build()
                .expect("a complete index")
        })
        .collect::<Vec<_>>();
    let name = unique("t");
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(described.attribute_definitions().to_vec()))
        .set_key_schema(Some(described.key_schema().to_vec()))
        .set_global_secondary_indexes(Some(indexes).filter(|i| !i.is_empty()))
        .send()
        .await
        .expect("table created");
    let ttl = client
        .describe_time_to_live()
        .table_name(&template)
        .send()
        .await
        .expect("TTL described");
    if let Some(attr) = ttl
        .time_to_live_description()
        .and_then(|d| d.attribute_name())
    {
        client
            .update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attr)
                    .enabled(true)
                    .build()
                    .expect("a TTL specification"),
            )
            .send()
            .await
            .expect("TTL enabled");
    }
    name
}

/// The Customer Centre's address in tests' invite links.
pub const PORTAL_URL: &str = "https://centre.clientwatch.test";

/// Which `Table` adapter a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    Embedded,
    DynamoDb,
}

/// A store and a clock that the test controls; the embedded store's folder lives as long as it.
pub struct Harness {
    pub store: Store,
    pub table: Arc<dyn Table>,
    pub clock: Arc<FixedClock>,
    pub dir: TempDir,
}

pub fn start_of_test() -> DateTime<Utc> {
    // Near the real time, so that the emulator's own TTL sweep agrees with ours.
    Utc::now()
}

impl Harness {
    pub async fn new(store: Store) -> Self {
        let clock = Arc::new(FixedClock::at(start_of_test()));
        let dir = tempfile::tempdir().expect("a temporary folder");
        let table: Arc<dyn Table> = match store {
            Store::Embedded => Arc::new(
                EmbeddedTable::open(&dir.path().join("store.redb"), clock.clone())
                    .expect("embedded store opens"),
            ),
            Store::DynamoDb => {
                let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
                let name = fresh_dynamo_table(&client).await;
                Arc::new(DynamoTable::new(client, name, clock.clone()))
            }
        };
        Self {
            store,
            table,
            clock,
            dir,
        }
    }

    /// Services over this harness's table: mail and SMS to an outbox folder, events recorded.
    pub fn services(&self) -> (Services, Arc<RecordingEvents>) {
        let ids: Arc<dyn Ids> = Arc::new(SeededIds::new(rand_seed()));
        let outbox = Outbox::new(
            self.dir.path().join("outbox"),
            self.clock.clone(),
            ids.clone(),
        );
        let events = Arc::new(RecordingEvents::default());
        let services = Services {
            table: self.table.clone(),
            mailer: Arc::new(OutboxMailer {
                outbox: outbox.clone(),
                from: EmailAddress::parse("alerts@clientwatch.test").expect("valid"),
            }),
            sms: Arc::new(outbox),
            events: events.clone(),
            clock: self.clock.clone(),
            ids,
            budget: Arc::new(Unpaced),
            phone_region: "NZ".into(),
            portal_url: PORTAL_URL.into(),
        };
        (services, events)
    }
}

fn rand_seed() -> u64 {
    let mut bytes = [0u8; 8];
    SystemIds.fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// What the emulator's SES and SNS "sent", without the rest of its state (see
/// `infra/moto_serial.py`).
async fn sent() -> Value {
    reqwest::get(format!("{}/clientwatch/sent.json", emulator_url()))
        .await
        .expect("the emulator answers")
        .json()
        .await
        .expect("the emulator's sent messages are JSON")
}

/// The e-mails the emulator's SES accepted, each as `{source, destinations, subject, body}`
/// (the emulator keeps only the HTML part of a message that has both).
pub async fn sent_emails() -> Vec<Value> {
    list(&sent().await["emails"])
}

/// The texts the emulator's SNS accepted, each as `{phone_number, message}`.
pub async fn sent_sms() -> Vec<Value> {
    list(&sent().await["sms"])
}

fn list(value: &Value) -> Vec<Value> {
    value.as_array().cloned().unwrap_or_default()
}
