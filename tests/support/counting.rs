//! A `Table` that counts the requests a flow makes, for the request-budget tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use clientwatch::ports::{Condition, Item, Key, Page, Query, Table, TableError, TxOp, Update};

/// A `Table` that counts the calls made through it (one call is one DynamoDB request, but for
/// batches: a batch get sends one request per 100 keys).
pub struct Counting {
    inner: Arc<dyn Table>,
    calls: Mutex<BTreeMap<&'static str, u64>>,
    batch_keys: Mutex<u64>,
    /// Write units as DynamoDB bills them for items under 1 KB: one a plain write, two a
    /// transaction's item (its condition checks included).
    write_units: Mutex<u64>,
}

/// The open-invoice lists' partition prefix (`keys::OPEN_INVOICES`).
const LISTS: &str = clientwatch::keys::OPEN_INVOICES;
/// The name list reads are counted under: queries still, counted apart.
pub const LIST_QUERY: &str = "Query (lists)";

impl Counting {
    pub fn new(inner: Arc<dyn Table>) -> Self {
        Self {
            inner,
            calls: Mutex::default(),
            batch_keys: Mutex::default(),
            write_units: Mutex::default(),
        }
    }

    fn count(&self, op: &'static str) {
        *self.calls.lock().unwrap().entry(op).or_default() += 1;
    }

    fn units(&self, n: usize) {
        *self.write_units.lock().unwrap() += n as u64;
    }

    /// The write units used since the last call (see the field).
    pub fn take_write_units(&self) -> u64 {
        std::mem::take(&mut *self.write_units.lock().unwrap())
    }

    /// The calls made since the last `take`, by operation, and the keys batch reads asked for.
    pub fn take(&self) -> (BTreeMap<&'static str, u64>, u64) {
        let calls = std::mem::take(&mut *self.calls.lock().unwrap());
        let keys = std::mem::take(&mut *self.batch_keys.lock().unwrap());
        (calls, keys)
    }
}

#[async_trait::async_trait]
impl Table for Counting {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.count("GetItem");
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        self.count("PutItem");
        self.units(1);
        self.inner.put(item, condition).await
    }
    async fn update(&self, key: &Key, update: Update) -> Result<Item, TableError> {
        self.count("UpdateItem");
        self.units(1);
        self.inner.update(key, update).await
    }
    async fn delete(&self, key: &Key, condition: Condition) -> Result<Option<Item>, TableError> {
        self.count("DeleteItem");
        self.units(1);
        self.inner.delete(key, condition).await
    }
    async fn query(&self, query: Query) -> Result<Page, TableError> {
        // The communications run's reads of its lists, apart: a cost a day, not an invoice.
        self.count(if query.pk.starts_with(LISTS) {
            LIST_QUERY
        } else {
            "Query"
        });
        self.inner.query(query).await
    }
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        self.count("TransactWriteItems");
        self.units(2 * ops.len());
        self.inner.transact(ops).await
    }
    async fn transact_each(
        &self,
        transactions: Vec<Vec<TxOp>>,
    ) -> Result<Vec<Result<(), TableError>>, TableError> {
        for ops in &transactions {
            self.count("TransactWriteItems");
            self.units(2 * ops.len());
        }
        self.inner.transact_each(transactions).await
    }
    async fn sync(&self) -> Result<(), TableError> {
        self.inner.sync().await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, TableError> {
        self.count("BatchGetItem");
        *self.batch_keys.lock().unwrap() += keys.len() as u64;
        self.inner.batch_get(keys).await
    }
    async fn batch_put(&self, items: Vec<Item>) -> Result<(), TableError> {
        self.count("BatchWriteItem");
        self.units(items.len());
        self.inner.batch_put(items).await
    }
    async fn batch_delete(&self, keys: Vec<Key>) -> Result<(), TableError> {
        self.count("BatchWriteItem");
        self.units(keys.len());
        self.inner.batch_delete(keys).await
    }
}

/// Services over a fresh DynamoDB table on the emulator whose calls are counted, with the
/// harness that owns the table (keep it alive as long as the services).
pub async fn counted_dynamodb() -> (crate::Harness, clientwatch::Services, Arc<Counting>) {
    let harness = crate::Harness::new(crate::Store::DynamoDb).await;
    let (base, _) = harness.services();
    let counting = Arc::new(Counting::new(base.table.clone()));
    let svc = clientwatch::Services {
        table: counting.clone(),
        ..base
    };
    (harness, svc, counting)
}
