//! Who changed what in the Customer Centre, and when. An audit entry is written in the same
//! transaction as the change it records, so there is never a change without its entry; so is
//! the change's `CustomerCentreUpdated` event, as a row of the outbox
//! ([`crate::records::outbox`]), which is published right after the write (and, if a crash or
//! an outage stops that, by the next communications run), never lost.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Services;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{Condition, Cursor, DomainEvent, Item, Key, Query, SortKey, TxOp};
use crate::records::clients;
use crate::records::outbox::{self, Staged};

/// The event published after every change a customer makes.
pub const UPDATED_EVENT: &str = "CustomerCentreUpdated";

/// A customer in the Customer Centre: one invitee of one opportunity. Every portal action
/// acts as, and is scoped to, one of these (taken from the customer's session).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitee {
    pub tenant_id: String,
    pub client_id: String,
    pub opportunity_id: String,
    pub invite_id: String,
    pub contact_id: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Fields of the application changed; `detail.changes` lists them.
    ApplicationEdited,
    /// A questionnaire's draft was saved; `detail.questionnaire_id` names it.
    QuestionnaireDraftSaved,
    /// A questionnaire was submitted (final); `detail.questionnaire_id` names it.
    QuestionnaireSubmitted,
}

/// One field of the application that a customer changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    #[serde(default)]
    pub from: Value,
    #[serde(default)]
    pub to: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub opportunity_id: String,
    pub at: DateTime<Utc>,
    /// The customer: the invite they came through and the contact it was sent to.
    pub invite_id: String,
    pub contact_id: String,
    pub action: Action,
    /// What changed: `{"changes": [...]}` for an edit, `{"questionnaire_id": ...}` for answers.
    pub detail: Value,
}

impl Entry {
    /// A new entry for what `who` did now.
    pub fn new(svc: &Services, who: &Invitee, action: Action, detail: Value) -> Self {
        Self {
            id: svc.ids.id(),
            opportunity_id: who.opportunity_id.clone(),
            at: svc.clock.now(),
            invite_id: who.invite_id.clone(),
            contact_id: who.contact_id.clone(),
            action,
            detail,
        }
    }

    fn key(&self, tenant_id: &str, client_id: &str) -> Key {
        let order = format!("{}#{}", self.at.format("%Y-%m-%dT%H:%M:%S%.6fZ"), self.id);
        keys::audit(tenant_id, client_id, &self.opportunity_id, &order)
    }

    /// The write of this entry, to go in the same transaction as the change it records.
    pub fn op(&self, who: &Invitee) -> Result<TxOp> {
        let item = Item::from_record(self.key(&who.tenant_id, &who.client_id), self)?;
        Ok(TxOp::Put(item, Condition::Absent))
    }

    /// The `CustomerCentreUpdated` event for partner systems: who did what, where.
    pub fn event(&self, who: &Invitee) -> DomainEvent {
        let mut detail = json!({
            "tenant_id": who.tenant_id,
            "client_id": who.client_id,
            "opportunity_id": self.opportunity_id,
            "invite_id": self.invite_id,
            "contact_id": self.contact_id,
            "audit_id": self.id,
            "action": self.action,
        });
        if let (Value::Object(into), Value::Object(from)) = (&mut detail, &self.detail) {
            for (k, v) in from {
                into.insert(k.clone(), v.clone());
            }
        }
        DomainEvent::new(UPDATED_EVENT, detail, self.at)
    }
}

/// Writes `ops` (the change) with `entry` and its event's outbox row in one transaction, then
/// publishes the event. The change stands even if publishing fails (the event then waits in
/// the outbox for the next communications run); that failure is returned for the caller to
/// log.
pub async fn commit(
    svc: &Services,
    who: &Invitee,
    mut ops: Vec<TxOp>,
    entry: &Entry,
) -> Result<()> {
    let staged = Staged::new(svc, entry.event(who));
    ops.push(entry.op(who)?);
    ops.push(staged.op()?);
    svc.table.transact(ops).await?;
    outbox::publish(svc, &staged).await
}

/// An opportunity's audit entries, oldest first, a page at a time.
pub async fn list(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    opportunity_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Entry>, Option<Cursor>)> {
    clients::get(svc.table.as_ref(), tenant_id, client_id).await?;
    let query = Query::partition(keys::client_pk(tenant_id, client_id))
        .sk(SortKey::BeginsWith(keys::audit_of(opportunity_id)))
        .limit(limit)
        .after(cursor);
    let page = svc.table.query(query).await?;
    let entries = page
        .items
        .iter()
        .map(|item| item.record().map_err(Error::from))
        .collect::<Result<_>>()?;
    Ok((entries, page.next))
}
