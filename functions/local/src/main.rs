//! clientwatch in one process on the embedded store: the partner API on localhost, e-mail and
//! SMS into an outbox folder, no cloud and no emulator needed.
//!
//!   clientwatch-local [serve] [--addr 127.0.0.1:3000] [--data .local]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod demo;

use anyhow::{Context, bail};
use clientwatch::Services;
use clientwatch::adapters::local::{self, LocalPaths};
use clientwatch::domain::{clients, tenants};
use clientwatch::ports::{SystemClock, SystemIds};

const USAGE: &str = "usage: clientwatch-local [serve] [--addr HOST:PORT] [--data DIR]";
const DEMO_KEY_FILE: &str = "demo-api-key";

struct Options {
    addr: SocketAddr,
    data: PathBuf,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        addr: "127.0.0.1:3000".parse()?,
        data: PathBuf::from(".local"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "serve" => {}
            "--addr" => {
                let value = args.next().context(USAGE)?;
                options.addr = value
                    .parse()
                    .with_context(|| format!("--addr {value:?} is not HOST:PORT"))?;
            }
            "--data" => options.data = args.next().context(USAGE)?.into(),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(options)
}

/// The demo tenant's key: made on the first run, kept in the data folder for later runs.
async fn demo_key(svc: &Services, data: &Path) -> anyhow::Result<String> {
    let file = data.join(DEMO_KEY_FILE);
    if let Ok(key) = std::fs::read_to_string(&file) {
        let key = key.trim().to_owned();
        if tenants::authenticate(svc, &key).await?.is_some() {
            return Ok(key);
        }
    }
    let (tenant, issued) = tenants::bootstrap(svc, "Demo Lender").await?;
    demo::seed(svc, &tenant.id).await?;
    write_private(&file, &issued.secret)?;
    Ok(issued.secret)
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    clientwatch::telemetry::init();
    let options = options()?;
    std::fs::create_dir_all(&options.data)
        .with_context(|| format!("cannot create {}", options.data.display()))?;
    let data = options.data.canonicalize()?;
    let (services, _events) = local::services(&data, Arc::new(SystemClock), Arc::new(SystemIds))
        .with_context(|| format!("cannot open the store in {}", data.display()))?;
    let key = demo_key(&services, &data).await?;
    let caller = tenants::authenticate(&services, &key)
        .await?
        .context("the demo key does not work")?;
    let (clients, _) = clients::list(&services, &caller.tenant_id, 1, None).await?;
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is it in use? try --addr)",
                options.addr
            )
        })?;
    let base = format!("http://{}", listener.local_addr()?);
    let paths = LocalPaths::under(&data);
    println!("clientwatch is running locally");
    println!("  API:     {base}/v1  (routes in openapi.yaml)");
    println!("  store:   {}", paths.store.display());
    println!(
        "  outbox:  {}  (mail/*.eml, sms/*.txt)",
        paths.outbox.display()
    );
    println!(
        "  API key: {}  (demo tenant; admin scope)",
        data.join(DEMO_KEY_FILE).display()
    );
    let auth = format!(
        "-H \"Authorization: Bearer $(cat {})\"",
        data.join(DEMO_KEY_FILE).display()
    );
    println!(
        "  demo:    tenant \"Demo Lender\" with roles, clients, contacts (some synced from NetSuite) and a loan application"
    );
    println!("try:");
    println!("  curl -s {base}/v1/health");
    println!("  curl -s {auth} {base}/v1/tenant");
    println!("  curl -s {auth} {base}/v1/clients");
    if let Some(client) = clients.first() {
        let c = &client.id;
        println!("  curl -s {auth} {base}/v1/clients/{c}/contacts");
        println!("  curl -s {auth} '{base}/v1/clients/{c}/recipients?purpose=reminder'");
        println!("  curl -s {auth} {base}/v1/clients/{c}/opportunities");
    }
    println!(
        "  curl -s {auth} -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \\\n       -d '{{\"name\": \"Collections\", \"communication\": true}}' {base}/v1/contact-roles"
    );
    println!("stop with Ctrl-C");
    axum::serve(listener, clientwatch_api::app(services))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
