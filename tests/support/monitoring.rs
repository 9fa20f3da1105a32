//! The monitoring scenarios' world: a tenant with monitoring on, person and company client
//! types, feed days in a blob store (a folder beside the embedded store; S3 on the emulator
//! beside DynamoDB), the digest e-mail read back (captured, or from SES on the emulator), and
//! feed lines in the bureau's shape.

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::{Days, NaiveDate};
use clientwatch::Services;
use clientwatch::adapters::folder::FolderBlobs;
use clientwatch::adapters::s3::S3Blobs;
use clientwatch::adapters::ses::SesMailer;
use clientwatch::domain::EmailAddress;
use clientwatch::monitoring::digest::HIT_EVENT;
use clientwatch::monitoring::run::{self, Sources};
use clientwatch::ports::{DeliveryError, Email, Mailer};
use serde_json::{Value, json};

use crate::api::TestApp;
use crate::{Store, fresh_bucket, s3_client, sdk_config, sent_emails, unique};

/// The mail the digest sent, whichever way it went out.
pub enum Inbox {
    Captured(Arc<Mutex<Vec<Email>>>),
    Ses(EmailAddress),
}

pub struct Capture(Arc<Mutex<Vec<Email>>>);

#[async_trait::async_trait]
impl Mailer for Capture {
    async fn send(&self, email: &Email) -> Result<String, DeliveryError> {
        let mut sent = self.0.lock().unwrap();
        sent.push(email.clone());
        Ok(format!("m{}", sent.len()))
    }
}

impl Inbox {
    /// (subject, HTML body) of each message to the tenant's alert address.
    pub async fn messages(&self) -> Vec<(String, String)> {
        match self {
            Inbox::Captured(sent) => sent
                .lock()
                .unwrap()
                .iter()
                .map(|e| (e.subject.clone(), e.html.clone()))
                .collect(),
            Inbox::Ses(to) => sent_emails()
                .await
                .into_iter()
                .filter(|m| {
                    m["destinations"]["ToAddresses"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|d| d == to.as_str()))
                })
                .map(|m| {
                    (
                        m["subject"].as_str().unwrap_or_default().to_owned(),
                        m["body"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        }
    }
}

pub struct World {
    pub app: TestApp,
    pub svc: Services,
    pub sources: Sources,
    pub inbox: Inbox,
    pub person_type: String,
    pub company_type: String,
}

pub const DAY1: &str = "2026-11-16"; // a Monday

pub fn day(n: u64) -> NaiveDate {
    DAY1.parse::<NaiveDate>().unwrap() + Days::new(n - 1)
}

impl World {
    pub async fn new(mut app: TestApp) -> Self {
        let alerts = EmailAddress::parse(&format!("{}@lender.test", unique("alerts"))).unwrap();
        let mut svc = app.services.clone();
        let (sources, inbox) = match app.harness.store {
            Store::Embedded => {
                let root = app.harness.dir.path();
                let sent = Arc::new(Mutex::new(Vec::new()));
                svc.mailer = Arc::new(Capture(sent.clone()));
                (
                    Sources {
                        feeds: Arc::new(FolderBlobs::new(root.join("bureau"))),
                        state: Arc::new(FolderBlobs::new(root.join("state"))),
                    },
                    Inbox::Captured(sent),
                )
            }
            Store::DynamoDb => {
                let s3 = s3_client().await;
                let sdk = sdk_config().await;
                let sender =
                    EmailAddress::parse(&format!("{}@clientwatch.test", unique("from"))).unwrap();
                aws_sdk_sesv2::Client::new(&sdk)
                    .create_email_identity()
                    .email_identity(sender.as_str())
                    .send()
                    .await
                    .expect("sender identity created");
                svc.mailer = Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(&sdk), sender));
                (
                    Sources {
                        feeds: Arc::new(S3Blobs::new(s3.clone(), fresh_bucket(&s3).await)),
                        state: Arc::new(S3Blobs::new(s3.clone(), fresh_bucket(&s3).await)),
                    },
                    Inbox::Ses(alerts.clone()),
                )
            }
        };
        let tenant = app.get("/v1/tenant").await;
        let settings = app
            .patch(
                "/v1/tenant",
                tenant.header("etag").unwrap(),
                json!({"alert_recipients": [alerts.as_str()],
                       "monitoring": {"enabled": true, "default_reason": "Credit risk review"}}),
            )
            .await;
        assert_eq!(settings.status, 200, "{}", settings.body);
        let person_type = app
            .post(
                "/v1/client-types",
                json!({"name": "Borrower", "class": "individual", "use_bureau_monitoring": true}),
            )
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let company_type = app
            .post(
                "/v1/client-types",
                json!({"name": "Business", "class": "company", "use_bureau_monitoring": true}),
            )
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.baselines = Some(sources.state.clone());
        Self {
            app,
            svc,
            sources,
            inbox,
            person_type,
            company_type,
        }
    }

    pub async fn person(&self, first: &str, subject: Option<&str>, reference: &str) -> String {
        let mut body = json!({"client_type_id": self.person_type,
            "identity": {"kind": "individual", "first_name": first, "last_name": "Test"},
            "external_refs": {"loan_system": reference}});
        if let Some(s) = subject {
            body["bureau_subject_id"] = json!(s);
        }
        let answer = self.app.post("/v1/clients", body).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn company(&self, name: &str, subject: &str) -> String {
        let answer = self
            .app
            .post(
                "/v1/clients",
                json!({"client_type_id": self.company_type,
                       "identity": {"kind": "company", "name": name},
                       "bureau_subject_id": subject}),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn monitor(&self, client: &str, body: Value) {
        let answer = self
            .app
            .post(&format!("/v1/clients/{client}/monitoring"), body)
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
    }

    /// Writes a feed part of a day: plain NDJSON, or gzip when the name ends in `.gz`.
    pub async fn feed(&self, day: NaiveDate, part: &str, lines: &[String]) {
        let mut text = lines.join("\n");
        text.push('\n');
        let bytes = if part.ends_with(".gz") {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(text.as_bytes()).unwrap();
            gz.finish().unwrap()
        } else {
            text.into_bytes()
        };
        self.sources
            .feeds
            .put(&format!("feeds/{day}/{part}"), bytes)
            .await
            .unwrap();
    }

    pub async fn run(&self, day: NaiveDate) -> run::DayReport {
        run::run_day(&self.svc, &self.sources, day, &mut |_| {})
            .await
            .expect("the day runs")
    }

    pub fn hit_events(&self) -> Vec<Value> {
        self.app
            .events
            .recorded()
            .into_iter()
            .filter(|e| e.detail_type == HIT_EVENT)
            .map(|e| e.detail)
            .collect()
    }

    pub async fn hits(&self) -> Vec<Value> {
        let answer = self.app.get("/v1/hits?limit=200").await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["items"].as_array().unwrap().clone()
    }

    pub async fn usage(&self, month: &str) -> Value {
        let answer = self.app.get(&format!("/v1/usage?month={month}")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }
}

pub fn person_line(subject: &str, name: &str, facts: Value) -> String {
    let mut record = json!({"kind": "individual", "name": name,
        "addresses": [{"line1": "12 Kauri St", "city": "Auckland", "postcode": "1010", "country": "NZ"}]});
    merge(&mut record, facts);
    line(subject, record)
}

pub fn company_line(subject: &str, name: &str, status: &str, facts: Value) -> String {
    let mut record = json!({"kind": "company", "company": {"name": name, "status": status}});
    merge(&mut record, facts);
    line(subject, record)
}

pub fn merge(record: &mut Value, facts: Value) {
    for (k, v) in facts.as_object().unwrap() {
        record[k] = v.clone();
    }
}

/// A feed line in its usual shape: the subject first.
pub fn line(subject: &str, rest: Value) -> String {
    let rest = rest.to_string();
    format!("{{\"subject\":{},{}", json!(subject), &rest[1..])
}

/// Every kind of new fact a person can have.
pub fn everything_new() -> Value {
    json!({
        "addresses": [
            {"line1": "12 Kauri St", "city": "Auckland", "postcode": "1010", "country": "NZ"},
            {"line1": "7 Rata Ave", "city": "Hamilton", "postcode": "3200", "country": "NZ", "source": "bank"}],
        "defaults": [{"creditor": "Acme Finance", "amount_cents": 125000, "currency": "NZD", "date": "2026-11-10"}],
        "judgements": [{"court": "District Court Auckland", "amount_cents": 500000, "currency": "NZD", "date": "2026-11-11"}],
        "insolvencies": [{"type": "bankruptcy", "date": "2026-11-12"}],
        "enquiries": [{"enquirer": "Harbour Loans", "product": "personal loan", "date": "2026-11-13"}],
        "directorships": [{"company_number": "998877", "company_name": "Test Ventures Ltd", "appointed": "2026-11-01"}],
        "shareholdings": [{"company_number": "998877", "company_name": "Test Ventures Ltd", "shares": 50}]
    })
}
