//! Checks what every adapter refuses in the same way, before anything is written.

use std::collections::HashSet;

use serde_json::{Map, Value};

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

pub(super) fn check_key_part(what: &str, value: &str) -> Result<(), TableError> {
    if value.is_empty() || value.contains('\0') || value.len() > 1024 {
        return Err(TableError::Invalid(format!(
            "{what} {value:?} must be 1 to 1024 bytes without NUL"
        )));
    }
    Ok(())
}
