//! Suppressed e-mail addresses, per tenant: an address that bounced for good (a hard bounce) or
//! whose owner marked a message as spam (a complaint) gets no more e-mail from the tenant.
//! Sends to it are skipped with the reason (the communications run logs them among the
//! tenant's warnings; the digest leaves the address out and says so), and the API shows it on
//! every contact with that address. Kept by address, not by contact: a contact whose address
//! changes is reached again at the new one at once, and the bad address stays suppressed for
//! any other contact that has it. The tenant lifts one (`DELETE /v1/suppressions?address=`)
//! once the mailbox is mended.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{EmailAddress, Error, Result};
use crate::keys;
use crate::ports::{Condition, Cursor, Item, Query, SortKey, Table, TableError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The recipient's mail server refused the message for good.
    Bounce,
    /// The recipient marked a message as spam.
    Complaint,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub address: String,
    pub reason: Reason,
    /// What the recipient's server said (a bounce's diagnostic), or the complaint's type;
    /// at most 300 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When the provider reported it.
    pub since: DateTime<Utc>,
    /// The provider's id of the message that bounced or was complained about.
    pub message_id: String,
    /// What that message was (`reminder`, `digest`, `invite`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_kind: Option<String>,
}

impl Suppression {
    /// Why a message to this address is not sent, as the log and the digest say it.
    pub fn why(&self) -> String {
        let what = match self.reason {
            Reason::Bounce => "bounced for good",
            Reason::Complaint => "was reported as spam by its owner",
        };
        format!(
            "{} is suppressed: an e-mail to it {what} on {} (change the contact's address, or lift the suppression once the mailbox is mended)",
            self.address,
            self.since.format("%Y-%m-%d")
        )
    }
}

/// Records a suppression; a report of an address already suppressed keeps the first (the
/// provider may report one bounce twice). True when it is new.
pub async fn suppress(table: &dyn Table, tenant_id: &str, s: &Suppression) -> Result<bool> {
    let item = Item::from_record(keys::suppression(tenant_id, &s.address), s)?;
    match table.put(item, Condition::Absent).await {
        Ok(()) => Ok(true),
        Err(TableError::ConditionFailed(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The suppressions among `addresses` (one batched read), by address in lower case.
pub async fn of(
    table: &dyn Table,
    tenant_id: &str,
    addresses: &[&EmailAddress],
) -> Result<HashMap<String, Suppression>> {
    if addresses.is_empty() {
        return Ok(HashMap::new());
    }
    let keys: Vec<_> = addresses
        .iter()
        .map(|a| keys::suppression(tenant_id, a.as_str()))
        .collect();
    let mut found = HashMap::new();
    for item in table.batch_get(&keys).await?.into_iter().flatten() {
        let s: Suppression = item.record()?;
        found.insert(s.address.to_lowercase(), s);
    }
    Ok(found)
}

/// The tenant's suppressions, by address.
pub async fn list(
    table: &dyn Table,
    tenant_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Suppression>, Option<Cursor>)> {
    let query = Query::partition(keys::tenant_pk(tenant_id))
        .sk(SortKey::BeginsWith(keys::SUPPRESSIONS.into()))
        .limit(limit)
        .after(cursor);
    let page = table.query(query).await?;
    let items = page
        .items
        .iter()
        .map(|i| i.record().map_err(Error::from))
        .collect::<Result<_>>()?;
    Ok((items, page.next))
}

/// Lifts a suppression; `NotFound` when the address was not suppressed.
pub async fn lift(table: &dyn Table, tenant_id: &str, address: &EmailAddress) -> Result<()> {
    match table
        .delete(
            &keys::suppression(tenant_id, address.as_str()),
            Condition::Exists,
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(TableError::ConditionFailed(_)) => Err(Error::NotFound("suppression")),
        Err(e) => Err(e.into()),
    }
}
