//! The benchmark of the local daily run against what a user would otherwise do (DuckDB diffing
//! the two days' files), in one run:
//!
//!   cargo run --release -p clientwatch-bench --bin daily_bench -- [--subjects 1000000]
//!       [--changed 0.007] [--data bench/data] [--no-duckdb]
//!
//! It generates three feed days (kept for later runs), seeds a store in which every subject is
//! monitored, then runs `clientwatch-local daily` for day 1 (baselines, a feed without scores),
//! day 2 (the bureau sends credit scores and companies' financial statements for the first
//! time: every line differs from its baseline, and only the day's new facts are news) and day
//! 3 (a normal day: 0.7 % of the subjects have news, score moves and new periods among them),
//! each as a child process whose wall time and peak memory are measured, and DuckDB's diff of
//! day 1 against day 2 and of day 2 against day 3. The store seeding runs in a child of its
//! own, so no process inherits another's memory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clientwatch::adapters::local;
use clientwatch::domain::clients::{ClientClass, ClientSpec, ClientTypeSpec};
use clientwatch::domain::resource::Resource;
use clientwatch::monitoring::monitors::{Frequency, Monitor, Watcher, Watchers};
use clientwatch::ports::{Item, SystemClock, SystemIds};
use clientwatch::records;
use clientwatch_bench::feedgen::{Encoding, Feed, FeedSpec};
use clientwatch_bench::measure::{Measurement, checked, measure, mib};
use serde_json::json;

const START: &str = "2026-11-20";
const SEED: u64 = 1;
/// The day scores and statements first appear.
const SCORES_FROM: u32 = 2;
const DAYS: u32 = 3;
const USAGE: &str = "usage: daily_bench [--subjects N (1000000)] [--changed SHARE (0.007)] \
[--data DIR (bench/data)] [--no-duckdb]
  generates three feed days (scores from day 2), seeds a store monitoring every subject, runs
  clientwatch-local daily for each day and DuckDB's diff of each pair, and prints the figures
  (build first: cargo build --profile profiling -p clientwatch-local -p clientwatch-bench)";

struct Options {
    subjects: u64,
    changed: f64,
    data: PathBuf,
    duckdb: bool,
    seed_only: Option<PathBuf>,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        subjects: 1_000_000,
        changed: 0.007,
        data: PathBuf::from("bench/data"),
        duckdb: true,
        seed_only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--subjects" => o.subjects = value()?.parse().context("--subjects")?,
            "--changed" => o.changed = value()?.parse().context("--changed")?,
            "--data" => o.data = value()?.into(),
            "--no-duckdb" => o.duckdb = false,
            "--seed-store" => o.seed_only = Some(value()?.into()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(o)
}

fn spec(o: &Options) -> anyhow::Result<Feed> {
    let mut spec = FeedSpec::new(o.subjects, SEED, START.parse()?);
    spec.changed_share = o.changed;
    spec.scores_from = Some(SCORES_FROM);
    Ok(Feed::new(spec)?)
}

/// Seeds the store: one tenant with monitoring on, and for every subject a client, its
/// monitor and the subject's watcher list, written in large batches.
async fn seed_store(o: &Options, store: &Path) -> anyhow::Result<()> {
    let feed = spec(o)?;
    let svc = local::services(store, Arc::new(SystemClock), Arc::new(SystemIds))?;
    let (tenant, _) = records::tenants::bootstrap(&svc, "Benchmark Lender").await?;
    records::tenants::update(
        &svc,
        &tenant.id,
        tenant.version,
        &json!({"alert_recipients": ["alerts@bench.example"],
                "monitoring": {"enabled": true, "default_reason": "benchmark"}}),
    )
    .await?;
    let mut types = Vec::new();
    for class in [ClientClass::Individual, ClientClass::Company] {
        let spec = ClientTypeSpec {
            name: format!("{class:?}"),
            class,
            use_bureau_monitoring: true,
        };
        types.push(records::clients::create_type(&svc, &tenant.id, spec).await?);
    }
    let now = chrono::Utc::now();
    let mut batch = Vec::with_capacity(30_000);
    for ordinal in 0..o.subjects {
        let subject = feed.subject_id(ordinal);
        let company = subject.starts_with("CMP");
        let identity = if company {
            json!({"kind": "company", "name": format!("Company {ordinal}")})
        } else {
            json!({"kind": "individual", "first_name": "Person", "last_name": format!("{ordinal}")})
        };
        let client_spec: ClientSpec = serde_json::from_value(json!({
            "client_type_id": types[usize::from(company)].id,
            "identity": identity,
            "bureau_subject_id": subject,
            "external_refs": {"loan_system": format!("L-{ordinal}")},
        }))?;
        let client = Resource {
            id: format!("c{ordinal:09}"),
            spec: client_spec,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        batch.push(client.item(clientwatch::keys::client(&tenant.id, &client.id))?);
        let monitor = Monitor {
            client_id: client.id.clone(),
            subject: subject.clone(),
            reason: "benchmark".into(),
            frequency: Frequency::Daily,
            started_at: now,
            updated_at: now,
        };
        batch.push(Item::from_record(
            clientwatch::keys::monitor(&tenant.id, &client.id),
            &monitor,
        )?);
        let watchers = Watchers {
            watchers: vec![Watcher {
                tenant_id: tenant.id.clone(),
                client_id: client.id.clone(),
                frequency: Frequency::Daily,
            }],
        };
        batch.push(Item::from_record(
            clientwatch::keys::watchers(&subject),
            &watchers,
        )?);
        if batch.len() >= 30_000 {
            svc.table.batch_put(std::mem::take(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        svc.table.batch_put(batch).await?;
    }
    // Bulk writes are durable with the next durable one.
    svc.table.sync().await?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let o = options()?;
    if let Some(store) = &o.seed_only {
        let runtime = tokio::runtime::Runtime::new()?;
        return runtime.block_on(seed_store(&o, store));
    }
    let feed = spec(&o)?;
    let root = o.data.join(format!(
        "feed-{}-{}-scores{SCORES_FROM}",
        o.subjects, o.changed
    ));
    let days: Vec<NaiveDate> = (1..=DAYS)
        .map(|d| feed.date_of(d))
        .collect::<Result<_, _>>()?;
    let marker = root.join("complete");
    if !marker.exists() {
        println!(
            "generating {} subjects × {DAYS} days into {}",
            o.subjects,
            root.display()
        );
        let mut day = feed.day(1)?;
        for _ in 0..DAYS {
            day.write_to(&root, Encoding::Plain)?;
            day.advance()?;
        }
        std::fs::write(&marker, "")?;
    }
    let truth: Vec<_> = (2..=DAYS)
        .map(|d| feed.changes(d))
        .collect::<Result<_, _>>()?;
    let store = o.data.join(format!("store-{}-{}", o.subjects, o.changed));
    if store.exists() {
        std::fs::remove_dir_all(&store)?;
    }
    let me = std::env::current_exe()?;
    let local_bin = me.with_file_name("clientwatch-local");
    if !local_bin.exists() {
        bail!(
            "{} is missing: build it first (cargo build --release -p clientwatch-local)",
            local_bin.display()
        );
    }
    println!(
        "seeding a store in which all {} subjects are monitored",
        o.subjects
    );
    let seeded = checked(
        "seeding",
        measure(
            Command::new(&me)
                .args(["--subjects", &o.subjects.to_string()])
                .args(["--changed", &o.changed.to_string()])
                .arg("--seed-store")
                .arg(&store),
        )?,
    )?;
    println!("  seeded in {:.1} s", seeded.wall.as_secs_f64());
    // The seeded store's pages go to disk now, not under the measured runs.
    if !Command::new("sync").status()?.success() {
        bail!("sync failed");
    }
    // Both days' files are read once, so that clientwatch (measured first) and DuckDB both find
    // them in the page cache.
    for day in &days {
        let folder = root.join("feeds").join(day.to_string());
        for entry in std::fs::read_dir(&folder)? {
            std::io::copy(
                &mut std::fs::File::open(entry?.path())?,
                &mut std::io::sink(),
            )?;
        }
    }

    let mut runs = Vec::new();
    for day in &days {
        let m = checked(
            "the daily run",
            measure(
                Command::new(&local_bin)
                    .arg("daily")
                    .args(["--date", &day.to_string()])
                    .arg("--feed")
                    .arg(&root)
                    .arg("--data")
                    .arg(&store)
                    .env("RUST_LOG", "warn"),
            )?,
        )?;
        print!("{}", m.stdout_text());
        runs.push(m);
    }
    println!();
    for changes in &truth {
        println!(
            "day {}: {} subjects with {} new facts ({} score moves, {} periods filed){}",
            changes.day,
            changes.subjects.len(),
            changes.facts.total(),
            changes.facts.score_changes,
            changes.facts.financial_statements,
            if changes.every_line {
                "; every line differs: scores and statements appear"
            } else {
                ""
            }
        );
    }
    let duckdb = if o.duckdb {
        let setup = Command::new("bench/setup.sh").status()?;
        if !setup.success() {
            bail!("bench/setup.sh failed");
        }
        let mut diffs = Vec::new();
        for pair in days.windows(2) {
            let m = checked(
                "the DuckDB diff",
                measure(
                    Command::new(".venv-bench/bin/python")
                        .arg("bench/duckdb_diff.py")
                        .arg(root.join("feeds").join(pair[0].to_string()))
                        .arg(root.join("feeds").join(pair[1].to_string())),
                )?,
            )?;
            let result: serde_json::Value = serde_json::from_str(m.stdout_text().trim())?;
            diffs.push((m, result));
        }
        Some(diffs)
    } else {
        None
    };
    let row = |step: &str, m: &Measurement| {
        let secs = m.wall.as_secs_f64();
        println!(
            "| {} | {step} | {secs:.2} | {:.0} | {:.0} |",
            o.subjects,
            mib(m.peak_rss_kib),
            o.subjects as f64 / secs
        );
    };
    println!("| subjects | step | wall s | peak MiB | records/s |");
    println!("|---|---|---|---|---|");
    row("clientwatch day 1 (baselines, no scores yet)", &runs[0]);
    for (i, label) in [
        "scores and statements appear: every line changed",
        "a normal day: diff, hits, digest, events",
    ]
    .into_iter()
    .enumerate()
    {
        let day = i + 2;
        row(
            &format!(
                "clientwatch day {day} ({label}; {} new facts)",
                truth[i].facts.total()
            ),
            &runs[i + 1],
        );
        if let Some(diffs) = &duckdb {
            let (m, result) = &diffs[i];
            row(
                &format!(
                    "DuckDB diff of day {} and day {day} (whole process; {} s in the query; {} changed)",
                    day - 1,
                    result["seconds"],
                    result["changed"]
                ),
                m,
            );
        }
    }
    if let Some(diffs) = &duckdb {
        println!();
        for (i, (m, _)) in diffs.iter().enumerate() {
            println!(
                "ratio clientwatch day {} / DuckDB: {:.2}",
                i + 2,
                runs[i + 1].wall.as_secs_f64() / m.wall.as_secs_f64()
            );
        }
    }
    Ok(())
}
