//! The daily monitoring run on Lambda. One binary, three steps, told apart by the input
//! ([`input::parse`]):
//!
//! 1. the schedule (or a replay of a day) plans day D and publishes one `FeedPartReady` event
//!    per feed part;
//! 2. each `FeedPartReady` diffs its part, records it done, and the part that completes the
//!    plan publishes `FeedPartsDone`;
//! 3. `FeedPartsDone` sends day D's digests.
//!
//! Every step is idempotent (see `clientwatch::monitoring::run`), so a failed step returns its
//! error and Lambda's retries, then the dead-letter queue, take over.
//!
//! Retries and errors agree: Lambda retries every error an asynchronous invocation returns
//! (`MaximumRetryAttempts: 2` in template.yaml), so the handler returns as errors only failures
//! a retry may mend ([`RunError::retryable`]). A payload that is no input is never retried:
//! [`DailyRun::invoke`] logs it, counts it in the `RejectedInputs` metric (alarmed) and ends
//! the invocation successfully. Feed faults are counted in the `FeedFaults` metric (alarmed): a
//! missing delivery is an error (retried: the delivery may be late; then the dead-letter
//! queue), a corrupt part is recorded done as failed (so the other parts' digest goes out) and
//! then an error (retried: the bureau may deliver it anew; then the dead-letter queue), an
//! empty part or a short day is a warning that does not fail the step.

pub mod input;

use chrono::NaiveDate;
use chrono_tz::Tz;
use clientwatch::Services;
use clientwatch::domain::Error as DomainError;
use clientwatch::monitoring::digest;
use clientwatch::monitoring::run::{self, PARTS_DONE, PartReport, Sources};
use clientwatch::ports::{DomainEvent, PublishError, WorkQueue};
use clientwatch::telemetry::Metrics;
use serde_json::{Value, json};
use tracing::{info, warn};

pub use input::{Input, InputError};

/// What the handler needs, built once per cold start.
pub struct DailyRun {
    pub svc: Services,
    pub sources: Sources,
    /// The zone whose calendar names the feed's days.
    pub feed_time_zone: Tz,
    /// Where the digest step hands each tenant's digest (SQS); none: it sends them itself.
    pub digest_queue: Option<std::sync::Arc<dyn WorkQueue>>,
}

/// One tenant's digest of a planned day, as a queue message.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DigestWork {
    pub day: NaiveDate,
    pub run_id: String,
    pub tenant_id: String,
    /// The sort keys of the tenant's digest markers.
    pub markers: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{step} of {day} failed")]
    Step {
        step: &'static str,
        day: NaiveDate,
        #[source]
        source: DomainError,
    },
    /// The bureau's delivery for the day is missing or broken.
    #[error("the feed of {day}: {message}")]
    Feed { day: NaiveDate, message: String },
    #[error("publishing {what} for {day} failed")]
    Publish {
        what: &'static str,
        day: NaiveDate,
        #[source]
        source: PublishError,
    },
}

impl RunError {
    /// Whether a retry may succeed: a payload that is no input never will.
    pub fn retryable(&self) -> bool {
        !matches!(self, RunError::Input(_))
    }

    /// The message with every cause after it, as Lambda records it.
    pub fn full_message(&self) -> String {
        clientwatch::schedule::full_message(self)
    }
}

impl From<RunError> for lambda_runtime::Diagnostic {
    fn from(e: RunError) -> Self {
        let error_type = match &e {
            RunError::Input(_) => "InvalidInput",
            RunError::Step { .. } => "StepFailed",
            RunError::Feed { .. } => "FeedFault",
            RunError::Publish { .. } => "PublishFailed",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: e.full_message(),
        }
    }
}

fn step(step: &'static str, day: NaiveDate) -> impl FnOnce(DomainError) -> RunError {
    move |source| RunError::Step { step, day, source }
}

fn publish(what: &'static str, day: NaiveDate) -> impl FnOnce(PublishError) -> RunError {
    move |source| RunError::Publish { what, day, source }
}

/// The CloudWatch namespace of the daily run's metrics (written as embedded-metric log lines).
pub const METRICS_NAMESPACE: &str = "clientwatch/DailyRun";
/// Missing deliveries, corrupt or empty parts and short days.
pub const FEED_FAULTS: &str = "FeedFaults";
/// Payloads that are no daily-run input (never retried).
pub const REJECTED_INPUTS: &str = "RejectedInputs";
/// A part step's figures (one embedded-metric line a part, with its duration and store units).
pub const SUBJECTS_READ: &str = "SubjectsRead";
pub const SUBJECTS_CHANGED: &str = "SubjectsChanged";
pub const HITS_FOUND: &str = "HitsFound";
pub const HITS_WITHHELD: &str = "HitsWithheld";
pub const BAD_LINES: &str = "BadLines";
pub const PARTS_DIFFED: &str = "PartsDiffed";
/// The digest step's figures: e-mails sent, hits billed in them, and one finished run.
pub const DIGESTS_SENT: &str = "DigestsSent";
pub const HITS_BILLED: &str = "HitsBilled";
pub const RUNS_FINISHED: &str = "RunsFinished";
/// A day whose run had not finished (its digests not sent) by the deadline check.
pub const RUN_NOT_FINISHED: &str = "RunNotFinished";

/// Counts one of the metrics above: a CloudWatch embedded-metric-format line on stdout, which
/// Lambda's log stream turns into the metric the template's alarms watch.
pub fn count(metric: &str) {
    let line = json!({
        "_aws": {
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": METRICS_NAMESPACE,
                "Dimensions": [[]],
                "Metrics": [{"Name": metric, "Unit": "Count"}]
            }]
        },
        metric: 1
    });
    println!("{line}");
}

fn feed_warning(day: NaiveDate, warning: &str) {
    warn!(%day, warning, "feed fault");
    count(FEED_FAULTS);
}

impl DailyRun {
    /// What Lambda runs: [`handle`](Self::handle), except that an error no retry can mend
    /// (a payload that is no input) is logged, counted in `RejectedInputs` and answered
    /// successfully, so that Lambda's retries are spent only on errors a retry may mend.
    pub async fn invoke(&self, event: Value) -> Result<Value, RunError> {
        match self.handle(event).await {
            Err(e) if !e.retryable() => {
                count(REJECTED_INPUTS);
                Ok(json!({ "rejected": e.full_message() }))
            }
            other => other,
        }
    }

    /// Handles one invocation; the answer summarises what was done (a replay's caller sees it).
    pub async fn handle(&self, event: Value) -> Result<Value, RunError> {
        if let Some(records) = event.get("Records").and_then(Value::as_array) {
            return Ok(self.tenant_digests(records).await);
        }
        let result = match input::parse(&event, self.feed_time_zone) {
            Ok(Input::Plan { day }) => self.plan(day).await,
            Ok(Input::Part { day, run_id, part }) => self.part(day, &run_id, &part).await,
            Ok(Input::Digest { day, run_id }) => self.digest(day, &run_id).await,
            Ok(Input::Deadline { day }) => self.deadline(day).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = &result {
            tracing::error!(error = %e.full_message(), retryable = e.retryable(), "daily run step failed");
        }
        result
    }

    async fn plan(&self, day: NaiveDate) -> Result<Value, RunError> {
        let plan = run::plan(&self.svc, &self.sources, day)
            .await
            .map_err(step("planning", day))?;
        if plan.parts.is_empty() {
            let message = run::missing_delivery(&self.sources, day)
                .await
                .map_err(step("planning", day))?;
            count(FEED_FAULTS);
            return Err(RunError::Feed { day, message });
        } else {
            let events = run::part_events(&self.svc, &plan);
            self.svc
                .events
                .publish(&events)
                .await
                .map_err(publish("FeedPartReady events", day))?;
            info!(%day, run_id = %plan.run_id, parts = plan.parts.len(), "day planned; one FeedPartReady event published per part");
        }
        Ok(json!({ "day": day, "run_id": plan.run_id, "parts": plan.parts.len() }))
    }

    async fn part(&self, day: NaiveDate, run_id: &str, part: &str) -> Result<Value, RunError> {
        let mut metrics = Metrics::start(METRICS_NAMESPACE);
        // A transient failure (the store, the blob store) is returned at once and retried; the
        // part is not done and the plan waits for it. A corrupt part is recorded done as
        // failed, so that the plan completes and the other parts' hits reach the digest, and
        // is returned as an error afterwards, to be retried and then dead-lettered (alarmed).
        let (report, fault) = match run::run_part(&self.svc, &self.sources, day, part).await {
            Ok(report) => (report, None),
            Err(e) if run::is_feed_fault(&e) => {
                count(FEED_FAULTS);
                (run::failed_report(part, &e), Some(e))
            }
            Err(e) => return Err(step("the diff of a feed part", day)(e)),
        };
        log_report(day, run_id, &report);
        let s = &report.stats;
        metrics
            .count(SUBJECTS_READ, s.lines)
            .count(SUBJECTS_CHANGED, s.changed)
            .count(HITS_FOUND, report.hits)
            .count(HITS_WITHHELD, report.withheld)
            .count(BAD_LINES, s.bad)
            .count(PARTS_DIFFED, 1)
            .emit();
        for warning in run::part_warnings(day, &report) {
            feed_warning(day, &warning);
        }
        let completion = run::part_done(&self.svc, day, run_id, &report)
            .await
            .map_err(step("recording a feed part done", day))?;
        if let run::Completion::Complete { claim, lines } = &completion {
            match run::short_day(&self.svc, day, *lines).await {
                Ok(Some(warning)) => feed_warning(day, &warning),
                Ok(None) => {}
                Err(e) => {
                    warn!(%day, error = %clientwatch::schedule::full_message(&e), "the day's line count could not be compared")
                }
            }
            let done = DomainEvent::new(
                PARTS_DONE,
                json!({ "day": day, "run_id": run_id }),
                self.svc.clock.now(),
            );
            if let Err(e) = self.svc.events.publish(&[done]).await {
                // Let the retry claim it again (or, if this fails too, take it over once the
                // claim's lease has passed).
                if let Err(release) = run::release(&self.svc, day, run_id, claim).await {
                    warn!(%day, error = %clientwatch::schedule::full_message(&release), "the claim on FeedPartsDone could not be released; a retry takes it over after its lease");
                }
                return Err(publish("the FeedPartsDone event", day)(e));
            }
            run::published(&self.svc, day, run_id, claim)
                .await
                .map_err(step("recording FeedPartsDone published", day))?;
            info!(%day, %run_id, "every part of the run is done; FeedPartsDone published");
        }
        if let Some(e) = fault {
            return Err(RunError::Step {
                step: "the diff of a feed part",
                day,
                source: e,
            });
        }
        Ok(json!({
            "day": day,
            "run_id": run_id,
            "part": report.part,
            "hits": report.hits,
            "bad_lines": report.stats.bad,
            "out_of_order": report.stats.out_of_order,
            "last": completion.publishes(),
        }))
    }

    /// The operator's deadline: has day D's run finished (digests sent) by now? A run that has
    /// not is logged with how far it came and counted in `RunNotFinished` (alarmed); the check
    /// itself succeeds either way.
    async fn deadline(&self, day: NaiveDate) -> Result<Value, RunError> {
        let progress = run::progress(&self.svc, day)
            .await
            .map_err(step("the deadline check", day))?;
        let finished = progress == run::Progress::Finished;
        if !finished {
            warn!(%day, problem = %progress.describe(day), "the daily run is late");
            count(RUN_NOT_FINISHED);
        }
        Ok(json!({ "day": day, "finished": finished, "progress": progress.describe(day) }))
    }

    /// With a digest queue: each tenant's digest handed to a worker (the same function, fed by
    /// the queue); the worker completing the last records the day's digests sent.
    async fn hand_out_digests(
        &self,
        queue: &dyn WorkQueue,
        day: NaiveDate,
        run_id: &str,
    ) -> Result<Value, RunError> {
        let due = digest::due(&self.svc, day)
            .await
            .map_err(step("listing the digests", day))?;
        run::digests_handed_out(&self.svc, day, run_id, due.len())
            .await
            .map_err(step("recording the digests handed out", day))?;
        let messages: Vec<String> = due
            .into_iter()
            .map(|(tenant_id, markers)| {
                serde_json::to_string(&DigestWork {
                    day,
                    run_id: run_id.to_owned(),
                    tenant_id,
                    markers,
                })
                .expect("a digest's work serialises")
            })
            .collect();
        queue.enqueue(&messages).await.map_err(|e| RunError::Step {
            step: "handing out the digests",
            day,
            source: DomainError::Unavailable("work queue", Box::new(e)),
        })?;
        info!(%day, %run_id, tenants = messages.len(), "each tenant's digest handed to a worker");
        Ok(json!({ "day": day, "run_id": run_id, "tenants": messages.len(), "handed_out": true }))
    }

    /// An SQS batch of tenants' digests: each sent; the ones that failed are answered as batch
    /// item failures, so SQS delivers them again (a digest sent again sends nothing twice).
    async fn tenant_digests(&self, records: &[Value]) -> Value {
        let mut failures = Vec::new();
        for record in records {
            let id = record["messageId"].as_str().unwrap_or_default().to_owned();
            let Ok(work) =
                serde_json::from_str::<DigestWork>(record["body"].as_str().unwrap_or_default())
            else {
                tracing::error!(message_id = %id, "a queue message that is no tenant's digest was dropped");
                count(REJECTED_INPUTS);
                continue;
            };
            let mut metrics = Metrics::start(METRICS_NAMESPACE);
            let result = async {
                let d =
                    digest::run_tenant(&self.svc, work.day, &work.tenant_id, &work.markers).await?;
                let last =
                    run::digest_done(&self.svc, work.day, &work.run_id, &work.tenant_id).await?;
                Ok::<_, DomainError>((d, last))
            }
            .await;
            match result {
                Ok((d, last)) => {
                    info!(day = %work.day, tenant_id = %d.tenant_id, hits = d.hits, withheld = d.withheld,
                          sent = d.message_id.is_some(), note = d.note.as_deref().unwrap_or(""), "tenant digest");
                    metrics
                        .count(DIGESTS_SENT, u64::from(d.message_id.is_some()))
                        .count(HITS_BILLED, d.hits as u64)
                        .count(HITS_WITHHELD, d.withheld as u64)
                        .count(RUNS_FINISHED, u64::from(last))
                        .emit();
                }
                Err(e) => {
                    tracing::error!(day = %work.day, tenant_id = %work.tenant_id, error = %clientwatch::schedule::full_message(&e), "a tenant's digest failed; SQS delivers it again");
                    failures.push(json!({ "itemIdentifier": id }));
                }
            }
        }
        json!({ "batchItemFailures": failures })
    }

    async fn digest(&self, day: NaiveDate, run_id: &str) -> Result<Value, RunError> {
        if let Some(queue) = &self.digest_queue {
            return self.hand_out_digests(queue.as_ref(), day, run_id).await;
        }
        let mut metrics = Metrics::start(METRICS_NAMESPACE);
        let digests = digest::run(&self.svc, day)
            .await
            .map_err(step("the digest", day))?;
        for d in &digests {
            info!(
                %day,
                tenant_id = %d.tenant_id,
                hits = d.hits,
                withheld = d.withheld,
                sent = d.message_id.is_some(),
                note = d.note.as_deref().unwrap_or(""),
                "tenant digest"
            );
        }
        run::digested(&self.svc, day, run_id)
            .await
            .map_err(step("recording the digest sent", day))?;
        info!(%day, %run_id, tenants = digests.len(), "digest done");
        metrics
            .count(
                DIGESTS_SENT,
                digests.iter().filter(|d| d.message_id.is_some()).count() as u64,
            )
            .count(HITS_BILLED, digests.iter().map(|d| d.hits as u64).sum())
            .count(
                HITS_WITHHELD,
                digests.iter().map(|d| d.withheld as u64).sum(),
            )
            .count(RUNS_FINISHED, 1)
            .emit();
        Ok(json!({ "day": day, "run_id": run_id, "tenants": digests.len() }))
    }
}

/// The part's figures and each bad line's number and message, with the line's values masked.
fn log_report(day: NaiveDate, run_id: &str, report: &PartReport) {
    let s = &report.stats;
    info!(
        %day,
        %run_id,
        part = %report.part,
        baseline = %report.baseline.map(|d| d.to_string()).unwrap_or_else(|| "none".into()),
        lines = s.lines,
        unchanged = s.unchanged,
        first_seen = s.first_seen,
        changed = s.changed,
        new_facts = s.new_facts,
        hits = report.hits,
        withheld = report.withheld,
        duplicates = report.duplicates,
        bad_lines = s.bad,
        out_of_order = s.out_of_order,
        failed = report.failed.as_deref().unwrap_or(""),
        "feed part diffed"
    );
    for (line, message) in &s.bad_lines {
        warn!(%day, part = %report.part, line, message = %masked(message), "bad feed line");
    }
    for (line, message) in &s.out_of_order_lines {
        warn!(%day, part = %report.part, line, message = %message, "feed line out of subject order (diffed by a sorted pass)");
    }
}

/// A bad line's message without the values of the line it quotes. The diff names out-of-order
/// subjects by id (ids may be logged), but a record that does not parse is described by the
/// JSON reader, which quotes the offending value (`invalid type: string "…"`); that value is
/// replaced by `…`. Field names and the position in the line are kept.
pub fn masked(message: &str) -> String {
    const NOT_A_RECORD: &str = "not a feed record: ";
    let Some(reason) = message.strip_prefix(NOT_A_RECORD) else {
        return message.to_owned();
    };
    // Values come as `string "…"` (JSON-escaped) or, for other kinds, in backticks after a
    // kind word; field names come in backticks after `field`.
    const KINDS: [&str; 5] = [
        "integer ",
        "floating point ",
        "boolean ",
        "character ",
        "variant ",
    ];
    let mut out = String::with_capacity(message.len());
    out.push_str(NOT_A_RECORD);
    let mut rest = reason;
    while let Some(i) = rest.find(['"', '`']) {
        let (before, from) = rest.split_at(i);
        out.push_str(before);
        let quote = from.as_bytes()[0] as char;
        let body = &from[1..];
        let end = if quote == '"' {
            closing_quote(body)
        } else {
            body.find('`')
        };
        let Some(end) = end else {
            // An unclosed quote: mask the rest.
            out.push(quote);
            out.push('…');
            return out;
        };
        let value = quote == '"' || KINDS.iter().any(|k| before.ends_with(k));
        out.push(quote);
        out.push_str(if value { "…" } else { &body[..end] });
        out.push(quote);
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The position of the `"` that ends a JSON-escaped string.
fn closing_quote(body: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod flow_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_quoted_from_a_bad_record_are_masked_and_field_names_kept() {
        assert_eq!(
            masked(
                r#"not a feed record: invalid type: string "Jane \"JJ\" Doe", expected u32 at line 1 column 52"#
            ),
            r#"not a feed record: invalid type: string "…", expected u32 at line 1 column 52"#
        );
        assert_eq!(
            masked(
                "not a feed record: invalid type: integer `1234`, expected a string at line 1 column 9"
            ),
            "not a feed record: invalid type: integer `…`, expected a string at line 1 column 9"
        );
        assert_eq!(
            masked(
                "not a feed record: unknown variant `martian`, expected `individual` or `company` at line 1 column 36"
            ),
            "not a feed record: unknown variant `…`, expected `individual` or `company` at line 1 column 36"
        );
        assert_eq!(
            masked("not a feed record: missing field `subject` at line 1 column 2"),
            "not a feed record: missing field `subject` at line 1 column 2"
        );
        assert_eq!(
            masked("not a feed record: invalid type: string \"unterminated"),
            "not a feed record: invalid type: string \"…"
        );
    }

    #[test]
    fn messages_of_the_diff_itself_are_kept() {
        let out_of_order = r#"subject "IND-0" is out of order (after "IND-1"); lines of a part must be in ascending subject order"#;
        assert_eq!(masked(out_of_order), out_of_order);
        assert_eq!(
            masked("the line is longer than 1048576 bytes"),
            "the line is longer than 1048576 bytes"
        );
    }

    #[test]
    fn a_bad_input_is_not_retryable_and_a_failed_step_names_its_cause() {
        let e = RunError::from(InputError("x".into()));
        assert!(!e.retryable());
        let e = RunError::Step {
            step: "planning",
            day: "2026-11-20".parse().unwrap(),
            source: DomainError::NotFound("plan"),
        };
        assert!(e.retryable());
        assert_eq!(
            e.full_message(),
            "planning of 2026-11-20 failed: plan not found"
        );
        let d = lambda_runtime::Diagnostic::from(e);
        assert_eq!(d.error_type, "StepFailed");
    }
}
