//! A client's invoices, as partner systems keep them. The shape and the keys are here; the
//! daily communications run reads open invoices through [`open_page`].
//!
//! An open invoice sits in an index ordered by due date (`INVOICES#OPEN`), which the run pages
//! through; paying, disputing or voiding it takes it out, so workflows stop.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Services;
use crate::domain::clients::client_pk;
use crate::domain::resource::{self, Resource};
use crate::domain::{Decimal2, Result};
use crate::ports::{Cursor, Index, IndexKey, Item, Key, Query};

pub const WHAT: &str = "invoice";
/// The partition of the open-invoice index (every tenant's, by due date).
pub const OPEN_INVOICES: &str = "INVOICES#OPEN";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Paid,
    Disputed,
    Void,
}

fn open() -> Status {
    Status::Open
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceSpec {
    /// The partner's invoice number: unique within the client.
    pub number: String,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub amount: Decimal2,
    /// ISO 4217 code; the tenant's currency when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// What is still owed (the amount when absent on creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<Decimal2>,
    #[serde(default = "open")]
    pub status: Status,
    /// Where the customer sees the invoice: a PDF or a portal page (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_url: Option<String>,
}

pub type Invoice = Resource<InvoiceSpec>;

pub fn key(tenant_id: &str, client_id: &str, id: &str) -> Key {
    Key::new(client_pk(tenant_id, client_id), format!("INVOICE#{id}"))
}

/// Where an invoice sits in the open-invoice index: due date first, then whose it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenRef {
    pub due_date: NaiveDate,
    pub tenant_id: String,
    pub client_id: String,
    pub invoice_id: String,
}

impl OpenRef {
    fn sort_key(&self) -> String {
        format!(
            "{}#{}#{}#{}",
            self.due_date, self.tenant_id, self.client_id, self.invoice_id
        )
    }

    fn parse(sort_key: &str) -> Option<Self> {
        let mut parts = sort_key.splitn(4, '#');
        Some(Self {
            due_date: parts.next()?.parse().ok()?,
            tenant_id: parts.next()?.to_owned(),
            client_id: parts.next()?.to_owned(),
            invoice_id: parts.next()?.to_owned(),
        })
    }
}

/// The stored item of an invoice: in the open-invoice index while it is open.
pub fn item(tenant_id: &str, client_id: &str, invoice: &Invoice) -> Result<Item> {
    let mut item = invoice.item(key(tenant_id, client_id, &invoice.id))?;
    if invoice.spec.status == Status::Open {
        let open = OpenRef {
            due_date: invoice.spec.due_date,
            tenant_id: tenant_id.to_owned(),
            client_id: client_id.to_owned(),
            invoice_id: invoice.id.clone(),
        };
        item = item.with_index(Index::Gsi2, IndexKey::new(OPEN_INVOICES, open.sort_key()));
    }
    Ok(item)
}

pub async fn get(svc: &Services, tenant_id: &str, client_id: &str, id: &str) -> Result<Invoice> {
    resource::get(svc, &key(tenant_id, client_id, id), WHAT).await
}

/// One page of open invoices across tenants, by due date. The index may lag the table: read
/// each invoice itself before acting on it.
pub async fn open_page(
    svc: &Services,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<OpenRef>, Option<Cursor>)> {
    let query = Query::index(Index::Gsi2, OPEN_INVOICES)
        .limit(limit)
        .after(cursor);
    let page = svc.table.query(query).await?;
    let refs = page
        .items
        .iter()
        .filter_map(|item| item.index_key(Index::Gsi2))
        .filter_map(|k| OpenRef::parse(&k.sk))
        .collect();
    Ok((refs, page.next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_reference_reads_back_from_its_sort_key() {
        let open = OpenRef {
            due_date: "2026-12-01".parse().unwrap(),
            tenant_id: "t1".into(),
            client_id: "c1".into(),
            invoice_id: "i1".into(),
        };
        assert_eq!(OpenRef::parse(&open.sort_key()), Some(open));
    }
}
