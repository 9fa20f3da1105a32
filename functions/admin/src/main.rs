//! Operator commands. The first tenant of a deployment and its admin key come from here; every
//! later key can be issued through the API with that key.
//!
//!   clientwatch-admin create-tenant --name NAME (--table TABLE | --data DIR)
//!
//! `--table` writes to DynamoDB with the operator's own AWS credentials (the usual AWS_*
//! variables and profiles); `--data` writes to a local embedded store.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use clap::{Args, Parser, Subcommand};
use clientwatch::adapters::{aws, local};
use clientwatch::ports::{SystemClock, SystemIds};
use clientwatch::records;

/// Operator commands: the first tenant of a deployment and its admin key. Every later key is
/// issued through the API with that key.
#[derive(Parser)]
#[command(name = "clientwatch-admin")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates a tenant and its first admin API key, and prints the key once
    CreateTenant {
        /// The tenant's name
        #[arg(long)]
        name: String,
        #[command(flatten)]
        store: Store,
    },
}

/// Where the tenant is written: exactly one of the two.
#[derive(Args)]
#[group(required = true, multiple = false)]
struct Store {
    /// A DynamoDB table, written with your own AWS credentials (AWS_* variables, profiles)
    #[arg(long, value_name = "TABLE")]
    table: Option<String>,
    /// A local embedded store's folder (as clientwatch-local's --data)
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Command::CreateTenant { name, store } = Cli::parse().command;
    let services = match (store.table, store.data) {
        // Only the table is written: no sender, bus or portal is configured or needed.
        (Some(table), None) => {
            aws::table_services(&aws::sdk_config().await, &table, "clientwatch-admin")
        }
        (None, Some(dir)) => local::services(&dir, Arc::new(SystemClock), Arc::new(SystemIds))?,
        // clap's group already refuses these; said again rather than assumed.
        _ => bail!("give exactly one of --table and --data"),
    };
    let (tenant, key) = records::tenants::bootstrap(&services, &name).await?;
    println!("tenant:  {} ({})", tenant.spec.name, tenant.id);
    println!("API key: {}", key.secret);
    println!("Keep the key now: it is stored only as a hash and cannot be shown again.");
    Ok(())
}
