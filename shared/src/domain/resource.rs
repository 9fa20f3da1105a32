//! What every partner-managed resource shares: an id, the partner's `spec` (what they send),
//! a version for optimistic concurrency (the API's ETag), and creation and change times. Stored
//! as one item; read, listed, replaced under a version, and deleted the same way for all kinds.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Error, Result};
use crate::Services;
use crate::ports::{Condition, Cursor, Item, Key, Query, TableError, TxOp};

/// The largest resource, as JSON: the store's item limit (400 KiB) less room for its keys,
/// index attributes and the store's own encoding.
pub const MAX_RESOURCE_BYTES: usize = 360 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resource<T> {
    pub id: String,
    pub spec: T,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set from the item's version when read; not stored in the data.
    #[serde(skip)]
    pub version: u64,
}

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

    /// The resource as the API shows it: the spec's fields beside id, version and times.
    pub fn view(&self) -> Value {
        let mut view = match serde_json::to_value(&self.spec) {
            Ok(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        view.insert("id".into(), Value::from(self.id.clone()));
        view.insert("version".into(), Value::from(self.version));
        view.insert("created_at".into(), serde_json::json!(self.created_at));
        view.insert("updated_at".into(), serde_json::json!(self.updated_at));
        Value::Object(view)
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
    svc: &Services,
    key: &Key,
    what: &'static str,
) -> Result<Resource<T>> {
    match svc.table.get(key).await? {
        Some(item) => from_item(&item),
        None => Err(Error::NotFound(what)),
    }
}

pub async fn list<T: DeserializeOwned>(
    svc: &Services,
    query: Query,
) -> Result<(Vec<Resource<T>>, Option<Cursor>)> {
    let page = svc.table.query(query).await?;
    let items = page.items.iter().map(from_item).collect::<Result<_>>()?;
    Ok((items, page.next))
}

/// One page of a tenant's resources of one kind (their sort keys start with `prefix`).
pub async fn list_of_tenant<T: DeserializeOwned>(
    svc: &Services,
    tenant_id: &str,
    prefix: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Resource<T>>, Option<Cursor>)> {
    let query = Query::partition(super::tenants::tenant_pk(tenant_id))
        .sk(crate::ports::SortKey::BeginsWith(prefix.into()))
        .limit(limit)
        .after(cursor);
    list(svc, query).await
}

/// The operation that writes `next` over the version the caller last saw.
pub fn replace_op<T: Serialize>(key: Key, next: &Resource<T>, seen: u64) -> Result<TxOp> {
    Ok(TxOp::Put(next.item(key)?, Condition::VersionIs(seen)))
}

/// Writes `next` over the version the caller last saw; a lost race is `Stale(what)`.
pub async fn replace<T: Serialize>(
    svc: &Services,
    key: Key,
    next: &Resource<T>,
    seen: u64,
    what: &'static str,
) -> Result<()> {
    svc.table
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

/// Reads a spec from JSON, naming the offending field by its path (`contacts[2].email`).
pub fn parse<T: DeserializeOwned>(value: Value) -> Result<T> {
    super::input::fields(value)
}

/// The spec `current` becomes under a merge `patch`, checked like a new one.
pub fn patched<T: Serialize + DeserializeOwned>(current: &T, patch: &Value) -> Result<T> {
    if !patch.is_object() {
        return Err(Error::invalid("body", "a merge patch is a JSON object"));
    }
    let mut doc =
        serde_json::to_value(current).map_err(|e| Error::invalid("body", e.to_string()))?;
    merge_patch(&mut doc, patch);
    parse(doc)
}

/// RFC 7396 JSON merge patch: objects merge key by key, `null` removes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(changes) => {
            if !target.is_object() {
                *target = Value::Object(serde_json::Map::new());
            }
            let map = target.as_object_mut().expect("made an object above");
            for (key, change) in changes {
                if change.is_null() {
                    map.remove(key);
                } else {
                    merge_patch(map.entry(key.clone()).or_insert(Value::Null), change);
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}, "keep": [1]});
        merge_patch(
            &mut doc,
            &json!({"a": "z", "c": {"f": null}, "new": {"x": 1}}),
        );
        assert_eq!(
            doc,
            json!({"a": "z", "c": {"d": "e"}, "keep": [1], "new": {"x": 1}})
        );
        merge_patch(&mut doc, &json!({"keep": [2, 3]}));
        assert_eq!(doc["keep"], json!([2, 3]));
    }
}
