//! A day's plan: the feed parts found, the parts done (each once, by its claim), the claim on
//! publishing `FeedPartsDone`, and the checks on the bureau's delivery (missing, empty or short
//! days).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Services;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{Condition, Item, Key, Query, SortKey, TableError, Transaction, TxOp, Update};

/// Changes handed from the diff to the hit recorder at a time: their hits are written
use super::*;

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
pub(super) fn is_short(lines: u64, previous: u64) -> bool {
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

/// Records that day D's digests went out for the plan `run_id` (a newer plan of the day is
/// left as it is: it has its own digest to send).
pub async fn digested(svc: &Services, day: NaiveDate, run_id: &str) -> Result<()> {
    let update = Update::default()
        .set("digested", json!(true))
        .when(Condition::AttrEquals("run_id".into(), json!(run_id)));
    match svc.table.update(&keys::run_plan(day), update).await {
        Ok(_) | Err(TableError::ConditionFailed(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// How far day D's run has come, for the operator's deadline check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// No plan: the schedule has not run (or the bureau's delivery was missing).
    NotPlanned,
    /// Planned; `done` of `parts` parts diffed, digests not yet sent.
    Running { parts: usize, done: u64 },
    /// Every part diffed and the digests sent.
    Finished,
}

impl Progress {
    /// What the operator is told when the run is late.
    pub fn describe(&self, day: NaiveDate) -> String {
        match self {
            Progress::NotPlanned => format!(
                "the monitoring run of {day} has not started: no plan (did the schedule run, was the feed delivered?)"
            ),
            Progress::Running { parts, done } if (*done as usize) < *parts => format!(
                "the monitoring run of {day} is not finished: {done} of {parts} feed part(s) diffed"
            ),
            Progress::Running { .. } => format!(
                "the monitoring run of {day} is not finished: every part is diffed but the digests have not been sent"
            ),
            Progress::Finished => format!("the monitoring run of {day} is finished"),
        }
    }
}

/// Reads day D's plan: has its run finished (digests sent)?
pub async fn progress(svc: &Services, day: NaiveDate) -> Result<Progress> {
    let Some(item) = svc.table.get(&keys::run_plan(day)).await? else {
        return Ok(Progress::NotPlanned);
    };
    if item.data.get("digested").and_then(|v| v.as_bool()) == Some(true) {
        return Ok(Progress::Finished);
    }
    let plan: Plan = item.record()?;
    let done = item.data.get("done").and_then(|v| v.as_u64()).unwrap_or(0);
    Ok(Progress::Running {
        parts: plan.parts.len(),
        done,
    })
}

/// Records that the digests of the plan `run_id` were handed to `tenants` workers (none: the
/// digests are done). A newer plan of the day is left as it is. Done again (a retried step),
/// it keeps the count of digests already done.
pub async fn digests_handed_out(
    svc: &Services,
    day: NaiveDate,
    run_id: &str,
    tenants: usize,
) -> Result<()> {
    let update = Update::default()
        .set("digests", json!(tenants))
        .when(Condition::AttrEquals("run_id".into(), json!(run_id)));
    match svc.table.update(&keys::run_plan(day), update).await {
        Ok(_) | Err(TableError::ConditionFailed(_)) => {}
        Err(e) => return Err(e.into()),
    }
    if tenants == 0 {
        digested(svc, day, run_id).await?;
    }
    Ok(())
}

/// Records one tenant's digest of the plan `run_id` done (a tenant's digest done twice counts
/// once); when it is the last, the day's digests are recorded sent ([`digested`]). True when
/// this call completed them.
pub async fn digest_done(
    svc: &Services,
    day: NaiveDate,
    run_id: &str,
    tenant_id: &str,
) -> Result<bool> {
    enum Refused {
        Counted,
        Replaced,
    }
    let mut tx = Transaction::new();
    tx.guarded(
        TxOp::Put(
            Item::new(
                keys::run_digest_done(day, run_id, tenant_id),
                Default::default(),
            ),
            Condition::Absent,
        ),
        Refused::Counted,
    )
    .guarded(
        TxOp::Update(
            keys::run_plan(day),
            Update::default()
                .add("digests_done", 1)
                .when(Condition::AttrEquals("run_id".into(), json!(run_id))),
        ),
        Refused::Replaced,
    );
    match tx.try_commit(svc.table.as_ref()).await? {
        Ok(()) => {}
        Err(Refused::Counted) | Err(Refused::Replaced) => return Ok(false),
    }
    let Some(plan) = svc.table.get(&keys::run_plan(day)).await? else {
        return Ok(false);
    };
    let number = |field: &str| plan.data.get(field).and_then(|v| v.as_u64()).unwrap_or(0);
    if number("digests_done") < number("digests") {
        return Ok(false);
    }
    digested(svc, day, run_id).await?;
    Ok(true)
}
