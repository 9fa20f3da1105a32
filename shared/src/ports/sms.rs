//! Sending one text message to a mobile number.

use crate::contact_points::PhoneNumber;
use crate::ports::DeliveryError;

#[async_trait::async_trait]
pub trait Sms: Send + Sync {
    /// Sends `body` to `to` and returns the provider's message id.
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<String, DeliveryError>;
}
