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
            Err(SdkError::ServiceError(e)) if throttled(e.err().code()) => {
                Err(DeliveryError::Throttled(
                    e.err().message().unwrap_or("throttled by SNS").to_owned(),
                ))
            }
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

/// SNS's answers to a send rate passed: the same text may go after a pause.
pub fn throttled(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("ThrottledException" | "Throttling" | "ThrottlingException")
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_passed_send_rate_is_told_from_other_refusals() {
        #[rustfmt::skip]
        let table: &[(&str, Option<&str>, bool)] = &[
            // (reason, code, throttled)
            ("SNS's own", Some("ThrottledException"), true),
            ("the API's throttling", Some("Throttling"), true),
            ("a bad number", Some("InvalidParameter"), false),
            ("opted out", Some("OptedOut"), false),
            ("no code", None, false),
        ];
        for (reason, code, expected) in table {
            assert_eq!(super::throttled(*code), *expected, "{reason}");
        }
    }
}
