//! `clientwatch-local daily` over a broken delivery: loud, listed at the end, a failing exit
//! code; errors on one line without a backtrace.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

fn daily(feed: &Path, data: &Path, date: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clientwatch-local"))
        .args(["daily", "--date", date, "--feed"])
        .arg(feed)
        .arg("--data")
        .arg(data)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("clientwatch-local runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn part(feed: &Path, day: &str, name: &str, bytes: &[u8]) {
    let dir = feed.join("feeds").join(day);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn a_missing_day_folder_is_loud_and_fails_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = daily(
        &dir.path().join("feed"),
        &dir.path().join("data"),
        "2026-11-20",
    );
    assert_eq!(out.status.code(), Some(2));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        stdout.contains("WARNING: no feed was delivered for 2026-11-20"),
        "{stdout}"
    );
    assert!(
        stderr.contains("the daily run of 2026-11-20 needs attention (1 problem(s))"),
        "{stderr}"
    );
    assert!(
        stderr.contains("nothing under feeds/2026-11-20/"),
        "{stderr}"
    );
}

#[test]
fn a_corrupt_part_among_good_ones_is_named_and_fails_the_command_after_the_digest() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed");
    part(
        &feed,
        "2026-11-20",
        "part-0000.ndjson",
        b"{\"subject\":\"IND-1\",\"kind\":\"individual\"}\n",
    );
    let lines: String = (0..3000)
        .map(|i| format!("{{\"subject\":\"IND-2{i:05}\",\"kind\":\"individual\"}}\n"))
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(lines.as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    part(
        &feed,
        "2026-11-20",
        "part-0001.ndjson.gz",
        &bytes[..bytes.len() / 2],
    );
    let out = daily(&feed, &dir.path().join("data"), "2026-11-20");
    assert_eq!(out.status.code(), Some(2));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        stdout.contains("part-0000: 1 lines"),
        "the good part ran: {stdout}"
    );
    assert!(
        stderr.contains("feed part part-0001 failed: feed part feeds/2026-11-20/part-0001.ndjson.gz: cannot be read past line"),
        "{stderr}"
    );
    assert!(!stderr.contains("stack backtrace"), "{stderr}");
}

#[test]
fn an_error_is_one_line_without_a_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let out = daily(dir.path(), dir.path(), "2026-02-30");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: --date \"2026-02-30\" is not YYYY-MM-DD: "),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
}
