//! Asynchronous client imports: a whole portfolio (100,000+ rows) in one file.
//!
//! A partner creates an import ([`create`]), uploads its file (a pre-signed S3 PUT on AWS, the
//! API's upload route locally; both land at [`keys::import_file`]), and [`run`] works through
//! it in chunks of [`CHUNK_ROWS`] rows with [`super::client_import::import`]. After each chunk
//! it makes the chunk's writes durable (`Table::sync`), stores the chunk's results, and then
//! moves the import's checkpoint (chunks done, rows done and counts) under its version. So a
//! run killed anywhere starts again at the first chunk not checkpointed, and that chunk's rows
//! find what the killed run wrote: a reference's guard names the client it made (and this
//! import), so no client is made twice and those rows still count as created. Two runs at once
//! (a re-delivered trigger) meet on the checkpoint's version; the loser stops.
//!
//! The file is CSV (with the sync import's header) or NDJSON (one JSON object a line), told
//! apart by its first line; a file that is neither, or is not UTF-8 text, fails the import with
//! the reason. Bad rows never stop it. At the end the chunks' results are joined into one
//! NDJSON file, the import is marked completed, and `ImportCompleted` is written to the outbox
//! in the same transaction and then published (see [`crate::records::outbox`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::AsyncReadExt;

use super::client_import::{self, Counts, ImportRow, RowResult};
use crate::Services;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{Blobs, Condition, DomainEvent, Item, TableError, TxOp};
use crate::records::outbox;

/// Rows a chunk holds: one checkpoint, one result part, a few batch reads.
pub const CHUNK_ROWS: usize = 500;

/// The largest file an import takes (about 1.5 million rows of a typical CSV).
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

pub const IMPORT: &str = "import";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    AwaitingUpload,
    Running,
    Completed,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientImport {
    pub id: String,
    pub status: Status,
    /// Whether each imported client is monitored.
    pub monitor: bool,
    /// Rows a chunk holds ([`CHUNK_ROWS`]); kept with the checkpoint, which counts chunks.
    #[serde(default = "default_chunk_rows")]
    pub chunk_rows: u64,
    /// Rows in the file, once it has been read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_total: Option<u64>,
    pub rows_done: u64,
    #[serde(flatten)]
    pub counts: Counts,
    /// Chunks whose effects and results are stored (the checkpoint).
    pub chunks_done: u64,
    /// Why the import failed (a file that is not CSV or NDJSON, too large).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub version: u64,
}

fn default_chunk_rows() -> u64 {
    CHUNK_ROWS as u64
}

fn from_item(item: &Item) -> Result<ClientImport> {
    let mut import: ClientImport = item.record()?;
    import.version = item.version;
    Ok(import)
}

fn item(tenant_id: &str, import: &ClientImport) -> Result<Item> {
    Ok(
        Item::from_record(keys::client_import(tenant_id, &import.id), import)?
            .with_version(import.version),
    )
}

/// A new import, waiting for its file.
pub async fn create(svc: &Services, tenant_id: &str, monitor: bool) -> Result<ClientImport> {
    create_in_chunks(svc, tenant_id, monitor, CHUNK_ROWS).await
}

/// [`create`] with chunks of `chunk_rows` rows (tests use small ones).
pub async fn create_in_chunks(
    svc: &Services,
    tenant_id: &str,
    monitor: bool,
    chunk_rows: usize,
) -> Result<ClientImport> {
    let now = svc.clock.now();
    let import = ClientImport {
        id: svc.ids.id(),
        status: Status::AwaitingUpload,
        monitor,
        chunk_rows: chunk_rows.max(1) as u64,
        rows_total: None,
        rows_done: 0,
        counts: Counts::default(),
        chunks_done: 0,
        failure: None,
        created_at: now,
        updated_at: now,
        completed_at: None,
        version: 1,
    };
    svc.table
        .put(item(tenant_id, &import)?, Condition::Absent)
        .await?;
    Ok(import)
}

pub async fn get(svc: &Services, tenant_id: &str, id: &str) -> Result<ClientImport> {
    match svc.table.get(&keys::client_import(tenant_id, id)).await? {
        Some(item) => from_item(&item),
        None => Err(Error::NotFound(IMPORT)),
    }
}

/// Stores an uploaded file (the local upload route); only while the import waits for it.
pub async fn receive(
    svc: &Services,
    files: &dyn Blobs,
    tenant_id: &str,
    id: &str,
    bytes: Vec<u8>,
) -> Result<ClientImport> {
    let import = get(svc, tenant_id, id).await?;
    if import.status != Status::AwaitingUpload {
        return Err(Error::Conflict(
            "this import already has its file; create a new import for another file".into(),
        ));
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::invalid(
            "body",
            format!("the file is over {MAX_FILE_BYTES} bytes; split it into several imports"),
        ));
    }
    files
        .put(&keys::import_file(tenant_id, id), bytes)
        .await
        .map_err(|e| Error::Unavailable("file store", Box::new(e)))?;
    Ok(import)
}

/// The rows of an import's file: NDJSON when its first line is a JSON object, else CSV with
/// the import's header; `Err` says why the file is neither.
pub fn rows_of(bytes: &[u8]) -> std::result::Result<Vec<ImportRow>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        "the file is not UTF-8 text: upload CSV with a header row, or NDJSON (one JSON object a \
         line)"
            .to_owned()
    })?;
    let first = text
        .trim_start_matches('\u{feff}')
        .lines()
        .find(|l| !l.trim().is_empty());
    let Some(first) = first else {
        return Err("the file is empty".into());
    };
    if first.trim_start().starts_with('{') {
        return Ok(text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(
                |(i, l)| match crate::domain::input::parse_json(l.as_bytes()) {
                    Ok(value) => ImportRow::from_json(i + 1, value),
                    Err(_) => ImportRow {
                        line: i + 1,
                        fields: Err(client_import::RowProblem {
                            field: "row".into(),
                            reason: "is not a JSON object on one line".into(),
                        }),
                        csv: false,
                    },
                },
            )
            .collect());
    }
    client_import::csv_rows(text).map_err(|e| {
        format!(
            "the file is neither NDJSON (its first line is not a JSON object) nor CSV with the \
             import's header ({e}); the CSV columns are {}",
            client_import::CSV_COLUMNS.join(",")
        )
    })
}

/// What a run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ran {
    /// The import is completed or failed (now or before).
    Finished(ClientImport),
    /// Its file is not there yet.
    NoFile,
    /// Another run moved the checkpoint first; it goes on.
    Overtaken,
}

/// Works through an import's file from its checkpoint to the end. Safe to call again at any
/// time: a finished import is answered as it is, a run killed half-way goes on where its last
/// checkpoint left it.
pub async fn run(svc: &Services, files: &dyn Blobs, tenant_id: &str, id: &str) -> Result<Ran> {
    let mut import = get(svc, tenant_id, id).await?;
    if matches!(import.status, Status::Completed | Status::Failed) {
        return Ok(Ran::Finished(import));
    }
    let blob_error = |e| Error::Unavailable("file store", Box::new(e));
    let Some(reader) = files
        .open(&keys::import_file(tenant_id, id))
        .await
        .map_err(blob_error)?
    else {
        return Ok(Ran::NoFile);
    };
    let mut bytes = Vec::new();
    reader
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| Error::Unavailable("file store", Box::new(e)))?;
    let rows = if bytes.len() as u64 > MAX_FILE_BYTES {
        Err(format!(
            "the file is over {MAX_FILE_BYTES} bytes; split it into several imports"
        ))
    } else {
        rows_of(&bytes)
    };
    drop(bytes);
    let rows = match rows {
        Ok(rows) => rows,
        Err(why) => return finish(svc, files, tenant_id, import, Some(why)).await,
    };
    import.rows_total = Some(rows.len() as u64);
    let chunk_rows = import.chunk_rows.max(1) as usize;
    let chunks = rows.len().div_ceil(chunk_rows) as u64;
    let mut rows = rows.into_iter();
    for _ in 0..import.chunks_done.min(chunks) * chunk_rows as u64 {
        rows.next();
    }
    if import.status == Status::AwaitingUpload {
        import.status = Status::Running;
        if !checkpoint(svc, tenant_id, &mut import).await? {
            return Ok(Ran::Overtaken);
        }
    }
    while import.chunks_done < chunks {
        let chunk: Vec<ImportRow> = rows.by_ref().take(chunk_rows).collect();
        let results =
            client_import::import(svc, tenant_id, chunk, import.monitor, Some(&import.id)).await?;
        // The chunk's writes are durable before its results and its checkpoint say so.
        svc.table.sync().await?;
        files
            .put(
                &keys::import_results_part(tenant_id, id, import.chunks_done),
                ndjson(&results)?,
            )
            .await
            .map_err(blob_error)?;
        import.counts = import.counts.plus(Counts::of(&results));
        import.rows_done += results.len() as u64;
        import.chunks_done += 1;
        if !checkpoint(svc, tenant_id, &mut import).await? {
            return Ok(Ran::Overtaken);
        }
        tracing::info!(
            import_id = %import.id,
            chunks_done = import.chunks_done,
            chunks,
            rows_done = import.rows_done,
            "client import: chunk done"
        );
    }
    finish(svc, files, tenant_id, import, None).await
}

fn ndjson(results: &[RowResult]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(results.len() * 120);
    for r in results {
        serde_json::to_writer(&mut out, r)
            .map_err(|e| Error::Unavailable("results", Box::new(e)))?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Moves the checkpoint under the version last read; `false` when another run moved it first.
async fn checkpoint(svc: &Services, tenant_id: &str, import: &mut ClientImport) -> Result<bool> {
    let seen = import.version;
    import.version += 1;
    import.updated_at = svc.clock.now();
    match svc
        .table
        .put(item(tenant_id, import)?, Condition::VersionIs(seen))
        .await
    {
        Ok(()) => Ok(true),
        Err(TableError::ConditionFailed(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Joins the results, marks the import completed (or failed, with `failure`), and publishes
/// `ImportCompleted` through the outbox row written with that mark.
async fn finish(
    svc: &Services,
    files: &dyn Blobs,
    tenant_id: &str,
    mut import: ClientImport,
    failure: Option<String>,
) -> Result<Ran> {
    let blob_error = |e| Error::Unavailable("file store", Box::new(e));
    if failure.is_none() {
        let mut joined = Vec::new();
        for chunk in 0..import.chunks_done {
            if let Some(mut part) = files
                .open(&keys::import_results_part(tenant_id, &import.id, chunk))
                .await
                .map_err(blob_error)?
            {
                part.read_to_end(&mut joined)
                    .await
                    .map_err(|e| Error::Unavailable("file store", Box::new(e)))?;
            }
        }
        files
            .put(&keys::import_results(tenant_id, &import.id), joined)
            .await
            .map_err(blob_error)?;
    }
    let now = svc.clock.now();
    import.status = if failure.is_some() {
        Status::Failed
    } else {
        Status::Completed
    };
    import.failure = failure;
    import.completed_at = Some(now);
    let seen = import.version;
    import.version += 1;
    import.updated_at = now;
    let event = outbox::Staged::new(
        svc,
        DomainEvent::new(
            "ImportCompleted",
            json!({
                "tenant_id": tenant_id,
                "import_id": import.id,
                "status": import.status,
                "failure": import.failure,
                "rows": import.rows_done,
                "created": import.counts.created,
                "updated": import.counts.updated,
                "unchanged": import.counts.unchanged,
                "rejected": import.counts.rejected,
                "monitor": import.monitor,
            }),
            now,
        ),
    );
    let ops = vec![
        TxOp::Put(item(tenant_id, &import)?, Condition::VersionIs(seen)),
        event.op()?,
    ];
    match svc.table.transact(ops).await {
        Ok(()) => {}
        Err(TableError::TransactionFailed { .. }) => return Ok(Ran::Overtaken),
        Err(e) => return Err(e.into()),
    }
    if let Err(e) = outbox::publish(svc, &event).await {
        tracing::warn!(error = %e, "ImportCompleted waits in the outbox for the next flush");
    }
    Ok(Ran::Finished(import))
}

/// The import's result file as stored (NDJSON), once it is completed.
pub async fn results(
    svc: &Services,
    files: &dyn Blobs,
    tenant_id: &str,
    id: &str,
) -> Result<Vec<u8>> {
    let import = get(svc, tenant_id, id).await?;
    if import.status != Status::Completed {
        return Err(Error::Conflict(format!(
            "the import is {}; its results are ready when it is completed",
            serde_json::to_value(import.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        )));
    }
    let Some(mut reader) = files
        .open(&keys::import_results(tenant_id, id))
        .await
        .map_err(|e| Error::Unavailable("file store", Box::new(e)))?
    else {
        return Err(Error::NotFound("import results"));
    };
    let mut out = Vec::new();
    reader
        .read_to_end(&mut out)
        .await
        .map_err(|e| Error::Unavailable("file store", Box::new(e)))?;
    Ok(out)
}

/// The import an uploaded file's key belongs to, for the S3 trigger.
pub fn of_file(key: &str) -> Option<(String, String)> {
    keys::import_of_file(key).map(|(t, i)| (t.to_owned(), i.to_owned()))
}
