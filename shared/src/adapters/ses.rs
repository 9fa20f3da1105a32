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
            Err(SdkError::ServiceError(e))
                if matches!(
                    e.err().code(),
                    Some(
                        "MessageRejected"
                            | "MailFromDomainNotVerifiedException"
                            | "BadRequestException"
                    )
                ) =>
            {
                Err(DeliveryError::Rejected(
                    e.err().message().unwrap_or("rejected by SES").to_owned(),
                ))
            }
            Err(e) => Err(DeliveryError::Unavailable(Box::new(e))),
        }
    }
}
