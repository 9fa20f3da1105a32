//! Operator commands. The first tenant of a deployment and its admin key come from here; every
//! later key can be issued through the API with that key.
//!
//!   clientwatch-admin create-tenant --name NAME (--table TABLE | --data DIR)
//!
//! `--table` writes to DynamoDB with the operator's own AWS credentials (the usual AWS_*
//! variables and profiles); `--data` writes to a local embedded store.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clientwatch::adapters::{aws, local};
use clientwatch::config::Config;
use clientwatch::ports::{SystemClock, SystemIds};
use clientwatch::records;

const USAGE: &str =
    "usage: clientwatch-admin create-tenant --name NAME (--table TABLE | --data DIR)";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("create-tenant") {
        bail!("{USAGE}");
    }
    let (mut name, mut table, mut data) = (None, None, None);
    let mut rest = args[1..].iter();
    while let Some(arg) = rest.next() {
        let mut value = || rest.next().cloned().context(USAGE);
        match arg.as_str() {
            "--name" => name = Some(value()?),
            "--table" => table = Some(value()?),
            "--data" => data = Some(PathBuf::from(value()?)),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let name = name.context(USAGE)?;
    let services = match (table, data) {
        (Some(table), None) => {
            // Only the table is used; the rest of the configuration may be absent here.
            let config = Config::from_lookup(|key| match key {
                "TABLE_NAME" => Some(table.clone()),
                "EVENT_BUS_NAME" => Some("default".into()),
                "MAIL_FROM" => Some("operator@localhost.localdomain".into()),
                other => std::env::var(other).ok(),
            })?;
            aws::services(&aws::sdk_config().await, &config)
        }
        (None, Some(dir)) => local::services(&dir, Arc::new(SystemClock), Arc::new(SystemIds))?,
        _ => bail!("give exactly one of --table and --data\n{USAGE}"),
    };
    let (tenant, key) = records::tenants::bootstrap(&services, &name).await?;
    println!("tenant:  {} ({})", tenant.spec.name, tenant.id);
    println!("API key: {}", key.secret);
    println!("Keep the key now: it is stored only as a hash and cannot be shown again.");
    Ok(())
}
