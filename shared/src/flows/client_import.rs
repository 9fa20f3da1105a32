//! Importing clients by the partner's own reference (`external_ref`): each row is created,
//! updated, unchanged or rejected with the field and the reason, and, when asked, the client is
//! monitored in the same call. One bad row never stops the others, and the same rows imported
//! again change nothing.
//!
//! The same function works on a synchronous call's rows ([`MAX_SYNC_ROWS`]) and on each chunk
//! of an asynchronous import ([`crate::flows::imports`]). Its reads are batched: the tenant,
//! the references' guards, the clients they name, the client types, the monitors of existing
//! clients and the watcher lists of new monitored subjects, each one batch read for the chunk.
//! A new client is then one transaction (its reference guard, the client, its type's usage,
//! its workflow's and portfolio's counts, and with monitoring its monitor and its subject's
//! watcher list), applied [`GROUPS`] groups at a time with `transact_each`, so the embedded
//! store commits a group at once. A row whose transaction lost a race (another import took the
//! reference, another monitor changed the subject's list) is read and judged again, so two
//! imports racing on one reference make one client. A changed client goes through
//! [`crate::flows::clients::update`], as a PATCH would.

use std::collections::{BTreeSet, HashMap};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::clients::{assignment_ops, reference_guard, reference_taken};
use crate::Services;
use crate::comms::{csv, portfolios, workflows};
use crate::domain::clients::{Client, ClientSpec, ClientType};
use crate::domain::resource::Resource;
use crate::domain::tenants::Tenant;
use crate::domain::{Error, Result};
use crate::keys;
use crate::monitoring::monitors;
use crate::ports::{Condition, Key, TableError, TxOp};
use crate::records::clients::{client_item, usage};
use crate::records::{resource, tenants};

/// The most rows a synchronous import takes (see the README's time budget).
pub const MAX_SYNC_ROWS: usize = 250;

/// How many groups of new clients' transactions are written side by side, and how many
/// changed clients are updated at once.
pub const GROUPS: usize = 10;

/// How many times a row that lost a race is read and judged again.
const ROUNDS: usize = 4;

/// The columns of a CSV import, in any order; `external_ref` is required, and so, for a new
/// client, are `client_type_id`, `kind` and the identity its kind needs. `kind`, the names,
/// `date_of_birth` and `registration_number` are the identity's; `line1`, `line2`, `city`,
/// `postcode` and `country` make the client's one address (they replace its addresses).
pub const CSV_COLUMNS: [&str; 16] = [
    "external_ref",
    "client_type_id",
    "kind",
    "first_name",
    "last_name",
    "date_of_birth",
    "name",
    "registration_number",
    "bureau_subject_id",
    "line1",
    "line2",
    "city",
    "postcode",
    "country",
    "workflow_id",
    "portfolio_id",
];
const IDENTITY_COLUMNS: [&str; 6] = [
    "kind",
    "first_name",
    "last_name",
    "date_of_birth",
    "name",
    "registration_number",
];
const ADDRESS_COLUMNS: [&str; 5] = ["line1", "line2", "city", "postcode", "country"];

/// One row: where it is in what the partner sent, and its fields as a client's (a merge patch
/// over the existing client), or why it cannot be read.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportRow {
    /// Its position in a JSON list or an NDJSON file (from 1), or the line it starts on in a
    /// CSV file (the header is line 1).
    pub line: usize,
    pub fields: std::result::Result<Map<String, Value>, RowProblem>,
    /// Whether the CSV columns name the fields (problems then name the column).
    pub csv: bool,
}

impl ImportRow {
    pub fn from_json(line: usize, value: Value) -> Self {
        let fields = match value {
            Value::Object(fields) => Ok(fields),
            _ => Err(RowProblem::new("row", "must be a JSON object")),
        };
        Self {
            line,
            fields,
            csv: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Rejected,
}

/// What was wrong with a row: the field (`row` for the row as a whole) and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// Whether an imported client is monitored: `started` by this row, `monitored` already, or
/// `not_started` with the reason (the client itself is imported all the same).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Monitoring {
    pub status: MonitoringStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitoringStatus {
    Started,
    Monitored,
    NotStarted,
}

impl Monitoring {
    fn started() -> Self {
        Self {
            status: MonitoringStatus::Started,
            reason: None,
        }
    }
    fn monitored() -> Self {
        Self {
            status: MonitoringStatus::Monitored,
            reason: None,
        }
    }
    fn not_started(e: &Error) -> Self {
        let reason = match e {
            Error::Invalid { message, .. } => message.clone(),
            e => e.to_string(),
        };
        Self {
            status: MonitoringStatus::NotStarted,
            reason: Some(reason),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowResult {
    pub line: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<Monitoring>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<RowProblem>,
}

/// Counts of a list of results, per outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

impl Counts {
    pub fn of(results: &[RowResult]) -> Self {
        let mut counts = Self::default();
        for r in results {
            counts.add(r.outcome);
        }
        counts
    }
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Rejected => self.rejected += 1,
        }
    }
    pub fn plus(self, other: Counts) -> Self {
        Self {
            created: self.created + other.created,
            updated: self.updated + other.updated,
            unchanged: self.unchanged + other.unchanged,
            rejected: self.rejected + other.rejected,
        }
    }
    pub fn rows(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.rejected
    }
}

/// The rows of a CSV file. The header names the columns ([`CSV_COLUMNS`], any order,
/// `external_ref` required); an empty cell is an absent field. A header that cannot be used
/// refuses the whole file; a record that cannot be read, or has another number of cells, is a
/// rejected row with its line.
pub fn csv_rows(text: &str) -> Result<Vec<ImportRow>> {
    let mut records = csv::records(text).into_iter();
    let header = csv::header(&mut records, &CSV_COLUMNS, &["external_ref"])?;
    Ok(records
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
                Ok(cells) => Ok(csv_fields(&header, cells)),
            };
            ImportRow {
                line: record.line,
                fields,
                csv: true,
            }
        })
        .collect())
}

/// A CSV row's cells as a client's fields: the identity's columns under `identity`, the
/// address columns as the one address.
fn csv_fields(header: &[String], cells: Vec<String>) -> Map<String, Value> {
    let mut fields = Map::new();
    let mut identity = Map::new();
    let mut address = Map::new();
    for (name, cell) in header.iter().zip(cells) {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        let value = Value::from(cell);
        if IDENTITY_COLUMNS.contains(&name.as_str()) {
            identity.insert(name.clone(), value);
        } else if ADDRESS_COLUMNS.contains(&name.as_str()) {
            address.insert(name.clone(), value);
        } else {
            fields.insert(name.clone(), value);
        }
    }
    if !identity.is_empty() {
        fields.insert("identity".into(), Value::Object(identity));
    }
    if !address.is_empty() {
        fields.insert(
            "addresses".into(),
            Value::Array(vec![Value::Object(address)]),
        );
    }
    fields
}

/// The field as the partner named it: a CSV row's column (`first_name`, not
/// `identity.first_name`).
fn named(field: String, csv: bool) -> String {
    if !csv {
        return field;
    }
    for prefix in ["identity.", "addresses[0]."] {
        if let Some(column) = field.strip_prefix(prefix)
            && CSV_COLUMNS.contains(&column)
        {
            return column.to_owned();
        }
    }
    field
}

fn row_problem(e: Error, csv: bool) -> RowProblem {
    match e {
        Error::Invalid { field, message } if field == "body" => RowProblem::new("row", message),
        Error::Invalid { field, message } => RowProblem::new(named(field, csv), message),
        Error::Conflict(why) if why.contains("external_ref") => {
            RowProblem::new("external_ref", why)
        }
        Error::Conflict(why) => RowProblem::new("row", why),
        Error::NotFound(what) => RowProblem::new("row", format!("{what} not found")),
        Error::Stale(_) => RowProblem::new(
            "row",
            "the client changed while this row was applied; send the row again",
        ),
        e @ (Error::Store(_) | Error::Unavailable(..)) => {
            tracing::error!(error = %e, ?e, "a client import row failed on our side");
            RowProblem::new(
                "row",
                "the row could not be stored just now (nothing of it was written); send it again",
            )
        }
    }
}

/// A row read as far as it can be without the store.
#[derive(Clone)]
struct Prepared {
    line: usize,
    csv: bool,
    reference: String,
    fields: Map<String, Value>,
}

/// Checks a row against the input policy and reads its reference; a reference is taken once
/// per import (`seen`: reference → its first line).
fn prepare(
    seen: &mut HashMap<String, usize>,
    line: usize,
    csv: bool,
    fields: Map<String, Value>,
) -> std::result::Result<Prepared, RowProblem> {
    let row = Value::Object(fields);
    crate::domain::input::check(&row, "").map_err(|e| row_problem(e, csv))?;
    let Value::Object(fields) = row else {
        unreachable!("built as an object above")
    };
    let reference = match fields.get("external_ref") {
        Some(Value::String(r)) if !r.trim().is_empty() => r.trim().to_owned(),
        Some(Value::String(_)) | None => {
            return Err(RowProblem::new("external_ref", "is required"));
        }
        Some(_) => return Err(RowProblem::new("external_ref", "must be a string")),
    };
    crate::domain::input::id("external_ref", &reference).map_err(|e| row_problem(e, csv))?;
    let first = *seen.entry(reference.clone()).or_insert(line);
    if first != line {
        return Err(RowProblem::new(
            "external_ref",
            format!("{reference:?} is already on line {first} of this import"),
        ));
    }
    Ok(Prepared {
        line,
        csv,
        reference,
        fields,
    })
}

/// What to do with a prepared row, decided from the chunk's reads.
enum Plan {
    /// A new client, written by its own transaction (with its monitor when asked).
    Create {
        client: Client,
        ops: Vec<TxOp>,
        monitoring: Option<Monitoring>,
    },
    /// An existing client whose spec the row does not change.
    Unchanged { client: Client, monitored: bool },
    /// An existing client the row changes: updated as a PATCH would.
    Update { client: Client, monitored: bool },
}

/// What an import reads once per chunk.
struct Reads {
    tenant: Tenant,
    /// reference → (client, its guard's `import_id`, if any)
    existing: HashMap<String, (Client, Option<String>)>,
    types: HashMap<String, ClientType>,
    monitored: HashMap<String, bool>,
}

/// Imports `rows` for the tenant: a result per row, in the rows' order. `monitor` starts
/// monitoring each imported client. `import_id` names an asynchronous import, whose guards
/// remember it: a chunk run again after a crash reports the clients its first run created as
/// created, not unchanged. Only a failure of the chunk's first batch reads fails the call;
/// anything else is a row's result.
pub async fn import(
    svc: &Services,
    tenant_id: &str,
    rows: Vec<ImportRow>,
    monitor: bool,
    import_id: Option<&str>,
) -> Result<Vec<RowResult>> {
    let mut seen = HashMap::new();
    let mut results: Vec<Option<RowResult>> = vec![None; rows.len()];
    let mut todo: Vec<(usize, Prepared)> = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        let reference = row
            .fields
            .as_ref()
            .ok()
            .and_then(|f| f.get("external_ref"))
            .and_then(Value::as_str)
            .map(|r| r.trim().to_owned());
        match row
            .fields
            .and_then(|fields| prepare(&mut seen, row.line, row.csv, fields))
        {
            Ok(prepared) => todo.push((i, prepared)),
            Err(problem) => results[i] = Some(rejected(row.line, reference, problem)),
        }
    }
    for round in 0..ROUNDS {
        if todo.is_empty() {
            break;
        }
        let last = round + 1 == ROUNDS;
        let (done, again) = apply(svc, tenant_id, todo, monitor, import_id, last).await?;
        for (i, result) in done {
            results[i] = Some(result);
        }
        todo = again;
    }
    Ok(results
        .into_iter()
        .map(|r| r.expect("every row has a result"))
        .collect())
}

fn rejected(line: usize, reference: Option<String>, problem: RowProblem) -> RowResult {
    RowResult {
        line,
        external_ref: reference,
        outcome: Outcome::Rejected,
        client_id: None,
        monitoring: None,
        problem: Some(problem),
    }
}

type Done = Vec<(usize, RowResult)>;
/// A new client's row waiting for its transaction: its place, the row, the client, the
/// transaction's operations and the monitoring it starts.
type Create = (usize, Prepared, Client, Vec<TxOp>, Option<Monitoring>);
type Again = Vec<(usize, Prepared)>;

/// One round: reads, plans and writes the rows; returns the rows done and those that lost a
/// race (to be read and judged again; on the `last` round they are rejected instead).
async fn apply(
    svc: &Services,
    tenant_id: &str,
    todo: Vec<(usize, Prepared)>,
    monitor: bool,
    import_id: Option<&str>,
    last: bool,
) -> Result<(Done, Again)> {
    let reads = read(svc, tenant_id, &todo, monitor).await?;
    let mut done: Done = Vec::new();
    let mut again: Again = Vec::new();
    let mut creates: Vec<Create> = Vec::new();
    let mut updates: Vec<(usize, Prepared, Client, bool)> = Vec::new();
    let mut assignments_ok: HashMap<(&'static str, String), std::result::Result<(), Error>> =
        HashMap::new();

    // The watcher lists of the new clients' subjects, in one batch read.
    let mut planned: Vec<(usize, Prepared, std::result::Result<Plan, Error>)> = Vec::new();
    let mut subjects: BTreeSet<String> = BTreeSet::new();
    for (i, row) in todo {
        let plan = plan(svc, &reads, &row, import_id, &mut assignments_ok).await;
        if monitor
            && let Ok(Plan::Create { client, .. }) = &plan
            && let Some(subject) = &client.spec.bureau_subject_id
        {
            subjects.insert(subject.clone());
        }
        planned.push((i, row, plan));
    }
    let subjects: Vec<String> = subjects.into_iter().collect();
    let lists: HashMap<String, (monitors::Watchers, Option<u64>)> = if subjects.is_empty() {
        HashMap::new()
    } else {
        subjects
            .iter()
            .cloned()
            .zip(monitors::watchers_versioned(svc, &subjects).await?)
            .collect()
    };
    // Two new clients of one subject in a round: the first takes the list, the second is
    // judged again in the next round (after the first's write).
    let mut taken: BTreeSet<String> = BTreeSet::new();

    for (i, row, plan) in planned {
        match plan {
            Err(e) => done.push((
                i,
                rejected(
                    row.line,
                    Some(row.reference.clone()),
                    row_problem(e, row.csv),
                ),
            )),
            Ok(Plan::Unchanged { client, monitored }) if monitored || !monitor => {
                let monitoring = monitor.then(Monitoring::monitored);
                let outcome = match reads.existing.get(&row.reference) {
                    Some((_, Some(by))) if Some(by.as_str()) == import_id => Outcome::Created,
                    _ => Outcome::Unchanged,
                };
                done.push((i, result(&row, outcome, &client, monitoring)));
            }
            Ok(Plan::Unchanged { client, monitored }) | Ok(Plan::Update { client, monitored }) => {
                updates.push((i, row, client, monitored));
            }
            Ok(Plan::Create {
                client,
                mut ops,
                mut monitoring,
            }) => {
                if monitor {
                    let subject = client.spec.bureau_subject_id.clone();
                    if subject.as_ref().is_some_and(|s| taken.contains(s)) {
                        again.push((i, row));
                        continue;
                    }
                    let client_type = &reads.types[&client.spec.client_type_id];
                    let list = subject
                        .as_ref()
                        .and_then(|s| lists.get(s).cloned())
                        .unwrap_or_default();
                    match monitors::start_new(svc, &reads.tenant, client_type, &client, list) {
                        Ok((_, monitor_ops)) => {
                            ops.extend(monitor_ops);
                            monitoring = Some(Monitoring::started());
                            if let Some(s) = subject {
                                taken.insert(s);
                            }
                        }
                        Err(e) => monitoring = Some(Monitoring::not_started(&e)),
                    }
                }
                creates.push((i, row, client, ops, monitoring));
            }
        }
    }

    // New clients: GROUPS groups side by side, each group's transactions in order.
    let per_group = creates.len().div_ceil(GROUPS).max(1);
    let mut groups: Vec<Vec<Create>> = Vec::new();
    let mut creates = creates.into_iter().peekable();
    while creates.peek().is_some() {
        groups.push(creates.by_ref().take(per_group).collect());
    }
    let written = futures::stream::iter(groups)
        .map(|group| async move {
            let (rows, txs): (Vec<_>, Vec<_>) = group
                .into_iter()
                .map(|(i, row, client, ops, monitoring)| ((i, row, client, monitoring), ops))
                .unzip();
            let outcome = svc.table.transact_each(txs).await;
            (rows, outcome)
        })
        .buffer_unordered(GROUPS)
        .collect::<Vec<_>>()
        .await;
    for (rows, outcome) in written {
        match outcome {
            Ok(each) => {
                for ((i, row, client, monitoring), written) in rows.into_iter().zip(each) {
                    match written {
                        Ok(()) => {
                            done.push((i, result(&row, Outcome::Created, &client, monitoring)))
                        }
                        Err(TableError::TransactionFailed { .. }) if !last => again.push((i, row)),
                        Err(TableError::TransactionFailed { .. }) => done.push((
                            i,
                            rejected(
                                row.line,
                                Some(row.reference.clone()),
                                row_problem(reference_taken(&row.reference), row.csv),
                            ),
                        )),
                        Err(e) => done.push((
                            i,
                            rejected(
                                row.line,
                                Some(row.reference.clone()),
                                row_problem(e.into(), row.csv),
                            ),
                        )),
                    }
                }
            }
            // The group's call failed as a whole: each of its transactions was applied whole
            // or not at all, so its rows are judged again from what the store now holds.
            Err(e) if !last => {
                tracing::warn!(error = %e, "a group of imported clients failed; reading them again");
                again.extend(rows.into_iter().map(|(i, row, _, _)| (i, row)));
            }
            Err(e) => {
                let problem = row_problem(e.into(), false);
                for (i, row, _, _) in rows {
                    done.push((
                        i,
                        rejected(row.line, Some(row.reference.clone()), problem.clone()),
                    ));
                }
            }
        }
    }

    // Changed clients (and unchanged ones to be monitored): as a PATCH and a monitor start.
    let tenant_id_owned = tenant_id.to_owned();
    let updated = futures::stream::iter(updates)
        .map(|(i, row, client, monitored)| {
            let tenant_id = tenant_id_owned.clone();
            async move {
                let result = update_row(svc, &tenant_id, &row, &client, monitor, monitored).await;
                (i, row, result)
            }
        })
        .buffer_unordered(GROUPS)
        .collect::<Vec<_>>()
        .await;
    for (i, row, result) in updated {
        match result {
            Ok(r) => done.push((i, r)),
            Err(Error::Stale(_)) if !last => again.push((i, row)),
            Err(e) => done.push((
                i,
                rejected(
                    row.line,
                    Some(row.reference.clone()),
                    row_problem(e, row.csv),
                ),
            )),
        }
    }
    Ok((done, again))
}

fn result(
    row: &Prepared,
    outcome: Outcome,
    client: &Client,
    monitoring: Option<Monitoring>,
) -> RowResult {
    RowResult {
        line: row.line,
        external_ref: Some(row.reference.clone()),
        outcome,
        client_id: Some(client.id.clone()),
        monitoring,
        problem: None,
    }
}

/// An existing client's row: updated when it changes something, then monitored when asked.
async fn update_row(
    svc: &Services,
    tenant_id: &str,
    row: &Prepared,
    client: &Client,
    monitor: bool,
    monitored: bool,
) -> Result<RowResult> {
    let patch = Value::Object(row.fields.clone());
    let next: ClientSpec = crate::domain::resource::patched(&client.spec, &patch)?;
    let (outcome, client) = if next == client.spec {
        (Outcome::Unchanged, client.clone())
    } else {
        let updated =
            super::clients::update(svc, tenant_id, &client.id, client.version, &patch).await?;
        (Outcome::Updated, updated)
    };
    let monitoring = if !monitor {
        None
    } else if monitored {
        Some(Monitoring::monitored())
    } else {
        match monitors::start(
            svc,
            tenant_id,
            &client.id,
            monitors::StartRequest::default(),
        )
        .await
        {
            Ok(_) => Some(Monitoring::started()),
            Err(e @ (Error::Conflict(_) | Error::Invalid { .. })) => {
                Some(Monitoring::not_started(&e))
            }
            Err(e) => return Err(e),
        }
    };
    Ok(result(row, outcome, &client, monitoring))
}

/// The chunk's reads: the tenant, the references' guards and the clients they name, the client
/// types the rows and clients name, and (with monitoring) which clients have monitors.
async fn read(
    svc: &Services,
    tenant_id: &str,
    todo: &[(usize, Prepared)],
    monitor: bool,
) -> Result<Reads> {
    let tenant = tenants::get(svc.table.as_ref(), tenant_id).await?;
    let guard_keys: Vec<Key> = todo
        .iter()
        .map(|(_, r)| keys::client_ref(tenant_id, &r.reference))
        .collect();
    let guards = svc.table.batch_get(&guard_keys).await?;
    let named: Vec<(String, String, Option<String>)> = todo
        .iter()
        .zip(guards)
        .filter_map(|((_, row), guard)| {
            let guard = guard?;
            let id = guard.data.get("client_id")?.as_str()?.to_owned();
            let by = guard
                .data
                .get("import_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            Some((row.reference.clone(), id, by))
        })
        .collect();
    let client_keys: Vec<Key> = named
        .iter()
        .map(|(_, id, _)| keys::client(tenant_id, id))
        .collect();
    let mut existing = HashMap::new();
    for ((reference, _, by), item) in named
        .into_iter()
        .zip(svc.table.batch_get(&client_keys).await?)
    {
        if let Some(item) = item {
            let client: Client = resource::from_item(&item)?;
            existing.insert(reference, (client, by));
        }
    }
    let mut type_ids: BTreeSet<String> = todo
        .iter()
        .filter_map(|(_, r)| r.fields.get("client_type_id")?.as_str().map(str::to_owned))
        .filter(|id| crate::domain::input::id_problem(id).is_none())
        .collect();
    type_ids.extend(
        existing
            .values()
            .map(|(c, _)| c.spec.client_type_id.clone()),
    );
    let type_ids: Vec<String> = type_ids.into_iter().collect();
    let type_keys: Vec<Key> = type_ids
        .iter()
        .map(|id| keys::client_type(tenant_id, id))
        .collect();
    let mut types = HashMap::new();
    for item in svc.table.batch_get(&type_keys).await?.into_iter().flatten() {
        let t: ClientType = resource::from_item(&item)?;
        types.insert(t.id.clone(), t);
    }
    let mut monitored = HashMap::new();
    if monitor && !existing.is_empty() {
        let ids: Vec<String> = existing.values().map(|(c, _)| c.id.clone()).collect();
        for (id, m) in ids
            .iter()
            .zip(monitors::monitored(svc, tenant_id, &ids).await?)
        {
            monitored.insert(id.clone(), m);
        }
    }
    Ok(Reads {
        tenant,
        existing,
        types,
        monitored,
    })
}

/// Judges one row against the chunk's reads.
async fn plan(
    svc: &Services,
    reads: &Reads,
    row: &Prepared,
    import_id: Option<&str>,
    assignments_ok: &mut HashMap<(&'static str, String), std::result::Result<(), Error>>,
) -> Result<Plan> {
    let tenant_id = reads.tenant.id.as_str();
    let patch = Value::Object(row.fields.clone());
    if let Some((client, _)) = reads.existing.get(&row.reference) {
        let next: ClientSpec = crate::domain::resource::patched(&client.spec, &patch)?;
        let monitored = reads.monitored.get(&client.id).copied().unwrap_or(false);
        return Ok(if next == client.spec {
            Plan::Unchanged {
                client: client.clone(),
                monitored,
            }
        } else {
            Plan::Update {
                client: client.clone(),
                monitored,
            }
        });
    }
    let spec: ClientSpec = crate::domain::resource::parse(patch)?;
    let client_type = reads
        .types
        .get(&spec.client_type_id)
        .ok_or_else(|| Error::invalid("client_type_id", "there is no client type with this id"))?;
    let spec = spec.checked(client_type)?;
    if spec.finances.billing_contact_id.is_some() {
        return Err(Error::invalid(
            "finances.billing_contact_id",
            "a new client has no contacts yet: add the contact, then set it as the billing contact",
        ));
    }
    for (field, id) in [
        ("workflow_id", spec.workflow_id.as_deref()),
        ("portfolio_id", spec.portfolio_id.as_deref()),
    ] {
        let Some(id) = id else { continue };
        let key = (field, id.to_owned());
        if !assignments_ok.contains_key(&key) {
            let found = if field == "workflow_id" {
                workflows::ensure_exists(svc, tenant_id, id, field).await
            } else {
                portfolios::ensure_exists(svc, tenant_id, id, field).await
            };
            assignments_ok.insert(key.clone(), found);
        }
        if let Some(Err(e)) = assignments_ok.get(&key) {
            return Err(match e {
                Error::Invalid { field, message } => Error::invalid(field.clone(), message.clone()),
                e => Error::Conflict(e.to_string()),
            });
        }
    }
    let client = Resource::new(svc, spec);
    let mut tx = crate::ports::Transaction::<Error>::new();
    assignment_ops(&mut tx, tenant_id, None, Some(&client.spec));
    let mut ops = vec![
        TxOp::Put(
            claimed_guard(tenant_id, &row.reference, &client.id, import_id)?,
            Condition::Absent,
        ),
        TxOp::Put(client_item(tenant_id, &client)?, Condition::Absent),
        TxOp::Check(
            keys::client_type(tenant_id, &client_type.id),
            Condition::Exists,
        ),
        usage(tenant_id, &client_type.id, 1),
    ];
    ops.extend(tx.into_ops());
    Ok(Plan::Create {
        client,
        ops,
        monitoring: None,
    })
}

/// The reference's guard for a new client, naming the asynchronous import that created it.
fn claimed_guard(
    tenant_id: &str,
    reference: &str,
    client_id: &str,
    import_id: Option<&str>,
) -> Result<crate::ports::Item> {
    let mut guard = reference_guard(tenant_id, reference, client_id)?;
    if let Some(id) = import_id {
        guard.data.insert("import_id".into(), Value::from(id));
    }
    Ok(guard)
}
