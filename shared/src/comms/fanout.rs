//! The communications run fanned out, as on Lambda: the scheduled step plans day D (works
//! through the unsharded list of earlier versions itself, alone, then records the plan and
//! hands each shard to a worker through a queue, SQS on Lambda); each worker works through its
//! shard ([`work`]) and records it done, once; the worker that completes the plan takes the
//! day's last step (the statement waiting list, the outbox's leftovers).
//!
//! Exactly once still holds: every message is claimed per (message, contact, channel) before
//! it is sent ([`super::deliver`]), so a shard handed over twice (the queue delivers at least
//! once), two workers on one shard, or a worker cut off by its timeout half-way and its shard
//! delivered again send nothing twice; the shard's "done" marker is written only if absent, so
//! the plan counts it once. A shard in which an invoice failed is reported failed to the queue,
//! which delivers it again (then its dead-letter queue keeps it); a failed invoice also keeps
//! tenants on the statement waiting list, so the next run sends what was left.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::run::{self, Report};
use crate::Services;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{Condition, Item, TableError, Transaction, TxOp, Update, WorkQueue};

/// One shard of a planned day, as a queue message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardWork {
    pub day: NaiveDate,
    pub run_id: String,
    pub list: String,
    /// Where the worker before stopped, its time up (none: the shard from its start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<run::Resume>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Plan {
    run_id: String,
    lists: u64,
}

/// What planning did: the unsharded list's lines and figures, and the shards handed over.
pub struct Planned {
    pub run_id: String,
    pub lines: Vec<String>,
    pub report: Report,
    pub shards: usize,
}

/// Plans day `day`: the unsharded list here, then one message per shard on `queue`. A plan
/// made again (a retry, a replay) replaces the earlier one; shards of the earlier one still in
/// the queue are worked (nothing is sent twice) but count for no plan.
pub async fn plan(svc: &Services, queue: &dyn WorkQueue, day: NaiveDate) -> Result<Planned> {
    let month = day.format("%Y-%m").to_string();
    let waiting = run::waiting_list(svc, &month).await?;
    let now = svc.clock.now();
    let mut lists = keys::open_lists().into_iter();
    let unsharded = lists.next().expect("the unsharded list comes first");
    let (lines, result) = run::run_list(svc, day, now, &month, &waiting, unsharded).await;
    let report = result?;
    let shards: Vec<String> = lists.collect();
    let run_id = svc.ids.id();
    let mut item = Item::from_record(
        keys::comms_plan(day),
        &Plan {
            run_id: run_id.clone(),
            lists: shards.len() as u64,
        },
    )?;
    item.data.insert("done".into(), json!(0));
    item.data.insert("errors".into(), json!(report.errors));
    item.data.insert("finished".into(), json!(false));
    svc.table.put(item, Condition::None).await?;
    let messages = shards
        .iter()
        .map(|list| {
            serde_json::to_string(&ShardWork {
                day,
                run_id: run_id.clone(),
                list: list.clone(),
                resume: None,
            })
            .expect("a shard's work serialises")
        })
        .collect::<Vec<_>>();
    queue
        .enqueue(&messages)
        .await
        .map_err(|e| Error::Unavailable("work queue", Box::new(e)))?;
    Ok(Planned {
        run_id,
        lines,
        report,
        shards: shards.len(),
    })
}

/// What a worker did with its shard.
pub struct Worked {
    pub lines: Vec<String>,
    pub report: Report,
    /// This worker completed the plan and took the day's last step.
    pub finished: bool,
    /// The worker's time ran out before the shard's end: the shard went back to the queue, to
    /// be worked on by the next worker (nothing done is done again: every step is once-only,
    /// and an invoice that had a message today has had its turn).
    pub handed_on: bool,
}

/// A worker's time: past `stop_at` it ends after the page in hand and hands its shard back to
/// `queue`. On Lambda, the invocation's deadline less a margin for a page and the hand-over.
pub struct Until<'a> {
    pub stop_at: DateTime<Utc>,
    pub queue: &'a dyn WorkQueue,
}

/// Works through one shard of a planned day and records it done; the worker that completes
/// the plan takes the day's last step.
pub async fn work(svc: &Services, shard: &ShardWork) -> Result<Worked> {
    work_until(svc, shard, None).await
}

/// [`work`], stopping in time: a worker whose `until` passes hands its shard on (the same
/// message again) instead of recording it done, so a shard larger than one invocation's work
/// is finished by several, one after another, instead of being cut off by the timeout and
/// delivered again only as often as the queue allows.
pub async fn work_until(
    svc: &Services,
    shard: &ShardWork,
    until: Option<Until<'_>>,
) -> Result<Worked> {
    let day = shard.day;
    let month = day.format("%Y-%m").to_string();
    let waiting = run::waiting_list(svc, &month).await?;
    let now = svc.clock.now();
    let stop_at = until.as_ref().map(|u| u.stop_at);
    let resume = shard.resume.clone().unwrap_or_default();
    let (lines, result) = run::run_list_from(
        svc,
        day,
        now,
        &month,
        &waiting,
        shard.list.clone(),
        stop_at,
        resume,
    )
    .await;
    let (report, left) = result?;
    if let (Some(until), Some(left)) = (until, left) {
        let rest = ShardWork {
            resume: Some(left),
            ..shard.clone()
        };
        let message = serde_json::to_string(&rest).expect("a shard's work serialises");
        until
            .queue
            .enqueue(&[message])
            .await
            .map_err(|e| Error::Unavailable("work queue", Box::new(e)))?;
        return Ok(Worked {
            lines,
            report,
            finished: false,
            handed_on: true,
        });
    }
    finish_shard(svc, shard, now, lines, report, waiting).await
}

/// A shard worked to its end: recorded done (unless an invoice failed), and the day's last
/// step when it completes the plan.
async fn finish_shard(
    svc: &Services,
    shard: &ShardWork,
    now: DateTime<Utc>,
    mut lines: Vec<String>,
    mut report: Report,
    waiting: std::collections::HashSet<String>,
) -> Result<Worked> {
    let day = shard.day;
    let month = day.format("%Y-%m").to_string();
    // A shard with a failed invoice is not done: the queue delivers it again (nothing already
    // sent is sent again).
    let errors = match report.errors {
        0 => completes_plan(svc, shard).await?,
        _ => None,
    };
    let Some(errors) = errors else {
        return Ok(Worked {
            lines,
            report,
            finished: false,
            handed_on: false,
        });
    };
    let (last_lines, last) = run::finish(svc, day, now, &month, waiting, errors).await?;
    lines.extend(last_lines);
    report.events_published += last.events_published;
    report.events_waiting += last.events_waiting;
    Ok(Worked {
        lines,
        report,
        finished: true,
        handed_on: false,
    })
}

/// Records `shard` done (once) and, when it completes its plan, claims the day's last step:
/// the plan's failed invoices then (for the statement waiting list), or none when another
/// delivery counted it, the plan was replaced, shards are still to come, or another worker
/// holds the claim. Were the claimant cut off before the last step, nothing is lost: the
/// waiting list stays (the next run's statements are once-only) and the next run publishes
/// the outbox.
async fn completes_plan(svc: &Services, shard: &ShardWork) -> Result<Option<u64>> {
    let day = shard.day;
    enum Refused {
        Counted,
        Replaced,
    }
    let mut tx = Transaction::new();
    tx.guarded(
        TxOp::Put(
            Item::new(
                keys::comms_list_done(day, &shard.run_id, &shard.list),
                Default::default(),
            ),
            Condition::Absent,
        ),
        Refused::Counted,
    )
    .guarded(
        TxOp::Update(
            keys::comms_plan(day),
            Update::default()
                .add("done", 1)
                .when(Condition::AttrEquals("run_id".into(), json!(shard.run_id))),
        ),
        Refused::Replaced,
    );
    if tx.try_commit(svc.table.as_ref()).await?.is_err() {
        return Ok(None);
    }
    let Some(plan_item) = svc.table.get(&keys::comms_plan(day)).await? else {
        return Ok(None);
    };
    let plan: Plan = plan_item.record()?;
    let number = |field: &str| {
        plan_item
            .data
            .get(field)
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
    };
    if plan.run_id != shard.run_id || number("done") < plan.lists {
        return Ok(None);
    }
    let claim = Update::default()
        .set("finished", json!(true))
        .when(Condition::AttrEquals("finished".into(), json!(false)));
    match svc.table.update(&keys::comms_plan(day), claim).await {
        Ok(_) => Ok(Some(number("errors"))),
        Err(TableError::ConditionFailed(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
