//! Stored monthly statements: what each client's statement e-mail said (its open invoices,
//! oldest due first, and the total owing per currency), kept under the client
//! (`STATEMENT#{YYYY-MM}`) so the account portal can show it and partners can list it.
//!
//! The communications run stores the month's statement before it delivers it, only if there is
//! none yet ([`keep`]), and then sends what is stored: a run repeated, killed half-way or
//! racing another writes one record and sends that same statement, once.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::invoices::{Invoice, Status};
use crate::Services;
use crate::domain::tenants::Tenant;
use crate::domain::{Decimal2, Error, Result};
use crate::keys;
use crate::ports::{Condition, Cursor, Item, Query, SortKey, TableError};
use crate::records::clients;

pub const WHAT: &str = "statement";

/// One invoice as the statement listed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub invoice_id: String,
    pub number: String,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub amount: Decimal2,
    pub balance: Decimal2,
    pub currency: String,
    pub status: Status,
}

/// What is owed in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Total {
    pub currency: String,
    pub balance: Decimal2,
}

/// A client's statement of one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub client_id: String,
    /// `YYYY-MM`.
    pub month: String,
    /// The run day that made it (the 1st, or a later day when quiet hours held it).
    pub day: NaiveDate,
    /// When it was made, right before it was sent.
    pub sent_at: DateTime<Utc>,
    /// Oldest due first.
    pub lines: Vec<Line>,
    /// Per currency, in alphabetical order.
    pub totals: Vec<Total>,
}

impl Statement {
    /// The statement of `open` invoices (any order) for `month`, made on `day` at `now`; an
    /// invoice without a currency owes in the tenant's.
    pub fn of(
        tenant: &Tenant,
        client_id: &str,
        month: &str,
        day: NaiveDate,
        now: DateTime<Utc>,
        open: &[Invoice],
    ) -> Self {
        let mut lines: Vec<Line> = open
            .iter()
            .map(|i| Line {
                invoice_id: i.id.clone(),
                number: i.spec.number.clone(),
                issue_date: i.spec.issue_date,
                due_date: i.spec.due_date,
                amount: i.spec.amount,
                balance: i.spec.balance.unwrap_or(i.spec.amount),
                currency: i
                    .spec
                    .currency
                    .clone()
                    .unwrap_or_else(|| tenant.spec.currency.clone()),
                status: i.spec.status,
            })
            .collect();
        lines.sort_by(|a, b| (a.due_date, &a.number).cmp(&(b.due_date, &b.number)));
        let mut totals: std::collections::BTreeMap<String, i64> = Default::default();
        for line in &lines {
            *totals.entry(line.currency.clone()).or_default() += line.balance.hundredths();
        }
        Self {
            client_id: client_id.to_owned(),
            month: month.to_owned(),
            day,
            sent_at: now,
            lines,
            totals: totals
                .into_iter()
                .map(|(currency, hundredths)| Total {
                    currency,
                    balance: Decimal2(hundredths),
                })
                .collect(),
        }
    }
}

/// Stores `made` as the client's statement of its month unless one is stored already, and
/// answers the stored one (what the month's e-mail says, however often a run gets here).
pub async fn keep(svc: &Services, tenant_id: &str, made: Statement) -> Result<Statement> {
    let key = keys::statement(tenant_id, &made.client_id, &made.month);
    let item = Item::from_record(key.clone(), &made)?;
    match svc.table.put(item, Condition::Absent).await {
        Ok(()) => Ok(made),
        Err(TableError::ConditionFailed(_)) => match svc.table.get(&key).await? {
            Some(stored) => Ok(stored.record()?),
            None => Err(Error::Conflict(
                "the month's statement was being removed; run again".into(),
            )),
        },
        Err(e) => Err(e.into()),
    }
}

/// A client's stored statements, newest first, a page at a time (404 for an unknown client).
pub async fn list(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Statement>, Option<Cursor>)> {
    clients::get(svc.table.as_ref(), tenant_id, client_id).await?;
    let query = Query::partition(keys::client_pk(tenant_id, client_id))
        .sk(SortKey::BeginsWith(keys::STATEMENTS.into()))
        .descending()
        .limit(limit)
        .after(cursor);
    let page = svc.table.query(query).await?;
    let statements = page
        .items
        .iter()
        .map(|i| i.record().map_err(Error::from))
        .collect::<Result<_>>()?;
    Ok((statements, page.next))
}

/// A client's statement of `month` (`YYYY-MM`).
pub async fn get(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    month: &str,
) -> Result<Statement> {
    match svc
        .table
        .get(&keys::statement(tenant_id, client_id, month))
        .await?
    {
        Some(item) => Ok(item.record()?),
        None => Err(Error::NotFound(WHAT)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::resource::Resource;

    fn invoice(number: &str, due: &str, extra: serde_json::Value) -> Invoice {
        let mut spec = json!({"number": number, "issue_date": "2026-10-01", "due_date": due,
                              "amount": "100.00"});
        crate::domain::resource::merge_patch(&mut spec, &extra);
        Resource {
            id: format!("i-{number}"),
            spec: serde_json::from_value(spec).unwrap(),
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
            version: 1,
        }
    }

    #[test]
    fn a_statement_lists_oldest_due_first_and_totals_each_currency() {
        let tenant: Tenant = Resource {
            id: "t1".into(),
            spec: serde_json::from_value(json!({"name": "Acme", "currency": "NZD"})).unwrap(),
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
            version: 1,
        };
        let open = [
            invoice(
                "B",
                "2026-11-05",
                json!({"currency": "USD", "balance": "20.00"}),
            ),
            invoice("A", "2026-11-01", json!({"balance": "50.00"})),
            invoice("C", "2026-10-20", json!({})),
        ];
        let day = "2026-12-01".parse().unwrap();
        let s = Statement::of(&tenant, "c1", "2026-12", day, DateTime::UNIX_EPOCH, &open);
        let numbers: Vec<&str> = s.lines.iter().map(|l| l.number.as_str()).collect();
        assert_eq!(numbers, ["C", "A", "B"]);
        assert_eq!(
            s.totals,
            [
                Total {
                    currency: "NZD".into(),
                    balance: Decimal2(15000)
                },
                Total {
                    currency: "USD".into(),
                    balance: Decimal2(2000)
                },
            ]
        );
        assert_eq!(
            s.lines[1].currency, "NZD",
            "the tenant's currency when none"
        );
    }
}
