//! The DuckDB baseline finds exactly the generator's changed subjects. Needs `.venv-bench`
//! (`bench/setup.sh`), so it is ignored by default:
//!
//!   bench/setup.sh && cargo test --release -p clientwatch-bench -- --ignored

use std::path::Path;
use std::process::Command;

use chrono::NaiveDate;
use clientwatch_bench::feedgen::{Encoding, Feed, FeedSpec};
use clientwatch_bench::measure::measure;

#[test]
#[ignore = "needs .venv-bench: run bench/setup.sh, then cargo test -p clientwatch-bench -- --ignored"]
fn duckdb_diff_of_two_days_finds_exactly_the_changed_subjects() {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = bench.join("../.venv-bench/bin/python");
    assert!(
        python.exists(),
        "no {}: run bench/setup.sh",
        python.display()
    );
    let root = tempfile::tempdir().unwrap();
    let start = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let mut spec = FeedSpec::new(100_000, 42, start);
    spec.parts = 2;
    let feed = Feed::new(spec).unwrap();
    let mut day = feed.day(1).unwrap();
    let day1 = day.write_to(root.path(), Encoding::Gzip).unwrap();
    day.advance().unwrap();
    let day2 = day.write_to(root.path(), Encoding::Plain).unwrap();
    let csv = root.path().join("diff.csv");

    let run = measure(
        Command::new(&python)
            .arg(bench.join("duckdb_diff.py"))
            .arg(&day1.dir)
            .arg(&day2.dir)
            .arg("--out")
            .arg(&csv),
    )
    .unwrap();

    assert!(run.status.success(), "{run:?}");
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let truth = feed.changes(2).unwrap();
    assert_eq!(truth.subjects.len(), 700);
    assert_eq!(summary["changed"], 700, "{summary}");
    assert_eq!(summary["new"], 0);
    assert_eq!(summary["removed"], 0);
    let found: Vec<String> = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| line.trim_end_matches(",changed").to_owned())
        .collect();
    assert_eq!(found, truth.subjects);
    eprintln!(
        "duckdb diff of 100k subjects: {summary}; process {:.2} s, peak RSS {} MiB",
        run.wall.as_secs_f64(),
        run.peak_rss_kib / 1024
    );
}

/// DuckDB's diff with `old` as the old day and `new` as the new one: its summary line.
fn duckdb_diff(python: &Path, old: &Path, new: &Path) -> serde_json::Value {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = measure(
        Command::new(python)
            .arg(bench.join("duckdb_diff.py"))
            .arg(old)
            .arg(new),
    )
    .unwrap();
    assert!(run.status.success(), "{run:?}");
    serde_json::from_slice(&run.stdout).unwrap()
}

#[test]
#[ignore = "needs .venv-bench: run bench/setup.sh, then cargo test -p clientwatch-bench -- --ignored"]
fn duckdb_sees_every_line_change_when_scores_appear_and_score_moves_after() {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-bench/bin/python");
    assert!(
        python.exists(),
        "no {}: run bench/setup.sh",
        python.display()
    );
    let root = tempfile::tempdir().unwrap();
    let start = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let mut spec = FeedSpec::new(20_000, 42, start);
    spec.parts = 2;
    spec.scores_from = Some(2);
    let feed = Feed::new(spec).unwrap();
    let mut day = feed.day(1).unwrap();
    let mut dirs = Vec::new();
    for _ in 0..3 {
        dirs.push(day.write_to(root.path(), Encoding::Plain).unwrap().dir);
        day.advance().unwrap();
    }
    let appear = duckdb_diff(&python, &dirs[0], &dirs[1]);
    assert_eq!(appear["changed"], 20_000, "{appear}");
    let normal = duckdb_diff(&python, &dirs[1], &dirs[2]);
    let truth = feed.changes(3).unwrap();
    assert!(truth.facts.score_changes > 0);
    assert_eq!(normal["changed"], truth.subjects.len(), "{normal}");
}
