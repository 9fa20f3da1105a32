//! A client's contacts, their roles, and who receives what.
//!
//! Contacts come from two places: partners create them here (`source: manual`), or an
//! accounting system syncs them one way (QuickBooks Desktop or Online, NetSuite). A synced
//! contact's name, e-mail and mobile belong to its source: every sync overwrites them and this
//! API refuses to edit them. Its role belongs to us: it may be changed here and a sync keeps it.
//! An external id is claimed by a guard item in the same transaction as the contact, so two
//! syncs racing cannot create one contact twice.

use std::collections::HashMap;

use futures::StreamExt;
use serde_json::Value;

use super::resource;
use super::{clients, roles};
use crate::Services;
use crate::domain::contacts::*;
use crate::domain::resource::Resource;
use crate::domain::roles::Purpose;
use crate::domain::{EmailAddress, Error, Result};
use crate::keys;
use crate::ports::{Condition, Cursor, Item, Table, Transaction, TxOp, Update};

fn no_such_role() -> Error {
    Error::invalid("role_id", "there is no contact role with this id")
}

fn role_usage(tenant_id: &str, role_id: &str, by: i64) -> TxOp {
    TxOp::Update(
        crate::keys::role_usage(tenant_id, role_id),
        Update::default().add("contacts", by),
    )
}

/// Writes a new contact: the role must exist; a synced one claims its external id.
async fn insert(svc: &Services, tenant_id: &str, client_id: &str, contact: &Contact) -> Result<()> {
    let mut tx = Transaction::new();
    tx.guarded(
        TxOp::Check(
            keys::role(tenant_id, &contact.spec.role_id),
            Condition::Exists,
        ),
        no_such_role(),
    )
    .guarded(
        TxOp::Check(keys::client(tenant_id, client_id), Condition::Exists),
        Error::NotFound("client"),
    )
    .op(TxOp::Put(
        contact.item(keys::contact(tenant_id, client_id, &contact.id))?,
        Condition::Absent,
    ))
    .op(role_usage(tenant_id, &contact.spec.role_id, 1))
    .otherwise(Error::Conflict(
        "a contact with this external id already exists".into(),
    ));
    if let Some(external_id) = &contact.spec.external_id {
        let guard = Item::from_record(
            keys::external_contact(tenant_id, contact.spec.source.label(), external_id),
            &serde_json::json!({"client_id": client_id, "contact_id": contact.id}),
        )?;
        tx.op(TxOp::Put(guard, Condition::Absent));
    }
    tx.commit(svc.table.as_ref()).await
}

/// Creates a contact by hand. Synced contacts come only through [`sync`].
pub async fn create(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    spec: ContactSpec,
) -> Result<Contact> {
    if spec.source != Source::Manual {
        return Err(Error::invalid(
            "source",
            "contacts from accounting systems arrive through POST /v1/sync/contacts",
        ));
    }
    clients::get(svc.table.as_ref(), tenant_id, client_id).await?;
    let contact = Resource::new(svc, spec.checked(&svc.phone_region)?);
    insert(svc, tenant_id, client_id, &contact).await?;
    Ok(contact)
}

pub async fn get(
    table: &dyn Table,
    tenant_id: &str,
    client_id: &str,
    contact_id: &str,
) -> Result<Contact> {
    resource::get(
        table,
        &keys::contact(tenant_id, client_id, contact_id),
        WHAT,
    )
    .await
}

pub async fn list(
    table: &dyn Table,
    tenant_id: &str,
    client_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Contact>, Option<Cursor>)> {
    clients::list_children(table, tenant_id, client_id, keys::CONTACTS, limit, cursor).await
}

/// Every contact of a client (for recipients and portals).
pub async fn all(table: &dyn Table, tenant_id: &str, client_id: &str) -> Result<Vec<Contact>> {
    clients::get(table, tenant_id, client_id).await?;
    let query = clients::children(tenant_id, client_id, keys::CONTACTS).limit(1000);
    table
        .query_all(query)
        .await?
        .iter()
        .map(resource::from_item)
        .collect()
}

/// Replaces a contact with `next`, moving the role counters when its role changed.
async fn replace(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    current: &Contact,
    next: &Contact,
    seen: u64,
) -> Result<()> {
    let mut tx = Transaction::new();
    if current.spec.role_id != next.spec.role_id {
        tx.guarded(
            TxOp::Check(keys::role(tenant_id, &next.spec.role_id), Condition::Exists),
            no_such_role(),
        )
        .op(role_usage(tenant_id, &current.spec.role_id, -1))
        .op(role_usage(tenant_id, &next.spec.role_id, 1));
    }
    tx.op(resource::replace_op(
        keys::contact(tenant_id, client_id, &current.id),
        next,
        seen,
    )?)
    .otherwise(Error::Stale(WHAT));
    tx.commit(svc.table.as_ref()).await
}

pub async fn update(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    contact_id: &str,
    seen: u64,
    patch: &Value,
) -> Result<Contact> {
    let current = get(svc.table.as_ref(), tenant_id, client_id, contact_id).await?;
    let spec =
        crate::domain::resource::patched(&current.spec, patch)?.checked(&svc.phone_region)?;
    if spec.source != current.spec.source || spec.external_id != current.spec.external_id {
        return Err(Error::invalid(
            "source",
            "a contact's source and external id cannot change",
        ));
    }
    if current.spec.source != Source::Manual && spec.owned_fields() != current.spec.owned_fields() {
        return Err(Error::Conflict(format!(
            "this contact is synced from {}: its name, e-mail and mobile are changed there, only its role here",
            current.spec.source.label()
        )));
    }
    let next = resource::changed(svc, &current, spec);
    replace(svc, tenant_id, client_id, &current, &next, seen).await?;
    Ok(next)
}

pub async fn delete(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    contact_id: &str,
    seen: u64,
) -> Result<()> {
    let current = get(svc.table.as_ref(), tenant_id, client_id, contact_id).await?;
    let mut ops = vec![
        TxOp::Delete(
            keys::contact(tenant_id, client_id, contact_id),
            Condition::VersionIs(seen),
        ),
        role_usage(tenant_id, &current.spec.role_id, -1),
    ];
    if let Some(external_id) = &current.spec.external_id {
        ops.push(TxOp::Delete(
            keys::external_contact(tenant_id, current.spec.source.label(), external_id),
            Condition::None,
        ));
    }
    svc.table
        .transact(ops)
        .await
        .map_err(resource::stale(WHAT))?;
    Ok(())
}

/// The contacts of a client who receive messages of `purpose`, and a warning when there are
/// none.
pub async fn recipients(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    purpose: Purpose,
) -> Result<(Vec<Contact>, Option<String>)> {
    let contacts = all(svc.table.as_ref(), tenant_id, client_id).await?;
    let qualifying: Vec<String> = roles::all(svc.table.as_ref(), tenant_id)
        .await?
        .into_iter()
        .filter(|r| r.spec.serves(purpose))
        .map(|r| r.id)
        .collect();
    let chosen: Vec<Contact> = contacts
        .into_iter()
        .filter(|c| qualifying.contains(&c.spec.role_id))
        .collect();
    let warning = chosen.is_empty().then(|| {
        let flag = match purpose {
            Purpose::Invoice => "invoice presentment",
            Purpose::Reminder | Purpose::Statement => "communication",
        };
        format!("no contact of this client has a role with {flag}: nobody would receive it")
    });
    Ok((chosen, warning))
}

/// Upserts a batch of one source's contacts by external id. Each record stands alone: a bad
/// one is reported and the rest go on.
pub async fn sync(
    svc: &Services,
    tenant_id: &str,
    source: Source,
    records: Vec<Value>,
) -> Result<Vec<SyncResult>> {
    if source == Source::Manual {
        return Err(Error::invalid(
            "source",
            "sync is for quickbooks_desktop, quickbooks_online or netsuite",
        ));
    }
    if records.len() > MAX_SYNC_RECORDS {
        return Err(Error::invalid(
            "records",
            format!("at most {MAX_SYNC_RECORDS} records a call"),
        ));
    }
    // An external id once per batch, so that the records can be applied side by side.
    let mut first_at: HashMap<String, usize> = HashMap::new();
    let jobs = records.into_iter().enumerate().map(|(index, raw)| {
        let external_id = raw.get("external_id").cloned().unwrap_or(Value::Null);
        let repeated = external_id.as_str().and_then(|id| {
            let first = *first_at.entry(id.trim().to_owned()).or_insert(index);
            (first != index).then_some(first)
        });
        (index, external_id, repeated, raw)
    });
    let jobs: Vec<_> = jobs.collect();
    let results = futures::stream::iter(jobs)
        .map(|(index, external_id, repeated, raw)| async move {
            let outcome = match repeated {
                Some(first) => Err(Error::invalid(
                    "external_id",
                    format!("this external id is already record {first} of this batch"),
                )),
                None => sync_one(svc, tenant_id, source, raw).await,
            };
            sync_result(index, external_id, outcome)
        })
        .buffered(SYNC_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    Ok(results)
}

/// How many records of a sync are applied at once.
pub const SYNC_CONCURRENCY: usize = 10;

fn sync_result(
    index: usize,
    external_id: Value,
    outcome: Result<(SyncOutcome, String)>,
) -> SyncResult {
    {
        match outcome {
            Ok((status, contact_id)) => SyncResult {
                index,
                external_id,
                status,
                contact_id: Some(contact_id),
                reason: None,
            },
            Err(e @ (Error::Store(_) | Error::Unavailable(..))) => {
                tracing::error!(error = %e, ?e, "a sync record failed on our side");
                SyncResult {
                    index,
                    external_id,
                    status: SyncOutcome::Rejected,
                    contact_id: None,
                    reason: Some(
                        "the record could not be stored just now (nothing of it was written); \
                         send it again"
                            .into(),
                    ),
                }
            }
            Err(e) => SyncResult {
                index,
                external_id,
                status: SyncOutcome::Rejected,
                contact_id: None,
                reason: Some(e.to_string()),
            },
        }
    }
}

async fn sync_one(
    svc: &Services,
    tenant_id: &str,
    source: Source,
    raw: Value,
) -> Result<(SyncOutcome, String)> {
    crate::domain::input::check(&raw, "")?;
    if !raw.is_object() {
        return Err(Error::invalid("record", "must be a JSON object"));
    }
    let record: SyncRecord = crate::domain::resource::parse(raw)?;
    let external_id = record.external_id.trim().to_owned();
    if external_id.is_empty() || external_id.len() > 100 {
        return Err(Error::invalid("external_id", "must be 1 to 100 characters"));
    }
    let role_id = match (source, record.contact_type.as_deref()) {
        (Source::Netsuite, Some("primary")) => crate::domain::roles::PRIMARY_CONTACT,
        (Source::Netsuite, None | Some("company")) => crate::domain::roles::COMPANY_CONTACT,
        (Source::Netsuite, Some(other)) => {
            return Err(Error::invalid(
                "contact_type",
                format!("{other:?} is neither \"primary\" nor \"company\""),
            ));
        }
        (_, None) => crate::domain::roles::COMPANY_CONTACT,
        (_, Some(_)) => {
            return Err(Error::invalid(
                "contact_type",
                "only NetSuite records have a contact type",
            ));
        }
    };
    let email = record
        .email
        .filter(|e| !e.trim().is_empty())
        .map(|e| EmailAddress::parse(&e).map_err(|err| Error::invalid("email", err.0)))
        .transpose()?;
    let incoming = ContactSpec {
        name: record.name,
        email,
        mobile: record.mobile.filter(|m| !m.trim().is_empty()),
        role_id: role_id.to_owned(),
        source,
        external_id: Some(external_id.clone()),
    }
    .checked(&svc.phone_region)?;

    let guard = svc
        .table
        .get(&keys::external_contact(
            tenant_id,
            source.label(),
            &external_id,
        ))
        .await?;
    let Some(guard) = guard else {
        clients::get(svc.table.as_ref(), tenant_id, &record.client_id)
            .await
            .map_err(|_| Error::invalid("client_id", "there is no client with this id"))?;
        let contact = Resource::new(svc, incoming);
        insert(svc, tenant_id, &record.client_id, &contact).await?;
        return Ok((SyncOutcome::Created, contact.id));
    };
    let client_id = guard
        .data
        .get("client_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let contact_id = guard
        .data
        .get("contact_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if client_id != record.client_id {
        return Err(Error::invalid(
            "client_id",
            format!("this external id belongs to a contact of client {client_id}"),
        ));
    }
    let current = get(svc.table.as_ref(), tenant_id, &client_id, &contact_id).await?;
    if current.spec.owned_fields() == incoming.owned_fields() {
        return Ok((SyncOutcome::Unchanged, contact_id));
    }
    // The source owns name, e-mail and mobile; the role chosen here stays.
    let spec = ContactSpec {
        role_id: current.spec.role_id.clone(),
        ..incoming
    };
    let next = resource::changed(svc, &current, spec);
    replace(svc, tenant_id, &client_id, &current, &next, current.version).await?;
    Ok((SyncOutcome::Updated, contact_id))
}
