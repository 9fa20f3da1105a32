//! The `Mailer` port over SES v2 `SendEmail`, with an HTML and a text part.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::domain::EmailAddress;
use crate::ports::{DeliveryError, Email, Mailer};

pub struct SesMailer {
    client: Client,
    from: EmailAddress,
}

impl SesMailer {
    pub fn new(client: Client, from: EmailAddress) -> Self {
        Self { client, from }
    }
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
