//! The SES, SNS and EventBridge adapters against the local emulator: what a recipient or a
//! subscriber would receive.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName;
use clientwatch::adapters::eventbridge::EventBridgeEvents;
use clientwatch::adapters::ses::SesMailer;
use clientwatch::adapters::sns::SnsSms;
use clientwatch::domain::{EmailAddress, PhoneNumber};
use clientwatch::ports::{DeliveryError, DomainEvent, Email, Events, Ids, Mailer, Sms, SystemIds};
use clientwatch_tests::{sdk_config, sent_emails, sent_sms, unique};
use serde_json::{Value, json};

fn address(local: &str) -> EmailAddress {
    EmailAddress::parse(&format!("{}@clientwatch.test", unique(local))).unwrap()
}

async fn verified_sender() -> EmailAddress {
    let sender = address("alerts");
    aws_sdk_sesv2::Client::new(&sdk_config().await)
        .create_email_identity()
        .email_identity(sender.as_str())
        .send()
        .await
        .expect("sender identity created");
    sender
}

fn email(to: &EmailAddress) -> Email {
    Email {
        to: vec![to.clone()],
        reply_to: None,
        subject: "3 new hits for Acme Lending".into(),
        html: "<h1>Daily digest</h1><p>Ana Smith: new default</p>".into(),
        text: "Daily digest\nAna Smith: new default".into(),
        tags: vec![("tenant", "t-1".into()), ("kind", "digest".into())],
    }
}

#[tokio::test]
async fn ses_delivers_the_message_to_its_recipient_from_the_configured_sender() {
    let sender = verified_sender().await;
    let recipient = address("ana");
    let mailer = SesMailer::new(
        aws_sdk_sesv2::Client::new(&sdk_config().await),
        sender.clone(),
    );
    let id = mailer.send(&email(&recipient)).await.unwrap();
    assert!(!id.is_empty());
    let sent: Vec<Value> = sent_emails()
        .await
        .into_iter()
        .filter(|m| m["destinations"]["ToAddresses"] == json!([recipient.as_str()]))
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["source"], json!(sender.as_str()));
    assert_eq!(sent[0]["subject"], json!("3 new hits for Acme Lending"));
    assert_eq!(
        sent[0]["body"],
        json!("<h1>Daily digest</h1><p>Ana Smith: new default</p>")
    );
}

#[tokio::test]
async fn ses_reports_an_unverified_sender_as_a_rejection() {
    let mailer = SesMailer::new(
        aws_sdk_sesv2::Client::new(&sdk_config().await),
        address("unverified"),
    );
    let recipient = address("bob");
    let err = mailer.send(&email(&recipient)).await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::Rejected(ref why) if why.contains("not verified")),
        "{err:?}"
    );
    assert!(
        sent_emails()
            .await
            .iter()
            .all(|m| m["destinations"]["ToAddresses"] != json!([recipient.as_str()]))
    );
}

#[tokio::test]
async fn sns_texts_the_e164_number() {
    // A number of its own, so that parallel tests do not see each other's texts.
    let mut digits = [0u8; 4];
    SystemIds.fill(&mut digits);
    let local = 2_000_000 + u32::from_le_bytes(digits) % 7_000_000;
    let phone = PhoneNumber::parse(&format!("021 {local}"), "NZ").unwrap();
    let sms = SnsSms::new(aws_sdk_sns::Client::new(&sdk_config().await));
    sms.send(&phone, "Your Customer Centre code is 482913")
        .await
        .unwrap();
    let texts: Vec<Value> = sent_sms()
        .await
        .into_iter()
        .filter(|m| m["phone_number"] == json!(phone.e164()))
        .collect();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(
        texts[0]["message"],
        json!("Your Customer Centre code is 482913")
    );
}

/// A bus whose every clientwatch event lands in an SQS queue, as a subscriber would set it up.
struct Subscriber {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    bus: String,
}

impl Subscriber {
    async fn new() -> Self {
        let config = sdk_config().await;
        let (sqs, eb) = (
            aws_sdk_sqs::Client::new(&config),
            aws_sdk_eventbridge::Client::new(&config),
        );
        let bus = unique("bus");
        eb.create_event_bus().name(&bus).send().await.unwrap();
        let queue_url = sqs
            .create_queue()
            .queue_name(unique("q"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&QueueAttributeName::QueueArn]
            .clone();
        eb.put_rule()
            .name("all-clientwatch")
            .event_bus_name(&bus)
            .event_pattern(json!({"source": ["clientwatch"]}).to_string())
            .send()
            .await
            .unwrap();
        eb.put_targets()
            .rule("all-clientwatch")
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        Self {
            sqs,
            queue_url,
            bus,
        }
    }

    /// Every event in the queue, drained (a bounded number of polls).
    async fn received(&self) -> Vec<Value> {
        let mut events = Vec::new();
        for _ in 0..20 {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            for m in messages {
                events.push(serde_json::from_str(m.body().unwrap()).unwrap());
            }
        }
        events
    }
}

#[tokio::test]
async fn eventbridge_delivers_batches_over_ten_and_reports_refused_entries_by_position() {
    let subscriber = Subscriber::new().await;
    let events = EventBridgeEvents::new(
        aws_sdk_eventbridge::Client::new(&sdk_config().await),
        &subscriber.bus,
    );
    let now = chrono::Utc::now();
    let mut batch: Vec<DomainEvent> = (0..12)
        .map(|i| DomainEvent::new("MonitoringHit", json!({"tenant_id": "t1", "hit": i}), now))
        .collect();
    // EventBridge refuses an entry without a detail type; the rest of its batch goes through.
    batch[4].detail_type = String::new();
    let err = events.publish(&batch).await.unwrap_err();
    assert_eq!(err.total, 12);
    assert_eq!(err.failed.len(), 1, "{err}");
    assert_eq!(
        (err.failed[0].0, err.failed[0].1.as_str()),
        (4, "InvalidArgument")
    );

    let received = subscriber.received().await;
    let hits: BTreeMap<i64, &Value> = received
        .iter()
        .map(|e| (e["detail"]["hit"].as_i64().unwrap(), e))
        .collect();
    assert_eq!(received.len(), 11, "each accepted event arrives once");
    assert_eq!(
        hits.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11]
    );
    let first = hits[&0];
    assert_eq!(first["source"], json!("clientwatch"));
    assert_eq!(first["detail-type"], json!("MonitoringHit"));
    assert_eq!(first["detail"]["tenant_id"], json!("t1"));
}

#[tokio::test]
async fn the_dynamodb_adapter_counts_the_capacity_its_calls_consumed() {
    use clientwatch::ports::{Condition, Item, Key};
    let h = clientwatch_tests::Harness::new(clientwatch_tests::Store::DynamoDb).await;
    let (read_before, write_before) = clientwatch::telemetry::units();
    let key = Key::new(unique("UNITS#"), "ITEM");
    let mut data = serde_json::Map::new();
    data.insert("note".into(), json!("x".repeat(2000)));
    let item = Item::new(key.clone(), data);
    h.table.put(item, Condition::Absent).await.unwrap();
    h.table.get(&key).await.unwrap();
    let (read_after, write_after) = clientwatch::telemetry::units();
    // Other tests of the process may add units meanwhile: at least this write and this read.
    assert!(
        write_after - write_before >= 1.0,
        "{write_before} → {write_after}"
    );
    assert!(
        read_after - read_before >= 0.5,
        "{read_before} → {read_after}"
    );
}

/// The emulator does not answer SES's `GetAccount`: the account's send quota cannot be read,
/// so the configured rates stand (and the failure to read it is no failure to start).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_ses_quota_leaves_the_configured_rates() {
    let sdk = sdk_config().await;
    let harness = clientwatch_tests::Harness::new(clientwatch_tests::Store::Embedded).await;
    let (mut svc, _) = harness.services();
    let rates = clientwatch::ports::Rates {
        email: Some(30),
        sms: Some(5),
    };
    svc.budget = std::sync::Arc::new(clientwatch::adapters::pacing::TableBudget::new(
        svc.table.clone(),
        svc.clock.clone(),
        rates,
    ));
    assert_eq!(
        clientwatch::adapters::ses::max_send_rate(&aws_sdk_sesv2::Client::new(&sdk)).await,
        None
    );
    let svc = clientwatch::adapters::aws::with_ses_quota(svc, &sdk).await;
    assert_eq!(svc.budget.rates(), rates);
}
