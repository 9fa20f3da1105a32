//! A client's life with what it is assigned to: creating, changing and deleting a client moves
//! its client type's, workflow's and portfolio's usage counts and, when its bureau subject
//! changes, its monitor, in the same transaction as the client itself.

use crate::Services;
use crate::comms::{portfolios, workflows};
use crate::domain::clients::*;
use crate::domain::resource::Resource;
use crate::domain::{Error, Result};
use crate::keys;
use crate::monitoring::monitors;
use crate::ports::{Condition, Query, Transaction, TxOp};
use crate::records::clients::{client_item, get, get_type, usage};
use crate::records::resource;

pub async fn create(svc: &Services, tenant_id: &str, spec: ClientSpec) -> Result<Client> {
    let client_type = get_type(svc.table.as_ref(), tenant_id, &spec.client_type_id)
        .await
        .map_err(|_| Error::invalid("client_type_id", "there is no client type with this id"))?;
    let client = Resource::new(svc, spec.checked(&client_type)?);
    if client.spec.finances.billing_contact_id.is_some() {
        return Err(Error::invalid(
            "finances.billing_contact_id",
            "a new client has no contacts yet: add the contact, then set it as the billing contact",
        ));
    }
    check_assignments(svc, tenant_id, None, &client.spec).await?;
    let mut tx = Transaction::new();
    reference_ops(&mut tx, tenant_id, &client.id, None, Some(&client.spec))?;
    assignment_ops(&mut tx, tenant_id, None, Some(&client.spec));
    tx.op(TxOp::Put(
        client_item(tenant_id, &client)?,
        Condition::Absent,
    ))
    .op(TxOp::Check(
        keys::client_type(tenant_id, &client_type.id),
        Condition::Exists,
    ))
    .op(usage(tenant_id, &client_type.id, 1))
    .otherwise(Error::invalid(
        "client_type_id",
        "the client type was deleted meanwhile",
    ));
    tx.commit(svc.table.as_ref()).await?;
    Ok(client)
}

/// The refusal of a reference another client of the tenant holds.
pub fn reference_taken(reference: &str) -> Error {
    Error::Conflict(format!(
        "another client of this tenant has the external_ref {reference:?}"
    ))
}

/// Adds to `tx` the operations that move the client's `external_ref` guard from `current` to
/// `next` (either absent for a new or deleted client): the new reference is claimed only if no
/// client holds it (refused as [`reference_taken`]), the old one is freed only if this client
/// still holds it.
pub(super) fn reference_ops(
    tx: &mut Transaction<Error>,
    tenant_id: &str,
    client_id: &str,
    current: Option<&ClientSpec>,
    next: Option<&ClientSpec>,
) -> Result<()> {
    let was = current.and_then(|c| c.external_ref.as_deref());
    let will = next.and_then(|c| c.external_ref.as_deref());
    if was == will {
        return Ok(());
    }
    if let Some(old) = was {
        tx.op(TxOp::Delete(
            keys::client_ref(tenant_id, old),
            Condition::AttrEquals("client_id".into(), serde_json::Value::from(client_id)),
        ));
    }
    if let Some(new) = will {
        tx.guarded(
            TxOp::Put(
                reference_guard(tenant_id, new, client_id)?,
                Condition::Absent,
            ),
            reference_taken(new),
        );
    }
    Ok(())
}

/// The guard item that says which client holds a reference.
pub(super) fn reference_guard(
    tenant_id: &str,
    reference: &str,
    client_id: &str,
) -> Result<crate::ports::Item> {
    Ok(crate::ports::Item::from_record(
        keys::client_ref(tenant_id, reference),
        &serde_json::json!({ "client_id": client_id }),
    )?)
}

/// Refuses a newly set `workflow_id` or `portfolio_id` that is not the tenant's, naming it.
pub(super) async fn check_assignments(
    svc: &Services,
    tenant_id: &str,
    current: Option<&ClientSpec>,
    next: &ClientSpec,
) -> Result<()> {
    let was = |f: fn(&ClientSpec) -> &Option<String>| current.and_then(|c| f(c).as_deref());
    if let Some(id) = next.workflow_id.as_deref()
        && was(|c| &c.workflow_id) != Some(id)
    {
        workflows::ensure_exists(svc, tenant_id, id, "workflow_id").await?;
    }
    if let Some(id) = next.portfolio_id.as_deref()
        && was(|c| &c.portfolio_id) != Some(id)
    {
        portfolios::ensure_exists(svc, tenant_id, id, "portfolio_id").await?;
    }
    Ok(())
}

/// Adds to `tx` the operations that move the client's workflow and portfolio counts from
/// `current` to `next` (either absent for a new or deleted client); a newly assigned workflow
/// or portfolio deleted meanwhile refuses the transaction, naming its field.
pub(super) fn assignment_ops(
    tx: &mut Transaction<Error>,
    tenant_id: &str,
    current: Option<&ClientSpec>,
    next: Option<&ClientSpec>,
) {
    fn workflow(c: Option<&ClientSpec>) -> Option<&str> {
        c.and_then(|c| c.workflow_id.as_deref())
    }
    fn portfolio(c: Option<&ClientSpec>) -> Option<&str> {
        c.and_then(|c| c.portfolio_id.as_deref())
    }
    workflows::reference_ops(
        tx,
        tenant_id,
        workflows::User::Client,
        workflow(current),
        workflow(next),
        workflows::deleted_meanwhile,
    );
    portfolios::reference_ops(tx, tenant_id, portfolio(current), portfolio(next));
}

pub async fn update(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    seen: u64,
    patch: &serde_json::Value,
) -> Result<Client> {
    let current = get(svc.table.as_ref(), tenant_id, client_id).await?;
    let spec: ClientSpec = crate::domain::resource::patched(&current.spec, patch)?;
    let client_type = get_type(svc.table.as_ref(), tenant_id, &spec.client_type_id)
        .await
        .map_err(|_| Error::invalid("client_type_id", "there is no client type with this id"))?;
    let next = resource::changed(svc, &current, spec.checked(&client_type)?);
    if let Some(contact_id) = next.spec.finances.billing_contact_id.as_deref()
        && current.spec.finances.billing_contact_id.as_deref() != Some(contact_id)
    {
        match svc
            .table
            .get(&keys::contact(tenant_id, client_id, contact_id))
            .await?
        {
            Some(_) => {}
            None => {
                return Err(Error::invalid(
                    "finances.billing_contact_id",
                    "there is no contact of this client with this id",
                ));
            }
        }
    }
    check_assignments(svc, tenant_id, Some(&current.spec), &next.spec).await?;
    let mut tx = Transaction::new();
    tx.guarded(
        TxOp::Put(client_item(tenant_id, &next)?, Condition::VersionIs(seen)),
        Error::Stale(CLIENT),
    );
    reference_ops(
        &mut tx,
        tenant_id,
        client_id,
        Some(&current.spec),
        Some(&next.spec),
    )?;
    assignment_ops(&mut tx, tenant_id, Some(&current.spec), Some(&next.spec));
    if current.spec.bureau_subject_id != next.spec.bureau_subject_id {
        tx.ops(
            monitors::follow_subject(
                svc,
                tenant_id,
                client_id,
                next.spec.bureau_subject_id.as_deref(),
            )
            .await?,
        );
    }
    if current.spec.client_type_id != next.spec.client_type_id {
        tx.op(TxOp::Check(
            keys::client_type(tenant_id, &client_type.id),
            Condition::Exists,
        ))
        .op(usage(tenant_id, &current.spec.client_type_id, -1))
        .op(usage(tenant_id, &client_type.id, 1));
    }
    tx.otherwise(Error::Stale(CLIENT));
    tx.commit(svc.table.as_ref()).await?;
    Ok(next)
}

/// Deletes a client that has no contacts, opportunities or monitor left.
/// What keeps a client from being deleted: records partners keep, by their key's prefix.
const LIVE: [(&str, &str); 4] = [
    (keys::CONTACTS, "contact(s)"),
    (keys::OPPORTUNITIES, "opportunity(ies)"),
    (keys::INVOICES, "invoice(s)"),
    (keys::MONITOR, "a monitor"),
];

/// Deletes a client whose contacts, opportunities and invoices are gone and whose monitor is
/// stopped (a refusal names what remains). The client's history goes with it: Customer Centre
/// invites, answers and audit entries, the communications log, sent markers and workflow
/// progress. The client itself is deleted first, under its version; its history after, in
/// batches; history left by an interrupted delete is unreachable and harmless.
pub async fn delete(svc: &Services, tenant_id: &str, client_id: &str, seen: u64) -> Result<()> {
    let current = get(svc.table.as_ref(), tenant_id, client_id).await?;
    let items = svc
        .table
        .query_all(Query::partition(keys::client_pk(tenant_id, client_id)).limit(1000))
        .await?;
    let remaining: Vec<String> = LIVE
        .iter()
        .filter_map(|(prefix, what)| {
            let n = items
                .iter()
                .filter(|i| i.key.sk.starts_with(prefix))
                .count();
            (n > 0).then(|| {
                if *what == "a monitor" {
                    (*what).to_owned()
                } else {
                    format!("{n} {what}")
                }
            })
        })
        .collect();
    if !remaining.is_empty() {
        return Err(Error::Conflict(format!(
            "the client still has {}: delete those (and stop its monitoring) first",
            remaining.join(", ")
        )));
    }
    let mut tx = Transaction::new();
    tx.op(TxOp::Delete(
        keys::client(tenant_id, client_id),
        Condition::VersionIs(seen),
    ))
    .op(usage(tenant_id, &current.spec.client_type_id, -1))
    .otherwise(Error::Stale(CLIENT));
    reference_ops(&mut tx, tenant_id, client_id, Some(&current.spec), None)?;
    assignment_ops(&mut tx, tenant_id, Some(&current.spec), None);
    tx.commit(svc.table.as_ref()).await?;
    let history: Vec<TxOp> = items
        .into_iter()
        .filter(|i| i.key.sk != keys::CLIENT)
        .map(|i| TxOp::Delete(i.key, Condition::None))
        .collect();
    let mut history = history.into_iter().peekable();
    while history.peek().is_some() {
        let chunk: Vec<TxOp> = history
            .by_ref()
            .take(crate::ports::table::MAX_TRANSACTION_OPS)
            .collect();
        svc.table.transact(chunk).await?;
    }
    Ok(())
}
