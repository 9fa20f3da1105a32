//! The communications log: one entry per message to one contact on one channel (sending,
//! sent, failed, or interrupted when a run was killed while handing it over), one per
//! message that reached nobody (skipped, with the reason), and one per answer a contact gave in
//! the account portal (a dispute, a promise to pay) and per promise broken (recorded, without a
//! channel). Readable per client, per invoice,
//! and, for the ones to act on (skipped, interrupted, and any still being sent), per tenant as
//! warnings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Services;
use crate::domain::clients::Channel;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{Cursor, Index, IndexKey, Item, Key, Query, SortKey};
use crate::records::clients;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A new invoice, to the contacts with invoice presentment.
    Invoice,
    /// A workflow's reminder, to the contacts with communication.
    Reminder,
    /// A workflow's escalation, to the contacts of the escalation role.
    Escalation,
    /// The monthly statement of open invoices.
    Statement,
    /// A contact disputed the invoice in the account portal; `reason` is the reason chosen.
    Dispute,
    /// A contact promised in the account portal to pay the invoice by a date.
    Promise,
    /// The invoice was still open the day after the promised date: the promise was broken and
    /// its workflow went on.
    PromiseBroken,
}

impl Kind {
    /// The kind as the API and a message's tags name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invoice => "invoice",
            Kind::Reminder => "reminder",
            Kind::Escalation => "escalation",
            Kind::Statement => "statement",
            Kind::Dispute => "dispute",
            Kind::Promise => "promise",
            Kind::PromiseBroken => "promise_broken",
        }
    }

    /// The kind a message's tag names, if it is one of the log's.
    pub fn parse(s: &str) -> Option<Kind> {
        [
            Kind::Invoice,
            Kind::Reminder,
            Kind::Escalation,
            Kind::Statement,
            Kind::Dispute,
            Kind::Promise,
            Kind::PromiseBroken,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Claimed and being handed over to the provider. Listed among the tenant's warnings
    /// until the outcome is known: an entry that stays here was cut off inside the provider
    /// call, and the next run that meets it marks it interrupted.
    Sending,
    Sent,
    /// The provider refused it or could not be reached; `reason` says which.
    Failed,
    /// Nobody could receive it; `reason` says why (no contact in the role, channel not
    /// allowed, breathing space, attempts used up).
    Skipped,
    /// The run handing it over was cut off inside the provider call: it may or may not have
    /// gone out. It is not sent again (a duplicate could break the client's contact limits);
    /// it stays among the tenant's warnings for someone to check.
    Interrupted,
    /// Not a message: something the client's contact did (a dispute, a promise) or what came
    /// of it (a promise broken), recorded in the same transaction as the change to the invoice.
    Recorded,
    /// The provider reported the message delivered to the recipient's mail server.
    Delivered,
    /// The recipient's mail server refused the message for good (a hard bounce): the address
    /// is suppressed until the contact's address changes. Listed among the tenant's warnings.
    Bounced,
    /// The recipient marked the message as spam: the address is suppressed. Listed among the
    /// tenant's warnings.
    Complained,
    /// The provider accepted the message but would not deliver it (it found a virus). Listed
    /// among the tenant's warnings.
    Rejected,
}

impl Outcome {
    /// Listed among the tenant's warnings: something a person should look at.
    pub fn is_warning(self) -> bool {
        matches!(
            self,
            Outcome::Sending
                | Outcome::Skipped
                | Outcome::Interrupted
                | Outcome::Bounced
                | Outcome::Complained
                | Outcome::Rejected
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub at: DateTime<Utc>,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<String>,
    pub kind: Kind,
    /// The workflow step (its id) that sent it, for reminders and escalations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// How the message went; none for what was recorded rather than sent (a dispute, a promise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    /// The address or masked number it went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub subject: String,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

impl Entry {
    pub fn key(&self, tenant_id: &str) -> Key {
        keys::log(
            tenant_id,
            &self.client_id,
            &format!("{}#{}", stamp(self.at), self.id),
        )
    }

    /// The stored entry: listed per client by key, per invoice on gsi2, and warnings (skipped,
    /// sending, interrupted) per tenant on gsi1.
    pub fn item(&self, tenant_id: &str) -> Result<Item> {
        let mut item = Item::from_record(self.key(tenant_id), self)?;
        let order = format!("{}#{}", stamp(self.at), self.id);
        if let Some(invoice) = &self.invoice_id {
            item = item.with_index(
                Index::Gsi2,
                IndexKey::new(
                    keys::invoice_log(tenant_id, &self.client_id, invoice),
                    &order,
                ),
            );
        }
        if self.outcome.is_warning() {
            item = item.with_index(
                Index::Gsi1,
                IndexKey::new(keys::comms_warnings(tenant_id), &order),
            );
        }
        Ok(item)
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn page(items: &[Item]) -> Result<Vec<Entry>> {
    items
        .iter()
        .map(|item| item.record().map_err(Error::from))
        .collect()
}

/// A client's log, newest first.
pub async fn for_client(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Entry>, Option<Cursor>)> {
    clients::get(svc.table.as_ref(), tenant_id, client_id).await?;
    let query = Query::partition(keys::client_pk(tenant_id, client_id))
        .sk(SortKey::BeginsWith(keys::LOG.into()))
        .descending()
        .limit(limit)
        .after(cursor);
    let found = svc.table.query(query).await?;
    Ok((page(&found.items)?, found.next))
}

/// An invoice's log, newest first.
pub async fn for_invoice(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    invoice_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Entry>, Option<Cursor>)> {
    let query = Query::index(
        Index::Gsi2,
        keys::invoice_log(tenant_id, client_id, invoice_id),
    )
    .descending()
    .limit(limit)
    .after(cursor);
    let found = svc.table.query(query).await?;
    Ok((page(&found.items)?, found.next))
}

/// The tenant's warnings, newest first: messages that reached nobody (skipped), messages
/// whose sending was cut off (interrupted), and any still being handed over.
pub async fn skipped(
    svc: &Services,
    tenant_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Entry>, Option<Cursor>)> {
    let query = Query::index(Index::Gsi1, keys::comms_warnings(tenant_id))
        .descending()
        .limit(limit)
        .after(cursor);
    let found = svc.table.query(query).await?;
    Ok((page(&found.items)?, found.next))
}
