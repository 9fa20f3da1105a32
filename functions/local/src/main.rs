//! clientwatch in one process on the embedded store: the partner API on localhost, e-mail and
//! SMS into an outbox folder, no cloud and no emulator needed.
//!
//!   clientwatch-local [demo|serve|daily|comms] (see `--help`)

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

mod demo;
mod outbox_viewer;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use clientwatch::Services;
use clientwatch::adapters::folder::FolderBlobs;
use clientwatch::adapters::http::HttpWebhooks;
use clientwatch::adapters::local::{self, LocalPaths};
use clientwatch::comms;
use clientwatch::domain::webhooks::UrlPolicy;
use clientwatch::monitoring::{self, run::Sources};
use clientwatch::ports::{SystemClock, SystemIds};
use clientwatch::records;

const DEMO_KEY_FILE: &str = "demo-api-key";
const CURSOR_KEY_FILE: &str = "cursor.key";
const DEMO_FEED_DIR: &str = "demo-feed";

/// clientwatch in one process on the embedded store: the partner API and the Customer Centre on
/// one localhost listener, e-mail, SMS and events into an outbox folder. With no command it runs
/// the demo.
#[derive(Parser)]
#[command(name = "clientwatch-local", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    // The demo's options, when no command is given.
    #[command(flatten)]
    demo: Serve,
}

#[derive(Subcommand)]
enum Command {
    /// Seeds the demo tenant, runs two days of a demo bureau feed and the demo's
    /// communications, then serves the API (the default)
    Demo(Serve),
    /// Serves the API and the Customer Centre on the embedded store
    Serve(Serve),
    /// Runs the daily monitoring of one day over FEED/feeds/YYYY-MM-DD/part-*.ndjson[.gz]
    Daily(Daily),
    /// Runs the daily communications of one day (workflow steps; statements on the 1st)
    Comms(Comms),
}

#[derive(Args)]
struct Serve {
    /// Where to listen (port 0 picks a free one)
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:3000", value_parser = addr)]
    addr: SocketAddr,
    #[command(flatten)]
    data: Data,
}

#[derive(Args)]
struct Daily {
    /// The day to run
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date)]
    date: NaiveDate,
    /// The folder holding the bureau's feed (feeds/YYYY-MM-DD/part-*.ndjson[.gz])
    #[arg(long, value_name = "DIR")]
    feed: PathBuf,
    #[command(flatten)]
    data: Data,
}

#[derive(Args)]
struct Comms {
    /// The day to run
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date)]
    date: NaiveDate,
    #[command(flatten)]
    data: Data,
}

#[derive(Args)]
struct Data {
    /// The folder of the store, the outbox and the keys (made if missing)
    #[arg(long = "data", value_name = "DIR", default_value = ".local")]
    dir: PathBuf,
}

fn addr(value: &str) -> Result<SocketAddr, String> {
    value
        .parse()
        .map_err(|e| format!("--addr {value:?} is not HOST:PORT: {e}"))
}

fn date(value: &str) -> Result<NaiveDate, String> {
    value
        .parse()
        .map_err(|e| format!("--date {value:?} is not YYYY-MM-DD: {e}"))
}

/// Reads the command line, or ends the process: `--help` prints and exits 0; a value that
/// does not parse is an error like any other (`error: …` on one line, exit 1); any other
/// mistake prints clap's message with the usage and exits 1, because exit code 2 means a
/// daily run that needs attention.
fn cli() -> Cli {
    use std::error::Error as _;
    let error = match Cli::try_parse() {
        Ok(cli) => return cli,
        Err(error) => error,
    };
    if !error.use_stderr() {
        error.exit();
    }
    match error.source() {
        Some(cause) if error.kind() == clap::error::ErrorKind::ValueValidation => {
            eprintln!("error: {cause}");
        }
        _ => {
            let _ = error.print();
        }
    }
    std::process::exit(1);
}

/// The demo tenant's key: made on the first run, kept in the data folder for later runs.
async fn demo_key(svc: &Services, data: &Path) -> anyhow::Result<String> {
    let file = data.join(DEMO_KEY_FILE);
    if let Ok(key) = std::fs::read_to_string(&file) {
        let key = key.trim().to_owned();
        if records::tenants::authenticate(svc, &key).await?.is_some() {
            return Ok(key);
        }
    }
    let (tenant, issued) = records::tenants::bootstrap(svc, "Demo Lender").await?;
    demo::seed(svc, &tenant.id).await?;
    write_private(&file, &issued.secret)?;
    Ok(issued.secret)
}

/// The secret list cursors are sealed with: made on the first run (256 random bits, hex), kept
/// in the data folder so that cursors stay good across restarts.
fn cursor_key(data: &Path) -> anyhow::Result<clientwatch_api::CursorKey> {
    use clientwatch::ports::Ids;
    let file = data.join(CURSOR_KEY_FILE);
    let secret = match std::fs::read_to_string(&file) {
        Ok(text) if text.trim().len() >= clientwatch::config::MIN_CURSOR_KEY => {
            text.trim().to_owned()
        }
        Ok(_) => bail!(
            "{} holds no key of {} characters or more; delete it to make a new one",
            file.display(),
            clientwatch::config::MIN_CURSOR_KEY
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = hex::encode(SystemIds.secret());
            write_private(&file, &secret)?;
            secret
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    Ok(clientwatch_api::CursorKey::from_secret(&secret))
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

fn sources(feed_root: &Path, data: &Path) -> Sources {
    Sources {
        feeds: Arc::new(FolderBlobs::new(feed_root)),
        state: Arc::new(FolderBlobs::new(data.join("state"))),
    }
}

async fn daily(
    services: &Services,
    sources: &Sources,
    day: NaiveDate,
) -> anyhow::Result<monitoring::run::DayReport> {
    let started = std::time::Instant::now();
    let report = monitoring::run::run_day(services, sources, day, &mut |line: &str| {
        println!("  {line}")
    })
    .await
    .with_context(|| format!("the daily run of {day} failed"))?;
    println!("  {day} done in {:.2} s", started.elapsed().as_secs_f64());
    Ok(report)
}

/// One day of communications, a line per step, statement and failure.
async fn comms(services: &Services, day: NaiveDate) -> anyhow::Result<comms::run::Report> {
    let report = comms::run::run_day(services, day, &mut |line: &str| println!("  {line}"))
        .await
        .with_context(|| format!("the communications run of {day} failed"))?;
    println!(
        "  {day}: {} open invoice(s), {} message(s) sent, {} failed, {} skipped, {} deferred by quiet hours, {} by breathing space, {} statement(s), {} invoice(s) failed",
        report.invoices,
        report.sent,
        report.failed,
        report.skipped,
        report.deferred_quiet_hours,
        report.deferred_breathing_space,
        report.statements,
        report.errors
    );
    if report.interrupted > 0 {
        println!(
            "  warning: {} message(s) an earlier run was cut off while handing over may or may not have gone out: logged as interrupted, listed in GET /v1/communications/skipped, not sent again",
            report.interrupted
        );
    }
    if report.deferred_promise + report.promises_broken > 0 {
        println!(
            "  {} invoice(s) waiting for a promise to pay, {} promise(s) broken",
            report.deferred_promise, report.promises_broken
        );
    }
    if report.events_waiting > 0 {
        println!(
            "  warning: {} event(s) in the outbox were refused by the event bus; the next run publishes them",
            report.events_waiting
        );
    }
    Ok(report)
}

/// The API under `/v1/`, the outbox viewer under `/outbox` (local only), the portals everywhere
/// else: one listener, as on one machine.
/// (Chosen by path before either router sees the request, so neither gains a path parameter.)
fn app(services: Services, cursors: clientwatch_api::CursorKey, data: &Path) -> axum::Router {
    // Client import files go to a folder of the data folder through the upload route, and the
    // import runs in this process as soon as its file is there.
    let imports = clientwatch_api::ImportFiles {
        files: Arc::new(FolderBlobs::new(data.join(UPLOADS_DIR))),
        presign: None,
        run_here: true,
    };
    // Webhook endpoints may be http://localhost here (a receiver on this machine).
    // Bureau profiles' scores are read from the daily runs' baselines in the state folder.
    let api = clientwatch_api::with_baselines(
        clientwatch_api::app_with_imports(services.clone(), cursors, imports),
        clientwatch_api::Baselines(Arc::new(FolderBlobs::new(data.join("state")))),
    )
    .layer(axum::Extension(UrlPolicy::Local));
    let portal = clientwatch_portal::app(services);
    let viewer = outbox_viewer::router(LocalPaths::under(data).outbox);
    let dispatch = tower::service_fn(move |request: axum::extract::Request| {
        let path = request.uri().path();
        let target = if path.starts_with("/v1/") {
            api.clone()
        } else if path == "/outbox" || path.starts_with("/outbox/") {
            viewer.clone()
        } else {
            portal.clone()
        };
        tower::ServiceExt::oneshot(target, request)
    });
    axum::Router::new()
        .fallback_service(dispatch)
        .layer(axum::middleware::from_fn(body_deadline))
}

/// How often the local server looks for webhook deliveries that are due.
const WEBHOOK_TICK: Duration = Duration::from_secs(2);

/// Sends due webhook deliveries every [`WEBHOOK_TICK`], by the same code as on Lambda
/// (`webhooks::send::run_due`), to endpoints that may be http://localhost.
async fn webhook_sender(services: Services) {
    let client = HttpWebhooks::new(UrlPolicy::Local);
    loop {
        tokio::time::sleep(WEBHOOK_TICK).await;
        match clientwatch::webhooks::send::run_due(&services, &client, 100).await {
            Ok(report) if report != Default::default() => {
                tracing::info!(?report, "webhook deliveries sent")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "webhook deliveries failed; trying again"),
        }
    }
}

/// The data folder's folder of client import files and their results.
const UPLOADS_DIR: &str = "uploads";

/// How long the local server waits for a request's whole body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// The most the local server reads of a body before the routers apply their own limits.
const BODY_LIMIT: usize = 1024 * 1024;

/// Reads the body within [`BODY_TIMEOUT`]: a slow body, or one shorter than its
/// `Content-Length`, is answered 408 and its connection closed, instead of holding the
/// connection open for as long as the client likes. (On Lambda, API Gateway has the whole body
/// before the function runs.)
async fn body_deadline(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use clientwatch_api::problem::ApiError;
    let announced = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // An import file's upload may be as large as the upload route takes, and gets its time.
    let (limit, timeout) = if request.method() == axum::http::Method::PUT
        && request.uri().path().starts_with("/v1/imports/")
    {
        (
            clientwatch_api::routes::client_imports::MAX_UPLOAD,
            BODY_TIMEOUT * 30,
        )
    } else {
        (BODY_LIMIT, BODY_TIMEOUT)
    };
    if announced.is_some_and(|n| n > limit) {
        return ApiError::TooLarge(limit).into_response();
    }
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => {
            let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
            next.run(request).await
        }
        // Longer than the limit without announcing it, or broken off by the client.
        Ok(Err(_)) => ApiError::TooLarge(limit).into_response(),
        Err(_) => {
            let mut response = ApiError::BodyTimeout(timeout.as_secs()).into_response();
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            response
        }
    }
}

/// The Customer Centre's address for links: `localhost` for a loopback listener, because
/// browsers accept its secure cookies over plain HTTP.
fn portal_url(addr: SocketAddr) -> String {
    if addr.ip().is_loopback() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

/// Errors end the process with their message and causes on one line (`error: …: …`), no
/// backtrace, exit code 1.
fn main() {
    let cli = cli();
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

impl Command {
    fn data(&self) -> &Path {
        match self {
            Self::Demo(serve) | Self::Serve(serve) => &serve.data.dir,
            Self::Daily(daily) => &daily.data.dir,
            Self::Comms(comms) => &comms.data.dir,
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    clientwatch::telemetry::init();
    let command = cli.command.unwrap_or(Command::Demo(cli.demo));
    std::fs::create_dir_all(command.data())
        .with_context(|| format!("cannot create {}", command.data().display()))?;
    let data = command.data().canonicalize()?;
    let mut services = local::services(&data, Arc::new(SystemClock), Arc::new(SystemIds))
        .with_context(|| format!("cannot open the store in {}", data.display()))?;
    // The send rates, when set, paced as on Lambda (through the store).
    let rates = clientwatch::config::send_rates_from_env()?;
    if rates != clientwatch::ports::Rates::default() {
        services.budget = Arc::new(clientwatch::adapters::pacing::TableBudget::new(
            services.table.clone(),
            services.clock.clone(),
            rates,
        ));
    }
    // Every event a tenant's webhook endpoint subscribes to becomes a delivery first.
    services.events = Arc::new(clientwatch::webhooks::Fanout::new(
        services.table.clone(),
        services.clock.clone(),
        services.events.clone(),
    ));
    let paths = LocalPaths::under(&data);
    let (addr, demo) = match command {
        Command::Demo(serve) => (serve.addr, true),
        Command::Serve(serve) => (serve.addr, false),
        Command::Daily(Daily {
            date: day, feed, ..
        }) => {
            println!("daily monitoring run of {day} over {}", feed.display());
            let report = daily(&services, &sources(&feed, &data), day).await?;
            println!(
                "digest e-mails: {}/mail; MonitoringHit events: {}/events",
                paths.outbox.display(),
                paths.outbox.display()
            );
            let trouble = report.trouble();
            if !trouble.is_empty() {
                // Loud, last, and a failing exit: a missing or broken delivery is the first thing
                // an operator must hear about.
                eprintln!(
                    "the daily run of {day} needs attention ({} problem(s)):",
                    trouble.len()
                );
                for line in &trouble {
                    eprintln!("  {line}");
                }
                std::process::exit(2);
            }
            return Ok(());
        }
        Command::Comms(Comms { date: day, .. }) => {
            println!("communications run of {day}");
            comms(&services, day).await?;
            println!(
                "e-mails and texts: {}/mail, {}/sms",
                paths.outbox.display(),
                paths.outbox.display()
            );
            return Ok(());
        }
    };
    tokio::spawn(webhook_sender(services.clone()));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (is it in use? try --addr)"))?;
    // Links name the address actually bound (`--addr 127.0.0.1:0` picks a free port).
    services.portal_url = portal_url(listener.local_addr()?);
    let viewer = format!("{}/outbox", services.portal_url);
    let key = demo_key(&services, &data).await?;
    let cursors = cursor_key(&data)?;
    let caller = records::tenants::authenticate(&services, &key)
        .await?
        .context("the demo key does not work")?;
    let mut invite_banner = None;
    let mut account_banner = None;
    if demo {
        let today = chrono::Utc::now().date_naive();
        let day1 = today - chrono::Days::new(1);
        let feed = data.join(DEMO_FEED_DIR);
        demo::write_feed(&feed, day1, today)
            .with_context(|| format!("cannot write the demo feed in {}", feed.display()))?;
        println!("the demo bureau feed: {}/feeds", feed.display());
        let sources = sources(&feed, &data);
        for day in [day1, today] {
            daily(&services, &sources, day).await?;
        }
        println!(
            "the monitoring digest and its MonitoringHit events: {viewer}; hits: GET /v1/hits"
        );
        demo::communications(&services, &caller.tenant_id)
            .await
            .context("cannot run the demo's communications")?;
        println!("the demo's reminders and escalation (e-mails and a text): {viewer}");
        let issued = demo::invite(&services, &caller.tenant_id)
            .await
            .context("cannot send the demo invite")?;
        invite_banner = Some(issued);
        account_banner = demo::portal_link(&services, &caller.tenant_id)
            .await
            .context("cannot make the demo's account-portal link")?;
    }
    let (clients, _) =
        records::clients::list(services.table.as_ref(), &caller.tenant_id, 1, None).await?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("clientwatch is running locally");
    println!("  API:     {base}/v1  (routes in openapi.yaml)");
    println!(
        "  portal:  {}/i/<link token>  (the Customer Centre)",
        services.portal_url
    );
    println!(
        "  account: {}/a/<link token>  (the account portal of communication contacts)",
        services.portal_url
    );
    println!("  store:   {}", paths.store.display());
    println!(
        "  outbox:  {viewer}  (e-mails, texts and events sent; files in {})",
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
        "  demo:    tenant \"Demo Lender\" with roles, clients, contacts (some synced from NetSuite), a loan application, a reminder workflow and an invoice"
    );
    println!("try:");
    println!("  curl -s {base}/v1/health");
    println!("  curl -s {auth} {base}/v1/tenant");
    println!("  curl -s {auth} {base}/v1/clients");
    println!("  curl -s {auth} {base}/v1/hits");
    println!("  curl -s {auth} {base}/v1/questionnaires");
    println!("  curl -s {auth} {base}/v1/workflows");
    println!("  curl -s {auth} {base}/v1/portfolios");
    println!(
        "  curl -s {auth} '{base}/v1/usage?month={}'",
        chrono::Utc::now().format("%Y-%m")
    );
    // The client with the loan application (the demo invite's), so every line shows something.
    let shown_client = invite_banner
        .as_ref()
        .map(|issued| issued.invite.client_id.clone())
        .or_else(|| clients.first().map(|c| c.id.clone()));
    if let Some(c) = &shown_client {
        println!("  curl -s {auth} {base}/v1/clients/{c}/contacts");
        println!("  curl -s {auth} '{base}/v1/clients/{c}/recipients?purpose=reminder'");
        println!("  curl -s {auth} {base}/v1/clients/{c}/opportunities");
        println!("  curl -s {auth} {base}/v1/clients/{c}/bureau-profile");
    }
    println!(
        "  curl -s {auth} -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \\\n       -d '{{\"name\": \"Collections\", \"communication\": true}}' {base}/v1/contact-roles"
    );
    if let Some(issued) = invite_banner {
        println!(
            "Customer Centre (demo invite of {}):",
            issued.invite.contact_name
        );
        println!("  invite e-mail: {viewer} (the newest e-mail)");
        println!("  open:          {}", issued.link);
        println!("  SMS code:      press \"Text me a code\", then read it at {viewer}#sms");
    }
    if let Some((name, minted)) = account_banner {
        println!("Account portal (the demo client's communication contact, {name}):");
        println!("  open:          {}", minted.link);
        println!("  code:          press \"Text me a code\", then read it at {viewer}#sms");
    }
    println!("stop with Ctrl-C");
    axum::serve(listener, app(services, cursors, &data))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
