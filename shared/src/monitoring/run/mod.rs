//! The daily run: plan day D, diff each feed part, then digest.
//!
//! On Lambda, the plan publishes one `FeedPartReady` event per part; each part worker diffs
//! its part and records itself done; the worker that completes the plan publishes
//! `FeedPartsDone`, which starts the digest. Locally the same steps run in one process.
//!
//! A part worker records its hits before it stores the part's new baseline, so a worker killed
//! half-way leaves the old baseline in place and a re-run finds the same hits, which are
//! already recorded and are skipped.
//!
//! A part's diff and its hits are in [`part`]; the day's plan, its completion and the checks on
//! the bureau's delivery in [`plan`]; running a whole day in one process here.

use chrono::NaiveDate;
use futures::StreamExt;
use serde::Serialize;

use crate::Services;
use crate::domain::{Error, Result};

mod part;
mod plan;

pub use part::*;
pub use plan::*;

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
            "{}: {} lines, {} unchanged, {} first seen, {} changed ({} new facts), {} hits, {} withheld, {} bad line(s), {} out of order; {} bureau profile(s), {} client(s) with new differences, {} field(s) applied [{}]",
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
            report.profiles,
            report.client_data_changes,
            report.applied,
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
    digested(svc, day, run_id).await?;
    for d in &digests {
        // Named as the tenant knows itself; its id only when the tenant cannot be read.
        let tenant = match crate::records::tenants::get(svc.table.as_ref(), &d.tenant_id).await {
            Ok(t) => t.spec.name,
            Err(_) => format!("tenant {}", d.tenant_id),
        };
        progress(&format!(
            "digest for {}: {} hit(s), {} withheld{} [{}]",
            tenant,
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
    use super::part::*;
    use super::plan::*;
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
