//! The `Table` port: a key-value item store with conditional writes, ordered key-range queries,
//! two secondary indexes, all-or-nothing transactions, batches and an expiry attribute.
//!
//! Its semantics are DynamoDB's, pinned down where DynamoDB leaves room, so that the embedded
//! store behaves the same. One contract suite (`tests/tests/table_contract.rs`) runs against both
//! adapters. The rules every adapter keeps:
//! - An item whose `expires_at` has passed is *gone*: reads skip it and conditions treat it as
//!   absent, whether or not a background sweep has removed it yet.
//! - Sort keys order by their UTF-8 bytes. Keys may not be empty or contain NUL.
//! - A page holds at most `limit` items and has a `next` cursor exactly when more items follow.
//! - `put` writes the item exactly as given, `version` included; `update` adds one to `version`.

use std::collections::HashSet;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Attribute names the table itself uses; item data may not use them.
pub const RESERVED: [&str; 8] = [
    "pk",
    "sk",
    "gsi1pk",
    "gsi1sk",
    "gsi2pk",
    "gsi2sk",
    "version",
    "expires_at",
];
/// DynamoDB's limits, kept by every adapter.
pub const MAX_TRANSACTION_OPS: usize = 100;
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
pub const MAX_PAGE: usize = 1000;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.pk, self.sk)
    }
}

/// The two global secondary indexes. Both are sparse: an item appears in an index only when it
/// carries that index's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Index {
    /// Look-ups by an alternate key (a contact's external id, a bureau subject).
    Gsi1,
    /// Ordered listings across partitions (by time).
    Gsi2,
}

impl Index {
    pub fn name(self) -> &'static str {
        match self {
            Index::Gsi1 => "gsi1",
            Index::Gsi2 => "gsi2",
        }
    }

    pub fn pk_attr(self) -> &'static str {
        match self {
            Index::Gsi1 => "gsi1pk",
            Index::Gsi2 => "gsi2pk",
        }
    }

    pub fn sk_attr(self) -> &'static str {
        match self {
            Index::Gsi1 => "gsi1sk",
            Index::Gsi2 => "gsi2sk",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IndexKey {
    pub pk: String,
    pub sk: String,
}

impl IndexKey {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// One stored item: its key, optional index keys, a version for optimistic locking, an optional
/// expiry (Unix seconds) and a JSON object of data attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub key: Key,
    pub gsi1: Option<IndexKey>,
    pub gsi2: Option<IndexKey>,
    pub version: u64,
    pub expires_at: Option<i64>,
    pub data: Map<String, Value>,
}

impl Item {
    pub fn new(key: Key, data: Map<String, Value>) -> Self {
        Self {
            key,
            gsi1: None,
            gsi2: None,
            version: 1,
            expires_at: None,
            data,
        }
    }

    /// Builds an item from any serialisable record (which must serialise to a JSON object).
    pub fn from_record<T: Serialize>(key: Key, record: &T) -> Result<Self, TableError> {
        match serde_json::to_value(record) {
            Ok(Value::Object(data)) => Ok(Self::new(key, data)),
            Ok(_) => Err(TableError::Invalid(format!(
                "item {key}: a record must serialise to a JSON object"
            ))),
            Err(e) => Err(TableError::Invalid(format!("item {key}: {e}"))),
        }
    }

    /// Reads the item's data back as a record.
    pub fn record<T: serde::de::DeserializeOwned>(&self) -> Result<T, TableError> {
        T::deserialize(serde::de::IntoDeserializer::into_deserializer(&self.data))
            .map_err(|e| TableError::Corrupt(format!("item {}: {e}", self.key)))
    }

    pub fn with_index(mut self, index: Index, key: IndexKey) -> Self {
        match index {
            Index::Gsi1 => self.gsi1 = Some(key),
            Index::Gsi2 => self.gsi2 = Some(key),
        }
        self
    }

    pub fn with_expiry(mut self, expires_at: i64) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    pub fn with_version(mut self, version: u64) -> Self {
        self.version = version;
        self
    }

    pub fn index_key(&self, index: Index) -> Option<&IndexKey> {
        match index {
            Index::Gsi1 => self.gsi1.as_ref(),
            Index::Gsi2 => self.gsi2.as_ref(),
        }
    }

    /// Whether the item still exists at `now` (Unix seconds).
    pub fn is_live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// A condition on the item a write targets. Expired items count as absent.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// No condition.
    None,
    /// The item does not exist.
    Absent,
    /// The item exists.
    Exists,
    /// The item exists with this version.
    VersionIs(u64),
    /// The item exists and this data attribute equals this value.
    AttrEquals(String, Value),
    /// This numeric data attribute is absent (or the item is) or below the limit: counters with
    /// a cap.
    Below(String, i64),
}

impl Condition {
    /// Evaluates the condition against the current item (expired ones already removed).
    pub fn holds(&self, current: Option<&Item>) -> bool {
        match (self, current) {
            (Condition::None, _) => true,
            (Condition::Absent, current) => current.is_none(),
            (Condition::Exists, current) => current.is_some(),
            (Condition::VersionIs(v), Some(item)) => item.version == *v,
            (Condition::AttrEquals(attr, value), Some(item)) => item.data.get(attr) == Some(value),
            (Condition::Below(attr, limit), Some(item)) => match item.data.get(attr) {
                None => true,
                Some(n) => n.as_i64().is_some_and(|n| n < *limit),
            },
            (Condition::Below(..), None) => true,
            (Condition::VersionIs(_) | Condition::AttrEquals(..), None) => false,
        }
    }

    fn attr(&self) -> Option<&str> {
        match self {
            Condition::AttrEquals(attr, _) | Condition::Below(attr, _) => Some(attr),
            _ => None,
        }
    }
}

/// A partial change to one item; creates the item when it is absent, unless the condition says
/// otherwise. Always adds one to the item's version.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Update {
    pub set: Map<String, Value>,
    pub remove: Vec<String>,
    /// Atomic increments of numeric attributes (absent counts as 0).
    pub add: Vec<(String, i64)>,
    pub condition: Option<Condition>,
}

impl Update {
    pub fn set(mut self, attr: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set.insert(attr.into(), value.into());
        self
    }

    pub fn remove(mut self, attr: impl Into<String>) -> Self {
        self.remove.push(attr.into());
        self
    }

    pub fn add(mut self, attr: impl Into<String>, by: i64) -> Self {
        self.add.push((attr.into(), by));
        self
    }

    pub fn when(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    pub fn condition(&self) -> &Condition {
        self.condition.as_ref().unwrap_or(&Condition::None)
    }

    /// Applies the change to a copy of `current` (or to a new item with `key`).
    pub fn apply(&self, key: &Key, current: Option<&Item>) -> Item {
        let mut item = match current {
            Some(item) => item.clone(),
            None => Item::new(key.clone(), Map::new()).with_version(0),
        };
        for (attr, value) in &self.set {
            item.data.insert(attr.clone(), value.clone());
        }
        for attr in &self.remove {
            item.data.remove(attr);
        }
        for (attr, by) in &self.add {
            let now = item.data.get(attr).and_then(Value::as_i64).unwrap_or(0);
            item.data.insert(attr.clone(), Value::from(now + by));
        }
        item.version += 1;
        item
    }
}

/// Which sort keys a query selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortKey {
    Any,
    BeginsWith(String),
    /// Inclusive at both ends.
    Between(String, String),
    /// Greater than or equal.
    From(String),
    /// Less than or equal.
    UpTo(String),
}

/// Where a query stopped; opaque to callers, checked against the query it is used with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    pub fn parse(s: &str) -> Result<Self, TableError> {
        Position::decode(s)?;
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn position(&self) -> Result<Position, TableError> {
        Position::decode(&self.0)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The last item a page returned: its table key and, for index queries, its index key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub pk: String,
    pub sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isk: Option<String>,
}

impl Position {
    pub fn of(item: &Item, index: Option<Index>) -> Self {
        let ikey = index.and_then(|i| item.index_key(i));
        Self {
            pk: item.key.pk.clone(),
            sk: item.key.sk.clone(),
            ipk: ikey.map(|k| k.pk.clone()),
            isk: ikey.map(|k| k.sk.clone()),
        }
    }

    pub fn cursor(&self) -> Cursor {
        let json = serde_json::to_vec(self).expect("a position always serialises");
        Cursor(URL_SAFE_NO_PAD.encode(json))
    }

    fn decode(s: &str) -> Result<Self, TableError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| TableError::BadCursor)?;
        serde_json::from_slice(&bytes).map_err(|_| TableError::BadCursor)
    }

    /// The partition this position lies in, for the query's table or index.
    fn partition(&self, index: Option<Index>) -> Option<&str> {
        match index {
            None => Some(&self.pk),
            Some(_) => self.ipk.as_deref(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// `None` queries the table; `Some` a secondary index.
    pub index: Option<Index>,
    pub pk: String,
    pub sk: SortKey,
    pub descending: bool,
    pub limit: usize,
    pub cursor: Option<Cursor>,
}

impl Query {
    pub fn partition(pk: impl Into<String>) -> Self {
        Self {
            index: None,
            pk: pk.into(),
            sk: SortKey::Any,
            descending: false,
            limit: 100,
            cursor: None,
        }
    }

    pub fn index(index: Index, pk: impl Into<String>) -> Self {
        Self {
            index: Some(index),
            ..Self::partition(pk)
        }
    }

    pub fn sk(mut self, sk: SortKey) -> Self {
        self.sk = sk;
        self
    }

    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }

    /// Checks the query and decodes its cursor, which must point into the queried partition.
    pub fn validate(&self) -> Result<Option<Position>, TableError> {
        check_key_part("partition key", &self.pk)?;
        if self.limit == 0 || self.limit > MAX_PAGE {
            return Err(TableError::Invalid(format!(
                "limit must be between 1 and {MAX_PAGE}, not {}",
                self.limit
            )));
        }
        match &self.sk {
            SortKey::Any => {}
            SortKey::BeginsWith(s) | SortKey::From(s) | SortKey::UpTo(s) => {
                check_key_part("sort key bound", s)?
            }
            SortKey::Between(a, b) => {
                check_key_part("sort key bound", a)?;
                check_key_part("sort key bound", b)?;
                if a > b {
                    return Err(TableError::Invalid(format!(
                        "sort key range is empty: {a:?} is after {b:?}"
                    )));
                }
            }
        }
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        let position = cursor.position()?;
        let sort_key = match self.index {
            None => Some(position.sk.as_str()),
            Some(_) => position.isk.as_deref(),
        };
        // A position outside the query's sort-key range is refused here: DynamoDB would
        // reject it as a malformed request.
        let consistent = position.partition(self.index) == Some(self.pk.as_str())
            && (self.index.is_some() == position.isk.is_some())
            && sort_key.is_some_and(|sk| self.selects(sk));
        if !consistent {
            return Err(TableError::BadCursor);
        }
        Ok(Some(position))
    }

    /// Whether a sort key (of the table or the index) is selected by this query.
    pub fn selects(&self, sk: &str) -> bool {
        match &self.sk {
            SortKey::Any => true,
            SortKey::BeginsWith(p) => sk.starts_with(p.as_str()),
            SortKey::Between(a, b) => a.as_str() <= sk && sk <= b.as_str(),
            SortKey::From(a) => a.as_str() <= sk,
            SortKey::UpTo(b) => sk <= b.as_str(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    /// Present exactly when more items follow.
    pub next: Option<Cursor>,
}

/// One operation of a transaction.
#[derive(Clone, Debug, PartialEq)]
pub enum TxOp {
    Put(Item, Condition),
    Update(Key, Update),
    Delete(Key, Condition),
    /// Only checks a condition on an item the transaction does not otherwise touch.
    Check(Key, Condition),
}

impl TxOp {
    pub fn key(&self) -> &Key {
        match self {
            TxOp::Put(item, _) => &item.key,
            TxOp::Update(key, _) | TxOp::Delete(key, _) | TxOp::Check(key, _) => key,
        }
    }

    pub fn condition(&self) -> &Condition {
        match self {
            TxOp::Put(_, c) | TxOp::Delete(_, c) | TxOp::Check(_, c) => c,
            TxOp::Update(_, u) => u.condition(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("the condition on item {0} failed")]
    ConditionFailed(Key),
    /// Nothing was written; `failed` lists the positions of the operations whose condition failed.
    #[error("transaction cancelled: the condition of operation(s) {failed:?} failed")]
    TransactionFailed { failed: Vec<usize> },
    #[error("invalid request to the table: {0}")]
    Invalid(String),
    #[error("the pagination cursor is not valid for this query")]
    BadCursor,
    #[error("a stored item cannot be read: {0}")]
    Corrupt(String),
    #[error("the table is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl TableError {
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Unavailable(Box::new(e))
    }
}

#[async_trait::async_trait]
pub trait Table: Send + Sync {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError>;
    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError>;
    /// Applies `update` and returns the item as it now is.
    async fn update(&self, key: &Key, update: Update) -> Result<Item, TableError>;
    /// Deletes the item and returns it as it was (`None` when there was none).
    async fn delete(&self, key: &Key, condition: Condition) -> Result<Option<Item>, TableError>;
    async fn query(&self, query: Query) -> Result<Page, TableError>;
    /// All operations or none; at most 100, each on a different item.
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError>;
    /// Several transactions, each all-or-nothing as in `transact`, applied in order (each sees
    /// the ones before it), with one result each: one whose condition fails
    /// (`TransactionFailed`) does not stop the others. DynamoDB sends them one after another,
    /// since transactions on a shared item (a counter) would only conflict side by side. The
    /// embedded store commits them all at once and, for a bulk writer's sake, not durably:
    /// they are durable after the next `sync` or any other write. Any other error ends the
    /// call, and then each transaction was applied whole or not at all.
    async fn transact_each(
        &self,
        transactions: Vec<Vec<TxOp>>,
    ) -> Result<Vec<Result<(), TableError>>, TableError> {
        let mut results = Vec::with_capacity(transactions.len());
        for ops in transactions {
            results.push(settled(self.transact(ops).await)?);
        }
        Ok(results)
    }
    /// Makes every write acknowledged so far durable: a bulk writer calls it before it records
    /// its progress elsewhere. DynamoDB's writes are durable when acknowledged (nothing to do).
    async fn sync(&self) -> Result<(), TableError> {
        Ok(())
    }
    /// The items of `keys`, in the same order (`None` for absent ones). Any number of keys.
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, TableError>;
    /// Writes every item unconditionally. Any number of items, each key once.
    async fn batch_put(&self, items: Vec<Item>) -> Result<(), TableError>;
    /// Deletes every key unconditionally (an absent one is no error). Any number of keys, each
    /// once. Not atomic as a whole, but far cheaper than transactions for clean-ups; on the
    /// embedded store durable, like `transact_each`, after the next `sync` or other write.
    async fn batch_delete(&self, keys: Vec<Key>) -> Result<(), TableError>;

    /// Every item a query selects, following its pages: for partitions known to stay small.
    async fn query_all(&self, mut query: Query) -> Result<Vec<Item>, TableError> {
        let mut items = Vec::new();
        loop {
            let page = self.query(query.clone()).await?;
            items.extend(page.items);
            match page.next {
                Some(next) => query = query.after(Some(next)),
                None => return Ok(items),
            }
        }
    }
}

/// A transaction's own outcome for `transact_each`: applied, or refused by its conditions;
/// anything else is the whole call's error.
pub fn settled(result: Result<(), TableError>) -> Result<Result<(), TableError>, TableError> {
    match result {
        Ok(()) => Ok(Ok(())),
        Err(e @ TableError::TransactionFailed { .. }) => Ok(Err(e)),
        Err(e) => Err(e),
    }
}

/// Checks what every adapter refuses in the same way, before anything is written.
pub mod check {
    use super::*;

    pub fn key(key: &Key) -> Result<(), TableError> {
        check_key_part("partition key", &key.pk)?;
        check_key_part("sort key", &key.sk)
    }

    pub fn item(item: &Item) -> Result<(), TableError> {
        key(&item.key)?;
        for ikey in [&item.gsi1, &item.gsi2].into_iter().flatten() {
            check_key_part("index partition key", &ikey.pk)?;
            check_key_part("index sort key", &ikey.sk)?;
        }
        for attr in item.data.keys() {
            attr_name(attr)?;
        }
        let size = encoded_size(&item.data);
        if size > MAX_ITEM_BYTES {
            return Err(TableError::Invalid(format!(
                "item {} is {size} bytes, over the {MAX_ITEM_BYTES}-byte limit",
                item.key
            )));
        }
        Ok(())
    }

    /// The size of the data as JSON, counted without writing it anywhere.
    pub fn encoded_size(data: &Map<String, Value>) -> usize {
        struct Count(usize);
        impl std::io::Write for Count {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0 += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut count = Count(0);
        serde_json::to_writer(&mut count, data).map_or(usize::MAX, |()| count.0)
    }

    pub fn condition(condition: &Condition) -> Result<(), TableError> {
        condition.attr().map_or(Ok(()), attr_name)
    }

    pub fn update(update: &Update) -> Result<(), TableError> {
        let names = update
            .set
            .keys()
            .chain(&update.remove)
            .chain(update.add.iter().map(|(a, _)| a));
        let mut seen = HashSet::new();
        for name in names {
            attr_name(name)?;
            if !seen.insert(name) {
                return Err(TableError::Invalid(format!(
                    "attribute {name:?} is changed twice in one update"
                )));
            }
        }
        condition(update.condition())
    }

    pub fn transaction(ops: &[TxOp]) -> Result<(), TableError> {
        if ops.is_empty() || ops.len() > MAX_TRANSACTION_OPS {
            return Err(TableError::Invalid(format!(
                "a transaction has 1 to {MAX_TRANSACTION_OPS} operations, not {}",
                ops.len()
            )));
        }
        let mut keys = HashSet::new();
        for op in ops {
            match op {
                TxOp::Put(i, _) => item(i)?,
                TxOp::Update(k, u) => {
                    key(k)?;
                    update(u)?
                }
                TxOp::Delete(k, _) | TxOp::Check(k, _) => key(k)?,
            }
            condition(op.condition())?;
            if matches!(op, TxOp::Check(_, Condition::None)) {
                return Err(TableError::Invalid(format!(
                    "the check of item {} has no condition",
                    op.key()
                )));
            }
            if !keys.insert(op.key()) {
                return Err(TableError::Invalid(format!(
                    "item {} appears twice in one transaction",
                    op.key()
                )));
            }
        }
        Ok(())
    }

    pub fn distinct_keys<'a>(keys: impl IntoIterator<Item = &'a Key>) -> Result<(), TableError> {
        let mut seen = HashSet::new();
        for k in keys {
            key(k)?;
            if !seen.insert(k) {
                return Err(TableError::Invalid(format!(
                    "item {k} appears twice in one batch"
                )));
            }
        }
        Ok(())
    }

    pub fn attr_name(name: &str) -> Result<(), TableError> {
        if name.is_empty() || RESERVED.contains(&name) {
            return Err(TableError::Invalid(format!(
                "{name:?} cannot be used as a data attribute name"
            )));
        }
        Ok(())
    }
}

fn check_key_part(what: &str, value: &str) -> Result<(), TableError> {
    if value.is_empty() || value.contains('\0') || value.len() > 1024 {
        return Err(TableError::Invalid(format!(
            "{what} {value:?} must be 1 to 1024 bytes without NUL"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item_with(data: Value) -> Item {
        let Value::Object(map) = data else {
            unreachable!()
        };
        Item::new(Key::new("P", "S"), map)
    }

    #[test]
    fn below_holds_until_the_counter_reaches_the_limit() {
        let below = Condition::Below("count".into(), 2);
        assert!(below.holds(None));
        assert!(below.holds(Some(&item_with(json!({"count": 1})))));
        assert!(!below.holds(Some(&item_with(json!({"count": 2})))));
    }

    #[test]
    fn update_increments_counters_and_the_version() {
        let current = item_with(json!({"count": 1, "gone": true})).with_version(4);
        let next = Update::default()
            .add("count", 2)
            .set("name", "x")
            .remove("gone")
            .apply(&current.key, Some(&current));
        assert_eq!(next.data, item_with(json!({"count": 3, "name": "x"})).data);
        assert_eq!(next.version, 5);
    }

    #[test]
    fn a_cursor_from_another_partition_or_outside_the_query_range_is_refused() {
        let item = Item::new(Key::new("A", "1"), Map::new());
        let cursor = Position::of(&item, None).cursor();
        let query = Query::partition("B").after(Some(cursor.clone()));
        assert!(matches!(query.validate(), Err(TableError::BadCursor)));
        assert!(
            Query::partition("A")
                .after(Some(cursor.clone()))
                .validate()
                .is_ok()
        );
        let outside = Query::partition("A").sk(SortKey::BeginsWith("OTHER#".into()));
        assert!(matches!(
            outside.after(Some(cursor)).validate(),
            Err(TableError::BadCursor)
        ));
        assert!(matches!(
            Cursor::parse("not a cursor"),
            Err(TableError::BadCursor)
        ));
    }

    #[test]
    fn reserved_attribute_names_are_refused() {
        let mut item = item_with(json!({"version": 3}));
        assert!(matches!(check::item(&item), Err(TableError::Invalid(_))));
        item.data.clear();
        assert!(check::item(&item).is_ok());
    }
}
