//! Resources in the table: each one item, read, listed, replaced under the version the caller
//! saw, the same way for every kind. New resources get their id and times here, from the
//! services' id generator and clock.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Services;
use crate::domain::resource::{MAX_RESOURCE_BYTES, Resource};
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{Condition, Cursor, Item, Key, Query, Table, TableError, TxOp};

impl<T: Serialize> Resource<T> {
    pub fn new(svc: &Services, spec: T) -> Self {
        let now = svc.clock.now();
        Self {
            id: svc.ids.id(),
            spec,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// The stored item; a resource larger than [`MAX_RESOURCE_BYTES`] is refused, saying so,
    /// before the store is asked (whose own limit would answer an error no retry can fix).
    pub fn item(&self, key: Key) -> Result<Item> {
        let item = Item::from_record(key, self)?.with_version(self.version);
        let size = crate::ports::table::check::encoded_size(&item.data);
        if size > MAX_RESOURCE_BYTES {
            return Err(Error::invalid(
                "body",
                format!(
                    "the resource would be {size} bytes, over the {MAX_RESOURCE_BYTES} bytes one \
                     resource may hold; shorten its longest texts or lists"
                ),
            ));
        }
        Ok(item)
    }
}

pub fn from_item<T: DeserializeOwned>(item: &Item) -> Result<Resource<T>> {
    let mut resource: Resource<T> = item.record()?;
    resource.version = item.version;
    Ok(resource)
}

pub async fn get<T: DeserializeOwned>(
    table: &dyn Table,
    key: &Key,
    what: &'static str,
) -> Result<Resource<T>> {
    match table.get(key).await? {
        Some(item) => from_item(&item),
        None => Err(Error::NotFound(what)),
    }
}

pub async fn list<T: DeserializeOwned>(
    table: &dyn Table,
    query: Query,
) -> Result<(Vec<Resource<T>>, Option<Cursor>)> {
    let page = table.query(query).await?;
    let items = page.items.iter().map(from_item).collect::<Result<_>>()?;
    Ok((items, page.next))
}

/// One page of a tenant's resources of one kind (their sort keys start with `prefix`).
pub async fn list_of_tenant<T: DeserializeOwned>(
    table: &dyn Table,
    tenant_id: &str,
    prefix: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Resource<T>>, Option<Cursor>)> {
    let query = Query::partition(keys::tenant_pk(tenant_id))
        .sk(crate::ports::SortKey::BeginsWith(prefix.into()))
        .limit(limit)
        .after(cursor);
    list(table, query).await
}

/// The operation that writes `next` over the version the caller last saw.
pub fn replace_op<T: Serialize>(key: Key, next: &Resource<T>, seen: u64) -> Result<TxOp> {
    Ok(TxOp::Put(next.item(key)?, Condition::VersionIs(seen)))
}

/// Writes `next` over the version the caller last saw; a lost race is `Stale(what)`.
pub async fn replace<T: Serialize>(
    table: &dyn Table,
    key: Key,
    next: &Resource<T>,
    seen: u64,
    what: &'static str,
) -> Result<()> {
    table
        .transact(vec![replace_op(key, next, seen)?])
        .await
        .map_err(stale(what))
}

/// Turns the failed version check of a replace into the answer a partner can act on.
pub fn stale(what: &'static str) -> impl Fn(TableError) -> Error {
    move |e| match e {
        TableError::ConditionFailed(_) | TableError::TransactionFailed { .. } => Error::Stale(what),
        e => e.into(),
    }
}

/// The next version of a resource: `spec` changed, version and change time moved on.
pub fn changed<T>(svc: &Services, current: &Resource<T>, spec: T) -> Resource<T> {
    Resource {
        id: current.id.clone(),
        spec,
        created_at: current.created_at,
        updated_at: svc.clock.now(),
        version: current.version + 1,
    }
}
