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
use std::io::{BufReader, BufWriter};
use std::sync::Arc;

use chrono::NaiveDate;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::io::SyncIoBridge;

use super::diff::{Change, PartStats, diff_part};
use super::hits::{self, Hit, Recorded};
use super::monitors::watchers_of;
use super::snapshot;
use crate::Services;
use crate::domain::tenants::{self, Tenant};
use crate::domain::{Error, Result};
use crate::ports::{BlobError, Blobs, Condition, Item, Key, TableError, TxOp, Update};

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

fn io_error(what: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Unavailable("feed part worker", format!("{what}: {e}").into())
}

/// `feeds/2026-11-20/part-0001.ndjson.gz` → `part-0001`.
pub fn part_name(key: &str) -> &str {
    let file = key.rsplit('/').next().unwrap_or(key);
    file.split('.').next().unwrap_or(file)
}

/// The feed parts of day D, in order.
pub async fn list_parts(sources: &Sources, day: NaiveDate) -> Result<Vec<String>> {
    let mut parts = sources.feeds.list(&format!("feeds/{day}/part-")).await?;
    parts.retain(|k| k.ends_with(".ndjson") || k.ends_with(".ndjson.gz"));
    Ok(parts)
}

fn baseline_key(part: &str, day: NaiveDate) -> String {
    format!("baselines/{part}/{day}.base")
}

/// The part's baseline generations, oldest first.
async fn generations(sources: &Sources, part: &str) -> Result<Vec<(NaiveDate, String)>> {
    let keys = sources.state.list(&format!("baselines/{part}/")).await?;
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
        let tenant = match tenants::get(self.svc, id).await {
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
                    if tenant.spec.monitoring.reports(fact.kind) {
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

/// Diffs one feed part of day D against its baseline, records the hits, and stores the part's
/// new baseline.
pub async fn run_part(
    svc: &Services,
    sources: &Sources,
    day: NaiveDate,
    part_key: &str,
) -> Result<PartReport> {
    let part = part_name(part_key).to_owned();
    let feed = sources
        .feeds
        .open(part_key)
        .await?
        .ok_or_else(|| Error::invalid("part", format!("there is no feed part {part_key}")))?;
    let mut kept = generations(sources, &part).await?;
    let previous_day = kept.iter().rfind(|(d, _)| *d < day).cloned();
    let previous = match &previous_day {
        Some((_, key)) => sources.state.open(key).await?,
        None => None,
    };
    let scratch = tempfile::NamedTempFile::new().map_err(io_error("a scratch file"))?;
    let out_file = scratch.reopen().map_err(io_error("a scratch file"))?;
    let gzip = part_key.ends_with(".gz");
    let day_text = day.to_string();
    let (tx, mut rx) = mpsc::channel::<Vec<Change>>(4);

    let diff = tokio::task::spawn_blocking(move || -> std::io::Result<PartStats> {
        let feed = SyncIoBridge::new(feed);
        let feed: Box<dyn std::io::BufRead> = if gzip {
            Box::new(BufReader::with_capacity(
                1 << 16,
                flate2::read::MultiGzDecoder::new(BufReader::with_capacity(READ_BUFFER, feed)),
            ))
        } else {
            Box::new(BufReader::with_capacity(READ_BUFFER, feed))
        };
        let previous = match previous {
            Some(p) => Some(snapshot::Reader::new(BufReader::with_capacity(
                READ_BUFFER,
                SyncIoBridge::new(p),
            ))?),
            None => None,
        };
        let mut out = snapshot::Writer::new(BufWriter::with_capacity(1 << 16, out_file))?;
        let mut batch = Vec::with_capacity(BATCH);
        let stopped = || std::io::Error::other("the hit recorder stopped");
        let stats = diff_part(feed, previous, &mut out, &day_text, |change| {
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
        return Err(e);
    }
    let stats = stats?.map_err(io_error(&format!("feed part {part_key}")))?;
    // The hits are durable before the baseline that no longer shows them as new.
    svc.table.sync().await?;

    let written = baseline_key(&part, day);
    sources.state.put_file(&written, scratch.path()).await?;
    if let Err(at) = kept.binary_search_by_key(&day, |(d, _)| *d) {
        kept.insert(at, (day, written));
    }
    if kept.len() > KEEP_GENERATIONS {
        for (_, key) in &kept[..kept.len() - KEEP_GENERATIONS] {
            sources.state.delete(key).await?;
        }
    }
    Ok(PartReport {
        part,
        baseline: previous_day.map(|(d, _)| d),
        stats: stats.into(),
        hits: recorder.total.recorded,
        withheld: recorder.total.withheld,
        duplicates: recorder.total.duplicates,
    })
}

fn plan_key(day: NaiveDate) -> Key {
    Key::new(format!("RUN#{day}"), "PLAN")
}

fn part_key(day: NaiveDate, run_id: &str, part: &str) -> Key {
    Key::new(format!("RUN#{day}"), format!("PART#{run_id}#{part}"))
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub day: NaiveDate,
    pub run_id: String,
    pub parts: Vec<String>,
}

/// Lists day D's feed parts and records the plan; a new plan for a day replaces the old one,
/// so a day can be replayed.
pub async fn plan(svc: &Services, sources: &Sources, day: NaiveDate) -> Result<Plan> {
    let plan = Plan {
        day,
        run_id: svc.ids.id(),
        parts: list_parts(sources, day).await?,
    };
    let mut item = Item::from_record(plan_key(day), &plan)?;
    item.data.insert("done".into(), json!(0));
    svc.table.put(item, Condition::None).await?;
    Ok(plan)
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

/// Records a part as done; true when it was the plan's last part (the caller then starts the
/// digest). A part reported twice counts once; a part reported again answers true when the
/// plan is complete, because the worker that completed it may have failed to start the digest
/// and its retry must start it (a digest run twice sends nothing twice).
pub async fn part_done(
    svc: &Services,
    day: NaiveDate,
    run_id: &str,
    report: &PartReport,
) -> Result<bool> {
    let ops = vec![
        TxOp::Put(
            Item::from_record(part_key(day, run_id, &report.part), report)?,
            Condition::Absent,
        ),
        TxOp::Update(
            plan_key(day),
            Update::default()
                .add("done", 1)
                .when(Condition::AttrEquals("run_id".into(), json!(run_id))),
        ),
    ];
    match svc.table.transact(ops).await {
        Ok(()) => {}
        // Only the plan's condition failed: the run was replaced by a newer plan of the day.
        Err(TableError::TransactionFailed { failed }) if !failed.contains(&0) => return Ok(false),
        // The part was recorded before: a retry; answer from the plan as it stands.
        Err(TableError::TransactionFailed { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let plan = svc
        .table
        .get(&plan_key(day))
        .await?
        .ok_or(Error::NotFound("plan"))?;
    let done = plan.data.get("done").and_then(|v| v.as_u64()).unwrap_or(0);
    let parts: Plan = plan.record()?;
    Ok(parts.run_id == run_id && done as usize >= parts.parts.len())
}

#[derive(Clone, Debug, Serialize)]
pub struct DayReport {
    pub day: NaiveDate,
    pub parts: Vec<PartReport>,
    pub digests: Vec<super::digest::TenantDigest>,
}

/// Every step of day D in this process, in order: plan, each part, digest. `progress` hears
/// of each step as it finishes.
pub async fn run_day(
    svc: &Services,
    sources: &Sources,
    day: NaiveDate,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<DayReport> {
    let started = std::time::Instant::now();
    let plan = plan(svc, sources, day).await?;
    progress(&format!("{day}: {} feed part(s)", plan.parts.len()));
    let at = || format!("{:.2} s", started.elapsed().as_secs_f64());
    // Parts run side by side, as many as the machine has cores (on Lambda, each part is its
    // own invocation).
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let run_id = plan.run_id.as_str();
    let mut running = futures::stream::iter(plan.parts.iter().map(|key| async move {
        let report = run_part(svc, sources, day, key).await?;
        part_done(svc, day, run_id, &report).await?;
        Ok::<_, Error>(report)
    }))
    .buffer_unordered(workers);
    let mut parts = Vec::with_capacity(plan.parts.len());
    while let Some(report) = running.next().await {
        let report = report?;
        let s = &report.stats;
        progress(&format!(
            "{}: {} lines, {} unchanged, {} first seen, {} changed ({} new facts), {} hits, {} withheld, {} bad line(s) [{}]",
            report.part,
            s.lines,
            s.unchanged,
            s.first_seen,
            s.changed,
            s.new_facts,
            report.hits,
            report.withheld,
            s.bad,
            at()
        ));
        for (line, message) in &s.bad_lines {
            progress(&format!("  {} line {line}: {message}", report.part));
        }
        parts.push(report);
    }
    drop(running);
    parts.sort_by(|a, b| a.part.cmp(&b.part));
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
    })
}
