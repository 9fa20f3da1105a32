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
//!
//! The values it stores and queries by are in [`model`]; the checks every adapter makes before
//! writing are in [`check`].

mod model;

pub mod check;

pub use model::*;

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
    /// Writes every item unconditionally. Any number of items, each key once. On the embedded
    /// store durable, like `transact_each`, after the next `sync` or other write.
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

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
