//! One feed part of a day: its lines diffed against the part's last baseline, the changed
//! subjects' watchers read in batches, their new facts recorded as hits, and the new baseline
//! stored; what went wrong with the feed reported, not thrown.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, BufWriter};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::io::SyncIoBridge;

use super::super::diff::{Change, LineError, PartStats, SORT_BUDGET, diff_any_order};
use super::super::hits::{self, Hit, Recorded};
use super::super::monitors::watchers_of;
use super::super::profiles::{self, Seen, Written};
use super::super::snapshot;
use crate::Services;
use crate::domain::kind_filter::{KindFilter, fact_filter};
use crate::domain::tenants::Tenant;
use crate::domain::{Error, Result};
use crate::ports::{BlobError, Blobs};
use crate::records::tenants;

/// Changes handed from the diff to the hit recorder at a time: their hits are written
/// together (one commit on the embedded store).
const BATCH: usize = 500;
/// Baseline generations kept per part (older ones are removed after a run).
pub const KEEP_GENERATIONS: usize = 7;

pub const PART_READY: &str = "FeedPartReady";
pub const PARTS_DONE: &str = "FeedPartsDone";
/// Bytes read from a feed part or a baseline at a time: each read of a local file is a hop to
/// a blocking thread, so large reads keep those few (a 100 MB part in about 100 reads).
const READ_BUFFER: usize = 1 << 20;

/// Where feeds are read and baselines kept.
#[derive(Clone)]
pub struct Sources {
    pub feeds: Arc<dyn Blobs>,
    pub state: Arc<dyn Blobs>,
}

impl From<BlobError> for Error {
    fn from(e: BlobError) -> Self {
        Error::Unavailable("blob store", Box::new(e))
    }
}

/// `feeds/2026-11-20/part-0001.ndjson.gz` → `part-0001`.
pub fn part_name(key: &str) -> &str {
    let file = key.rsplit('/').next().unwrap_or(key);
    file.split('.').next().unwrap_or(file)
}

/// The feed parts of day D, in order.
pub async fn list_parts(sources: &Sources, day: NaiveDate) -> Result<Vec<String>> {
    let prefix = format!("feeds/{day}/part-");
    let mut parts = sources
        .feeds
        .list(&prefix)
        .await
        .map_err(blob(format!("listing {prefix}*")))?;
    parts.retain(|k| k.ends_with(".ndjson") || k.ends_with(".ndjson.gz"));
    Ok(parts)
}

fn baseline_key(part: &str, day: NaiveDate) -> String {
    format!("baselines/{part}/{day}.base")
}

/// The index of a baseline generation (`snapshot::Index`), stored before the baseline.
fn index_key(baseline: &str) -> String {
    format!("{}.idx", baseline.strip_suffix(".base").unwrap_or(baseline))
}

/// `subject`'s entry in the latest baseline of `part`, with the baseline's day: read through
/// the generation's index, one block of the file. `None` when the part has no baseline, the
/// baseline no index (written by an earlier version) or no entry for the subject. A baseline
/// replaced while it is read (its day run again) is read again, once.
pub async fn baseline_entry(
    state: &dyn Blobs,
    part: &str,
    subject: &str,
) -> Result<Option<(NaiveDate, snapshot::Entry)>> {
    for _ in 0..2 {
        if let Read::Found(found) = latest_entry(state, part, subject).await? {
            return Ok(found.map(|(day, e)| (day, *e)));
        }
    }
    Err(Error::Unavailable(
        "blob store",
        format!("the baseline of feed part {part} does not match its index").into(),
    ))
}

/// What one read of [`baseline_entry`] found.
enum Read {
    Found(Option<(NaiveDate, Box<snapshot::Entry>)>),
    /// The baseline was replaced or removed between its index and its block.
    Replaced,
}

async fn latest_entry(state: &dyn Blobs, part: &str, subject: &str) -> Result<Read> {
    let Some((day, key)) = generations(state, part).await?.kept.pop() else {
        return Ok(Read::Found(None));
    };
    let index_key = index_key(&key);
    let Some(index) = state
        .read_range(&index_key, 0, u64::MAX)
        .await
        .map_err(blob(format!("reading baseline index {index_key}")))?
    else {
        return Ok(Read::Found(None));
    };
    let corrupt = |what: &str, e: std::io::Error| {
        Error::Unavailable("blob store", format!("{what}: {e}").into())
    };
    let index = snapshot::Index::decode(&index).map_err(|e| corrupt(&index_key, e))?;
    let Some(block) = index.block_of(subject) else {
        return Ok(Read::Found(None));
    };
    let Some(bytes) = state
        .read_range(&key, block.start, block.end)
        .await
        .map_err(blob(format!("reading baseline {key}")))?
    else {
        return Ok(Read::Replaced);
    };
    match block.find(&bytes, subject) {
        Ok(entry) => Ok(Read::Found(entry.map(|e| (day, Box::new(e))))),
        Err(e) if e.get_ref().is_some_and(|e| e.is::<snapshot::Mismatch>()) => Ok(Read::Replaced),
        Err(e) => Err(corrupt(&key, e)),
    }
}

/// A part's stored baseline generations, oldest first, and the indexes stored without their
/// baseline (a day abandoned between the two puts, or a generation removed before its index).
struct Generations {
    kept: Vec<(NaiveDate, String)>,
    orphaned: Vec<(NaiveDate, String)>,
}

async fn generations(state: &dyn Blobs, part: &str) -> Result<Generations> {
    let prefix = format!("baselines/{part}/");
    let keys = state
        .list(&prefix)
        .await
        .map_err(blob(format!("listing the baselines {prefix}")))?;
    let dated = |k: &String, suffix: &str| -> Option<NaiveDate> {
        k.rsplit('/').next()?.strip_suffix(suffix)?.parse().ok()
    };
    let mut kept: Vec<(NaiveDate, String)> = keys
        .iter()
        .filter_map(|k| Some((dated(k, ".base")?, k.clone())))
        .collect();
    kept.sort();
    let orphaned = keys
        .iter()
        .filter_map(|k| Some((dated(k, ".idx")?, k.clone())))
        .filter(|(day, _)| kept.binary_search_by_key(day, |(d, _)| *d).is_err())
        .collect();
    Ok(Generations { kept, orphaned })
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartReport {
    pub part: String,
    /// The baseline day this part was compared with (none on the first run).
    pub baseline: Option<NaiveDate>,
    pub stats: PartStatsView,
    pub hits: u64,
    pub withheld: u64,
    pub duplicates: u64,
    /// Bureau profiles written (watched subjects handed on whose record changed).
    #[serde(default)]
    pub profiles: u64,
    /// `ClientDataChanged` events written (a client's new differences with the bureau).
    #[serde(default)]
    pub client_data_changes: u64,
    /// Fields of clients the bureau's changes were applied to.
    #[serde(default)]
    pub applied: u64,
    /// Why the part failed (a corrupt file): nothing of it but the hits of the lines before the
    /// fault was recorded, and its baseline stays as it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// The diff's figures as stored and printed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartStatsView {
    pub lines: u64,
    pub unchanged: u64,
    pub changed: u64,
    pub first_seen: u64,
    pub new_facts: u64,
    pub bad: u64,
    pub bad_lines: Vec<(u64, String)>,
    /// Lines out of subject order: diffed all the same, by a sorted pass.
    #[serde(default)]
    pub out_of_order: u64,
    #[serde(default)]
    pub out_of_order_lines: Vec<(u64, String)>,
}

impl From<PartStats> for PartStatsView {
    fn from(s: PartStats) -> Self {
        Self {
            lines: s.lines,
            unchanged: s.unchanged,
            changed: s.changed,
            first_seen: s.first_seen,
            new_facts: s.new_facts,
            bad: s.bad,
            bad_lines: s
                .bad_lines
                .into_iter()
                .map(|b| (b.line, b.message))
                .collect(),
            out_of_order: s.out_of_order,
            out_of_order_lines: s
                .out_of_order_lines
                .into_iter()
                .map(|b| (b.line, b.message))
                .collect(),
        }
    }
}

/// Turns changed subjects into hits for every monitor that asks for them.
struct Recorder<'a> {
    svc: &'a Services,
    day: NaiveDate,
    /// The part's name.
    part: String,
    tenants: HashMap<String, Option<Tenant>>,
    /// Digest markers already written, by tenant.
    marked: HashMap<String, BTreeSet<NaiveDate>>,
    total: Recorded,
    /// Subjects asked for (sorted), and those of them this part handed on.
    wanted: Arc<Vec<String>>,
    wanted_seen: Vec<String>,
    profiles: Written,
}

impl Recorder<'_> {
    async fn tenant(&mut self, id: &str) -> Result<Option<Tenant>> {
        if let Some(t) = self.tenants.get(id) {
            return Ok(t.clone());
        }
        let tenant = match tenants::get(self.svc.table.as_ref(), id).await {
            Ok(t) => Some(t),
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        self.tenants.insert(id.to_owned(), tenant.clone());
        Ok(tenant)
    }

    async fn changes(&mut self, changes: Vec<Change>) -> Result<()> {
        let subjects: Vec<String> = changes.iter().map(|c| c.subject.clone()).collect();
        let watchers = watchers_of(self.svc, &subjects).await?;
        let now = self.svc.clock.now();
        let mut by_tenant: HashMap<String, Vec<Hit>> = HashMap::new();
        let mut seen = Vec::new();
        for (change, watchers) in changes.iter().zip(watchers) {
            if self.wanted.binary_search(&change.subject).is_ok() {
                self.wanted_seen.push(change.subject.clone());
            }
            if !watchers.watchers.is_empty() {
                seen.push(Seen {
                    subject: change.subject.clone(),
                    part: self.part.clone(),
                    record: change.record.clone(),
                    watchers: watchers.watchers.clone(),
                });
            }
            for w in watchers.watchers {
                let Some(tenant) = self.tenant(&w.tenant_id).await? else {
                    continue;
                };
                let due = w.frequency.due_on(self.day);
                for fact in &change.facts {
                    if fact_filter(&tenant.spec.monitoring, fact.kind, fact.change.as_ref())
                        == KindFilter::Hit
                    {
                        by_tenant
                            .entry(w.tenant_id.clone())
                            .or_default()
                            .push(Hit::new(
                                &tenant,
                                &w.client_id,
                                &change.subject,
                                &change.name,
                                fact,
                                self.day,
                                due,
                                now,
                            ));
                    }
                }
            }
        }
        let month = self.day.format("%Y-%m").to_string();
        for (tenant_id, hits) in by_tenant {
            let tenant = self.tenant(&tenant_id).await?.expect("cached above");
            let marked = self.marked.entry(tenant_id).or_default();
            let r = hits::record(self.svc, &tenant, &month, hits, marked).await?;
            self.total.recorded += r.recorded;
            self.total.withheld += r.withheld;
            self.total.duplicates += r.duplicates;
        }
        // The watched subjects' bureau profiles, after their hits (every watching tenant is
        // cached by now).
        for s in &seen {
            for w in &s.watchers {
                self.tenant(&w.tenant_id).await?;
            }
        }
        let w = profiles::record(self.svc, self.day, &self.tenants, seen).await?;
        self.profiles.profiles += w.profiles;
        self.profiles.events += w.events;
        self.profiles.applied += w.applied;
        Ok(())
    }
}

/// Counts the bytes a decoder took from the compressed file, to say where it was corrupt.
struct Counted<R> {
    inner: R,
    consumed: Arc<AtomicU64>,
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.fetch_add(n as u64, AtomicOrdering::Relaxed);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.consumed.fetch_add(amt as u64, AtomicOrdering::Relaxed);
        self.inner.consume(amt);
    }
}

/// A blob store failure, saying what was being done to which file.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct BlobAt {
    what: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl BlobAt {
    fn new(what: impl Into<String>, e: BlobError) -> Self {
        let source = match e {
            BlobError::Unavailable(inner) => inner,
            other => Box::new(other),
        };
        Self {
            what: what.into(),
            source,
        }
    }
}

/// Maps a blob store failure to the domain's, naming what was done to which file.
pub(super) fn blob(what: impl Into<String>) -> impl FnOnce(BlobError) -> Error {
    move |e| Error::Unavailable("blob store", Box::new(BlobAt::new(what, e)))
}

/// Whether an error of a part worker is the feed part's own fault (corrupt or unreadable
/// content), which running it again will not mend until the bureau delivers the part anew.
pub fn is_feed_fault(e: &Error) -> bool {
    matches!(e, Error::Invalid { field, .. } if field.starts_with("feed part "))
}

/// The report of a part whose diff failed: counted done (so the plan completes and the other
/// parts' hits reach the digest) with the failure in it; its old baseline stays.
pub fn failed_report(part_key: &str, error: &Error) -> PartReport {
    PartReport {
        part: part_name(part_key).to_owned(),
        failed: Some(crate::schedule::full_message(error)),
        ..PartReport::default()
    }
}

/// Diffs one feed part of day D against its baseline, records the hits, and stores the part's
/// new baseline. A part whose lines are out of subject order is diffed a second time, sorted
/// (see `diff`); a part that cannot be read to its end (a corrupt gzip file) fails with an
/// `Error::Invalid` naming the part, the line and, for gzip, the compressed byte where it broke
/// ([`is_feed_fault`]); the hits of the lines before that are recorded, the old baseline stays.
pub async fn run_part(
    svc: &Services,
    sources: &Sources,
    day: NaiveDate,
    part_key: &str,
) -> Result<PartReport> {
    let part = part_name(part_key).to_owned();
    let Some(opened) = sources
        .feeds
        .open(part_key)
        .await
        .map_err(blob(format!("opening feed part {part_key}")))?
    else {
        return Err(Error::invalid(
            format!("feed part {part_key}"),
            "there is no such file in the feed bucket",
        ));
    };
    let Generations { mut kept, orphaned } = generations(sources.state.as_ref(), &part)
        .await
        .map_err(|e| with_part(e, part_key))?;
    let previous_day = kept.iter().rfind(|(d, _)| *d < day).cloned();
    let scratch_error = |e: std::io::Error| {
        Error::Unavailable(
            "feed part worker",
            format!("a scratch file for feed part {part_key}: {e}").into(),
        )
    };
    let scratch = tempfile::NamedTempFile::new().map_err(scratch_error)?;
    let scratch_path = scratch.path().to_owned();
    let gzip = part_key.ends_with(".gz");
    let wanted = Arc::new(
        profiles::wanted(svc)
            .await
            .map_err(|e| with_part(e, part_key))?,
    );
    let wanted_by_diff = wanted.clone();
    let (tx, mut rx) = mpsc::channel::<Vec<Change>>(4);
    let consumed = Arc::new(AtomicU64::new(0));

    let handle = tokio::runtime::Handle::current();
    let (feeds, state) = (sources.feeds.clone(), sources.state.clone());
    let (key, previous_key) = (part_key.to_owned(), previous_day.clone().map(|(_, k)| k));
    let counter = consumed.clone();
    let diff =
        tokio::task::spawn_blocking(move || -> std::io::Result<(PartStats, snapshot::Index)> {
            // The part as opened above for the first pass; opened again for a sorted pass.
            let mut opened = Some(opened);
            let open_feed = || -> std::io::Result<Box<dyn BufRead>> {
                let feed = match opened.take() {
                    Some(feed) => feed,
                    None => handle
                        .block_on(feeds.open(&key))
                        .map_err(|e| {
                            std::io::Error::other(BlobAt::new(
                                format!("opening feed part {key}"),
                                e,
                            ))
                        })?
                        .ok_or_else(|| std::io::Error::other(format!("feed part {key} is gone")))?,
                };
                let feed = BufReader::with_capacity(READ_BUFFER, SyncIoBridge::new(feed));
                Ok(if gzip {
                    counter.store(0, AtomicOrdering::Relaxed);
                    let counted = Counted {
                        inner: feed,
                        consumed: counter.clone(),
                    };
                    Box::new(BufReader::with_capacity(
                        1 << 16,
                        flate2::bufread::MultiGzDecoder::new(counted),
                    ))
                } else {
                    Box::new(feed)
                })
            };
            let open_previous = || match &previous_key {
                Some(k) => match handle.block_on(state.open(k)) {
                    Ok(Some(p)) => Ok(Some(snapshot::Reader::new(BufReader::with_capacity(
                        READ_BUFFER,
                        SyncIoBridge::new(p),
                    ))?)),
                    Ok(None) => Err(std::io::Error::other(format!("baseline {k} is gone"))),
                    Err(e) => Err(std::io::Error::other(BlobAt::new(
                        format!("opening baseline {k}"),
                        e,
                    ))),
                },
                None => Ok(None),
            };
            let new_out = || {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&scratch_path)?;
                snapshot::Writer::new(BufWriter::with_capacity(1 << 16, file))
            };
            let mut batch = Vec::with_capacity(BATCH);
            let stopped = || std::io::Error::other("the hit recorder stopped");
            let (stats, out) = diff_any_order(
                open_feed,
                open_previous,
                new_out,
                SORT_BUDGET,
                &wanted_by_diff,
                |change| {
                    batch.push(change);
                    if batch.len() >= BATCH {
                        tx.blocking_send(std::mem::take(&mut batch))
                            .map_err(|_| stopped())?;
                    }
                    Ok(())
                },
            )?;
            if !batch.is_empty() {
                tx.blocking_send(batch).map_err(|_| stopped())?;
            }
            let index = out.index();
            out.finish()?
                .into_inner()
                .map_err(|e| e.into_error())?
                .sync_all()?;
            Ok((stats, index))
        });

    let mut recorder = Recorder {
        svc,
        day,
        part: part.clone(),
        tenants: HashMap::new(),
        marked: HashMap::new(),
        total: Recorded::default(),
        wanted,
        wanted_seen: Vec::new(),
        profiles: Written::default(),
    };
    let mut failure = None;
    while let Some(changes) = rx.recv().await {
        if let Err(e) = recorder.changes(changes).await {
            failure = Some(e);
            break;
        }
    }
    drop(rx);
    let stats = diff
        .await
        .map_err(|e| Error::Unavailable("feed part worker", Box::new(e)));
    if let Some(e) = failure {
        return Err(with_part(e, part_key));
    }
    let (stats, index) = stats?.map_err(|e| {
        let corrupt = matches!(
            e.kind(),
            std::io::ErrorKind::InvalidData
                | std::io::ErrorKind::InvalidInput
                | std::io::ErrorKind::UnexpectedEof
        );
        match LineError::of(&e) {
            Some(at) if corrupt => {
                let byte = if gzip {
                    format!(
                        " (near byte {} of the compressed file)",
                        consumed.load(AtomicOrdering::Relaxed)
                    )
                } else {
                    String::new()
                };
                Error::invalid(
                    format!("feed part {part_key}"),
                    format!(
                        "cannot be read past line {}{byte}: {}; the hits of the lines before it are recorded, the part's baseline is kept as it was",
                        at.line - 1,
                        at.source
                    ),
                )
            }
            _ => Error::Unavailable(
                "feed part worker",
                format!("feed part {part_key}: {}", crate::schedule::full_message(&e)).into(),
            ),
        }
    })?;
    // The hits are durable before the baseline that no longer shows them as new.
    svc.table
        .sync()
        .await
        .map_err(|e| with_part(e.into(), part_key))?;

    let written = baseline_key(&part, day);
    // The index first: a baseline is never found without its index.
    let index_written = index_key(&written);
    sources
        .state
        .put(&index_written, index.encode())
        .await
        .map_err(blob(format!(
            "storing baseline index {index_written} of feed part {part_key}"
        )))?;
    sources
        .state
        .put_scratch(&written, scratch.into_temp_path())
        .await
        .map_err(blob(format!(
            "storing baseline {written} of feed part {part_key}"
        )))?;
    // The subjects asked for are found: their profiles are written and durable.
    profiles::done_wanting(svc, std::mem::take(&mut recorder.wanted_seen))
        .await
        .map_err(|e| with_part(e, part_key))?;
    if let Err(at) = kept.binary_search_by_key(&day, |(d, _)| *d) {
        kept.insert(at, (day, written));
    }
    if kept.len() > KEEP_GENERATIONS {
        for (_, key) in &kept[..kept.len() - KEEP_GENERATIONS] {
            sources
                .state
                .delete(key)
                .await
                .map_err(blob(format!("removing old baseline {key}")))?;
            let index = index_key(key);
            sources
                .state
                .delete(&index)
                .await
                .map_err(blob(format!("removing old baseline index {index}")))?;
        }
    }
    // An index without its baseline is removed once its day is older than every generation
    // kept (a younger one may be another run's, between its two puts).
    let oldest = kept[kept.len().saturating_sub(KEEP_GENERATIONS)].0;
    for (_, index) in orphaned.iter().filter(|(d, _)| *d < oldest) {
        sources.state.delete(index).await.map_err(blob(format!(
            "removing baseline index {index} without its baseline"
        )))?;
    }
    Ok(PartReport {
        part,
        baseline: previous_day.map(|(d, _)| d),
        stats: stats.into(),
        hits: recorder.total.recorded,
        withheld: recorder.total.withheld,
        duplicates: recorder.total.duplicates,
        profiles: recorder.profiles.profiles,
        client_data_changes: recorder.profiles.events,
        applied: recorder.profiles.applied,
        failed: None,
    })
}

/// Says which part a store failure happened in.
fn with_part(e: Error, part_key: &str) -> Error {
    match e {
        Error::Store(inner) => Error::Unavailable(
            "table",
            format!(
                "feed part {part_key}: {}",
                crate::schedule::full_message(&inner)
            )
            .into(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Mutex;

    use super::*;
    use crate::adapters::folder::FolderBlobs;
    use crate::domain::monitoring::ScoreValue;
    use crate::ports::blobs::BlobReader;

    const BASE: &str = "baselines/part-0000/2026-11-20.base";
    const INDEX: &str = "baselines/part-0000/2026-11-20.idx";

    /// A baseline of 2,000 subjects (several blocks), every score `value`, and its index.
    fn baseline(value: i32, names: usize) -> (Vec<u8>, Vec<u8>) {
        let mut w = snapshot::Writer::new(Vec::new()).unwrap();
        for n in 0..2_000 {
            w.write(&snapshot::Entry {
                subject: format!("S-{n:05}"),
                name: "x".repeat(names),
                score: Some(ScoreValue {
                    value,
                    band: "C".into(),
                }),
                ..snapshot::Entry::default()
            })
            .unwrap();
        }
        let index = w.index().encode();
        (w.finish().unwrap(), index)
    }

    /// A state folder whose baseline is replaced by `then` right after its index is read, as
    /// when the day is run again meanwhile.
    struct Replaced {
        inner: FolderBlobs,
        then: Mutex<Option<(Vec<u8>, Vec<u8>)>>,
        _dir: tempfile::TempDir,
    }

    #[async_trait::async_trait]
    impl Blobs for Replaced {
        async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
            self.inner.list(prefix).await
        }
        async fn open(&self, key: &str) -> Result<Option<BlobReader>, BlobError> {
            self.inner.open(key).await
        }
        async fn read_range(
            &self,
            key: &str,
            start: u64,
            end: u64,
        ) -> Result<Option<Vec<u8>>, BlobError> {
            let read = self.inner.read_range(key, start, end).await;
            let then = self.then.lock().unwrap().take_if(|_| key == INDEX);
            if let Some((base, index)) = then {
                self.inner.put(INDEX, index).await?;
                self.inner.put(BASE, base).await?;
            }
            read
        }
        async fn put_file(&self, key: &str, path: &Path) -> Result<(), BlobError> {
            self.inner.put_file(key, path).await
        }
        async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
            self.inner.put(key, bytes).await
        }
        async fn delete(&self, key: &str) -> Result<(), BlobError> {
            self.inner.delete(key).await
        }
    }

    async fn store(first: (Vec<u8>, Vec<u8>), then: Option<(Vec<u8>, Vec<u8>)>) -> Replaced {
        let dir = tempfile::tempdir().unwrap();
        let inner = FolderBlobs::new(dir.path());
        inner.put(INDEX, first.1).await.unwrap();
        inner.put(BASE, first.0).await.unwrap();
        Replaced {
            inner,
            then: Mutex::new(then),
            _dir: dir,
        }
    }

    fn score(found: Option<(NaiveDate, snapshot::Entry)>) -> Option<i32> {
        found.and_then(|(_, e)| e.score).map(|s| s.value)
    }

    #[tokio::test]
    async fn a_subjects_entry_is_read_through_the_index_of_the_latest_baseline() {
        let state = store(baseline(612, 3), None).await;
        let found = baseline_entry(&state, "part-0000", "S-01234")
            .await
            .unwrap();
        assert_eq!(
            found.as_ref().map(|(d, _)| d.to_string()).as_deref(),
            Some("2026-11-20")
        );
        assert_eq!(score(found), Some(612));
        let absent = baseline_entry(&state, "part-0000", "S-99999")
            .await
            .unwrap();
        assert!(absent.is_none());
        assert!(
            baseline_entry(&state, "part-0009", "S-01234")
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_baseline_replaced_while_it_is_read_is_read_again() {
        // The day run again meanwhile: longer entries, so every block moved.
        let state = store(baseline(612, 3), Some(baseline(640, 40))).await;
        let found = baseline_entry(&state, "part-0000", "S-01234")
            .await
            .unwrap();
        assert_eq!(score(found), Some(640), "read again, from the new baseline");
        // A baseline that never matches its index is an error, not a wrong entry.
        let (base, _) = baseline(612, 3);
        let (_, index) = baseline(640, 40);
        let state = store((base, index), None).await;
        let err = baseline_entry(&state, "part-0000", "S-01234")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unavailable(..)), "{err:?}");
    }
}
