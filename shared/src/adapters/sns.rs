//! The `Sms` port over SNS `Publish` to a phone number, sent as a transactional message.

use aws_sdk_sns::Client;
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;

use crate::domain::PhoneNumber;
use crate::ports::{DeliveryError, Sms};

pub struct SnsSms {
    client: Client,
}

impl SnsSms {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait::async_trait]
impl Sms for SnsSms {
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<String, DeliveryError> {
        let transactional = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("Transactional")
            .build()
            .map_err(|e| DeliveryError::Rejected(e.to_string()))?;
        let result = self
            .client
            .publish()
            .phone_number(to.e164())
            .message(body)
            .message_attributes("AWS.SNS.SMS.SMSType", transactional)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.message_id.unwrap_or_default()),
            Err(SdkError::ServiceError(e))
                if matches!(
                    e.err().code(),
                    Some("InvalidParameter" | "InvalidParameterValue")
                ) =>
            {
                Err(DeliveryError::Rejected(
                    e.err().message().unwrap_or("rejected by SNS").to_owned(),
                ))
            }
            Err(e) => Err(DeliveryError::Unavailable(Box::new(e))),
        }
    }
}
