//! Ports that a command does not use: an operator command that writes only to the table
//! (`clientwatch-admin`) is built without a sender, a bus or a portal, so it needs none of their
//! configuration. Should such a command ever reach one of them, the call fails saying so rather
//! than sending anything.

use crate::domain::PhoneNumber;
use crate::ports::{DeliveryError, DomainEvent, Email, Events, Mailer, PublishError, Sms};

/// A mailer, SMS sender and event bus that the command was built without.
#[derive(Clone, Copy, Debug)]
pub struct Absent(pub &'static str);

impl Absent {
    fn refused(&self, what: &str) -> String {
        format!("{} was built without {what}", self.0)
    }
}

#[async_trait::async_trait]
impl Mailer for Absent {
    async fn send(&self, _email: &Email) -> Result<String, DeliveryError> {
        Err(DeliveryError::Rejected(self.refused("a mail sender")))
    }
}

#[async_trait::async_trait]
impl Sms for Absent {
    async fn send(&self, _to: &PhoneNumber, _body: &str) -> Result<String, DeliveryError> {
        Err(DeliveryError::Rejected(self.refused("an SMS sender")))
    }
}

#[async_trait::async_trait]
impl Events for Absent {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), PublishError> {
        Err(PublishError {
            total: events.len(),
            failed: (0..events.len())
                .map(|i| (i, "Absent".to_owned(), self.refused("an event bus")))
                .collect(),
        })
    }
}
