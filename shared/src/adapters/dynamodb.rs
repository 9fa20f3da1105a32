//! The `Table` port over DynamoDB. Items are mapped with `serde_dynamo`; the key, index, version
//! and expiry attributes are the table's own (see `ports::table::RESERVED`).
//!
//! DynamoDB keeps expired items until its background sweep removes them (up to days later), so
//! reads drop them here and every condition counts them as absent, as the port requires.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, ConsumedCapacity, Delete, DeleteRequest, KeysAndAttributes,
    Put, PutRequest, ReturnConsumedCapacity, ReturnValue, TransactWriteItem, WriteRequest,
};
use serde_json::{Map, Value};

use super::retry::{Backoff, drain};
use crate::ports::table::{Position, check};
use crate::ports::{
    Clock, Condition, Index, IndexKey, Item, Key, Page, Query, SortKey, Table, TableError, TxOp,
    Update,
};

type Attrs = HashMap<String, AttributeValue>;

const BATCH_GET: usize = 100;
const BATCH_PUT: usize = 25;

pub struct DynamoTable {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
    backoff: Backoff,
}

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
            backoff: Backoff::default(),
        }
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key_attrs(key: &Key) -> Attrs {
    HashMap::from([("pk".into(), s(&key.pk)), ("sk".into(), s(&key.sk))])
}

fn to_attrs(item: &Item) -> Result<Attrs, TableError> {
    let mut attrs: Attrs = serde_dynamo::to_item(&item.data)
        .map_err(|e| TableError::Invalid(format!("item {}: {e}", item.key)))?;
    attrs.extend(key_attrs(&item.key));
    for index in [Index::Gsi1, Index::Gsi2] {
        if let Some(ikey) = item.index_key(index) {
            attrs.insert(index.pk_attr().into(), s(&ikey.pk));
            attrs.insert(index.sk_attr().into(), s(&ikey.sk));
        }
    }
    attrs.insert("version".into(), n(item.version));
    if let Some(at) = item.expires_at {
        attrs.insert("expires_at".into(), n(at));
    }
    Ok(attrs)
}

fn from_attrs(mut attrs: Attrs) -> Result<Item, TableError> {
    let mut text = |name: &str| match attrs.remove(name) {
        Some(AttributeValue::S(v)) => Ok(Some(v)),
        None => Ok(None),
        Some(_) => Err(TableError::Corrupt(format!(
            "attribute {name} is not a string"
        ))),
    };
    let key = Key::new(
        text("pk")?.unwrap_or_default(),
        text("sk")?.unwrap_or_default(),
    );
    let mut index = |index: Index| -> Result<Option<IndexKey>, TableError> {
        Ok(match (text(index.pk_attr())?, text(index.sk_attr())?) {
            (Some(pk), Some(sk)) => Some(IndexKey { pk, sk }),
            _ => None,
        })
    };
    let (gsi1, gsi2) = (index(Index::Gsi1)?, index(Index::Gsi2)?);
    let mut number = |name: &str| match attrs.remove(name) {
        Some(AttributeValue::N(v)) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| TableError::Corrupt(format!("item {key}: {name} is not an integer"))),
        None => Ok(None),
        Some(_) => Err(TableError::Corrupt(format!(
            "item {key}: {name} is not a number"
        ))),
    };
    let version = number("version")?.unwrap_or(0).max(0) as u64;
    let expires_at = number("expires_at")?;
    let data: Map<String, Value> = serde_dynamo::from_item(attrs)
        .map_err(|e| TableError::Corrupt(format!("item {key}: {e}")))?;
    Ok(Item {
        key,
        gsi1,
        gsi2,
        version,
        expires_at,
        data,
    })
}

/// Builds expression attribute names and values as an expression uses them (DynamoDB refuses
/// unused ones).
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn name(&mut self, attr: &str) -> String {
        let placeholder = format!(
            "#{}",
            attr.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        let placeholder = match self.names.get(&placeholder) {
            Some(existing) if existing != attr => format!("#n{}", self.names.len()),
            _ => placeholder,
        };
        self.names.insert(placeholder.clone(), attr.to_owned());
        placeholder
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn json(&mut self, value: &Value) -> Result<String, TableError> {
        let av: AttributeValue = serde_dynamo::to_attribute_value(value)
            .map_err(|e| TableError::Invalid(e.to_string()))?;
        Ok(self.value(av))
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<Attrs> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    /// The condition expression, or `None` for `Condition::None`.
    fn condition(&mut self, condition: &Condition, now: i64) -> Result<Option<String>, TableError> {
        if *condition == Condition::None {
            return Ok(None);
        }
        let exp = self.name("expires_at");
        let now = self.value(n(now));
        let live = format!("(attribute_not_exists({exp}) OR {exp} > {now})");
        let gone = |expr: &mut Self| {
            let pk = expr.name("pk");
            format!("attribute_not_exists({pk}) OR {exp} <= {now}")
        };
        Ok(Some(match condition {
            Condition::None => unreachable!("handled above"),
            Condition::Absent => gone(self),
            Condition::Exists => format!("attribute_exists({}) AND {live}", self.name("pk")),
            Condition::VersionIs(v) => {
                let (attr, v) = (self.name("version"), self.value(n(v)));
                format!("{attr} = {v} AND {live}")
            }
            Condition::AttrEquals(attr, value) => {
                let (attr, value) = (self.name(attr), self.json(value)?);
                format!("{attr} = {value} AND {live}")
            }
            Condition::Below(attr, limit) => {
                let gone = gone(self);
                let (attr, limit) = (self.name(attr), self.value(n(limit)));
                format!("{gone} OR attribute_not_exists({attr}) OR {attr} < {limit}")
            }
        }))
    }

    fn update(&mut self, update: &Update) -> Result<String, TableError> {
        let mut set = Vec::new();
        for (attr, value) in &update.set {
            set.push(format!("{} = {}", self.name(attr), self.json(value)?));
        }
        if let Some(at) = update.expires_at {
            set.push(format!(
                "{} = {}",
                self.name("expires_at"),
                self.value(n(at))
            ));
        }
        let remove: Vec<String> = update.remove.iter().map(|a| self.name(a)).collect();
        let mut add = vec![format!("{} {}", self.name("version"), self.value(n(1)))];
        for (attr, by) in &update.add {
            add.push(format!("{} {}", self.name(attr), self.value(n(by))));
        }
        let mut expression = format!("ADD {}", add.join(", "));
        if !set.is_empty() {
            expression.push_str(&format!(" SET {}", set.join(", ")));
        }
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        Ok(expression)
    }
}

/// Adds a read call's consumed capacity to the process's figures (`telemetry::units`).
fn read(c: Option<&ConsumedCapacity>) {
    if let Some(units) = c.and_then(|c| c.capacity_units()) {
        crate::telemetry::add_units(units, 0.0);
    }
}

/// Adds a write call's consumed capacity.
fn write(c: Option<&ConsumedCapacity>) {
    if let Some(units) = c.and_then(|c| c.capacity_units()) {
        crate::telemetry::add_units(0.0, units);
    }
}

fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    e: &SdkError<E, R>,
) -> bool {
    matches!(e, SdkError::ServiceError(se) if se.err().code() == Some("ConditionalCheckFailedException"))
}

fn unavailable<E, R>(e: SdkError<E, R>) -> TableError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    TableError::unavailable(e)
}

impl DynamoTable {
    fn tx_item(&self, op: &TxOp, now: i64) -> Result<TransactWriteItem, TableError> {
        let mut expr = Expr::default();
        let condition = expr.condition(op.condition(), now)?;
        let built = match op {
            TxOp::Put(item, _) => TransactWriteItem::builder().put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_attrs(item)?))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .build()
                    .map_err(|e| TableError::Invalid(e.to_string()))?,
            ),
            TxOp::Update(key, update) => {
                let expression = expr.update(update)?;
                TransactWriteItem::builder().update(
                    aws_sdk_dynamodb::types::Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .update_expression(expression)
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(|e| TableError::Invalid(e.to_string()))?,
                )
            }
            TxOp::Delete(key, _) => TransactWriteItem::builder().delete(
                Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(key)))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .build()
                    .map_err(|e| TableError::Invalid(e.to_string()))?,
            ),
            TxOp::Check(key, _) => TransactWriteItem::builder().condition_check(
                ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(key)))
                    // `check::transaction` refuses a check without a condition.
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .build()
                    .map_err(|e| TableError::Invalid(e.to_string()))?,
            ),
        };
        Ok(built.build())
    }

    fn position_attrs(position: &Position, index: Option<Index>) -> Attrs {
        let mut attrs = key_attrs(&Key::new(position.pk.clone(), position.sk.clone()));
        if let (Some(index), Some(ipk), Some(isk)) = (index, &position.ipk, &position.isk) {
            attrs.insert(index.pk_attr().into(), s(ipk));
            attrs.insert(index.sk_attr().into(), s(isk));
        }
        attrs
    }
}

#[async_trait::async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        check::key(key)?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        read(out.consumed_capacity());
        let now = self.now();
        match out.item {
            Some(attrs) => Ok(Some(from_attrs(attrs)?).filter(|i| i.is_live(now))),
            None => Ok(None),
        }
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        check::item(&item)?;
        check::condition(&condition)?;
        let mut expr = Expr::default();
        let expression = expr.condition(&condition, self.now())?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .set_item(Some(to_attrs(&item)?))
            .set_condition_expression(expression)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await;
        match result {
            Ok(out) => {
                write(out.consumed_capacity());
                Ok(())
            }
            Err(e) if is_condition_failure(&e) => Err(TableError::ConditionFailed(item.key)),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn update(&self, key: &Key, update: Update) -> Result<Item, TableError> {
        check::key(key)?;
        check::update(&update)?;
        let mut expr = Expr::default();
        let expression = expr.update(&update)?;
        let condition = expr.condition(update.condition(), self.now())?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .set_key(Some(key_attrs(key)))
            .update_expression(expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                write(out.consumed_capacity());
                from_attrs(out.attributes.unwrap_or_default())
            }
            Err(e) if is_condition_failure(&e) => Err(TableError::ConditionFailed(key.clone())),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<Option<Item>, TableError> {
        check::key(key)?;
        check::condition(&condition)?;
        let now = self.now();
        let mut expr = Expr::default();
        let expression = expr.condition(&condition, now)?;
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .set_key(Some(key_attrs(key)))
            .set_condition_expression(expression)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                write(out.consumed_capacity());
                match out.attributes {
                    Some(attrs) => Ok(Some(from_attrs(attrs)?).filter(|i| i.is_live(now))),
                    None => Ok(None),
                }
            }
            Err(e) if is_condition_failure(&e) => Err(TableError::ConditionFailed(key.clone())),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        let position = query.validate()?;
        let (pk_attr, sk_attr) = match query.index {
            Some(index) => (index.pk_attr(), index.sk_attr()),
            None => ("pk", "sk"),
        };
        let mut expr = Expr::default();
        let (pk_name, pk_value) = (expr.name(pk_attr), expr.value(s(&query.pk)));
        let mut condition = format!("{pk_name} = {pk_value}");
        let sk = expr.name(sk_attr);
        let sk_condition = match &query.sk {
            SortKey::Any => None,
            SortKey::BeginsWith(p) => Some(format!("begins_with({sk}, {})", expr.value(s(p)))),
            SortKey::Between(a, b) => Some(format!(
                "{sk} BETWEEN {} AND {}",
                expr.value(s(a)),
                expr.value(s(b))
            )),
            SortKey::From(a) => Some(format!("{sk} >= {}", expr.value(s(a)))),
            SortKey::UpTo(b) => Some(format!("{sk} <= {}", expr.value(s(b)))),
        };
        if let Some(sk_condition) = sk_condition {
            condition.push_str(" AND ");
            condition.push_str(&sk_condition);
        } else {
            expr.names.remove(&sk);
        }
        let now = self.now();
        let mut start = position.map(|p| Self::position_attrs(&p, query.index));
        let mut items = Vec::new();
        // Ask for one more than the page holds, so that `next` is given only when more follow.
        loop {
            let want = (query.limit + 1 - items.len()) as i32;
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .set_index_name(query.index.map(|i| i.name().to_owned()))
                .key_condition_expression(&condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .scan_index_forward(!query.descending)
                .set_consistent_read(query.index.is_none().then_some(true))
                .limit(want)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            read(out.consumed_capacity());
            for attrs in out.items.unwrap_or_default() {
                let item = from_attrs(attrs)?;
                if item.is_live(now) {
                    items.push(item);
                }
            }
            if items.len() > query.limit {
                items.truncate(query.limit);
                let last = items.last().expect("a full page has a last item");
                let next = Some(Position::of(last, query.index).cursor());
                return Ok(Page { items, next });
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(Page { items, next: None }),
            }
        }
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        check::transaction(&ops)?;
        let now = self.now();
        let items = ops
            .iter()
            .map(|op| self.tx_item(op, now))
            .collect::<Result<Vec<_>, _>>()?;
        // Another transaction on the same items makes DynamoDB cancel this one with
        // `TransactionConflict`; that is worth a few retries, a failed condition is not.
        let mut retry = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            let err = match result {
                Ok(out) => {
                    for c in out.consumed_capacity() {
                        write(Some(c));
                    }
                    return Ok(());
                }
                Err(e) => e,
            };
            let reasons = match &err {
                SdkError::ServiceError(se) => match se.err() {
                    TransactWriteItemsError::TransactionCanceledException(c) => {
                        Some(c.cancellation_reasons().to_vec())
                    }
                    _ => None,
                },
                _ => None,
            };
            let Some(reasons) = reasons else {
                return Err(unavailable(err));
            };
            let failed: Vec<usize> = reasons
                .iter()
                .enumerate()
                .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                .map(|(i, _)| i)
                .collect();
            if !failed.is_empty() {
                return Err(TableError::TransactionFailed { failed });
            }
            retry += 1;
            if retry >= self.backoff.attempts {
                return Err(unavailable(err));
            }
            tokio::time::sleep(self.backoff.delay(retry)).await;
        }
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, TableError> {
        let mut distinct: Vec<&Key> = Vec::with_capacity(keys.len());
        let mut seen = std::collections::HashSet::new();
        for key in keys {
            check::key(key)?;
            if seen.insert(key) {
                distinct.push(key);
            }
        }
        let now = self.now();
        let mut found: HashMap<Key, Item> = HashMap::with_capacity(distinct.len());
        for chunk in distinct.chunks(BATCH_GET) {
            let pending: Vec<Attrs> = chunk.iter().map(|k| key_attrs(k)).collect();
            let (got, left) = drain(self.backoff, pending, |pending| async move {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| TableError::Invalid(e.to_string()))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(unavailable)?;
                for c in out.consumed_capacity() {
                    read(Some(c));
                }
                let got = out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default();
                let left = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                Ok::<_, TableError>((got, left))
            })
            .await?;
            if !left.is_empty() {
                return Err(TableError::Unavailable(
                    format!("{} keys were still unprocessed after retries", left.len()).into(),
                ));
            }
            for attrs in got {
                let item = from_attrs(attrs)?;
                if item.is_live(now) {
                    found.insert(item.key.clone(), item);
                }
            }
        }
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<(), TableError> {
        check::distinct_keys(items.iter().map(|i| &i.key))?;
        let mut requests = Vec::with_capacity(items.len());
        for item in &items {
            check::item(item)?;
            let put = PutRequest::builder()
                .set_item(Some(to_attrs(item)?))
                .build()
                .map_err(|e| TableError::Invalid(e.to_string()))?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        self.batch_write(requests).await
    }

    async fn batch_delete(&self, keys: Vec<Key>) -> Result<(), TableError> {
        check::distinct_keys(keys.iter())?;
        let mut requests = Vec::with_capacity(keys.len());
        for key in &keys {
            check::key(key)?;
            let delete = DeleteRequest::builder()
                .set_key(Some(key_attrs(key)))
                .build()
                .map_err(|e| TableError::Invalid(e.to_string()))?;
            requests.push(WriteRequest::builder().delete_request(delete).build());
        }
        self.batch_write(requests).await
    }
}

impl DynamoTable {
    /// BatchWriteItem in chunks of 25, unprocessed requests retried with back-off.
    async fn batch_write(&self, mut requests: Vec<WriteRequest>) -> Result<(), TableError> {
        while !requests.is_empty() {
            let rest = requests.split_off(requests.len().min(BATCH_PUT));
            let chunk = std::mem::replace(&mut requests, rest);
            let (_, left) = drain(self.backoff, chunk, |pending| async move {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(unavailable)?;
                for c in out.consumed_capacity() {
                    write(Some(c));
                }
                let left = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                Ok::<(Vec<()>, _), TableError>((vec![], left))
            })
            .await?;
            if !left.is_empty() {
                return Err(TableError::Unavailable(
                    format!("{} items were still unprocessed after retries", left.len()).into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn items_round_trip_through_attribute_values() {
        let Value::Object(data) = json!({
            "name": "Ana", "count": 3, "ratio": 1.5, "ok": true, "none": null,
            "list": [1, "two", {"three": 3}], "map": {"nested": {"deep": []}}, "empty": ""
        }) else {
            unreachable!()
        };
        let item = Item::new(Key::new("T#1", "CLIENT"), data)
            .with_index(Index::Gsi1, IndexKey::new("S#1", "x"))
            .with_expiry(1_800_000_000)
            .with_version(7);
        let back = from_attrs(to_attrs(&item).unwrap()).unwrap();
        assert_eq!(back, item);
    }

    #[test]
    fn expressions_name_only_what_they_use() {
        let mut expr = Expr::default();
        let condition = expr.condition(&Condition::VersionIs(3), 100).unwrap();
        assert_eq!(
            condition.as_deref(),
            Some("#version = :v1 AND (attribute_not_exists(#expires_at) OR #expires_at > :v0)")
        );
        assert!(!expr.names.contains_key("#pk"));
        assert_eq!(expr.values.len(), 2);
    }
}
