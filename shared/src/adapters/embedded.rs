//! The `Table` port over an embedded, durable store: one `redb` file, so that the local
//! one-process mode keeps its data across restarts and needs no cloud and no emulator.
//!
//! Layout: an `items` table keyed by `pk NUL sk` (byte order within a partition is DynamoDB's
//! sort-key order), and one table per secondary index keyed by `ipk NUL isk NUL pk NUL sk`.
//! Every write runs in one redb write transaction, so transactions are all-or-nothing and
//! concurrent writers are serialised. redb is blocking: calls run on tokio's blocking pool.

use std::borrow::Cow;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use redb::{Database, Durability, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ports::table::{Position, check};
use crate::ports::{
    Clock, Condition, Index, IndexKey, Item, Key, Page, Query, SortKey, Table, TableError, TxOp,
    Update,
};

const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
const GSI1: TableDefinition<&[u8], &[u8]> = TableDefinition::new("gsi1");
const GSI2: TableDefinition<&[u8], &[u8]> = TableDefinition::new("gsi2");
/// Items with an expiry, by expiry time: the sweep reads only what has expired.
const EXPIRY: TableDefinition<&[u8], &[u8]> = TableDefinition::new("expiry");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const EXPIRY_BUILT: &str = "expiry-index";
/// The store's page cache: enough for the local mode, small enough for a daily run's budget.
const CACHE_BYTES: usize = 64 << 20;
/// Threads that share a large `batch_get`, and the fewest keys worth a thread of their own.
const READERS: usize = 8;
const KEYS_PER_READER: usize = 32;

/// Expiry time first (ordered as unsigned big-endian), then the item's key.
fn expiry_entry(at: i64, key: &Key) -> Vec<u8> {
    let mut entry = ((at as u64) ^ (1 << 63)).to_be_bytes().to_vec();
    entry.extend(item_key(key));
    entry
}

fn index_table(index: Index) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
    match index {
        Index::Gsi1 => GSI1,
        Index::Gsi2 => GSI2,
    }
}

/// What is stored for an item, besides its key: borrowed from the item when written, so
/// writing copies none of its data; owned when read.
#[derive(Serialize, Deserialize)]
struct Stored<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1: Option<Cow<'a, IndexKey>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2: Option<Cow<'a, IndexKey>>,
    version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    data: Cow<'a, Map<String, Value>>,
}

#[derive(Clone)]
pub struct EmbeddedTable {
    db: Arc<Database>,
    clock: Arc<dyn Clock>,
}

fn err(e: impl Into<redb::Error>) -> TableError {
    TableError::unavailable(e.into())
}

fn join(parts: &[&str]) -> Vec<u8> {
    parts.join("\0").into_bytes()
}

fn item_key(key: &Key) -> Vec<u8> {
    join(&[&key.pk, &key.sk])
}

fn index_entry(ikey: &IndexKey, key: &Key) -> Vec<u8> {
    join(&[&ikey.pk, &ikey.sk, &key.pk, &key.sk])
}

fn split_key(bytes: &[u8]) -> Result<Key, TableError> {
    let text = std::str::from_utf8(bytes).map_err(|e| TableError::Corrupt(e.to_string()))?;
    let parts: Vec<&str> = text.split('\0').collect();
    match parts.as_slice() {
        [pk, sk] | [_, _, pk, sk] => Ok(Key::new(*pk, *sk)),
        _ => Err(TableError::Corrupt(format!(
            "malformed stored key {text:?}"
        ))),
    }
}

fn decode(key: Key, bytes: &[u8]) -> Result<Item, TableError> {
    let stored: Stored = serde_json::from_slice(bytes)
        .map_err(|e| TableError::Corrupt(format!("item {key}: {e}")))?;
    Ok(Item {
        key,
        gsi1: stored.gsi1.map(Cow::into_owned),
        gsi2: stored.gsi2.map(Cow::into_owned),
        version: stored.version,
        expires_at: stored.expires_at,
        data: stored.data.into_owned(),
    })
}

fn encode(item: &Item) -> Result<Vec<u8>, TableError> {
    let stored = Stored {
        gsi1: item.gsi1.as_ref().map(Cow::Borrowed),
        gsi2: item.gsi2.as_ref().map(Cow::Borrowed),
        version: item.version,
        expires_at: item.expires_at,
        data: Cow::Borrowed(&item.data),
    };
    serde_json::to_vec(&stored).map_err(|e| TableError::Invalid(e.to_string()))
}

/// The smallest byte string greater than every string that starts with `prefix`.
fn after_prefix(mut prefix: Vec<u8>) -> Vec<u8> {
    while let Some(last) = prefix.pop() {
        if last < u8::MAX {
            prefix.push(last + 1);
            return prefix;
        }
    }
    vec![u8::MAX]
}

/// Reads and writes inside one redb write transaction.
struct Writer<'a>(&'a WriteTransaction);

impl Writer<'_> {
    /// Checks every condition of `ops`, then applies them all, or none when any fails.
    fn transact(&self, ops: &[TxOp], now: i64) -> Result<(), TableError> {
        let mut current = Vec::with_capacity(ops.len());
        let mut failed = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let raw = self.raw(op.key())?;
            if !op.condition().holds(live(raw.clone(), now).as_ref()) {
                failed.push(i);
            }
            current.push(raw);
        }
        if !failed.is_empty() {
            return Err(TableError::TransactionFailed { failed });
        }
        for (op, raw) in ops.iter().zip(current) {
            match op {
                TxOp::Put(item, _) => self.put(item)?,
                TxOp::Update(key, update) => self.put(&update.apply(key, raw.as_ref()))?,
                TxOp::Delete(key, _) => self.remove(key)?,
                TxOp::Check(..) => {}
            }
        }
        Ok(())
    }

    /// The stored item, expired or not.
    fn raw(&self, key: &Key) -> Result<Option<Item>, TableError> {
        let table = self.0.open_table(ITEMS).map_err(err)?;
        let found = table.get(item_key(key).as_slice()).map_err(err)?;
        found.map(|v| decode(key.clone(), v.value())).transpose()
    }

    /// Writes the item over whatever was stored under its key, and keeps the index and expiry
    /// entries in step: one descent of the items tree, the old entries found from the value
    /// the insert replaced.
    fn put(&self, item: &Item) -> Result<(), TableError> {
        let old = {
            let mut table = self.0.open_table(ITEMS).map_err(err)?;
            let replaced = table
                .insert(item_key(&item.key).as_slice(), encode(item)?.as_slice())
                .map_err(err)?;
            replaced.map(|v| Links::of(v.value())).transpose()?
        };
        if let Some(old) = old {
            self.unlink(&item.key, &old)?;
        }
        self.link(
            &item.key,
            &Links {
                gsi1: item.gsi1.clone(),
                gsi2: item.gsi2.clone(),
                expires_at: item.expires_at,
            },
        )
    }

    fn remove(&self, key: &Key) -> Result<(), TableError> {
        let old = {
            let mut table = self.0.open_table(ITEMS).map_err(err)?;
            let removed = table.remove(item_key(key).as_slice()).map_err(err)?;
            removed.map(|v| Links::of(v.value())).transpose()?
        };
        match old {
            Some(old) => self.unlink(key, &old),
            None => Ok(()),
        }
    }

    fn link(&self, key: &Key, links: &Links) -> Result<(), TableError> {
        for (index, ikey) in links.indexes() {
            let mut entries = self.0.open_table(index_table(index)).map_err(err)?;
            entries
                .insert(index_entry(ikey, key).as_slice(), [].as_slice())
                .map_err(err)?;
        }
        if let Some(at) = links.expires_at {
            let mut expiry = self.0.open_table(EXPIRY).map_err(err)?;
            expiry
                .insert(expiry_entry(at, key).as_slice(), [].as_slice())
                .map_err(err)?;
        }
        Ok(())
    }

    fn unlink(&self, key: &Key, links: &Links) -> Result<(), TableError> {
        for (index, ikey) in links.indexes() {
            let mut entries = self.0.open_table(index_table(index)).map_err(err)?;
            entries
                .remove(index_entry(ikey, key).as_slice())
                .map_err(err)?;
        }
        if let Some(at) = links.expires_at {
            let mut expiry = self.0.open_table(EXPIRY).map_err(err)?;
            expiry
                .remove(expiry_entry(at, key).as_slice())
                .map_err(err)?;
        }
        Ok(())
    }
}

/// A stored item's index and expiry entries, read without its data.
#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    gsi1: Option<IndexKey>,
    #[serde(default)]
    gsi2: Option<IndexKey>,
    #[serde(default)]
    expires_at: Option<i64>,
}

impl Links {
    fn of(bytes: &[u8]) -> Result<Self, TableError> {
        serde_json::from_slice(bytes).map_err(|e| TableError::Corrupt(format!("stored item: {e}")))
    }

    fn indexes(&self) -> impl Iterator<Item = (Index, &IndexKey)> {
        [(Index::Gsi1, &self.gsi1), (Index::Gsi2, &self.gsi2)]
            .into_iter()
            .filter_map(|(index, key)| Some((index, key.as_ref()?)))
    }
}

impl EmbeddedTable {
    /// Opens (or creates) the store at `path` and removes items that expired while it was
    /// closed.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, TableError> {
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(err)?;
        let txn = db.begin_write().map_err(err)?;
        for table in [ITEMS, GSI1, GSI2, EXPIRY] {
            txn.open_table(table).map_err(err)?;
        }
        let built = txn
            .open_table(META)
            .map_err(err)?
            .get(EXPIRY_BUILT)
            .map_err(err)?
            .is_some();
        if !built {
            // A store written before the expiry index existed: index its items once.
            let mut found = Vec::new();
            {
                let table = txn.open_table(ITEMS).map_err(err)?;
                for entry in table.iter().map_err(err)? {
                    let (k, v) = entry.map_err(err)?;
                    let item = decode(split_key(k.value())?, v.value())?;
                    if let Some(at) = item.expires_at {
                        found.push(expiry_entry(at, &item.key));
                    }
                }
            }
            let mut expiry = txn.open_table(EXPIRY).map_err(err)?;
            for entry in found {
                expiry
                    .insert(entry.as_slice(), [].as_slice())
                    .map_err(err)?;
            }
            drop(expiry);
            txn.open_table(META)
                .map_err(err)?
                .insert(EXPIRY_BUILT, [1u8].as_slice())
                .map_err(err)?;
        }
        txn.commit().map_err(err)?;
        let store = Self {
            db: Arc::new(db),
            clock,
        };
        store.purge_expired_now()?;
        Ok(store)
    }

    /// Physically removes expired items (they are already invisible to every read); what
    /// DynamoDB's TTL sweep does in the background. Reads only the expired part of the expiry
    /// index, however large the store.
    pub fn purge_expired_now(&self) -> Result<usize, TableError> {
        let now = self.clock.now().timestamp();
        let txn = self.db.begin_write().map_err(err)?;
        let mut expired = Vec::new();
        {
            let expiry = txn.open_table(EXPIRY).map_err(err)?;
            // Live means `expires_at > now`: everything at or before `now` goes.
            let through = ((now as u64) ^ (1 << 63)).wrapping_add(1).to_be_bytes();
            for entry in expiry.range(..through.as_slice()).map_err(err)? {
                let (k, _) = entry.map_err(err)?;
                expired.push(split_key(&k.value()[8..])?);
            }
        }
        let writer = Writer(&txn);
        for key in &expired {
            writer.remove(key)?;
        }
        txn.commit().map_err(err)?;
        Ok(expired.len())
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, TableError>
    where
        T: Send + 'static,
        F: FnOnce(&Database, i64) -> Result<T, TableError> + Send + 'static,
    {
        let db = self.db.clone();
        let now = self.clock.now().timestamp();
        let started = std::time::Instant::now();
        let result = tokio::task::spawn_blocking(move || f(&db, now))
            .await
            .map_err(TableError::unavailable)?;
        // What a store call cost (`RUST_LOG=clientwatch=trace`); no keys or values.
        tracing::trace!(
            micros = started.elapsed().as_micros() as u64,
            ok = result.is_ok(),
            "embedded store call"
        );
        result
    }

    /// Runs `f` in a write transaction and commits only if it succeeds, durably.
    async fn write<T, F>(&self, f: F) -> Result<T, TableError>
    where
        T: Send + 'static,
        F: FnOnce(&Writer<'_>, i64) -> Result<T, TableError> + Send + 'static,
    {
        self.write_with(Durability::Immediate, f).await
    }

    /// `write` with the commit's durability: `None` is visible at once and durable with the
    /// next durable commit (a flush of the file each time would dominate a bulk run).
    async fn write_with<T, F>(&self, durability: Durability, f: F) -> Result<T, TableError>
    where
        T: Send + 'static,
        F: FnOnce(&Writer<'_>, i64) -> Result<T, TableError> + Send + 'static,
    {
        self.blocking(move |db, now| {
            let mut txn = db.begin_write().map_err(err)?;
            txn.set_durability(durability);
            let result = f(&Writer(&txn), now)?;
            txn.commit().map_err(err)?;
            tracing::trace!(
                durable = matches!(durability, Durability::Immediate),
                "embedded store commit"
            );
            Ok(result)
        })
        .await
    }
}

fn live(item: Option<Item>, now: i64) -> Option<Item> {
    item.filter(|i| i.is_live(now))
}

fn fail_unless(condition: &Condition, current: Option<&Item>, key: &Key) -> Result<(), TableError> {
    if condition.holds(current) {
        Ok(())
    } else {
        Err(TableError::ConditionFailed(key.clone()))
    }
}

/// The byte range of a query, before its cursor is applied.
fn bounds(query: &Query) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let partition = format!("{}\0", query.pk).into_bytes();
    let at = |sk: &str| [partition.as_slice(), sk.as_bytes()].concat();
    // Every stored key starting with `sk` then NUL (index entries continue after the sort key)
    // sorts below `sk` followed by 0x01.
    let through = |sk: &str| Bound::Excluded([at(sk).as_slice(), &[1u8]].concat());
    let whole = Bound::Excluded(after_prefix(partition.clone()));
    match &query.sk {
        SortKey::Any => (Bound::Included(partition.clone()), whole),
        SortKey::BeginsWith(p) => (Bound::Included(at(p)), Bound::Excluded(after_prefix(at(p)))),
        SortKey::Between(a, b) => (Bound::Included(at(a)), through(b)),
        SortKey::From(a) => (Bound::Included(at(a)), whole),
        SortKey::UpTo(b) => (Bound::Included(partition.clone()), through(b)),
    }
}

fn bound_bytes(b: &Bound<Vec<u8>>) -> Option<&[u8]> {
    match b {
        Bound::Included(v) | Bound::Excluded(v) => Some(v),
        Bound::Unbounded => None,
    }
}

#[async_trait::async_trait]
impl Table for EmbeddedTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        check::key(key)?;
        let key = key.clone();
        self.blocking(move |db, now| {
            let txn = db.begin_read().map_err(err)?;
            let table = txn.open_table(ITEMS).map_err(err)?;
            let found = table.get(item_key(&key).as_slice()).map_err(err)?;
            let item = found.map(|v| decode(key, v.value())).transpose()?;
            Ok(live(item, now))
        })
        .await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        check::item(&item)?;
        check::condition(&condition)?;
        self.write(move |w, now| {
            fail_unless(&condition, live(w.raw(&item.key)?, now).as_ref(), &item.key)?;
            w.put(&item)
        })
        .await
    }

    async fn update(&self, key: &Key, update: Update) -> Result<Item, TableError> {
        check::key(key)?;
        check::update(&update)?;
        let key = key.clone();
        self.write(move |w, now| {
            let raw = w.raw(&key)?;
            fail_unless(update.condition(), live(raw.clone(), now).as_ref(), &key)?;
            // Like DynamoDB, an update of an expired (not yet swept) item starts from it.
            let item = update.apply(&key, raw.as_ref());
            w.put(&item)?;
            Ok(item)
        })
        .await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<Option<Item>, TableError> {
        check::key(key)?;
        check::condition(&condition)?;
        let key = key.clone();
        self.write(move |w, now| {
            let old = live(w.raw(&key)?, now);
            fail_unless(&condition, old.as_ref(), &key)?;
            w.remove(&key)?;
            Ok(old)
        })
        .await
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        let position = query.validate()?;
        self.blocking(move |db, now| {
            let (mut lo, mut hi) = bounds(&query);
            if let Some(p) = &position {
                let at = match query.index {
                    None => item_key(&Key::new(p.pk.clone(), p.sk.clone())),
                    Some(_) => join(&[
                        p.ipk.as_deref().unwrap_or_default(),
                        p.isk.as_deref().unwrap_or_default(),
                        &p.pk,
                        &p.sk,
                    ]),
                };
                if query.descending {
                    hi = Bound::Excluded(at);
                } else {
                    lo = Bound::Excluded(at);
                }
            }
            if let (Some(l), Some(h)) = (bound_bytes(&lo), bound_bytes(&hi))
                && l >= h
            {
                return Ok(Page {
                    items: vec![],
                    next: None,
                });
            }
            let range = (
                lo.as_ref().map(Vec::as_slice),
                hi.as_ref().map(Vec::as_slice),
            );
            let txn = db.begin_read().map_err(err)?;
            let items_table = txn.open_table(ITEMS).map_err(err)?;
            let index_entries = query
                .index
                .map(|index| txn.open_table(index_table(index)))
                .transpose()
                .map_err(err)?;
            let source = index_entries.as_ref().unwrap_or(&items_table);
            let entries = source.range::<&[u8]>(range).map_err(err)?;
            let entries: Box<dyn Iterator<Item = _>> = if query.descending {
                Box::new(entries.rev())
            } else {
                Box::new(entries)
            };
            let mut items = Vec::new();
            for entry in entries {
                let (k, v) = entry.map_err(err)?;
                let key = split_key(k.value())?;
                let item = match query.index {
                    None => decode(key, v.value())?,
                    Some(_) => {
                        let found = items_table.get(item_key(&key).as_slice()).map_err(err)?;
                        match found {
                            Some(v) => decode(key, v.value())?,
                            None => continue,
                        }
                    }
                };
                if !item.is_live(now) {
                    continue;
                }
                if items.len() == query.limit {
                    let last: &Item = items.last().expect("limit is at least 1");
                    let next = Some(Position::of(last, query.index).cursor());
                    return Ok(Page { items, next });
                }
                items.push(item);
            }
            Ok(Page { items, next: None })
        })
        .await
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        check::transaction(&ops)?;
        self.write(move |w, now| w.transact(&ops, now)).await
    }

    async fn transact_each(
        &self,
        transactions: Vec<Vec<TxOp>>,
    ) -> Result<Vec<Result<(), TableError>>, TableError> {
        for ops in &transactions {
            check::transaction(ops)?;
        }
        // One write transaction, made durable by the next `sync` or durable write; each inner
        // transaction sees the ones before it and is applied whole or not at all.
        self.write_with(Durability::None, move |w, now| {
            transactions
                .iter()
                .map(|ops| crate::ports::table::settled(w.transact(ops, now)))
                .collect()
        })
        .await
    }

    async fn sync(&self) -> Result<(), TableError> {
        // An empty durable commit makes every commit before it durable.
        self.write(|_, _| Ok(())).await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, TableError> {
        for key in keys {
            check::key(key)?;
        }
        let keys = keys.to_vec();
        self.blocking(move |db, now| {
            let txn = db.begin_read().map_err(err)?;
            let table = txn.open_table(ITEMS).map_err(err)?;
            // A large batch is read by several threads of one snapshot, so that a store larger
            // than memory has several page reads in flight instead of one at a time.
            let per_reader = keys.len().div_ceil(READERS).max(KEYS_PER_READER);
            let read = |chunk: &[Key]| -> Result<Vec<Option<Item>>, TableError> {
                chunk
                    .iter()
                    .map(|key| {
                        let raw = table.get(item_key(key).as_slice()).map_err(err)?;
                        let item = raw.map(|v| decode(key.clone(), v.value())).transpose()?;
                        Ok(live(item, now))
                    })
                    .collect()
            };
            if keys.len() <= per_reader {
                return read(&keys);
            }
            std::thread::scope(|scope| {
                let readers: Vec<_> = keys
                    .chunks(per_reader)
                    .map(|chunk| scope.spawn(move || read(chunk)))
                    .collect();
                let mut out = Vec::with_capacity(keys.len());
                for reader in readers {
                    let read = reader.join().map_err(|_| {
                        TableError::Unavailable("a store reader thread panicked".into())
                    })?;
                    out.extend(read?);
                }
                Ok(out)
            })
        })
        .await
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<(), TableError> {
        check::distinct_keys(items.iter().map(|i| &i.key))?;
        for item in &items {
            check::item(item)?;
        }
        // One write transaction for the whole batch, durable with the next durable write: a
        // flush per batch would dominate a run that writes a profile per changed subject.
        self.write_with(Durability::None, move |w, _| {
            items.iter().try_for_each(|item| w.put(item))
        })
        .await
    }

    async fn batch_delete(&self, keys: Vec<Key>) -> Result<(), TableError> {
        check::distinct_keys(keys.iter())?;
        for key in &keys {
            check::key(key)?;
        }
        // One write transaction for the whole batch, durable with the next durable write.
        self.write_with(Durability::None, move |w, _| {
            keys.iter().try_for_each(|key| w.remove(key).map(drop))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{FixedClock, SystemClock};
    use chrono::{TimeZone, Utc};

    #[tokio::test]
    async fn items_survive_closing_and_reopening_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.redb");
        let key = Key::new("T#1", "TENANT");
        {
            let store = EmbeddedTable::open(&path, Arc::new(SystemClock)).unwrap();
            let item = Item::new(key.clone(), Map::new());
            store.put(item, Condition::Absent).await.unwrap();
        }
        let store = EmbeddedTable::open(&path, Arc::new(SystemClock)).unwrap();
        assert!(store.get(&key).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn bulk_writes_are_kept_once_synced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.redb");
        let keys: Vec<Key> = (0..4).map(|i| Key::new(format!("H#{i}"), "HIT")).collect();
        {
            let store = EmbeddedTable::open(&path, Arc::new(SystemClock)).unwrap();
            let transactions = keys[..3]
                .iter()
                .map(|k| {
                    vec![TxOp::Put(
                        Item::new(k.clone(), Map::new()),
                        Condition::Absent,
                    )]
                })
                .collect();
            let results = store.transact_each(transactions).await.unwrap();
            assert!(results.iter().all(Result::is_ok), "{results:?}");
            store.batch_delete(vec![keys[0].clone()]).await.unwrap();
            let profile = Item::new(keys[3].clone(), Map::new());
            store.batch_put(vec![profile]).await.unwrap();
            store.sync().await.unwrap();
        }
        let store = EmbeddedTable::open(&path, Arc::new(SystemClock)).unwrap();
        let found = store.batch_get(&keys).await.unwrap();
        let present: Vec<bool> = found.iter().map(Option::is_some).collect();
        assert_eq!(present, vec![false, true, true, true]);
    }

    #[tokio::test]
    async fn expired_items_are_swept_when_the_store_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.redb");
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let clock = Arc::new(FixedClock::at(start));
        {
            let store = EmbeddedTable::open(&path, clock.clone()).unwrap();
            let item = Item::new(Key::new("INV#1", "INVITE"), Map::new())
                .with_expiry(start.timestamp() + 60)
                .with_index(Index::Gsi2, IndexKey::new("EXPIRY", "x"));
            store.put(item, Condition::None).await.unwrap();
            let later = Item::new(Key::new("INV#2", "INVITE"), Map::new())
                .with_expiry(start.timestamp() + 62);
            store.put(later, Condition::None).await.unwrap();
        }
        clock.advance(chrono::Duration::seconds(61));
        let store = EmbeddedTable::open(&path, clock).unwrap();
        assert_eq!(store.purge_expired_now().unwrap(), 0, "swept at open");
        let txn = store.db.begin_read().unwrap();
        assert_eq!(
            txn.open_table(ITEMS).unwrap().iter().unwrap().count(),
            1,
            "the item that expires later stays"
        );
        assert_eq!(txn.open_table(GSI2).unwrap().iter().unwrap().count(), 0);
        assert_eq!(txn.open_table(EXPIRY).unwrap().iter().unwrap().count(), 1);
    }
}
