//! Importing invoices: up to [`MAX_IMPORT`] rows of CSV or JSON, each row created, updated or
//! refused on its own (its line and field named), with the open ones presented once.

use std::collections::HashMap;

use futures::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value};

use super::super::csv;
use crate::Services;
use crate::domain::clients::Client;
use crate::domain::resource::Resource;
use crate::domain::tenants::Tenant;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{Condition, Key, TableError, TxOp};
use crate::records::resource;
use crate::records::tenants;

use super::*;

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
    let required: Vec<&str> = ["client_id"].into_iter().chain(REQUIRED).collect();
    let header = csv::header(&mut records, &CSV_COLUMNS, &required)?;
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
    read_only_field(&fields)?;
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
            Some(current) => {
                // The contact's dispute and promise stay, moved on by the row's status.
                let spec = answer_rules::carried(&current.spec, spec.clone(), svc.clock.now());
                if spec == current.spec {
                    finish_presentment(svc, tenant, client, &current).await?;
                    return Ok((ImportOutcome::Unchanged, current.id));
                }
                let next = resource::changed(svc, &current, spec);
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
pub(super) fn parse_row(fields: Map<String, Value>) -> Result<InvoiceSpec> {
    crate::domain::resource::parse(Value::Object(fields)).map_err(|e| match e {
        Error::Invalid { field, message } if field == "body" => Error::invalid("row", message),
        e => e,
    })
}
