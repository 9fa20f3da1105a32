//! The daily communications run on Lambda: one invocation runs one day
//! (`clientwatch::comms::run::run_day`), for every tenant.
//!
//! The day comes from the invocation, read as the daily monitoring run reads its own: the
//! schedule's `{"time": "<RFC 3339>"}` (EventBridge Scheduler) or a classic "Scheduled Event"
//! names the date of that instant in the configured zone; `{"day": "YYYY-MM-DD"}` replays a day
//! by hand. A run is safe to repeat (nothing is sent twice), so an invocation in which some
//! invoice failed answers with an error: Lambda retries it, then the dead-letter queue keeps it.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use clientwatch::Services;
use clientwatch::comms::fanout::{self, ShardWork};
use clientwatch::comms::run::{self, Report};
use clientwatch::domain::Error as DomainError;
use clientwatch::ports::WorkQueue;
use clientwatch::schedule::{self, Invocation};
use clientwatch::telemetry::Metrics;
use serde_json::{Value, json};

pub use clientwatch::schedule::SCHEDULED_EVENT;

const EXPECTED: &str = "expected {\"time\": \"<RFC 3339>\"} (the schedule), {\"day\": \"YYYY-MM-DD\"} \
     (a replay), or an EventBridge \"Scheduled Event\"";

/// The payload names no day; retrying it cannot help.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a communications-run input: {0}")]
pub struct InputError(pub String);

fn bad(message: impl Into<String>) -> InputError {
    InputError(message.into())
}

/// The day an invocation asks for; `zone` names the schedule's days.
pub fn day_of(event: &Value, zone: Tz) -> Result<NaiveDate, InputError> {
    match schedule::invocation(event, zone, EXPECTED).map_err(bad)? {
        Invocation::Day(day) => Ok(day),
        Invocation::Event { detail_type, .. } => Err(bad(format!(
            "unexpected detail-type {detail_type}; {EXPECTED}"
        ))),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("the communications run of {day} failed")]
    Run {
        day: NaiveDate,
        #[source]
        source: DomainError,
    },
    #[error(
        "the communications run of {day} left {errors} invoice(s) failed (see the log); a retry sends nothing twice"
    )]
    Incomplete { day: NaiveDate, errors: u64 },
}

impl RunError {
    /// The message with every cause after it, as Lambda records it.
    pub fn full_message(&self) -> String {
        clientwatch::schedule::full_message(self)
    }
}

impl From<RunError> for lambda_runtime::Diagnostic {
    fn from(e: RunError) -> Self {
        let error_type = match &e {
            RunError::Input(_) => "InvalidInput",
            RunError::Run { .. } => "RunFailed",
            RunError::Incomplete { .. } => "RunIncomplete",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: e.full_message(),
        }
    }
}

/// Writes a run's (or a shard's) figures.
fn emit(metrics: &mut Metrics, report: &Report) {
    metrics
        .count("Invoices", report.invoices)
        .count("MessagesSent", report.sent)
        .count("MessagesFailed", report.failed)
        .count("MessagesSkipped", report.skipped)
        .count(
            "StepsDeferred",
            report.deferred_quiet_hours + report.deferred_breathing_space + report.deferred_promise,
        )
        .count("Statements", report.statements)
        .count("InvoiceErrors", report.errors)
        .count("MessagesInterrupted", report.interrupted)
        .emit();
}

/// Queue messages that were no shard (never retried): alarmed.
pub const REJECTED_SHARDS: &str = "RejectedShards";

fn count_rejected() {
    let mut m = Metrics::start(METRICS_NAMESPACE);
    m.count(REJECTED_SHARDS, 1).emit();
}

/// The CloudWatch namespace of the run's figures (one embedded-metric line a run: invoices,
/// messages sent, failed and skipped, steps deferred, duration and store units).
pub const METRICS_NAMESPACE: &str = "clientwatch/CommsRun";

/// How long before the invocation's deadline a shard worker stops and hands the rest of its
/// shard on: a page of invoices (up to 100, at 80 to 200 ms each on AWS, with pacing's waits)
/// and the hand-over itself must fit.
pub const HAND_ON_MARGIN: chrono::Duration = chrono::Duration::seconds(60);

/// What the handler needs, built once per cold start.
pub struct CommsRun {
    pub svc: Services,
    /// The zone whose calendar names the run's days.
    pub time_zone: Tz,
    /// Where the scheduled run hands its shards (SQS); none: it works every shard itself.
    pub queue: Option<std::sync::Arc<dyn WorkQueue>>,
}

impl CommsRun {
    /// Runs the invocation's day; the answer is the run's report (a replay's caller sees it).
    /// With a queue: the schedule (or a replay) plans the day and hands its shards over, and an
    /// SQS batch works through its shards, answering the ones to deliver again.
    ///
    /// `deadline` is the invocation's (Lambda's context): a shard worker still working
    /// [`HAND_ON_MARGIN`] before it hands the rest of its shard back to the queue.
    pub async fn handle(
        &self,
        event: Value,
        deadline: Option<DateTime<Utc>>,
    ) -> Result<Value, RunError> {
        if let Some(records) = event.get("Records").and_then(Value::as_array) {
            let stop_at = deadline.map(|d| d - HAND_ON_MARGIN);
            return Ok(self.shards(records, stop_at).await);
        }
        let result = match &self.queue {
            Some(queue) => self.plan(&event, queue.as_ref()).await,
            None => self.run(&event).await,
        };
        match &result {
            Ok(report) => tracing::info!(report = %report, "communications run done"),
            Err(e) => tracing::error!(error = %e.full_message(), "communications run failed"),
        }
        result
    }

    async fn plan(&self, event: &Value, queue: &dyn WorkQueue) -> Result<Value, RunError> {
        let day = day_of(event, self.time_zone)?;
        let planned = fanout::plan(&self.svc, queue, day)
            .await
            .map_err(|source| RunError::Run { day, source })?;
        for line in &planned.lines {
            tracing::info!(%day, "{line}");
        }
        if planned.report.errors > 0 {
            // The shards are handed over; the unsharded list's failed invoices retry the plan
            // (a new plan replaces this one; nothing is sent twice).
            return Err(RunError::Incomplete {
                day,
                errors: planned.report.errors,
            });
        }
        Ok(
            json!({"day": day, "run_id": planned.run_id, "shards": planned.shards, "unsharded": planned.report}),
        )
    }

    /// An SQS batch of shards: each worked through; the ones that failed (the store, or an
    /// invoice) are answered as batch item failures, so SQS delivers them again.
    async fn shards(&self, records: &[Value], stop_at: Option<DateTime<Utc>>) -> Value {
        let mut failures = Vec::new();
        for record in records {
            let id = record["messageId"].as_str().unwrap_or_default().to_owned();
            let Ok(shard) =
                serde_json::from_str::<ShardWork>(record["body"].as_str().unwrap_or_default())
            else {
                // No retry can mend it; counted and dropped.
                tracing::error!(message_id = %id, "a queue message that is no shard of a run was dropped");
                count_rejected();
                continue;
            };
            let mut metrics = Metrics::start(METRICS_NAMESPACE);
            let until = match (stop_at, &self.queue) {
                (Some(stop_at), Some(queue)) => Some(fanout::Until {
                    stop_at,
                    queue: queue.as_ref(),
                }),
                _ => None,
            };
            match fanout::work_until(&self.svc, &shard, until).await {
                Ok(worked) => {
                    for line in &worked.lines {
                        tracing::info!(day = %shard.day, list = %shard.list, "{line}");
                    }
                    emit(&mut metrics, &worked.report);
                    if worked.handed_on {
                        // The next worker goes on from where this one stopped.
                        tracing::info!(day = %shard.day, list = %shard.list, "the invocation's time is running out; the rest of the shard is handed on");
                    }
                    // Failed invoices are behind the handed-on point: this message is delivered
                    // again for them (nothing done is done again; the shard counts done once).
                    if worked.report.errors > 0 {
                        tracing::warn!(day = %shard.day, list = %shard.list, errors = worked.report.errors, "a shard left invoices failed; SQS delivers it again");
                        failures.push(json!({"itemIdentifier": id}));
                    }
                }
                Err(e) => {
                    tracing::error!(day = %shard.day, list = %shard.list, error = %clientwatch::schedule::full_message(&e), "a shard failed; SQS delivers it again");
                    failures.push(json!({"itemIdentifier": id}));
                }
            }
        }
        json!({"batchItemFailures": failures})
    }

    async fn run(&self, event: &Value) -> Result<Value, RunError> {
        let day = day_of(event, self.time_zone)?;
        let mut metrics = Metrics::start(METRICS_NAMESPACE);
        // A line per step done, deferred or failed and per statement (addresses, masked
        // numbers): what happened to whom, in the function's log.
        let report: Report = run::run_day(
            &self.svc,
            day,
            &mut |line: &str| tracing::info!(%day, "{line}"),
        )
        .await
        .map_err(|source| RunError::Run { day, source })?;
        emit(&mut metrics, &report);
        if report.interrupted > 0 {
            tracing::warn!(
                %day,
                interrupted = report.interrupted,
                "messages an earlier run was cut off while handing over may or may not have gone out: logged as interrupted, not sent again"
            );
        }
        if report.events_waiting > 0 {
            tracing::warn!(
                %day,
                events_waiting = report.events_waiting,
                "events in the outbox were refused by the event bus; the next run publishes them"
            );
        }
        if report.errors > 0 {
            return Err(RunError::Incomplete {
                day,
                errors: report.errors,
            });
        }
        Ok(json!(report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUCKLAND: Tz = chrono_tz::Pacific::Auckland;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn error(event: Value) -> String {
        day_of(&event, AUCKLAND).unwrap_err().to_string()
    }

    #[test]
    fn the_schedule_names_the_day_in_the_configured_zone() {
        // 20:00 UTC on the 30th is 09:00 on 1 December in Auckland (NZDT, +13).
        let event = json!({"time": "2026-11-30T20:00:00Z"});
        assert_eq!(day_of(&event, AUCKLAND).unwrap(), day("2026-12-01"));
        assert_eq!(
            day_of(&event, chrono_tz::Europe::London).unwrap(),
            day("2026-11-30")
        );
    }

    #[test]
    fn a_classic_scheduled_event_and_a_replay_name_their_day() {
        let event = json!({"detail-type": "Scheduled Event", "source": "aws.events",
                           "time": "2026-06-30T21:00:00Z", "detail": {}});
        assert_eq!(day_of(&event, AUCKLAND).unwrap(), day("2026-07-01"));
        let replay = json!({"day": "2026-12-01"});
        assert_eq!(day_of(&replay, AUCKLAND).unwrap(), day("2026-12-01"));
    }

    #[test]
    fn anything_else_is_refused_saying_what_is_expected() {
        assert!(error(json!({"date": "2026-12-01"})).contains("unknown field(s)"));
        assert!(error(json!({"day": "1/12/2026"})).contains("not a YYYY-MM-DD date"));
        assert!(error(json!({"time": "soon"})).contains("not an RFC 3339 instant"));
        assert!(
            error(json!({"time": "2026-11-30T20:00:00Z", "day": "2026-12-01"}))
                .contains("either time or day")
        );
        assert!(error(json!({"detail-type": "FeedPartsDone"})).contains("unexpected detail-type"));
        assert!(error(json!("2026-12-01")).starts_with("not a communications-run input: "));
    }

    /// An SQS batch as the queue hands it to the function.
    fn batch(bodies: &[String]) -> Value {
        let records: Vec<Value> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| json!({"messageId": format!("m-{i}"), "body": body}))
            .collect();
        json!({ "Records": records })
    }

    #[tokio::test]
    async fn shards_of_a_planned_day_are_worked_and_a_message_that_is_no_shard_is_dropped() {
        use chrono::TimeZone;
        use clientwatch::adapters::{local, recorder::RecordingQueue};
        use clientwatch::ports::{FixedClock, SeededIds};
        use std::sync::Arc;

        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::at(
            Utc.with_ymd_and_hms(2026, 11, 30, 20, 0, 0).unwrap(),
        ));
        let svc =
            local::services(&dir.path().join("data"), clock, Arc::new(SeededIds::new(3))).unwrap();
        let queue = Arc::new(RecordingQueue::default());
        let run = CommsRun {
            svc,
            time_zone: AUCKLAND,
            queue: Some(queue.clone()),
        };
        let planned = run
            .handle(json!({"time": "2026-11-30T20:00:00Z"}), None)
            .await
            .unwrap();
        assert_eq!(planned["shards"], 16, "{planned}");
        let mut shards = queue.take();
        assert_eq!(shards.len(), 16);
        // A body no retry can mend, among real shards: dropped, not answered as a failure (SQS
        // would deliver it again in vain); the shards are worked, the last finishes the day.
        shards.insert(3, "{\"not\": \"a shard\"}".to_owned());
        let deadline = run.svc.clock.now() + chrono::Duration::minutes(15);
        let answer = run.handle(batch(&shards), Some(deadline)).await.unwrap();
        assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
        assert!(
            queue.take().is_empty(),
            "nothing handed on: the shards were empty"
        );
        let plan = run
            .svc
            .table
            .get(&clientwatch::keys::comms_plan(day("2026-12-01")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(plan.data["done"], 16);
        assert_eq!(plan.data["finished"], true);
    }
}
