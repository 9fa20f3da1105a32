//! Writes a generated bureau feed: DIR/feeds/<date>/part-NNNN.ndjson[.gz] for each day, and
//! prints what it wrote.
//!
//!   feedgen --out DIR --subjects N (--days K | --day K) [--start-date 2026-11-20]
//!           [--changed 0.007] [--companies 0.2] [--parts P] [--scores-from D] [--gzip] [--seed S]

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clientwatch_bench::feedgen::{DayReport, Encoding, Feed, FeedSpec, default_parts};

const USAGE: &str = "usage: feedgen --out DIR --subjects N (--days K | --day K) \
[--start-date YYYY-MM-DD] [--changed SHARE] [--companies SHARE] [--parts P] [--scores-from D] [--gzip] [--seed S]

  --days K         write days 1..=K
  --day K          write only day K (generated directly, without the days before it)
  --start-date     the date of day 1 (default 2026-11-20)
  --changed        share of subjects with new facts on each later day (default 0.007)
  --companies      share of subjects that are companies (default 0.2)
  --parts          parts a day (default: at most 250,000 subjects a part)
  --scores-from D  from day D on, every line carries a credit score and every company its
                   financial statements (on day D every line differs from the day before);
                   on later days score moves and new periods are among the new facts
  --gzip           write part-NNNN.ndjson.gz instead of part-NNNN.ndjson
  --seed           the seed (default 1); the same arguments always give the same bytes";

struct Options {
    out: PathBuf,
    spec: FeedSpec,
    days: std::ops::RangeInclusive<u32>,
    encoding: Encoding,
}

fn value<T: FromStr>(args: &mut impl Iterator<Item = String>, flag: &str) -> anyhow::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let raw = args
        .next()
        .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
    raw.parse()
        .with_context(|| format!("{flag} {raw:?} is not valid"))
}

fn options() -> anyhow::Result<Options> {
    let mut out = None;
    let mut subjects = None;
    let mut days = None;
    let mut start_date = NaiveDate::from_ymd_opt(2026, 11, 20).expect("a valid date");
    let mut changed = None;
    let mut companies = None;
    let mut parts = None;
    let mut scores_from = None;
    let mut seed = 1;
    let mut encoding = Encoding::Plain;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = Some(value::<PathBuf>(&mut args, &arg)?),
            "--subjects" => subjects = Some(value(&mut args, &arg)?),
            "--days" => days = Some(1..=value(&mut args, &arg)?),
            "--day" => {
                let day = value(&mut args, &arg)?;
                days = Some(day..=day);
            }
            "--start-date" => start_date = value(&mut args, &arg)?,
            "--changed" => changed = Some(value(&mut args, &arg)?),
            "--companies" => companies = Some(value(&mut args, &arg)?),
            "--parts" => parts = Some(value(&mut args, &arg)?),
            "--scores-from" => scores_from = Some(value(&mut args, &arg)?),
            "--seed" => seed = value(&mut args, &arg)?,
            "--gzip" => encoding = Encoding::Gzip,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let (Some(out), Some(subjects), Some(days)) = (out, subjects, days) else {
        bail!("--out, --subjects and --days (or --day) are required\n{USAGE}");
    };
    let mut spec = FeedSpec::new(subjects, seed, start_date);
    spec.parts = parts.unwrap_or_else(|| default_parts(subjects));
    spec.changed_share = changed.unwrap_or(spec.changed_share);
    spec.company_share = companies.unwrap_or(spec.company_share);
    spec.scores_from = scores_from;
    Ok(Options {
        out,
        spec,
        days,
        encoding,
    })
}

fn main() -> anyhow::Result<()> {
    let Options {
        out,
        spec,
        days,
        encoding,
    } = options()?;
    let feed = Feed::new(spec)?;
    let (first, last) = (*days.start(), *days.end());
    if first == 0 || last < first {
        bail!("days count from 1; nothing to write for days {first}..={last}");
    }
    println!(
        "feed: {} subjects ({} companies), {} parts, {} changed a day, seed {}",
        feed.spec().subjects,
        feed.companies(),
        feed.spec().parts,
        feed.changed_per_day(),
        feed.spec().seed,
    );
    let mut day = feed.day(first)?;
    loop {
        let started = Instant::now();
        let report = day
            .write_to(&out, encoding)
            .with_context(|| format!("writing day {} into {}", day.number(), out.display()))?;
        print_day(&feed, &report, started.elapsed().as_secs_f64())?;
        if day.number() >= last {
            return Ok(());
        }
        day.advance()?;
    }
}

fn print_day(feed: &Feed, report: &DayReport, seconds: f64) -> anyhow::Result<()> {
    let changes = feed.changes(report.day)?;
    let f = changes.facts;
    println!(
        "day {} ({}): {} files, {} lines, {} bytes ({} on disk) in {seconds:.2} s; {} changed subjects",
        report.day,
        report.date,
        report.files.len(),
        report.lines(),
        report.bytes(),
        report.file_bytes(),
        changes.subjects.len(),
    );
    if changes.every_line {
        println!("  scores and statements appear today: every line differs from the day before");
    }
    if f.total() > 0 {
        println!(
            "  new facts: {} addresses, {} defaults, {} judgements, {} insolvencies, {} enquiries, \
             {} directorships, {} shareholdings, {} company names, {} company statuses, \
             {} score moves, {} periods filed",
            f.addresses,
            f.defaults,
            f.judgements,
            f.insolvencies,
            f.enquiries,
            f.directorships,
            f.shareholdings,
            f.company_names,
            f.company_statuses,
            f.score_changes,
            f.financial_statements,
        );
    }
    for file in &report.files {
        println!(
            "  {}: {} lines, {} bytes",
            file.path.display(),
            file.stats.lines,
            file.file_bytes
        );
    }
    Ok(())
}
