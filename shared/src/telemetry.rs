//! Structured logs. On Lambda they are JSON (one object a line, as CloudWatch Logs Insights
//! reads them); locally they are human-readable, on standard error (the local command's own
//! output stays on standard output), coloured only when standard error is a terminal.
//! `RUST_LOG` (or `LOG_LEVEL`) sets the filter: `RUST_LOG=trace` shows every store call and
//! every message decision; `RUST_LOG=clientwatch=debug` only this crate's.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("LOG_LEVEL"))
        .unwrap_or_else(|_| "info".into());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    // A second initialisation (tests, a binary that runs twice) keeps the first subscriber.
    let _ = if on_lambda {
        builder
            .json()
            .with_current_span(true)
            .without_time()
            .with_target(false)
            .try_init()
    } else {
        builder
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .try_init()
    };
}
