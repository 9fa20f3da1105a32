//! SES's reports on sent e-mail, as the configuration set's SNS destination delivers them to
//! this function: each SNS record's `Message` is one SES event record, recorded by
//! `clientwatch::comms::outcomes` (the communications log; a hard bounce or a complaint
//! suppresses the address).
//!
//! SNS invokes the function asynchronously: an error is retried by Lambda, then kept in the
//! dead-letter queue (alarmed). So only a failure a retry may mend (the store) is returned as
//! an error; a record that is no SES event is logged, counted in `RejectedReports` (alarmed)
//! and skipped, never retried in vain. Recording is idempotent, so a retried batch records
//! nothing twice.

use clientwatch::Services;
use clientwatch::comms::outcomes::{self, SesEvent};
use clientwatch::domain::Error as DomainError;
use clientwatch::telemetry::Metrics;
use serde_json::{Value, json};

/// The CloudWatch namespace of the function's figures.
pub const METRICS_NAMESPACE: &str = "clientwatch/MailEvents";
/// Records that were no SES event (never retried).
pub const REJECTED_REPORTS: &str = "RejectedReports";

/// The SES event records of an SNS invocation, each parsed or the reason it is none.
pub fn reports(event: &Value) -> Vec<Result<SesEvent, String>> {
    let Some(records) = event.get("Records").and_then(Value::as_array) else {
        return vec![Err("not an SNS invocation: no Records".into())];
    };
    records
        .iter()
        .map(|r| {
            let message = r
                .pointer("/Sns/Message")
                .and_then(Value::as_str)
                .ok_or("an SNS record without Sns.Message")?;
            serde_json::from_str::<SesEvent>(message)
                .map_err(|e| format!("the SNS message is not an SES event record: {e}"))
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
#[error(
    "recording SES's report on message {message_id} failed (Lambda retries it; nothing is recorded twice)"
)]
pub struct RecordError {
    message_id: String,
    #[source]
    source: DomainError,
}

/// Records every report of the invocation; the answer counts what was done.
pub async fn handle(svc: &Services, event: &Value) -> Result<Value, RecordError> {
    let mut metrics = Metrics::start(METRICS_NAMESPACE);
    let (mut suppressed, mut logged, mut ignored, mut rejected) = (0, 0, 0, 0);
    for report in reports(event) {
        let report = match report {
            Ok(r) => r,
            Err(reason) => {
                tracing::warn!(%reason, "a record that is no SES event was skipped");
                rejected += 1;
                continue;
            }
        };
        let done = outcomes::record(svc, &report)
            .await
            .map_err(|source| RecordError {
                message_id: report.mail.message_id.clone(),
                source,
            })?;
        if let Some(why) = &done.ignored {
            tracing::info!(message_id = %report.mail.message_id, event = %report.event_type, why = %why, "report not recorded");
            ignored += 1;
        }
        suppressed += done.suppressed;
        logged += done.logged;
    }
    metrics
        .count("AddressesSuppressed", suppressed as u64)
        .count("OutcomesLogged", logged as u64)
        .count("ReportsIgnored", ignored as u64)
        .count(REJECTED_REPORTS, rejected as u64)
        .emit();
    Ok(
        json!({"suppressed": suppressed, "logged": logged, "ignored": ignored, "rejected": rejected}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sns(messages: &[&str]) -> Value {
        json!({"Records": messages.iter().map(|m| json!({
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "Sns": {"Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": "arn:aws:sns:ap-southeast-2:123456789012:clientwatch-mail-events",
                    "Message": m, "Timestamp": "2026-12-01T09:00:06.000Z"}
        })).collect::<Vec<_>>()})
    }

    #[test]
    fn each_sns_record_carries_one_ses_event_or_says_why_not() {
        let bounce = json!({"eventType": "Bounce", "mail": {"timestamp": "2026-12-01T09:00:00.000Z", "messageId": "m1"},
            "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "a@example.com"}],
                       "timestamp": "2026-12-01T09:00:05.000Z"}})
        .to_string();
        let parsed = reports(&sns(&[&bounce, "not json", "{\"eventType\": \"Bounce\"}"]));
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[0].as_ref().unwrap().mail.message_id, "m1");
        assert!(
            parsed[1]
                .as_ref()
                .unwrap_err()
                .contains("not an SES event record")
        );
        assert!(parsed[2].as_ref().unwrap_err().contains("mail"));
        let none = reports(&json!({"detail": {}}));
        assert!(none[0].as_ref().unwrap_err().contains("no Records"));
    }
}
