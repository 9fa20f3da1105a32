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
//!
//! A client's contact may answer an open invoice in the account portal ([`answers`]): dispute
//! it, or promise to pay it by a date. The invoice then carries a read-only `dispute` or
//! `promise` beside the partner's fields. Partners never set them (a request or import row
//! that sends one is refused, naming it); every partner write keeps them, and moves them on
//! as the rules of [`answer_rules`] say (a dispute is resolved when the partner takes the
//! invoice out of `disputed`; a pending promise is kept when the invoice is paid). A disputed
//! invoice sits in the tenant's dispute index (`T#{tenant}#DISPUTES` on gsi2) as an open one
//! sits in the open-invoice index, so every write keeps both right.
//!
//! This file keeps invoices and their numbers; e-mailing an invoice is [`presentment`]; a CSV
//! or JSON import of many is [`import`]; a contact's answers are [`answers`], their pure rules
//! [`answer_rules`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Services;
use crate::domain::resource::Resource;
use crate::domain::{Decimal2, Error, Result, text};
use crate::keys;
use crate::ports::{Condition, Cursor, Index, IndexKey, Item, Query, SortKey, Transaction, TxOp};
use crate::records::clients;
use crate::records::resource;
use crate::records::tenants;

pub mod answer_rules;
pub mod answers;
mod import;
mod presentment;

pub use import::*;
pub use presentment::presentment;
use presentment::{finish_presentment, present};

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

/// The fields a client's contact sets in the account portal; partners read them only.
pub const READ_ONLY: [&str; 2] = ["dispute", "promise"];

/// Why a partner may not send a read-only field.
pub const READ_ONLY_WHY: &str = "is read-only: only the client's contact sets it, in the account portal (send the \
     invoice without it; a PATCH of `status` resolves a dispute)";

/// A dispute a client's contact raised in the account portal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    pub id: String,
    /// One of the tenant's `portal.dispute_reasons`.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub contact_id: String,
    pub contact_name: String,
    pub raised_at: DateTime<Utc>,
    /// When the partner moved the invoice out of `disputed` (by PATCH or an import).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromiseStatus {
    /// The date has not passed: the invoice's reminders wait until the day after it.
    Pending,
    /// The invoice was paid while the promise was pending.
    Kept,
    /// The invoice was still open the day after the date: its workflow went on.
    Broken,
}

/// A promise to pay, made by a client's contact in the account portal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promise {
    /// The day the contact promised to pay by.
    pub date: NaiveDate,
    pub contact_id: String,
    pub contact_name: String,
    pub made_at: DateTime<Utc>,
    pub status: PromiseStatus,
    /// When it was kept or broken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<DateTime<Utc>>,
}

impl Promise {
    pub fn is_pending(&self) -> bool {
        self.status == PromiseStatus::Pending
    }
}

/// Reads a read-only field: a stored value, or, from a partner's request, anything, which the
/// create, update or import then refuses with [`READ_ONLY_WHY`] (so a partner never meets a
/// type error about a field it may not send).
fn read_only<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Option::<Value>::deserialize(d)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|_| serde::de::Error::custom(READ_ONLY_WHY)),
    }
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
    /// Read-only: the contact's latest dispute ([`answers::dispute`]).
    #[serde(
        default,
        deserialize_with = "read_only",
        skip_serializing_if = "Option::is_none"
    )]
    pub dispute: Option<Dispute>,
    /// Read-only: the contact's latest promise to pay ([`answers::promise`]).
    #[serde(
        default,
        deserialize_with = "read_only",
        skip_serializing_if = "Option::is_none"
    )]
    pub promise: Option<Promise>,
}

/// A read-only field named in a partner's input (a body, a patch, an import row), if any.
pub fn read_only_field(fields: &serde_json::Map<String, Value>) -> Result<()> {
    match READ_ONLY.iter().find(|f| fields.contains_key(**f)) {
        Some(field) => Err(Error::invalid(*field, READ_ONLY_WHY)),
        None => Ok(()),
    }
}

pub type Invoice = Resource<InvoiceSpec>;

/// Where an invoice sits in an open-invoice list: whose it is and when it is due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenRef {
    pub due_date: NaiveDate,
    pub tenant_id: String,
    pub client_id: String,
    pub invoice_id: String,
}

impl OpenRef {
    /// Its sort key in a tenant-first list (`keys::open_by_tenant`), where invoices are
    /// written now: `{tenant}#{due}#{client}#{invoice}`.
    fn sort_key(&self) -> String {
        format!(
            "{}#{}#{}#{}",
            self.tenant_id, self.due_date, self.client_id, self.invoice_id
        )
    }

    /// Reads a sort key of `list`: tenant first in a tenant-first list, due date first in the
    /// lists of earlier versions.
    fn parse(list: &str, sort_key: &str) -> Option<Self> {
        let mut parts = sort_key.splitn(4, '#');
        let (first, second) = (parts.next()?, parts.next()?);
        let (tenant, due) = if keys::is_tenant_first(list) {
            (first, second)
        } else {
            (second, first)
        };
        Some(Self {
            due_date: due.parse().ok()?,
            tenant_id: tenant.to_owned(),
            client_id: parts.next()?.to_owned(),
            invoice_id: parts.next()?.to_owned(),
        })
    }
}

/// The stored item of an invoice: in the open-invoice index while it is open, in the tenant's
/// dispute index while it is disputed.
pub fn item(tenant_id: &str, client_id: &str, invoice: &Invoice) -> Result<Item> {
    let item = invoice.item(keys::invoice(tenant_id, client_id, &invoice.id))?;
    Ok(match invoice.spec.status {
        Status::Open => {
            let open = OpenRef {
                due_date: invoice.spec.due_date,
                tenant_id: tenant_id.to_owned(),
                client_id: client_id.to_owned(),
                invoice_id: invoice.id.clone(),
            };
            item.with_index(
                Index::Gsi2,
                IndexKey::new(
                    keys::open_by_tenant(keys::open_shard(tenant_id, client_id)),
                    open.sort_key(),
                ),
            )
        }
        Status::Disputed => item.with_index(
            Index::Gsi2,
            IndexKey::new(
                keys::disputes_listing(tenant_id),
                keys::disputed_order(client_id, &invoice.id),
            ),
        ),
        Status::Paid | Status::Void => item,
    })
}

/// One page of a tenant's disputed invoices (by a contact or by the partner), in client and
/// invoice order, each with its client's id. The index may lag the table by a moment.
pub async fn disputed(
    svc: &Services,
    tenant_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<(String, Invoice)>, Option<Cursor>)> {
    let query = Query::index(Index::Gsi2, keys::disputes_listing(tenant_id))
        .limit(limit)
        .after(cursor);
    let page = svc.table.query(query).await?;
    let mut found = Vec::with_capacity(page.items.len());
    for item in &page.items {
        let client_id = item
            .index_key(Index::Gsi2)
            .and_then(|k| k.sk.split_once('#'))
            .map(|(client, _)| client.to_owned())
            .unwrap_or_default();
        found.push((client_id, resource::from_item(item)?));
    }
    Ok((found, page.next))
}

pub async fn get(svc: &Services, tenant_id: &str, client_id: &str, id: &str) -> Result<Invoice> {
    resource::get(
        svc.table.as_ref(),
        &keys::invoice(tenant_id, client_id, id),
        WHAT,
    )
    .await
}

/// One page of one open-invoice list (`keys::open_lists`, or a shard's tenant-first list:
/// `keys::tenant_first`), in its order; `sk` narrows it (one tenant's invoices). The index may
/// lag the table: read each invoice itself before acting on it.
pub async fn open_page(
    svc: &Services,
    list: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<OpenRef>, Option<Cursor>)> {
    open_page_of(svc, list, SortKey::Any, limit, cursor).await
}

/// [`open_page`] of the sort keys `sk` selects.
pub async fn open_page_of(
    svc: &Services,
    list: &str,
    sk: SortKey,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<OpenRef>, Option<Cursor>)> {
    let query = Query::index(Index::Gsi2, list)
        .sk(sk)
        .limit(limit)
        .after(cursor);
    let page = svc.table.query(query).await?;
    let refs = page
        .items
        .iter()
        .filter_map(|item| item.index_key(Index::Gsi2))
        .filter_map(|k| OpenRef::parse(list, &k.sk))
        .collect();
    Ok((refs, page.next))
}

/// The tenants with open invoices in a tenant-first `list`, in id order: one request per
/// tenant (each asks for the first key past the tenant before), and one more to find none.
pub async fn tenants_in(svc: &Services, list: &str) -> Result<Vec<String>> {
    let mut tenants: Vec<String> = Vec::new();
    loop {
        // `$` sorts right after `#`, which ends a tenant's id in the key: past every key of
        // the tenant before, and before the next tenant's.
        let sk = match tenants.last() {
            None => SortKey::Any,
            Some(t) => SortKey::From(format!("{t}$")),
        };
        let (refs, _) = open_page_of(svc, list, sk, 1, None).await?;
        match refs.into_iter().next() {
            Some(first) => tenants.push(first.tenant_id),
            None => return Ok(tenants),
        }
    }
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

/// Why a new invoice was refused.
enum NotInserted {
    NoClient,
    NumberTaken,
}

/// Why a change to an invoice was refused.
enum NotReplaced {
    Stale,
    NumberTaken,
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
        NotInserted::NoClient,
    )
    .op(TxOp::Put(
        item(tenant_id, client_id, invoice)?,
        Condition::Absent,
    ))
    .op(TxOp::Put(
        number_guard(tenant_id, client_id, invoice)?,
        Condition::Absent,
    ))
    .otherwise(NotInserted::NumberTaken);
    match tx.try_commit(svc.table.as_ref()).await? {
        Ok(()) => Ok(true),
        Err(NotInserted::NoClient) => Err(Error::NotFound("client")),
        Err(NotInserted::NumberTaken) => Ok(false),
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
    if spec.dispute.is_some() {
        return Err(Error::invalid("dispute", READ_ONLY_WHY));
    }
    if spec.promise.is_some() {
        return Err(Error::invalid("promise", READ_ONLY_WHY));
    }
    let client = clients::get(svc.table.as_ref(), tenant_id, client_id).await?;
    let tenant = tenants::get(svc.table.as_ref(), tenant_id).await?;
    let invoice = Resource::new(svc, spec.checked(&tenant.spec.currency)?);
    if insert(svc, tenant_id, client_id, &invoice).await? {
        present(svc, &tenant, &client, &invoice).await?;
        return Ok(invoice);
    }
    match by_number(svc, tenant_id, client_id, &invoice.spec.number).await? {
        Some(stored)
            if answer_rules::carried(&stored.spec, invoice.spec.clone(), svc.clock.now())
                == stored.spec =>
        {
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
/// invoice needs the balance still owed. Presentment is not sent again. The contact's dispute
/// and promise are kept, and moved on as [`answer_rules::carried`] says.
pub async fn update(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    id: &str,
    seen: u64,
    patch: &Value,
) -> Result<Invoice> {
    if let Some(fields) = patch.as_object() {
        read_only_field(fields)?;
    }
    let current = get(svc, tenant_id, client_id, id).await?;
    let tenant = tenants::get(svc.table.as_ref(), tenant_id).await?;
    let partners = InvoiceSpec {
        dispute: None,
        promise: None,
        ..current.spec.clone()
    };
    let mut spec: InvoiceSpec = crate::domain::resource::patched(&partners, patch)?;
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
    let spec = answer_rules::carried(&current.spec, spec, svc.clock.now());
    let next = resource::changed(svc, &current, spec);
    let mut tx = Transaction::new();
    tx.guarded(
        TxOp::Put(
            item(tenant_id, client_id, &next)?,
            Condition::VersionIs(seen),
        ),
        NotReplaced::Stale,
    )
    .otherwise(NotReplaced::Stale);
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
            NotReplaced::NumberTaken,
        );
    }
    match tx.try_commit(svc.table.as_ref()).await? {
        Ok(()) => Ok(next),
        Err(NotReplaced::NumberTaken) => {
            let holder = by_number(svc, tenant_id, client_id, &next.spec.number)
                .await?
                .map(|i| i.id)
                .unwrap_or_default();
            Err(number_taken(&next.spec.number, &holder))
        }
        Err(NotReplaced::Stale) => Err(Error::Stale(WHAT)),
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
        assert_eq!(
            OpenRef::parse(&keys::open_by_tenant(3), &open.sort_key()),
            Some(open.clone())
        );
        let earlier = format!(
            "{}#{}#{}#{}",
            open.due_date, open.tenant_id, open.client_id, open.invoice_id
        );
        assert_eq!(
            OpenRef::parse(&keys::open_invoices(3), &earlier),
            Some(open.clone()),
            "a list of earlier versions reads due date first"
        );
        assert_eq!(OpenRef::parse(keys::OPEN_INVOICES, &earlier), Some(open));
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
