//! A client's invoices, as partner systems keep them: the shape and the keys, the rules an
//! invoice keeps, creating, changing and deleting one, bulk import, and presentment (the new
//! invoice e-mailed to the contacts whose role has invoice presentment). The daily
//! communications run reads open invoices through [`open_page`].
//!
//! An open invoice sits in an index ordered by due date (`INVOICES#OPEN`), which the run pages
//! through; paying, disputing or voiding it takes it out, so workflows stop.
//!
//! The number is unique within the client: a guard item (`INVOICENO#{number}`, in the client's
//! partition) is claimed in the same transaction as the invoice, so two partners racing to
//! create one number make one invoice. Imports upsert by (client, number) through that guard.
//!
//! Balance and status agree: a paid invoice owes nothing, and an open invoice whose balance is
//! 0 is stored as paid (so no reminder ever chases a settled invoice). Marking an invoice paid
//! without a balance settles it; reopening one needs the balance still owed.
//!
//! Presentment happens once, when an invoice is created open: [`deliver`] claims each (invoice,
//! contact) before sending and logs what happened, including "nobody to send it to". A create
//! retried (the same number with the same fields) answers the stored invoice and finishes a
//! presentment that was cut short before anything was logged, never sending twice.

use std::collections::HashMap;

use chrono::NaiveDate;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::csv;
use super::deliver::{self, Audience, Message};
use super::log::{self, Kind};
use crate::Services;
use crate::domain::clients::{Channel, Client};
use crate::domain::resource::Resource;
use crate::domain::roles::Purpose;
use crate::domain::tenants::Tenant;
use crate::domain::{Decimal2, Error, Result, text};
use crate::keys;
use crate::ports::{
    Condition, Cursor, Index, IndexKey, Item, Key, Query, TableError, Transaction, TxOp,
};
use crate::records::clients;
use crate::records::resource;
use crate::records::tenants;
use crate::render::mail;

pub const WHAT: &str = "invoice";
/// The most rows one import takes: sized so that the largest import, every row a new open
/// invoice, ends well inside the API function's 10 s (see the README's budget).
pub const MAX_IMPORT: usize = 200;
/// The columns of a CSV import, in the order the documentation lists them.
pub const CSV_COLUMNS: [&str; 9] = [
    "client_id",
    "number",
    "issue_date",
    "due_date",
    "amount",
    "currency",
    "balance",
    "status",
    "document_url",
];
/// The fields every invoice needs (with `client_id` for an import row).
const REQUIRED: [&str; 4] = ["number", "issue_date", "due_date", "amount"];
/// The partition of the open-invoice index (every tenant's, by due date).

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
    #[serde(with = "crate::domain::input::date")]
    pub issue_date: NaiveDate,
    #[serde(with = "crate::domain::input::date")]
    pub due_date: NaiveDate,
    pub amount: Decimal2,
    /// ISO 4217 code; the tenant's currency when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// What is still owed: the amount when absent, 0 for a paid invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<Decimal2>,
    #[serde(default = "open")]
    pub status: Status,
    /// Where the customer sees the invoice: a PDF or a portal page (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_url: Option<String>,
}

pub type Invoice = Resource<InvoiceSpec>;

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
    let mut item = invoice.item(keys::invoice(tenant_id, client_id, &invoice.id))?;
    if invoice.spec.status == Status::Open {
        let open = OpenRef {
            due_date: invoice.spec.due_date,
            tenant_id: tenant_id.to_owned(),
            client_id: client_id.to_owned(),
            invoice_id: invoice.id.clone(),
        };
        item = item.with_index(
            Index::Gsi2,
            IndexKey::new(keys::OPEN_INVOICES, open.sort_key()),
        );
    }
    Ok(item)
}

pub async fn get(svc: &Services, tenant_id: &str, client_id: &str, id: &str) -> Result<Invoice> {
    resource::get(
        svc.table.as_ref(),
        &keys::invoice(tenant_id, client_id, id),
        WHAT,
    )
    .await
}

/// One page of open invoices across tenants, by due date. The index may lag the table: read
/// each invoice itself before acting on it.
pub async fn open_page(
    svc: &Services,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<OpenRef>, Option<Cursor>)> {
    let query = Query::index(Index::Gsi2, keys::OPEN_INVOICES)
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

impl InvoiceSpec {
    /// The spec as it is stored: checked, its currency (the tenant's when absent) and balance
    /// filled in, and an open invoice that owes nothing marked paid.
    fn checked(mut self, default_currency: &str) -> Result<Self> {
        self.number = text("number", &self.number, 64)?;
        if self.number.chars().any(char::is_control) {
            return Err(Error::invalid(
                "number",
                "must not contain line breaks or other control characters",
            ));
        }
        if self.due_date < self.issue_date {
            return Err(Error::invalid("due_date", "must not be before issue_date"));
        }
        if self.amount.hundredths() <= 0 {
            return Err(Error::invalid("amount", "must be more than 0"));
        }
        let currency = self
            .currency
            .take()
            .unwrap_or_else(|| default_currency.to_owned());
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Error::invalid(
                "currency",
                "must be an ISO 4217 code of three upper-case letters, such as \"NZD\"",
            ));
        }
        self.currency = Some(currency);
        let balance = match (self.balance, self.status) {
            (Some(balance), _) => balance,
            (None, Status::Paid) => Decimal2(0),
            (None, _) => self.amount,
        };
        if balance > self.amount {
            return Err(Error::invalid(
                "balance",
                format!("must be between 0 and the amount ({})", self.amount),
            ));
        }
        if self.status == Status::Paid && balance.hundredths() != 0 {
            return Err(Error::invalid(
                "balance",
                "a paid invoice has a balance of 0",
            ));
        }
        if self.status == Status::Open && balance.hundredths() == 0 {
            self.status = Status::Paid;
        }
        self.balance = Some(balance);
        if let Some(url) = self.document_url.take() {
            self.document_url = Some(checked_url(&url)?);
        }
        Ok(self)
    }
}

/// A link the customer can open safely from an e-mail: https, at most 2000 characters.
fn checked_url(url: &str) -> Result<String> {
    let url = url.trim();
    if url.chars().count() > 2000 {
        return Err(Error::invalid(
            "document_url",
            "must be at most 2000 characters",
        ));
    }
    let host = url
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .map(|_| url[8..].split(['/', '?', '#']).next().unwrap_or_default());
    if host.is_none_or(str::is_empty) {
        return Err(Error::invalid(
            "document_url",
            "must be an https:// link to the invoice's PDF or portal page",
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(
            "document_url",
            "must not contain spaces or control characters (encode them as %20 and the like)",
        ));
    }
    Ok(url.to_owned())
}

fn number_guard(tenant_id: &str, client_id: &str, invoice: &Invoice) -> Result<Item> {
    Ok(Item::from_record(
        keys::invoice_number(tenant_id, client_id, &invoice.spec.number),
        &json!({"invoice_id": invoice.id}),
    )?)
}

fn number_taken(number: &str, invoice_id: &str) -> Error {
    Error::Conflict(format!(
        "this client already has an invoice numbered {number:?} ({invoice_id}); change that one instead"
    ))
}

/// The client's invoice with this number, if any.
pub async fn by_number(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    number: &str,
) -> Result<Option<Invoice>> {
    let Some(guard) = svc
        .table
        .get(&keys::invoice_number(tenant_id, client_id, number.trim()))
        .await?
    else {
        return Ok(None);
    };
    let id = guard
        .data
        .get("invoice_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match get(svc, tenant_id, client_id, id).await {
        Ok(invoice) => Ok(Some(invoice)),
        // Deleted between the two reads.
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Why an invoice's write was refused.
enum Refused {
    NoClient,
    NumberTaken,
    Stale,
}

/// Writes a new invoice with its number guard; `false` when the number is taken.
async fn insert(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    invoice: &Invoice,
) -> Result<bool> {
    let mut tx = Transaction::new();
    tx.guarded(
        TxOp::Check(keys::client(tenant_id, client_id), Condition::Exists),
        Refused::NoClient,
    )
    .op(TxOp::Put(
        item(tenant_id, client_id, invoice)?,
        Condition::Absent,
    ))
    .op(TxOp::Put(
        number_guard(tenant_id, client_id, invoice)?,
        Condition::Absent,
    ))
    .otherwise(Refused::NumberTaken);
    match tx.try_commit(svc.table.as_ref()).await? {
        Ok(()) => Ok(true),
        Err(Refused::NoClient) => Err(Error::NotFound("client")),
        Err(Refused::NumberTaken | Refused::Stale) => Ok(false),
    }
}

/// Creates an invoice and, if it is open, e-mails it to the client's contacts whose role has
/// invoice presentment. The same invoice sent again (same number, same fields) is a retry: it
/// answers the stored invoice and sends nothing twice; the number with other fields is a
/// conflict.
pub async fn create(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    spec: InvoiceSpec,
) -> Result<Invoice> {
    let client = clients::get(svc.table.as_ref(), tenant_id, client_id).await?;
    let tenant = tenants::get(svc.table.as_ref(), tenant_id).await?;
    let invoice = Resource::new(svc, spec.checked(&tenant.spec.currency)?);
    if insert(svc, tenant_id, client_id, &invoice).await? {
        present(svc, &tenant, &client, &invoice).await?;
        return Ok(invoice);
    }
    match by_number(svc, tenant_id, client_id, &invoice.spec.number).await? {
        Some(stored) if stored.spec == invoice.spec => {
            finish_presentment(svc, &tenant, &client, &stored).await?;
            Ok(stored)
        }
        Some(stored) => Err(number_taken(&stored.spec.number, &stored.id)),
        None => Err(Error::Conflict(
            "an invoice with this number was being deleted; send the request again".into(),
        )),
    }
}

/// One page of a client's invoices, in id order.
pub async fn list(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Invoice>, Option<Cursor>)> {
    clients::list_children(
        svc.table.as_ref(),
        tenant_id,
        client_id,
        keys::INVOICES,
        limit,
        cursor,
    )
    .await
}

/// Changes an invoice by a merge patch, if it is still at version `seen`. Status and balance
/// stay in agreement: `{"status": "paid"}` alone settles the balance, and reopening a paid
/// invoice needs the balance still owed. Presentment is not sent again.
pub async fn update(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    id: &str,
    seen: u64,
    patch: &Value,
) -> Result<Invoice> {
    let current = get(svc, tenant_id, client_id, id).await?;
    let tenant = tenants::get(svc.table.as_ref(), tenant_id).await?;
    let mut spec: InvoiceSpec = crate::domain::resource::patched(&current.spec, patch)?;
    let names = |field: &str| patch.get(field).is_some();
    if spec.status == Status::Paid && current.spec.status != Status::Paid && !names("balance") {
        spec.balance = None;
    }
    let spec = spec.checked(&tenant.spec.currency)?;
    if patch.get("status") == Some(&json!("open")) && spec.status != Status::Open {
        return Err(Error::invalid(
            "balance",
            "an open invoice owes something: give the balance still owed with the status",
        ));
    }
    let next = resource::changed(svc, &current, spec);
    let mut tx = Transaction::new();
    tx.guarded(
        TxOp::Put(
            item(tenant_id, client_id, &next)?,
            Condition::VersionIs(seen),
        ),
        Refused::Stale,
    )
    .otherwise(Refused::Stale);
    if next.spec.number != current.spec.number {
        tx.op(TxOp::Delete(
            keys::invoice_number(tenant_id, client_id, &current.spec.number),
            Condition::None,
        ))
        .guarded(
            TxOp::Put(
                number_guard(tenant_id, client_id, &next)?,
                Condition::Absent,
            ),
            Refused::NumberTaken,
        );
    }
    match tx.try_commit(svc.table.as_ref()).await? {
        Ok(()) => Ok(next),
        Err(Refused::NumberTaken) => {
            let holder = by_number(svc, tenant_id, client_id, &next.spec.number)
                .await?
                .map(|i| i.id)
                .unwrap_or_default();
            Err(number_taken(&next.spec.number, &holder))
        }
        Err(Refused::Stale | Refused::NoClient) => Err(Error::Stale(WHAT)),
    }
}

/// Deletes an invoice, if it is still at version `seen`, and frees its number. Its
/// communications log stays.
pub async fn delete(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    id: &str,
    seen: u64,
) -> Result<()> {
    let current = get(svc, tenant_id, client_id, id).await?;
    let ops = vec![
        TxOp::Delete(
            keys::invoice(tenant_id, client_id, id),
            Condition::VersionIs(seen),
        ),
        TxOp::Delete(
            keys::invoice_number(tenant_id, client_id, &current.spec.number),
            Condition::None,
        ),
    ];
    svc.table
        .transact(ops)
        .await
        .map_err(resource::stale(WHAT))?;
    Ok(())
}

/// E-mails an open invoice to the client's contacts with invoice presentment, each once.
/// What happens is logged by [`deliver`]: sent, failed (the provider refused it) or skipped
/// (nobody to send it to); only the store failing fails the caller, who may then retry.
async fn present(
    svc: &Services,
    tenant: &Tenant,
    client: &Client,
    invoice: &Invoice,
) -> Result<()> {
    if invoice.spec.status != Status::Open {
        return Ok(());
    }
    let message = presentment(tenant, client, invoice);
    match deliver::deliver(
        svc,
        &tenant.id,
        client,
        &Audience::Purpose(Purpose::Invoice),
        Channel::Email,
        &message,
        &format!("invoice#{}", invoice.id),
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(e @ (Error::Store(_) | Error::Unavailable(..))) => Err(e),
        Err(e) => {
            tracing::warn!(client = %client.id, invoice = %invoice.id, error = %e, "invoice not presented");
            Ok(())
        }
    }
}

/// Presents an invoice met again by a retried create or import, if it is still as it was
/// created and its presentment never began (nothing logged for it).
async fn finish_presentment(
    svc: &Services,
    tenant: &Tenant,
    client: &Client,
    invoice: &Invoice,
) -> Result<()> {
    if invoice.version != 1 || invoice.spec.status != Status::Open {
        return Ok(());
    }
    let (logged, _) = log::for_invoice(svc, &tenant.id, &client.id, &invoice.id, 1, None).await?;
    if logged.is_empty() {
        present(svc, tenant, client, invoice).await?;
    }
    Ok(())
}

/// The presentment e-mail of a new invoice.
pub fn presentment(tenant: &Tenant, client: &Client, invoice: &Invoice) -> Message {
    let spec = &invoice.spec;
    let mail = mail::invoice(&mail::Invoice {
        from: &tenant.spec.name,
        to: &client.spec.identity.display_name(),
        number: &spec.number,
        currency: spec.currency.as_deref().unwrap_or(&tenant.spec.currency),
        amount: spec.amount,
        balance: spec.balance.unwrap_or(spec.amount),
        issued: spec.issue_date,
        due: spec.due_date,
        document_url: spec.document_url.as_deref(),
    });
    Message {
        kind: Kind::Invoice,
        invoice_id: Some(invoice.id.clone()),
        step: None,
        subject: mail.subject,
        html: mail.html,
        text: mail.text,
    }
}

/// One row of an import: its client and invoice fields, read but not yet judged, so that each
/// row is judged alone and a bad one is reported with its line.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportRow {
    /// Where the row is in what the partner sent: its position in a JSON list (from 1), or
    /// the line it starts on in a CSV file (the header is line 1).
    pub line: usize,
    /// `client_id` and the invoice's fields by name, or why the row cannot be read.
    pub fields: std::result::Result<Map<String, Value>, RowProblem>,
}

impl ImportRow {
    /// A row of a JSON import: an object with `client_id` and the invoice's fields.
    pub fn from_json(line: usize, value: Value) -> Self {
        let fields = match value {
            Value::Object(fields) => Ok(fields),
            _ => Err(RowProblem::new("row", "must be a JSON object")),
        };
        Self { line, fields }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    Created,
    Updated,
    Unchanged,
    Rejected,
}

/// What was wrong with a row: the field as the partner named it (`row` for the row as a
/// whole), and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    pub field: String,
    pub reason: String,
}

impl RowProblem {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowResult {
    pub line: usize,
    pub outcome: ImportOutcome,
    /// The row's invoice number, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<RowProblem>,
}

/// The rows of a CSV import. The header names the columns (any order; [`CSV_COLUMNS`], of
/// which `client_id`, `number`, `issue_date`, `due_date` and `amount` are required); an empty
/// cell is an absent field. A header that cannot be used refuses the whole file; a record
/// that cannot be read, or has another number of cells than the header, is a rejected row.
pub fn csv_rows(text: &str) -> Result<Vec<ImportRow>> {
    let mut records = csv::records(text).into_iter();
    let header = match records.next() {
        None => {
            return Err(Error::invalid(
                "body",
                "the CSV file is empty: it needs a header row",
            ));
        }
        Some(csv::Record {
            fields: Err(why),
            line,
        }) => {
            return Err(Error::invalid("header", format!("line {line}: {why}")));
        }
        Some(csv::Record {
            fields: Ok(names), ..
        }) => names,
    };
    let header: Vec<String> = header.iter().map(|n| n.trim().to_owned()).collect();
    for (i, name) in header.iter().enumerate() {
        if !CSV_COLUMNS.contains(&name.as_str()) {
            return Err(Error::invalid(
                "header",
                format!(
                    "unknown column {name:?}; the columns are {}",
                    CSV_COLUMNS.join(",")
                ),
            ));
        }
        if header[..i].contains(name) {
            return Err(Error::invalid(
                "header",
                format!("column {name:?} is named twice"),
            ));
        }
    }
    if let Some(missing) = ["client_id"]
        .iter()
        .chain(REQUIRED.iter())
        .find(|c| !header.iter().any(|h| h == *c))
    {
        return Err(Error::invalid(
            "header",
            format!("the column {missing:?} is required"),
        ));
    }
    let rows: Vec<ImportRow> = records
        .map(|record| {
            let fields = match record.fields {
                Err(why) => Err(RowProblem::new("row", why)),
                Ok(cells) if cells.len() != header.len() => Err(RowProblem::new(
                    "row",
                    format!(
                        "has {} columns; the header has {}",
                        cells.len(),
                        header.len()
                    ),
                )),
                Ok(cells) => Ok(header
                    .iter()
                    .zip(cells)
                    .map(|(name, cell)| (name.clone(), cell.trim().to_owned()))
                    .filter(|(_, cell)| !cell.is_empty())
                    .map(|(name, cell)| (name, Value::from(cell)))
                    .collect()),
            };
            ImportRow {
                line: record.line,
                fields,
            }
        })
        .collect();
    if rows.len() > MAX_IMPORT {
        return Err(Error::invalid(
            "body",
            format!("at most {MAX_IMPORT} invoices (rows after the header) a request"),
        ));
    }
    Ok(rows)
}

/// How many rows of an import are applied at once.
pub const IMPORT_CONCURRENCY: usize = 10;

/// Upserts invoices by (client, number): each row is created, updated, unchanged, or rejected
/// with the field and the reason. Each row is its own transaction, so a bad row leaves nothing
/// behind and the others go on, whatever it holds or whatever the store does with it (a row
/// the store fails is rejected, saying so, and can be sent again); a number may appear once
/// per import (a later row with it is rejected). New open invoices are presented as by
/// [`create`].
///
/// The reads are batched: the rows' clients, their number guards and the invoices those name
/// are read in three batch reads for the whole import, and the rows are then applied up to
/// [`IMPORT_CONCURRENCY`] at a time, each with one transaction (plus the presentment of a new
/// open invoice). Only a failure of those batch reads, before anything is written, fails the
/// whole import.
pub async fn import(
    svc: &Services,
    tenant_id: &str,
    rows: Vec<ImportRow>,
) -> Result<Vec<RowResult>> {
    if rows.len() > MAX_IMPORT {
        return Err(Error::invalid(
            "invoices",
            format!("at most {MAX_IMPORT} invoices a request"),
        ));
    }
    let tenant = tenants::get(svc.table.as_ref(), tenant_id).await?;
    let mut seen = HashMap::new();
    let prepared: Vec<(
        usize,
        Option<String>,
        std::result::Result<Prepared, RowProblem>,
    )> = rows
        .into_iter()
        .map(|row| {
            let number = row
                .fields
                .as_ref()
                .ok()
                .and_then(|f| f.get("number"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let prepared = row
                .fields
                .and_then(|fields| prepare(&mut seen, row.line, fields).map_err(row_problem));
            (row.line, number, prepared)
        })
        .collect();

    // The clients, number guards and invoices of every readable row, in three batch reads.
    let mut client_ids: Vec<&str> = prepared
        .iter()
        .filter_map(|(_, _, p)| p.as_ref().ok().map(|p| p.client_id.as_str()))
        .collect();
    client_ids.sort_unstable();
    client_ids.dedup();
    let client_keys: Vec<Key> = client_ids
        .iter()
        .map(|id| keys::client(tenant_id, id))
        .collect();
    let mut clients: HashMap<String, Client> = HashMap::new();
    for item in svc
        .table
        .batch_get(&client_keys)
        .await?
        .into_iter()
        .flatten()
    {
        let client: Client = resource::from_item(&item)?;
        clients.insert(client.id.clone(), client);
    }
    let numbered: Vec<(&str, &str)> = prepared
        .iter()
        .filter_map(|(_, _, p)| p.as_ref().ok())
        .filter(|p| clients.contains_key(&p.client_id))
        .map(|p| (p.client_id.as_str(), p.spec.number.trim()))
        .collect();
    let guard_keys: Vec<Key> = numbered
        .iter()
        .map(|(client, number)| keys::invoice_number(tenant_id, client, number))
        .collect();
    let guards = svc.table.batch_get(&guard_keys).await?;
    let named: Vec<(String, String, String)> = numbered
        .iter()
        .zip(&guards)
        .filter_map(|((client, number), guard)| {
            let id = guard.as_ref()?.data.get("invoice_id")?.as_str()?;
            Some((client.to_string(), number.to_string(), id.to_owned()))
        })
        .collect();
    let invoice_keys: Vec<Key> = named
        .iter()
        .map(|(client, _, id)| keys::invoice(tenant_id, client, id))
        .collect();
    let mut existing: HashMap<(String, String), Invoice> = HashMap::new();
    for ((client, number, _), item) in named
        .into_iter()
        .zip(svc.table.batch_get(&invoice_keys).await?)
    {
        if let Some(item) = item {
            existing.insert((client, number), resource::from_item(&item)?);
        }
    }

    let tenant = &tenant;
    let clients = &clients;
    let existing = &existing;
    let results = futures::stream::iter(prepared)
        .map(|(line, number, prepared)| async move {
            let applied = match prepared {
                Err(problem) => Err(problem),
                Ok(row) => {
                    let known = existing
                        .get(&(row.client_id.clone(), row.spec.number.trim().to_owned()))
                        .cloned();
                    apply_row(svc, tenant, clients.get(&row.client_id), row.spec, known)
                        .await
                        .map_err(row_problem)
                }
            };
            match applied {
                Ok((outcome, invoice_id)) => RowResult {
                    line,
                    outcome,
                    number,
                    invoice_id: Some(invoice_id),
                    problem: None,
                },
                Err(problem) => RowResult {
                    line,
                    outcome: ImportOutcome::Rejected,
                    number,
                    invoice_id: None,
                    problem: Some(problem),
                },
            }
        })
        .buffered(IMPORT_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    Ok(results)
}

/// A row read and checked as far as it can be without the store.
struct Prepared {
    client_id: String,
    spec: InvoiceSpec,
}

fn row_problem(e: Error) -> RowProblem {
    match e {
        Error::Invalid { field, message } => RowProblem::new(field, message),
        Error::NotFound("client") => {
            RowProblem::new("client_id", "there is no client with this id")
        }
        Error::Conflict(why) => RowProblem::new("number", why),
        Error::Stale(_) => RowProblem::new(
            "row",
            "the invoice changed while this row was applied; send the row again",
        ),
        e @ (Error::Store(_) | Error::Unavailable(..)) => {
            tracing::error!(error = %e, ?e, "an import row failed on our side");
            RowProblem::new(
                "row",
                "the row could not be stored just now (nothing of it was written); send it again",
            )
        }
        e => RowProblem::new("row", e.to_string()),
    }
}

/// Reads a row: its text and ids against the input policy, its client, its place in the
/// import (a number once per client), and its invoice fields.
fn prepare(
    seen: &mut HashMap<(String, String), usize>,
    line: usize,
    fields: Map<String, Value>,
) -> Result<Prepared> {
    let row = Value::Object(fields);
    crate::domain::input::check(&row, "")?;
    let Value::Object(mut fields) = row else {
        unreachable!("built as an object above")
    };
    let client_id = match fields.remove("client_id") {
        Some(Value::String(id)) if !id.trim().is_empty() => id.trim().to_owned(),
        Some(Value::String(_)) | None => return Err(Error::invalid("client_id", "is required")),
        Some(_) => return Err(Error::invalid("client_id", "must be a string")),
    };
    if let Some(number) = fields.get("number").and_then(Value::as_str) {
        let first = *seen
            .entry((client_id.clone(), number.trim().to_owned()))
            .or_insert(line);
        if first != line {
            return Err(Error::invalid(
                "number",
                format!(
                    "this client's invoice {number:?} is already on line {first} of this import"
                ),
            ));
        }
    }
    if let Some(missing) = REQUIRED.iter().find(|f| !fields.contains_key(**f)) {
        return Err(Error::invalid(*missing, "is required"));
    }
    let spec: InvoiceSpec = parse_row(fields)?;
    Ok(Prepared { client_id, spec })
}

/// Applies one row: `known` is the invoice the batch read found under its number (`None`:
/// none then). A row that loses a race to another writer reads again once.
async fn apply_row(
    svc: &Services,
    tenant: &Tenant,
    client: Option<&Client>,
    spec: InvoiceSpec,
    known: Option<Invoice>,
) -> Result<(ImportOutcome, String)> {
    let Some(client) = client else {
        return Err(Error::invalid(
            "client_id",
            "there is no client with this id",
        ));
    };
    let spec = spec.checked(&tenant.spec.currency)?;
    let mut current = known;
    for round in 0..3 {
        if round > 0 {
            current = by_number(svc, &tenant.id, &client.id, &spec.number).await?;
        }
        match current.take() {
            None => {
                let invoice = Resource::new(svc, spec.clone());
                if insert(svc, &tenant.id, &client.id, &invoice).await? {
                    present(svc, tenant, client, &invoice).await?;
                    return Ok((ImportOutcome::Created, invoice.id));
                }
            }
            Some(current) if current.spec == spec => {
                finish_presentment(svc, tenant, client, &current).await?;
                return Ok((ImportOutcome::Unchanged, current.id));
            }
            Some(current) => {
                let next = resource::changed(svc, &current, spec.clone());
                let op = TxOp::Put(
                    item(&tenant.id, &client.id, &next)?,
                    Condition::VersionIs(current.version),
                );
                match svc.table.transact(vec![op]).await {
                    Ok(()) => return Ok((ImportOutcome::Updated, next.id)),
                    Err(TableError::TransactionFailed { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Err(Error::Stale(WHAT))
}

/// Reads a row's invoice fields, naming a wrong one as the row wrote it.
fn parse_row(fields: Map<String, Value>) -> Result<InvoiceSpec> {
    crate::domain::resource::parse(Value::Object(fields)).map_err(|e| match e {
        Error::Invalid { field, message } if field == "body" => Error::invalid("row", message),
        e => e,
    })
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

    fn spec(fields: Value) -> Result<InvoiceSpec> {
        let mut base = json!({"number": "INV-1", "issue_date": "2026-11-01",
                              "due_date": "2026-11-20", "amount": "100.00"});
        crate::domain::resource::merge_patch(&mut base, &fields);
        parse_row(base.as_object().unwrap().clone())?.checked("NZD")
    }

    fn refused(fields: Value) -> String {
        match spec(fields) {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn an_invoice_fills_in_currency_and_balance_and_keeps_them_in_agreement() {
        let plain = spec(json!({})).unwrap();
        assert_eq!(plain.currency.as_deref(), Some("NZD"));
        assert_eq!(plain.balance, Some(Decimal2(10000)));
        assert_eq!(plain.status, Status::Open);
        let paid = spec(json!({"status": "paid"})).unwrap();
        assert_eq!(paid.balance, Some(Decimal2(0)));
        let settled = spec(json!({"balance": "0"})).unwrap();
        assert_eq!(
            settled.status,
            Status::Paid,
            "an open invoice owing nothing is paid"
        );
        let disputed = spec(json!({"status": "disputed", "balance": "0"})).unwrap();
        assert_eq!(disputed.status, Status::Disputed);
    }

    #[test]
    fn each_rule_names_its_field() {
        assert_eq!(refused(json!({"number": " "})), "number");
        assert_eq!(refused(json!({"number": "x".repeat(65)})), "number");
        assert_eq!(refused(json!({"number": "A\nB"})), "number");
        assert_eq!(refused(json!({"due_date": "2026-10-31"})), "due_date");
        assert_eq!(refused(json!({"due_date": "31/10/2026"})), "due_date");
        assert_eq!(refused(json!({"amount": "0"})), "amount");
        assert_eq!(refused(json!({"amount": "-5"})), "amount");
        assert_eq!(refused(json!({"balance": "100.01"})), "balance");
        assert_eq!(
            refused(json!({"status": "paid", "balance": "1"})),
            "balance"
        );
        assert_eq!(refused(json!({"currency": "nzd"})), "currency");
        assert_eq!(refused(json!({"status": "late"})), "status");
        assert_eq!(
            refused(json!({"document_url": "http://x.test/a.pdf"})),
            "document_url"
        );
        assert_eq!(
            refused(json!({"document_url": "https:///a.pdf"})),
            "document_url"
        );
        let long = format!("https://x.test/{}", "a".repeat(2000));
        assert_eq!(refused(json!({"document_url": long})), "document_url");
        assert_eq!(refused(json!({"colour": "red"})), "colour");
        assert!(spec(json!({"document_url": "https://x.test/i/1.pdf?v=2"})).is_ok());
    }

    #[test]
    fn csv_rows_keep_their_lines_and_report_bad_ones() {
        let text = "number,client_id,issue_date,due_date,amount\n\
                    \"A,1\",c1,2026-11-01,2026-11-20,10\n\
                    A-2,c1,2026-11-01\n\
                    \"A-3,c1,2026-11-01,2026-11-20,10\n\
                    A-4,c1,2026-11-01,2026-11-20,\n";
        let rows = csv_rows(text).unwrap();
        let lines: Vec<usize> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 4, 5]);
        let first = rows[0].fields.as_ref().unwrap();
        assert_eq!(first["number"], "A,1");
        assert_eq!(first["client_id"], "c1");
        assert!(
            rows[1]
                .fields
                .as_ref()
                .unwrap_err()
                .reason
                .contains("3 columns")
        );
        assert!(
            rows[2]
                .fields
                .as_ref()
                .unwrap_err()
                .reason
                .contains("not closed")
        );
        assert!(!rows[3].fields.as_ref().unwrap().contains_key("amount"));
        for header in [
            "",
            "client_id,number,colour",
            "client_id,number",
            "client_id,client_id",
        ] {
            assert!(csv_rows(header).is_err(), "{header:?}");
        }
    }
}
