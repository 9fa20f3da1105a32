//! The asynchronous client import on the embedded store: a tenant with monitoring on imports a
//! CSV portfolio of `--clients` people (100,000 by default), each with a bureau subject and
//! monitoring started, through `flows::imports::run` in its 500-row chunks, as the local mode
//! does after an upload. Prints the wall time, the rate and the outcome counts, and checks
//! them (every row created, every client monitored).
//!
//!   cargo build --release -p clientwatch-bench
//!   target/release/import_bench [--clients 100000] [--data DIR]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clientwatch::adapters::folder::FolderBlobs;
use clientwatch::adapters::local;
use clientwatch::domain::clients::{ClientClass, ClientTypeSpec};
use clientwatch::flows::imports::{self, Ran};
use clientwatch::ports::Blobs;
use clientwatch::ports::clock::SystemClock;
use clientwatch::ports::ids::SystemIds;
use clientwatch::records;
use serde_json::json;

fn main() -> anyhow::Result<()> {
    let mut clients = 100_000usize;
    let mut data: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--clients" => clients = value()?.replace('_', "").parse()?,
            "--data" => data = Some(value()?.into()),
            other => anyhow::bail!("unknown argument {other:?} (--clients N, --data DIR)"),
        }
    }
    let data = data.unwrap_or_else(|| PathBuf::from(format!("bench/data/import-{clients}")));
    if data.exists() {
        std::fs::remove_dir_all(&data)?;
    }
    std::fs::create_dir_all(&data)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(clients, data))
}

async fn run(clients: usize, data: PathBuf) -> anyhow::Result<()> {
    let svc = local::services(&data, Arc::new(SystemClock), Arc::new(SystemIds))?;
    let (tenant, _) = records::tenants::bootstrap(&svc, "Import Benchmark").await?;
    records::tenants::update(
        &svc,
        &tenant.id,
        tenant.version,
        &json!({"monitoring": {"enabled": true, "default_reason": "portfolio onboarding"}}),
    )
    .await?;
    let person = records::clients::create_type(
        &svc,
        &tenant.id,
        ClientTypeSpec {
            name: "Borrower".into(),
            class: ClientClass::Individual,
            use_bureau_monitoring: true,
        },
    )
    .await?;
    let mut csv = String::with_capacity(clients * 96);
    csv.push_str(
        "external_ref,client_type_id,kind,first_name,last_name,date_of_birth,bureau_subject_id\n",
    );
    for i in 0..clients {
        csv.push_str(&format!(
            "LOAN-{i:08},{},individual,Person,Number {i},1980-02-03,IND{i:010}\n",
            person.id
        ));
    }
    let bytes = csv.len();
    let files = FolderBlobs::new(data.join("uploads"));
    let import = imports::create(&svc, &tenant.id, true).await?;
    files
        .put(
            &clientwatch::keys::import_file(&tenant.id, &import.id),
            csv.into_bytes(),
        )
        .await?;
    println!(
        "importing {clients} clients with monitoring ({:.1} MB of CSV) into an embedded store in {}",
        bytes as f64 / 1e6,
        data.display()
    );
    let started = Instant::now();
    let ran = imports::run(&svc, &files, &tenant.id, &import.id).await?;
    let wall = started.elapsed().as_secs_f64();
    let Ran::Finished(done) = ran else {
        anyhow::bail!("the import did not finish: {ran:?}");
    };
    println!(
        "  {} rows in {wall:.2} s ({:.0} clients/s): created {}, updated {}, unchanged {}, rejected {}, {} chunks",
        done.rows_done,
        done.rows_done as f64 / wall,
        done.counts.created,
        done.counts.updated,
        done.counts.unchanged,
        done.counts.rejected,
        done.chunks_done
    );
    anyhow::ensure!(
        done.counts.created == clients as u64,
        "every row is a new client"
    );
    let sample = [
        "IND0000000000".to_owned(),
        format!("IND{:010}", clients - 1),
    ];
    let lists = clientwatch::monitoring::monitors::watchers_of(&svc, &sample).await?;
    anyhow::ensure!(
        lists.iter().all(|l| l.watchers.len() == 1),
        "the first and last subjects are monitored"
    );
    Ok(())
}
