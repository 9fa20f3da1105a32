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
