//! Client types and clients in the table: read, listed, and the client types' own changes.
//! Creating, changing or deleting a client touches what it is assigned to and lives in
//! [`crate::flows::clients`].
//!
//! A client type says whether its clients are individuals or companies and whether they may be
//! monitored against the credit bureau. A client carries its identity (matching its type's
//! class), addresses, the partner's external references, and the profile sections of a
//! collection platform. Clients live in their own partition (`T#{t}#C#{c}`, with their contacts
//! and opportunities) and are listed through the second index.

use super::resource;
use crate::Services;
use crate::domain::clients::*;
use crate::domain::resource::Resource;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{
    Condition, Cursor, Index, IndexKey, Query, SortKey, Table, Transaction, TxOp, Update,
};

pub async fn create_type(
    svc: &Services,
    tenant_id: &str,
    spec: ClientTypeSpec,
) -> Result<ClientType> {
    let client_type = Resource::new(svc, spec.checked()?);
    let item = client_type.item(keys::client_type(tenant_id, &client_type.id))?;
    svc.table.put(item, Condition::Absent).await?;
    Ok(client_type)
}

pub async fn get_type(table: &dyn Table, tenant_id: &str, id: &str) -> Result<ClientType> {
    resource::get(table, &keys::client_type(tenant_id, id), TYPE).await
}

pub async fn list_types(
    table: &dyn Table,
    tenant_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<ClientType>, Option<Cursor>)> {
    resource::list_of_tenant(table, tenant_id, keys::CLIENT_TYPES, limit, cursor).await
}

pub async fn update_type(
    svc: &Services,
    tenant_id: &str,
    id: &str,
    seen: u64,
    patch: &serde_json::Value,
) -> Result<ClientType> {
    let current = get_type(svc.table.as_ref(), tenant_id, id).await?;
    let spec: ClientTypeSpec = crate::domain::resource::patched(&current.spec, patch)?.checked()?;
    let usage = svc
        .table
        .get(&keys::client_type_usage(tenant_id, id))
        .await?;
    let in_use = usage
        .and_then(|u| u.data.get("clients").and_then(|n| n.as_i64()))
        .unwrap_or(0);
    if spec.class != current.spec.class && in_use > 0 {
        return Err(Error::Conflict(format!(
            "{in_use} client(s) have this type; a type in use cannot change its class"
        )));
    }
    let next = resource::changed(svc, &current, spec);
    resource::replace(
        svc.table.as_ref(),
        keys::client_type(tenant_id, id),
        &next,
        seen,
        TYPE,
    )
    .await?;
    Ok(next)
}

pub async fn delete_type(svc: &Services, tenant_id: &str, id: &str, seen: u64) -> Result<()> {
    get_type(svc.table.as_ref(), tenant_id, id).await?;
    let mut tx = Transaction::new();
    tx.guarded(
        TxOp::Delete(keys::client_type(tenant_id, id), Condition::VersionIs(seen)),
        Error::Stale(TYPE),
    )
    .guarded(
        TxOp::Delete(
            keys::client_type_usage(tenant_id, id),
            Condition::Below("clients".into(), 1),
        ),
        Error::Conflict("clients still have this type; give them another type first".into()),
    );
    tx.commit(svc.table.as_ref()).await
}

pub fn usage(tenant_id: &str, type_id: &str, by: i64) -> TxOp {
    TxOp::Update(
        keys::client_type_usage(tenant_id, type_id),
        Update::default().add("clients", by),
    )
}

pub fn client_item(tenant_id: &str, client: &Client) -> Result<crate::ports::Item> {
    Ok(client
        .item(keys::client(tenant_id, &client.id))?
        .with_index(
            crate::ports::Index::Gsi2,
            IndexKey::new(keys::clients_listing(tenant_id), client.id.clone()),
        ))
}

pub async fn get(table: &dyn Table, tenant_id: &str, client_id: &str) -> Result<Client> {
    resource::get(table, &keys::client(tenant_id, client_id), CLIENT).await
}

/// One page of the tenant's clients, in id order.
pub async fn list(
    table: &dyn Table,
    tenant_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Client>, Option<Cursor>)> {
    let query = Query::index(Index::Gsi2, keys::clients_listing(tenant_id))
        .limit(limit)
        .after(cursor);
    resource::list(table, query).await
}

/// The query for a client's children of one kind (`CONTACT#`, `OPP#`).
pub fn children(tenant_id: &str, client_id: &str, prefix: &str) -> Query {
    Query::partition(keys::client_pk(tenant_id, client_id)).sk(SortKey::BeginsWith(prefix.into()))
}

/// One page of a client's children of one kind; an unknown client is "not found", not an
/// empty list.
pub async fn list_children<T: serde::de::DeserializeOwned>(
    table: &dyn Table,
    tenant_id: &str,
    client_id: &str,
    prefix: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Resource<T>>, Option<Cursor>)> {
    get(table, tenant_id, client_id).await?;
    let query = children(tenant_id, client_id, prefix)
        .limit(limit)
        .after(cursor);
    resource::list(table, query).await
}

/// One entry of a client's change history: which field was changed, by whom (`bureau` for the
/// daily run's enrichment), from what to what. Written in the change's transaction.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientChange {
    pub at: chrono::DateTime<chrono::Utc>,
    pub by: String,
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    pub new: String,
}

/// The write of a history entry, for the change's transaction (its key is new).
pub fn change_op(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    change: &ClientChange,
) -> Result<TxOp> {
    let order = format!(
        "{}#{}",
        change.at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
        svc.ids.id()
    );
    Ok(TxOp::Put(
        crate::ports::Item::from_record(keys::client_change(tenant_id, client_id, &order), change)?,
        Condition::Absent,
    ))
}

/// One page of a client's change history, newest first; an unknown client is "not found".
pub async fn changes(
    table: &dyn Table,
    tenant_id: &str,
    client_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<ClientChange>, Option<Cursor>)> {
    get(table, tenant_id, client_id).await?;
    let query = children(tenant_id, client_id, keys::CLIENT_CHANGES)
        .descending()
        .limit(limit)
        .after(cursor);
    let page = table.query(query).await?;
    let changes = page
        .items
        .iter()
        .map(|i| i.record().map_err(Error::from))
        .collect::<Result<_>>()?;
    Ok((changes, page.next))
}
