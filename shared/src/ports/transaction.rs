//! A transaction whose operations say what their failure means.
//!
//! The store reports a cancelled transaction by the positions of the operations whose condition
//! failed. Business code never reads those positions: it adds each operation with the refusal
//! its failed condition stands for (`guarded`), or with none (`op`), and [`Transaction::commit`]
//! answers the refusal of the first failed operation, in the order they were added. So the
//! order of adding is also the order of precedence when several conditions fail at once.

use super::table::{Table, TableError, TxOp};

pub struct Transaction<E> {
    ops: Vec<TxOp>,
    refusals: Vec<Option<E>>,
    otherwise: Option<E>,
}

impl<E> Default for Transaction<E> {
    fn default() -> Self {
        Self {
            ops: Vec::new(),
            refusals: Vec::new(),
            otherwise: None,
        }
    }
}

impl<E> Transaction<E> {
    pub fn new() -> Self {
        Self::default()
    }

    /// An operation whose failed condition means nothing of its own (see [`Self::otherwise`]).
    pub fn op(&mut self, op: TxOp) -> &mut Self {
        self.ops.push(op);
        self.refusals.push(None);
        self
    }

    /// An operation whose failed condition means `refusal`.
    pub fn guarded(&mut self, op: TxOp, refusal: E) -> &mut Self {
        self.ops.push(op);
        self.refusals.push(Some(refusal));
        self
    }

    pub fn ops(&mut self, ops: impl IntoIterator<Item = TxOp>) -> &mut Self {
        for op in ops {
            self.op(op);
        }
        self
    }

    /// What a failed condition of an operation without a refusal of its own means. Without
    /// it, such a failure is the store's `TransactionFailed`.
    pub fn otherwise(&mut self, refusal: E) -> &mut Self {
        self.otherwise = Some(refusal);
        self
    }

    /// The operations alone, for a bulk writer that applies many transactions in one call
    /// (`Table::transact_each`) and judges a refused one again from fresh reads rather than by
    /// its refusals.
    pub fn into_ops(self) -> Vec<TxOp> {
        self.ops
    }

    /// Applies every operation or none: `Ok(Err(refusal))` when a condition failed (the
    /// refusal of the first failed operation that has one, else the `otherwise` refusal); the
    /// store's error when it failed, or when a condition without any refusal did.
    pub async fn try_commit(self, table: &dyn Table) -> Result<Result<(), E>, TableError> {
        match table.transact(self.ops).await {
            Ok(()) => Ok(Ok(())),
            Err(TableError::TransactionFailed { failed }) => {
                match refusal(self.refusals, self.otherwise, &failed) {
                    Some(refused) => Ok(Err(refused)),
                    None => Err(TableError::TransactionFailed { failed }),
                }
            }
            Err(e) => Err(e),
        }
    }
}

impl<E: From<TableError>> Transaction<E> {
    /// [`Self::try_commit`] for refusals that are errors themselves.
    pub async fn commit(self, table: &dyn Table) -> Result<(), E> {
        self.try_commit(table).await?
    }
}

/// The refusal for the failed positions: the first failed operation's own, else `otherwise`.
fn refusal<E>(refusals: Vec<Option<E>>, otherwise: Option<E>, failed: &[usize]) -> Option<E> {
    refusals
        .into_iter()
        .enumerate()
        .find_map(|(i, r)| r.filter(|_| failed.contains(&i)))
        .or(otherwise)
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn the_first_failed_operation_with_a_meaning_answers() {
        let meanings = || vec![Some("stale"), None, Some("in use"), Some("gone")];
        for (failed, otherwise, expected) in [
            (vec![0], None, Some("stale")),
            (vec![0, 2], None, Some("stale")),
            (vec![2, 3], None, Some("in use")),
            (vec![3], None, Some("gone")),
            (vec![1], None, None),
            (vec![1], Some("other"), Some("other")),
            (vec![1, 3], Some("other"), Some("gone")),
            (vec![], Some("other"), Some("other")),
        ] {
            assert_eq!(
                refusal(meanings(), otherwise, &failed),
                expected,
                "failed {failed:?}, otherwise {otherwise:?}"
            );
        }
    }
}
