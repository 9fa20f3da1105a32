//! The daily run: plan day D, diff each feed part, then digest.
//!
//! On Lambda, the plan publishes one `FeedPartReady` event per part; each part worker diffs
//! its part and records itself done; the worker that completes the plan publishes
//! `FeedPartsDone`, which starts the digest. Locally the same steps run in one process.
//!
//! A part worker records its hits before it stores the part's new baseline, so a worker killed
//! half-way leaves the old baseline in place and a re-run finds the same hits, which are
//! already recorded and are skipped.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, BufWriter};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use chrono::NaiveDate;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::io::SyncIoBridge;

use super::diff::{Change, LineError, PartStats, SORT_BUDGET, diff_any_order};
use super::hits::{self, Hit, Recorded};
use super::monitors::watchers_of;
use super::snapshot;
use crate::Services;
use crate::domain::kind_filter::{KindFilter, kind_filter};
use crate::domain::tenants::Tenant;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{
    BlobError, Blobs, Condition, Item, Key, Query, SortKey, TableError, Transaction, TxOp, Update,
};
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

/// The part's baseline generations, oldest first.
async fn generations(sources: &Sources, part: &str) -> Result<Vec<(NaiveDate, String)>> {
    let prefix = format!("baselines/{part}/");
    let keys = sources
        .state
        .list(&prefix)
        .await
        .map_err(blob(format!("listing the baselines {prefix}")))?;
    Ok(keys
        .into_iter()
        .filter_map(|k| {
            let day = k.rsplit('/').next()?.strip_suffix(".base")?.parse().ok()?;
            Some((day, k))
        })
        .collect())
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
    tenants: HashMap<String, Option<Tenant>>,
    /// Digest markers already written, by tenant.
    marked: HashMap<String, BTreeSet<NaiveDate>>,
    total: Recorded,
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
        for (change, watchers) in changes.iter().zip(watchers) {
            for w in watchers.watchers {
                let Some(tenant) = self.tenant(&w.tenant_id).await? else {
                    continue;
                };
                let due = w.frequency.due_on(self.day);
                for fact in &change.facts {
                    if kind_filter(&tenant.spec.monitoring, fact.kind) == KindFilter::Hit {
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
fn blob(what: impl Into<String>) -> impl FnOnce(BlobError) -> Error {
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
    let mut kept = generations(sources, &part)
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
    let (tx, mut rx) = mpsc::channel::<Vec<Change>>(4);
    let consumed = Arc::new(AtomicU64::new(0));

    let handle = tokio::runtime::Handle::current();
    let (feeds, state) = (sources.feeds.clone(), sources.state.clone());
    let (key, previous_key) = (part_key.to_owned(), previous_day.clone().map(|(_, k)| k));
    let counter = consumed.clone();
    let diff = tokio::task::spawn_blocking(move || -> std::io::Result<PartStats> {
        // The part as opened above for the first pass; opened again for a sorted pass.
        let mut opened = Some(opened);
        let open_feed = || -> std::io::Result<Box<dyn BufRead>> {
            let feed = match opened.take() {
                Some(feed) => feed,
                None => handle
                    .block_on(feeds.open(&key))
                    .map_err(|e| {
                        std::io::Error::other(BlobAt::new(format!("opening feed part {key}"), e))
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
        let (stats, out) =
            diff_any_order(open_feed, open_previous, new_out, SORT_BUDGET, |change| {
                batch.push(change);
                if batch.len() >= BATCH {
                    tx.blocking_send(std::mem::take(&mut batch))
                        .map_err(|_| stopped())?;
                }
                Ok(())
            })?;
        if !batch.is_empty() {
            tx.blocking_send(batch).map_err(|_| stopped())?;
        }
        out.finish()?
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        Ok(stats)
    });

    let mut recorder = Recorder {
        svc,
        day,
        tenants: HashMap::new(),
        marked: HashMap::new(),
        total: Recorded::default(),
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
    let stats = stats?.map_err(|e| {
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
    sources
        .state
        .put_file(&written, scratch.path())
        .await
        .map_err(blob(format!(
            "storing baseline {written} of feed part {part_key}"
        )))?;
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
        }
    }
    Ok(PartReport {
        part,
        baseline: previous_day.map(|(d, _)| d),
        stats: stats.into(),
        hits: recorder.total.recorded,
        withheld: recorder.total.withheld,
        duplicates: recorder.total.duplicates,
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub day: NaiveDate,
    pub run_id: String,
    pub parts: Vec<String>,
}

/// Lists day D's feed parts and records the plan; a new plan for a day replaces the old one,
/// so a day can be replayed. The plan counts its parts done and their lines, and holds the
/// claim on publishing `FeedPartsDone` (see [`part_done`]).
pub async fn plan(svc: &Services, sources: &Sources, day: NaiveDate) -> Result<Plan> {
    let plan = Plan {
        day,
        run_id: svc.ids.id(),
        parts: list_parts(sources, day).await?,
    };
    let mut item = Item::from_record(keys::run_plan(day), &plan)?;
    item.data.insert("done".into(), json!(0));
    item.data.insert("lines".into(), json!(0));
    item.data
        .insert(CLAIM.into(), json!(format!("open:{}", plan.run_id)));
    svc.table.put(item, Condition::None).await?;
    Ok(plan)
}

/// What an operator is told when day D has no feed parts: nothing under the day's folder, or
/// files there but no part among them.
pub async fn missing_delivery(sources: &Sources, day: NaiveDate) -> Result<String> {
    let folder = format!("feeds/{day}/");
    let files = sources
        .feeds
        .list(&folder)
        .await
        .map_err(blob(format!("listing {folder}")))?;
    Ok(if files.is_empty() {
        format!(
            "no feed was delivered for {day}: there is nothing under {folder}; no part was diffed and no digest was sent (hits due today go out with the next day's digest)"
        )
    } else {
        format!(
            "the feed of {day} has no parts: {folder} holds {} file(s) but none named part-*.ndjson or part-*.ndjson.gz; no part was diffed and no digest was sent",
            files.len()
        )
    })
}

/// The warnings a part's report calls for: an empty part.
pub fn part_warnings(day: NaiveDate, report: &PartReport) -> Vec<String> {
    let mut warnings = Vec::new();
    if report.failed.is_none() && report.stats.lines == 0 {
        warnings.push(format!(
            "feed part {} of {day} is empty (0 lines); its subjects keep their baselines",
            report.part
        ));
    }
    warnings
}

/// Days looked back for the day a feed is compared with.
const LOOK_BACK: u64 = 7;
/// Records that day D's completed plan counted `lines` feed lines, and warns when that is under
/// half the lines of the latest completed day before it (within a week): a delivery cut short.
/// One write and one query, whatever the number of parts.
pub async fn short_day(svc: &Services, day: NaiveDate, lines: u64) -> Result<Option<String>> {
    let mut data = serde_json::Map::new();
    data.insert("lines".into(), json!(lines));
    svc.table
        .put(
            Item::new(Key::new(keys::FEED_DAYS, day.to_string()), data),
            Condition::None,
        )
        .await?;
    let from = day - chrono::Days::new(LOOK_BACK);
    let before = day - chrono::Days::new(1);
    let page = svc
        .table
        .query(
            Query::partition(keys::FEED_DAYS)
                .sk(SortKey::Between(from.to_string(), before.to_string()))
                .descending()
                .limit(1),
        )
        .await?;
    let Some(item) = page.items.first() else {
        return Ok(None);
    };
    let previous = item.data.get("lines").and_then(|v| v.as_u64()).unwrap_or(0);
    Ok(is_short(lines, previous).then(|| {
        format!(
            "the feed of {day} is short: {lines} line(s), under half of the {previous} of {}; subjects missing from it keep their baselines",
            item.key.sk
        )
    }))
}

/// Whether a day of `lines` feed lines was cut short, next to the `previous` completed day's:
/// under half of them.
fn is_short(lines: u64, previous: u64) -> bool {
    lines * 2 < previous
}

/// The plan's events: one per part, for the part workers.
pub fn part_events(svc: &Services, plan: &Plan) -> Vec<crate::ports::DomainEvent> {
    plan.parts
        .iter()
        .map(|part| {
            crate::ports::DomainEvent::new(
                PART_READY,
                json!({ "day": plan.day, "run_id": plan.run_id, "part": part }),
                svc.clock.now(),
            )
        })
        .collect()
}

/// The plan's attribute that says who publishes `FeedPartsDone`: `open:{run}` until the plan
/// completes, `publishing:{run}:{until}:{token}` while one worker holds the claim (until the
/// Unix second `until`), `published:{run}` once it did. Every change of it is a conditional
/// write on its current value, so exactly one worker holds it at a time.
const CLAIM: &str = "claim";
/// How long a claim on publishing `FeedPartsDone` is held before a retry may take it over (a
/// holder that died between the claim and the publication): longer than one publication, and
/// shorter than Lambda's first retry of an asynchronous invocation (about a minute).
pub const PUBLISH_LEASE_SECONDS: i64 = 50;

/// What recording a part done found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Parts of the plan are still to come, or the plan was replaced by a newer one.
    Pending,
    /// This call completed the plan (or took over a claim whose holder never published): the
    /// caller publishes `FeedPartsDone`, then calls [`published`] with the claim, or
    /// [`release`] when the publication failed so that a retry can claim it. `lines` is the
    /// day's line count, for [`short_day`].
    Complete { claim: String, lines: u64 },
    /// The plan was complete before: its `FeedPartsDone` is published, or being published by
    /// the worker that holds the claim.
    AlreadyComplete,
}

impl Completion {
    /// Whether this call is the one that publishes `FeedPartsDone`.
    pub fn publishes(&self) -> bool {
        matches!(self, Completion::Complete { .. })
    }
}

/// Records a part as done (a part reported twice counts once) and finds out whether it
/// completes the plan. Only one call per plan answers [`Completion::Complete`]: the one whose
/// conditional write flips the plan's claim from open to publishing. A re-delivered or
/// concurrent `FeedPartReady` of a completed plan answers `AlreadyComplete` and publishes
/// nothing; only a claim that was released, or held past its lease by a worker that died, is
/// claimed again.
pub async fn part_done(
    svc: &Services,
    day: NaiveDate,
    run_id: &str,
    report: &PartReport,
) -> Result<Completion> {
    enum Refused {
        Recorded,
        Replaced,
    }
    let mut tx = Transaction::new();
    tx.guarded(
        TxOp::Put(
            Item::from_record(keys::run_part(day, run_id, &report.part), report)?,
            Condition::Absent,
        ),
        Refused::Recorded,
    )
    .guarded(
        TxOp::Update(
            keys::run_plan(day),
            Update::default()
                .add("done", 1)
                .add("lines", report.stats.lines as i64)
                .when(Condition::AttrEquals("run_id".into(), json!(run_id))),
        ),
        Refused::Replaced,
    );
    match tx.try_commit(svc.table.as_ref()).await? {
        Ok(()) => {}
        // The part was recorded before: a retry; answer from the plan as it stands.
        Err(Refused::Recorded) => {}
        // Only the plan's condition failed: the run was replaced by a newer plan of the day.
        Err(Refused::Replaced) => return Ok(Completion::Pending),
    }
    let plan = svc
        .table
        .get(&keys::run_plan(day))
        .await?
        .ok_or(Error::NotFound("plan"))?;
    let done = plan.data.get("done").and_then(|v| v.as_u64()).unwrap_or(0);
    let lines = plan.data.get("lines").and_then(|v| v.as_u64()).unwrap_or(0);
    let parts: Plan = plan.record()?;
    if parts.run_id != run_id || (done as usize) < parts.parts.len() {
        return Ok(Completion::Pending);
    }
    let current = plan
        .data
        .get(CLAIM)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let now = svc.clock.now().timestamp();
    let claimable = if current == format!("open:{run_id}") {
        true
    } else if let Some(rest) = current.strip_prefix(&format!("publishing:{run_id}:")) {
        let until: i64 = rest
            .split(':')
            .next()
            .and_then(|u| u.parse().ok())
            .unwrap_or(0);
        until < now
    } else {
        false
    };
    if !claimable {
        return Ok(Completion::AlreadyComplete);
    }
    let claim = format!(
        "publishing:{run_id}:{}:{}",
        now + PUBLISH_LEASE_SECONDS,
        svc.ids.id()
    );
    match swap_claim(svc, day, &current, &claim).await? {
        true => Ok(Completion::Complete { claim, lines }),
        false => Ok(Completion::AlreadyComplete),
    }
}

/// Changes the plan's claim from `from` to `to`; false when it was no longer `from`.
async fn swap_claim(svc: &Services, day: NaiveDate, from: &str, to: &str) -> Result<bool> {
    let update = Update::default()
        .set(CLAIM, json!(to))
        .when(Condition::AttrEquals(CLAIM.into(), json!(from)));
    match svc.table.update(&keys::run_plan(day), update).await {
        Ok(_) => Ok(true),
        Err(TableError::ConditionFailed(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Records that the holder of `claim` published `FeedPartsDone`: no one publishes it again.
pub async fn published(svc: &Services, day: NaiveDate, run_id: &str, claim: &str) -> Result<()> {
    swap_claim(svc, day, claim, &format!("published:{run_id}")).await?;
    Ok(())
}

/// Gives up `claim` after a failed publication, so that the retry claims it again.
pub async fn release(svc: &Services, day: NaiveDate, run_id: &str, claim: &str) -> Result<()> {
    swap_claim(svc, day, claim, &format!("open:{run_id}")).await?;
    Ok(())
}

#[derive(Clone, Debug, Serialize)]
pub struct DayReport {
    pub day: NaiveDate,
    pub parts: Vec<PartReport>,
    pub digests: Vec<super::digest::TenantDigest>,
    /// What an operator must hear about: a missing delivery, an empty part, a short day.
    pub warnings: Vec<String>,
}

impl DayReport {
    /// Every failed part and every warning, one line each; empty for a clean day.
    pub fn trouble(&self) -> Vec<String> {
        self.parts
            .iter()
            .filter_map(|p| {
                p.failed
                    .as_ref()
                    .map(|f| format!("feed part {} failed: {f}", p.part))
            })
            .chain(self.warnings.iter().cloned())
            .collect()
    }
}

/// Every step of day D in this process, in order: plan, each part, digest. `progress` hears
/// of each step as it finishes. A part that fails is reported in its `PartReport` and the day
/// goes on: the other parts' hits reach the digest. A day without parts sends no digest.
pub async fn run_day(
    svc: &Services,
    sources: &Sources,
    day: NaiveDate,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<DayReport> {
    let started = std::time::Instant::now();
    let plan = plan(svc, sources, day).await?;
    if plan.parts.is_empty() {
        let warning = missing_delivery(sources, day).await?;
        progress(&format!("WARNING: {warning}"));
        return Ok(DayReport {
            day,
            parts: Vec::new(),
            digests: Vec::new(),
            warnings: vec![warning],
        });
    }
    progress(&format!("{day}: {} feed part(s)", plan.parts.len()));
    let at = || format!("{:.2} s", started.elapsed().as_secs_f64());
    // Parts run side by side, as many as the machine has cores (on Lambda, each part is its
    // own invocation).
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let run_id = plan.run_id.as_str();
    let mut running = futures::stream::iter(plan.parts.iter().map(|key| async move {
        let report = match run_part(svc, sources, day, key).await {
            Ok(report) => report,
            Err(e) => failed_report(key, &e),
        };
        let completion = part_done(svc, day, run_id, &report).await?;
        Ok::<_, Error>((report, completion))
    }))
    .buffer_unordered(workers);
    let mut parts = Vec::with_capacity(plan.parts.len());
    let mut warnings = Vec::new();
    let mut day_lines = None;
    while let Some(done) = running.next().await {
        let (report, completion) = done?;
        if let Completion::Complete { lines, .. } = completion {
            day_lines = Some(lines);
        }
        if let Some(failure) = &report.failed {
            progress(&format!(
                "FAILED: feed part {}: {failure} [{}]",
                report.part,
                at()
            ));
            parts.push(report);
            continue;
        }
        let s = &report.stats;
        progress(&format!(
            "{}: {} lines, {} unchanged, {} first seen, {} changed ({} new facts), {} hits, {} withheld, {} bad line(s), {} out of order [{}]",
            report.part,
            s.lines,
            s.unchanged,
            s.first_seen,
            s.changed,
            s.new_facts,
            report.hits,
            report.withheld,
            s.bad,
            s.out_of_order,
            at()
        ));
        for (line, message) in &s.bad_lines {
            progress(&format!("  {} line {line}: {message}", report.part));
        }
        for (line, message) in &s.out_of_order_lines {
            progress(&format!("  {} line {line}: {message}", report.part));
        }
        for warning in part_warnings(day, &report) {
            progress(&format!("WARNING: {warning}"));
            warnings.push(warning);
        }
        parts.push(report);
    }
    drop(running);
    parts.sort_by(|a, b| a.part.cmp(&b.part));
    if let Some(lines) = day_lines
        && let Some(warning) = short_day(svc, day, lines).await?
    {
        progress(&format!("WARNING: {warning}"));
        warnings.push(warning);
    }
    let digests = super::digest::run(svc, day).await?;
    for d in &digests {
        progress(&format!(
            "digest for tenant {}: {} hit(s), {} withheld{} [{}]",
            d.tenant_id,
            d.hits,
            d.withheld,
            d.note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            at()
        ));
    }
    Ok(DayReport {
        day,
        parts,
        digests,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_is_named_by_its_file_without_folder_or_extensions() {
        #[rustfmt::skip]
        let table: &[(&str, &str, &str)] = &[
            // (reason, key, expected name)
            ("a gzipped part", "feeds/2026-11-20/part-0001.ndjson.gz", "part-0001"),
            ("a plain part", "feeds/2026-11-20/part-0002.ndjson", "part-0002"),
            ("a bare file name", "part-0003.ndjson", "part-0003"),
            ("no extension", "feeds/2026-11-20/part-0004", "part-0004"),
        ];
        for (reason, key, expected) in table {
            assert_eq!(part_name(key), *expected, "{reason}");
        }
    }

    #[test]
    fn only_an_invalid_feed_part_is_the_feeds_fault() {
        #[rustfmt::skip]
        let table: &[(&str, Error, bool)] = &[
            ("a corrupt part", Error::invalid("feed part part-0001 line 7", "corrupt gzip"), true),
            ("another invalid field", Error::invalid("subject", "too long"), false),
            ("a conflict", Error::Conflict("feed part part-0001".into()), false),
        ];
        for (reason, error, expected) in table {
            assert_eq!(is_feed_fault(error), *expected, "{reason}");
        }
    }

    #[test]
    fn a_failed_part_is_reported_done_with_its_failure_and_nothing_counted() {
        let error = Error::invalid("feed part part-0001 line 7", "corrupt gzip");
        let report = failed_report("feeds/2026-11-20/part-0001.ndjson.gz", &error);
        assert_eq!(report.part, "part-0001");
        assert_eq!(report.failed.as_deref(), Some(error.to_string().as_str()));
        assert_eq!((report.hits, report.stats.lines), (0, 0));
    }

    #[test]
    fn only_an_empty_part_that_did_not_fail_is_warned_of() {
        let day: NaiveDate = "2026-11-20".parse().unwrap();
        let report = |lines: u64, failed: Option<&str>| PartReport {
            part: "part-0001".into(),
            failed: failed.map(str::to_owned),
            stats: PartStatsView {
                lines,
                ..PartStatsView::default()
            },
            ..PartReport::default()
        };
        assert_eq!(
            part_warnings(day, &report(0, None)),
            vec![
                "feed part part-0001 of 2026-11-20 is empty (0 lines); its subjects keep their \
                 baselines"
                    .to_owned()
            ]
        );
        assert!(part_warnings(day, &report(1, None)).is_empty());
        assert!(part_warnings(day, &report(0, Some("corrupt"))).is_empty());
    }

    #[test]
    fn a_day_under_half_the_previous_days_lines_is_short() {
        #[rustfmt::skip]
        let table: &[(&str, u64, u64, bool)] = &[
            // (reason, lines today, lines of the previous day, short?)
            ("as many as before", 1000, 1000, false),
            ("exactly half", 500, 1000, false),
            ("one under half", 499, 1000, true),
            ("an empty day after a full one", 0, 1000, true),
            ("more than before", 2000, 1000, false),
            ("the previous day was empty", 0, 0, false),
        ];
        for &(reason, lines, previous, short) in table {
            assert_eq!(is_short(lines, previous), short, "{reason}");
        }
    }
}
