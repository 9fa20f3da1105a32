//! What became of e-mails after they were handed over, as the provider reports it: SES's event
//! records (published through the configuration set to an SNS topic, in the shapes AWS
//! documents: `eventType` `Bounce`, `Complaint`, `Delivery`, `Reject`). Each message carries
//! tags saying which tenant, client and kind it was (see `ports::mailer`), so a report finds its
//! way back without a lookup by message id.
//!
//! - A hard bounce or a complaint suppresses the address for the tenant
//!   (`records::suppressions`): later sends to it are skipped with the reason.
//! - For a client's message (a reminder, an escalation, an invoice, a statement) the outcome is
//!   written to the client's communications log: delivered, bounced, complained, rejected, or
//!   failed for a soft bounce SES gave up on. Bounced, complained and rejected are among the
//!   tenant's warnings.
//! - A report is recorded once however often it is delivered: the log entry's id is derived
//!   from the message, the recipient and the event, and a suppression is written only if absent.
//!
//! What a report means is decided by [`judge`], a pure function with a table test; [`record`]
//! applies it.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

use super::log::{Entry, Kind, Outcome};
use crate::Services;
use crate::domain::clients::Channel;
use crate::domain::{Error, Result};
use crate::ports::Condition;
use crate::ports::mailer::{TAG_CLIENT, TAG_KIND, TAG_TENANT};
use crate::records::suppressions::{self, Reason, Suppression};
use crate::records::{clients, tenants};

/// One SES event record.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesEvent {
    /// `notificationType` when the identity's own notifications deliver it.
    #[serde(alias = "notificationType")]
    pub event_type: String,
    pub mail: Mail,
    #[serde(default)]
    pub bounce: Option<Bounce>,
    #[serde(default)]
    pub complaint: Option<Complaint>,
    #[serde(default)]
    pub delivery: Option<Delivery>,
    #[serde(default)]
    pub reject: Option<Reject>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mail {
    pub timestamp: DateTime<Utc>,
    pub message_id: String,
    #[serde(default)]
    pub destination: Vec<String>,
    #[serde(default)]
    pub tags: HashMap<String, Vec<String>>,
    #[serde(default)]
    pub common_headers: Option<CommonHeaders>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CommonHeaders {
    #[serde(default)]
    pub subject: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bounce {
    pub bounce_type: String,
    #[serde(default)]
    pub bounce_sub_type: Option<String>,
    pub bounced_recipients: Vec<BouncedRecipient>,
    pub timestamp: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BouncedRecipient {
    pub email_address: String,
    #[serde(default)]
    pub diagnostic_code: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Complaint {
    pub complained_recipients: Vec<Recipient>,
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub complaint_feedback_type: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    pub email_address: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub timestamp: DateTime<Utc>,
    pub recipients: Vec<String>,
    #[serde(default)]
    pub smtp_response: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Reject {
    pub reason: String,
}

/// What one report means for one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judged {
    pub address: String,
    pub outcome: Outcome,
    /// Why, as the log says it (a bounce's diagnostic, a complaint's type, a rejection's reason).
    pub reason: Option<String>,
    /// The address is suppressed for this reason.
    pub suppress: Option<Reason>,
    pub at: DateTime<Utc>,
}

/// The most of a provider's text kept with an outcome.
const DETAIL_CHARS: usize = 300;

fn detail(s: Option<&str>) -> Option<String> {
    s.map(|s| s.chars().take(DETAIL_CHARS).collect())
}

/// What a report means, per recipient: nothing for the kinds clientwatch does not act on
/// (sends, opens, clicks, delays, subscriptions).
pub fn judge(event: &SesEvent) -> Vec<Judged> {
    match event.event_type.as_str() {
        "Bounce" => {
            let Some(b) = &event.bounce else {
                return Vec::new();
            };
            // Only a permanent bounce says the address is bad; a transient or undetermined one
            // (reported only once SES has given up retrying) failed this message alone.
            let hard = b.bounce_type == "Permanent";
            b.bounced_recipients
                .iter()
                .map(|r| Judged {
                    address: r.email_address.clone(),
                    outcome: if hard {
                        Outcome::Bounced
                    } else {
                        Outcome::Failed
                    },
                    reason: detail(Some(&match (&r.diagnostic_code, &b.bounce_sub_type) {
                        (Some(code), _) => format!("{} bounce: {code}", b.bounce_type),
                        (None, Some(sub)) => format!("{} bounce ({sub})", b.bounce_type),
                        (None, None) => format!("{} bounce", b.bounce_type),
                    })),
                    suppress: hard.then_some(Reason::Bounce),
                    at: b.timestamp,
                })
                .collect()
        }
        "Complaint" => {
            let Some(c) = &event.complaint else {
                return Vec::new();
            };
            c.complained_recipients
                .iter()
                .map(|r| Judged {
                    address: r.email_address.clone(),
                    outcome: Outcome::Complained,
                    reason: detail(Some(&match &c.complaint_feedback_type {
                        Some(t) => format!("reported as spam ({t})"),
                        None => "reported as spam".to_owned(),
                    })),
                    suppress: Some(Reason::Complaint),
                    at: c.timestamp,
                })
                .collect()
        }
        "Delivery" => {
            let Some(d) = &event.delivery else {
                return Vec::new();
            };
            d.recipients
                .iter()
                .map(|address| Judged {
                    address: address.clone(),
                    outcome: Outcome::Delivered,
                    reason: detail(d.smtp_response.as_deref()),
                    suppress: None,
                    at: d.timestamp,
                })
                .collect()
        }
        "Reject" => event
            .mail
            .destination
            .iter()
            .map(|address| Judged {
                address: address.clone(),
                outcome: Outcome::Rejected,
                reason: detail(event.reject.as_ref().map(|r| r.reason.as_str())),
                suppress: None,
                at: event.mail.timestamp,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// What recording a report did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Addresses newly suppressed.
    pub suppressed: usize,
    /// Outcomes written to a client's log.
    pub logged: usize,
    /// Why nothing was recorded, when nothing was (not a message of a tenant here, a kind
    /// not acted on).
    pub ignored: Option<String>,
}

fn tag<'a>(event: &'a SesEvent, name: &str) -> Option<&'a str> {
    event
        .mail
        .tags
        .get(name)
        .and_then(|v| v.first())
        .map(String::as_str)
}

/// The log entry's id: the same report recorded twice is one entry.
fn entry_id(message_id: &str, event_type: &str, address: &str) -> String {
    let digest = Sha256::digest(format!("{message_id}\n{event_type}\n{address}").as_bytes());
    format!("ses-{}", &hex::encode(digest)[..24])
}

/// Records one report: suppressions, and the outcome in the client's log.
pub async fn record(svc: &Services, event: &SesEvent) -> Result<Recorded> {
    let mut done = Recorded::default();
    let judged = judge(event);
    if judged.is_empty() {
        done.ignored = Some(format!("{} reports are not acted on", event.event_type));
        return Ok(done);
    }
    let Some(tenant_id) = tag(event, TAG_TENANT) else {
        done.ignored = Some("the message has no tenant tag".into());
        return Ok(done);
    };
    match tenants::get(svc.table.as_ref(), tenant_id).await {
        Ok(_) => {}
        Err(Error::NotFound(_)) => {
            done.ignored = Some("the message's tenant is gone".into());
            return Ok(done);
        }
        Err(e) => return Err(e),
    }
    let kind = tag(event, TAG_KIND);
    for j in &judged {
        if let Some(reason) = j.suppress {
            let s = Suppression {
                address: j.address.clone(),
                reason,
                detail: j.reason.clone(),
                since: j.at,
                message_id: event.mail.message_id.clone(),
                message_kind: kind.map(str::to_owned),
            };
            if suppressions::suppress(svc.table.as_ref(), tenant_id, &s).await? {
                done.suppressed += 1;
            }
        }
    }
    // The client's log, for the kinds it keeps, while the client exists.
    let (Some(client_id), Some(log_kind)) = (tag(event, TAG_CLIENT), kind.and_then(Kind::parse))
    else {
        return Ok(done);
    };
    match clients::get(svc.table.as_ref(), tenant_id, client_id).await {
        Ok(_) => {}
        Err(Error::NotFound(_)) => return Ok(done),
        Err(e) => return Err(e),
    }
    let subject = event
        .mail
        .common_headers
        .as_ref()
        .and_then(|h| h.subject.clone())
        .unwrap_or_default();
    for j in judged {
        let entry = Entry {
            id: entry_id(&event.mail.message_id, &event.event_type, &j.address),
            at: j.at,
            client_id: client_id.to_owned(),
            invoice_id: None,
            kind: log_kind,
            step: None,
            channel: Some(Channel::Email),
            contact_id: None,
            to: Some(j.address.clone()),
            subject: subject.clone(),
            outcome: j.outcome,
            reason: j.reason,
            message_id: Some(event.mail.message_id.clone()),
        };
        svc.table
            .put(entry.item(tenant_id)?, Condition::None)
            .await?;
        done.logged += 1;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(body: serde_json::Value) -> SesEvent {
        serde_json::from_value(body).unwrap()
    }

    fn mail() -> serde_json::Value {
        json!({
            "timestamp": "2026-12-01T09:00:00.000Z",
            "messageId": "0100018c-example-000000",
            "destination": ["ana@example.com"],
            "tags": {"tenant": ["t1"], "client": ["c1"], "kind": ["reminder"]},
            "commonHeaders": {"subject": "Invoice INV-1 is due"}
        })
    }

    #[test]
    fn what_each_report_means() {
        #[rustfmt::skip]
        let cases = [
            (json!({"eventType": "Bounce", "mail": mail(), "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": "ana@example.com", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                "timestamp": "2026-12-01T09:00:05.000Z"}}),
             Some((Outcome::Bounced, Some(Reason::Bounce), "Permanent bounce: smtp; 550 5.1.1 user unknown"))),
            (json!({"eventType": "Bounce", "mail": mail(), "bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull",
                "bouncedRecipients": [{"emailAddress": "ana@example.com"}], "timestamp": "2026-12-01T09:00:05.000Z"}}),
             Some((Outcome::Failed, None, "Transient bounce (MailboxFull)"))),
            (json!({"eventType": "Bounce", "mail": mail(), "bounce": {"bounceType": "Undetermined",
                "bouncedRecipients": [{"emailAddress": "ana@example.com"}], "timestamp": "2026-12-01T09:00:05.000Z"}}),
             Some((Outcome::Failed, None, "Undetermined bounce"))),
            (json!({"eventType": "Complaint", "mail": mail(), "complaint": {"complainedRecipients": [{"emailAddress": "ana@example.com"}],
                "timestamp": "2026-12-01T10:00:00.000Z", "complaintFeedbackType": "abuse"}}),
             Some((Outcome::Complained, Some(Reason::Complaint), "reported as spam (abuse)"))),
            (json!({"eventType": "Delivery", "mail": mail(), "delivery": {"timestamp": "2026-12-01T09:00:01.000Z",
                "recipients": ["ana@example.com"], "smtpResponse": "250 2.6.0 Message received"}}),
             Some((Outcome::Delivered, None, "250 2.6.0 Message received"))),
            (json!({"eventType": "Reject", "mail": mail(), "reject": {"reason": "Bad content"}}),
             Some((Outcome::Rejected, None, "Bad content"))),
            (json!({"notificationType": "Bounce", "mail": mail(), "bounce": {"bounceType": "Permanent",
                "bouncedRecipients": [{"emailAddress": "ana@example.com"}], "timestamp": "2026-12-01T09:00:05.000Z"}}),
             Some((Outcome::Bounced, Some(Reason::Bounce), "Permanent bounce"))),
            (json!({"eventType": "Open", "mail": mail(), "open": {}}), None),
            (json!({"eventType": "Send", "mail": mail(), "send": {}}), None),
            (json!({"eventType": "Bounce", "mail": mail()}), None),
        ];
        for (body, want) in cases {
            let judged = judge(&event(body.clone()));
            match want {
                None => assert!(judged.is_empty(), "{body}"),
                Some((outcome, suppress, reason)) => {
                    assert_eq!(judged.len(), 1, "{body}");
                    assert_eq!(judged[0].address, "ana@example.com");
                    assert_eq!(judged[0].outcome, outcome, "{body}");
                    assert_eq!(judged[0].suppress, suppress, "{body}");
                    assert_eq!(judged[0].reason.as_deref(), Some(reason), "{body}");
                }
            }
        }
    }

    #[test]
    fn a_providers_text_is_kept_short() {
        let long = "x".repeat(5000);
        let body = json!({"eventType": "Reject", "mail": mail(), "reject": {"reason": long}});
        let judged = judge(&event(body));
        assert_eq!(
            judged[0].reason.as_ref().unwrap().chars().count(),
            DETAIL_CHARS
        );
    }

    #[test]
    fn the_same_report_is_the_same_entry_and_another_recipient_another() {
        let a = entry_id("m1", "Bounce", "ana@example.com");
        assert_eq!(a, entry_id("m1", "Bounce", "ana@example.com"));
        assert_ne!(a, entry_id("m1", "Bounce", "tom@example.com"));
        assert_ne!(a, entry_id("m1", "Delivery", "ana@example.com"));
    }
}
