//! Sending one e-mail with an HTML and a plain-text part.

use crate::contact_points::EmailAddress;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub to: Vec<EmailAddress>,
    pub reply_to: Option<EmailAddress>,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// What the message is, for the provider's later reports on it (bounces, complaints,
    /// deliveries name the message by its tags): [`TAG_TENANT`], [`TAG_CLIENT`], [`TAG_KIND`].
    /// Values are ids and fixed words.
    pub tags: Vec<(&'static str, String)>,
}

/// The tenant a message was sent for.
pub const TAG_TENANT: &str = "tenant";
/// The client a message was about (absent for a tenant's own digest).
pub const TAG_CLIENT: &str = "client";
/// What the message is: a communications log kind (`reminder`, `statement`, ...), `digest`,
/// `invite` or `code`.
pub const TAG_KIND: &str = "kind";

/// Why a message (e-mail or SMS) was not handed over for delivery.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The provider refused this message; sending it again will not help.
    #[error("the message was refused: {0}")]
    Rejected(String),
    /// The provider refused it for now: the account's send rate was passed. Nothing was sent;
    /// the same message may be sent after a pause.
    #[error("the provider's send rate was exceeded: {0}")]
    Throttled(String),
    /// The provider could not be reached or failed; a later retry may succeed.
    #[error("the delivery service failed")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    /// Sends the message from the configured sender and returns the provider's message id.
    async fn send(&self, email: &Email) -> Result<String, DeliveryError>;
}
