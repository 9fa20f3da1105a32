//! The `Mailer` port over SES v2 `SendEmail`, with an HTML and a text part. Sent through the
//! configured configuration set (its event destination reports bounces, complaints and
//! deliveries; `comms::outcomes`), with the message's tags so that each report names its
//! tenant, client and kind.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};

use crate::domain::EmailAddress;
use crate::ports::{DeliveryError, Email, Mailer};

pub struct SesMailer {
    client: Client,
    from: EmailAddress,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: Client, from: EmailAddress) -> Self {
        Self {
            client,
            from,
            configuration_set: None,
        }
    }

    /// Sends through `set` (none: the account's default).
    pub fn with_configuration_set(mut self, set: Option<String>) -> Self {
        self.configuration_set = set;
        self
    }
}

/// A tag value as SES takes it: ASCII letters, digits, `_` and `-`, at most 256 characters.
/// Ids are already so; anything else is replaced by `_` (a report then names no record, and
/// is ignored rather than misfiled).
fn tag_value(v: &str) -> String {
    v.chars()
        .take(256)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn tags(tags: &[(&'static str, String)]) -> Result<Option<Vec<MessageTag>>, DeliveryError> {
    if tags.is_empty() {
        return Ok(None);
    }
    tags.iter()
        .map(|(name, value)| {
            MessageTag::builder()
                .name(*name)
                .value(tag_value(value))
                .build()
                .map_err(|e| DeliveryError::Rejected(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn content(data: &str) -> Result<Content, DeliveryError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| DeliveryError::Rejected(e.to_string()))
}

#[async_trait::async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<String, DeliveryError> {
        if email.to.is_empty() {
            return Err(DeliveryError::Rejected(
                "the message has no recipient".into(),
            ));
        }
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(
                Body::builder()
                    .html(content(&email.html)?)
                    .text(content(&email.text)?)
                    .build(),
            )
            .build();
        let destination = Destination::builder()
            .set_to_addresses(Some(email.to.iter().map(|a| a.to_string()).collect()))
            .build();
        let result = self
            .client
            .send_email()
            .from_email_address(self.from.as_str())
            .destination(destination)
            .set_reply_to_addresses(email.reply_to.as_ref().map(|a| vec![a.to_string()]))
            .set_configuration_set_name(self.configuration_set.clone())
            .set_email_tags(tags(&email.tags)?)
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.message_id.unwrap_or_default()),
            Err(SdkError::ServiceError(e)) => {
                let (code, message) = (e.err().code(), e.err().message());
                match refusal(code, message) {
                    Refusal::Throttled => Err(DeliveryError::Throttled(
                        message.unwrap_or("throttled by SES").to_owned(),
                    )),
                    Refusal::Rejected => Err(DeliveryError::Rejected(
                        message.unwrap_or("rejected by SES").to_owned(),
                    )),
                    Refusal::Failed => Err(DeliveryError::Unavailable(Box::new(
                        SdkError::ServiceError(e),
                    ))),
                }
            }
            Err(e) => Err(DeliveryError::Unavailable(Box::new(e))),
        }
    }
}

/// What an SES refusal means for the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The send rate was passed: the same message may go after a pause.
    Throttled,
    /// This message will never be taken.
    Rejected,
    /// Anything else (SES failing, the daily quota spent): a later run may succeed.
    Failed,
}

/// Tells SES's refusals apart by code (and, for the rate, by message: SES has answered a rate
/// passed as `MessageRejected` / `Throttling` with "Maximum sending rate exceeded").
pub fn refusal(code: Option<&str>, message: Option<&str>) -> Refusal {
    let rate = message.is_some_and(|m| m.to_ascii_lowercase().contains("maximum sending rate"));
    match code {
        Some("TooManyRequestsException" | "Throttling" | "ThrottlingException") => {
            Refusal::Throttled
        }
        _ if rate => Refusal::Throttled,
        Some("MessageRejected" | "MailFromDomainNotVerifiedException" | "BadRequestException") => {
            Refusal::Rejected
        }
        _ => Refusal::Failed,
    }
}

/// The account's maximum send rate (`GetAccount` → `SendQuota.MaxSendRate`, messages a second),
/// or `None` when it cannot be read (the refusal is logged; the configured rate then stands).
pub async fn max_send_rate(client: &Client) -> Option<f64> {
    match client.get_account().send().await {
        Ok(account) => account.send_quota().map(|q| q.max_send_rate()),
        Err(e) => {
            tracing::warn!(error = %aws_sdk_sesv2::error::DisplayErrorContext(&e), "the SES account's send quota could not be read; the configured e-mail rate stands");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_send_rate_is_told_from_a_rejection_and_a_failure() {
        #[rustfmt::skip]
        let table: &[(&str, Option<&str>, Option<&str>, Refusal)] = &[
            // (reason, code, message, what it means)
            ("SES v2's rate", Some("TooManyRequestsException"), Some("Too many requests"), Refusal::Throttled),
            ("the API's throttling", Some("Throttling"), Some("Rate exceeded"), Refusal::Throttled),
            ("SES's own words, as a rejection", Some("MessageRejected"), Some("Maximum sending rate exceeded."), Refusal::Throttled),
            ("a rejected message", Some("MessageRejected"), Some("Email address is not verified."), Refusal::Rejected),
            ("a bad request", Some("BadRequestException"), None, Refusal::Rejected),
            ("the daily quota spent is no rate", Some("LimitExceededException"), Some("Daily message quota exceeded."), Refusal::Failed),
            ("SES failing", Some("InternalFailure"), None, Refusal::Failed),
            ("no code", None, None, Refusal::Failed),
        ];
        for (reason, code, message, expected) in table {
            assert_eq!(refusal(*code, *message), *expected, "{reason}");
        }
    }
}
