//! The benchmark of the local communications run: open invoices with a reminder due, at
//! 10,000 and 100,000 invoices by default, so that the scaling shows.
//!
//!   cargo build --profile profiling -p clientwatch-local -p clientwatch-bench
//!   target/profiling/comms_bench [--invoices 10000,100000] [--data bench/data]
//!
//! For each size it seeds a new embedded store with the book of [`clientwatch_bench::comms`]
//! (three tenants of 70 %, 25 % and 5 % of the invoices, four invoices a client on average, one
//! or two contacts in the reminder's role each, some guarantors who must get nothing), in a
//! child process of its own, so that no measured process inherits its memory. Then it runs
//! `clientwatch-local comms --date 2026-12-09` twice, each in its own measured process: the
//! day every reminder is due, then the same day again (every step done: what an open invoice
//! with nothing due costs). Each run is checked from its own output: the day's figures, one
//! line per invoice naming exactly the contacts its reminder went to (none twice, none
//! missing, no guarantor), and as many new messages in the outbox as it says it sent; the day
//! again must send nothing. A run that fails the check fails the benchmark.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use clientwatch_bench::comms::{self, Book, RUN_DAY, Summary, TENANTS};
use clientwatch_bench::measure::{Measurement, checked, measure, mib};

struct Options {
    sizes: Vec<u64>,
    data: PathBuf,
    /// The child's part: seed a store of this many invoices in this folder, and end.
    seed_only: Option<PathBuf>,
    /// `clientwatch-local`; by default the one beside this program.
    local: Option<PathBuf>,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        sizes: vec![10_000, 100_000],
        data: PathBuf::from("bench/data"),
        seed_only: None,
        local: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--invoices" => {
                o.sizes = value()?
                    .split(',')
                    .map(|n| n.replace('_', "").parse().context("--invoices"))
                    .collect::<anyhow::Result<_>>()?
            }
            "--data" => o.data = value()?.into(),
            "--seed-store" => o.seed_only = Some(value()?.into()),
            "--local" => o.local = Some(value()?.into()),
            other => {
                bail!("unknown argument {other:?} (--invoices N[,N…], --data DIR, --local PROGRAM)")
            }
        }
    }
    Ok(o)
}

/// One measured run of the day and what it did.
struct Run {
    label: &'static str,
    invoices: u64,
    m: Measurement,
    summary: Summary,
}

fn run_comms(local: &Path, store: &Path, book: &Book, due: bool) -> anyhow::Result<Run> {
    let before = comms::outbox_messages(store)?;
    let m = checked(
        "the communications run",
        measure(
            Command::new(local)
                .arg("comms")
                .args(["--date", RUN_DAY])
                .arg("--data")
                .arg(store)
                .env("RUST_LOG", "warn"),
        )?,
    )?;
    let output = m.stdout_text();
    let summary = comms::check(book, &output, due, comms::outbox_messages(store)?, before)
        .with_context(|| format!("the run of {} invoices", book.invoices))?;
    if let Some(last) = output.lines().rev().find(|l| comms::summary(l).is_some()) {
        println!("  {}", last.trim());
    }
    Ok(Run {
        label: if due {
            "every reminder due"
        } else {
            "the same day again (nothing due)"
        },
        invoices: book.invoices,
        m,
        summary,
    })
}

fn main() -> anyhow::Result<()> {
    let o = options()?;
    let day = RUN_DAY.parse()?;
    if let Some(store) = &o.seed_only {
        let [invoices] = o.sizes[..] else {
            bail!("--seed-store takes one --invoices");
        };
        let runtime = tokio::runtime::Runtime::new()?;
        return runtime.block_on(comms::seed(store, &Book::new(invoices), day));
    }
    let me = std::env::current_exe()?;
    let local = o
        .local
        .clone()
        .unwrap_or_else(|| me.with_file_name("clientwatch-local"));
    if !local.exists() {
        bail!(
            "{} is missing: build it first (cargo build --profile profiling -p clientwatch-local -p clientwatch-bench)",
            local.display()
        );
    }
    let mut runs = Vec::new();
    for &invoices in &o.sizes {
        let book = Book::new(invoices);
        let store = o.data.join(format!("comms-{invoices}"));
        if store.exists() {
            std::fs::remove_dir_all(&store)?;
        }
        println!(
            "seeding {invoices} open invoices of {} clients of {} tenants, {} reminders due, into {}",
            book.clients.len(),
            TENANTS.len(),
            book.messages(),
            store.display()
        );
        let seeded = checked(
            "seeding",
            measure(
                Command::new(&me)
                    .args(["--invoices", &invoices.to_string()])
                    .arg("--seed-store")
                    .arg(&store),
            )?,
        )?;
        println!("  seeded in {:.1} s", seeded.wall.as_secs_f64());
        // The seeded store's pages go to disk now, not under the measured runs.
        if !Command::new("sync").status()?.success() {
            bail!("sync failed");
        }
        runs.push(run_comms(&local, &store, &book, true)?);
        runs.push(run_comms(&local, &store, &book, false)?);
    }
    println!();
    println!(
        "| open invoices | run | messages sent | wall s | invoices/s | CPU ms an invoice | peak MiB |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in &runs {
        let secs = r.m.wall.as_secs_f64();
        println!(
            "| {} | {} | {} | {secs:.2} | {:.0} | {:.2} | {:.0} |",
            r.invoices,
            r.label,
            r.summary.sent,
            r.invoices as f64 / secs,
            r.m.cpu.as_secs_f64() * 1000.0 / r.invoices as f64,
            mib(r.m.peak_rss_kib)
        );
    }
    let due: Vec<&Run> = runs.iter().filter(|r| r.summary.sent > 0).collect();
    if let [first, .., last] = due.as_slice() {
        println!();
        println!(
            "{} → {} invoices (×{:.1}): wall ×{:.2}, peak memory ×{:.2}",
            first.invoices,
            last.invoices,
            last.invoices as f64 / first.invoices as f64,
            last.m.wall.as_secs_f64() / first.m.wall.as_secs_f64(),
            last.m.peak_rss_kib as f64 / first.m.peak_rss_kib as f64
        );
    }
    Ok(())
}
