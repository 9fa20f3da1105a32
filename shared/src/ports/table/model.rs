//! The values of the `Table` port: keys and index keys, items, conditions and updates,
//! queries, pages and cursors, and transaction operations.

use std::fmt;

use super::TableError;
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

    pub(super) fn attr(&self) -> Option<&str> {
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
    /// When the item expires (Unix seconds): set, or left as it was when `None`.
    pub expires_at: Option<i64>,
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

    /// Lets the item expire at `at` (Unix seconds), as [`Item::with_expiry`] does.
    pub fn expire_at(mut self, at: i64) -> Self {
        self.expires_at = Some(at);
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
        if let Some(at) = self.expires_at {
            item.expires_at = Some(at);
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
        super::check::check_key_part("partition key", &self.pk)?;
        if self.limit == 0 || self.limit > MAX_PAGE {
            return Err(TableError::Invalid(format!(
                "limit must be between 1 and {MAX_PAGE}, not {}",
                self.limit
            )));
        }
        match &self.sk {
            SortKey::Any => {}
            SortKey::BeginsWith(s) | SortKey::From(s) | SortKey::UpTo(s) => {
                super::check::check_key_part("sort key bound", s)?
            }
            SortKey::Between(a, b) => {
                super::check::check_key_part("sort key bound", a)?;
                super::check::check_key_part("sort key bound", b)?;
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
