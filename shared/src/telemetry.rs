//! Structured logs. On Lambda they are JSON (one object a line, as CloudWatch Logs Insights
//! reads them); locally they are human-readable, on standard error (the local command's own
//! output stays on standard output), coloured only when standard error is a terminal.
//! `RUST_LOG` (or `LOG_LEVEL`) sets the filter: `RUST_LOG=trace` shows every store call and
//! every message decision; `RUST_LOG=clientwatch=debug` only this crate's.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// DynamoDB capacity units consumed by this process (the DynamoDB adapter asks every call for
/// its consumed capacity and adds it here), in thousandths of a unit. Lambda runs one
/// invocation at a time in an instance, so a run's figure is the difference between two
/// readings ([`units`]).
static READ_MILLI_UNITS: AtomicU64 = AtomicU64::new(0);
static WRITE_MILLI_UNITS: AtomicU64 = AtomicU64::new(0);

/// Adds the capacity a store call consumed.
pub fn add_units(read: f64, write: f64) {
    READ_MILLI_UNITS.fetch_add((read * 1000.0).round() as u64, Ordering::Relaxed);
    WRITE_MILLI_UNITS.fetch_add((write * 1000.0).round() as u64, Ordering::Relaxed);
}

/// The (read, write) capacity units consumed so far by this process.
pub fn units() -> (f64, f64) {
    (
        READ_MILLI_UNITS.load(Ordering::Relaxed) as f64 / 1000.0,
        WRITE_MILLI_UNITS.load(Ordering::Relaxed) as f64 / 1000.0,
    )
}

/// One line of CloudWatch embedded metric format: the figures of one run (or one step), which
/// Lambda's log stream turns into metrics in `namespace` (no dimensions: the figures are the
/// service's, not a tenant's). Locally the line is not written ([`Metrics::emit`] is a no-op off
/// Lambda) — the local command prints its own summary.
#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: &'static str,
    values: Vec<(&'static str, &'static str, f64)>,
    started: std::time::Instant,
    units_at_start: (f64, f64),
}

impl Metrics {
    /// Starts the figures of a run: its duration and the store units it consumes are measured
    /// from here.
    pub fn start(namespace: &'static str) -> Self {
        Metrics {
            namespace,
            values: Vec::new(),
            started: std::time::Instant::now(),
            units_at_start: units(),
        }
    }

    /// A count (`Unit: Count`).
    pub fn count(&mut self, name: &'static str, n: u64) -> &mut Self {
        self.values.push((name, "Count", n as f64));
        self
    }

    /// The line, as of `timestamp_ms`: the counts, `DurationSeconds` since [`start`](Self::start),
    /// and the DynamoDB units consumed since then (`ReadUnits`, `WriteUnits`).
    pub fn line(&self, timestamp_ms: i64) -> serde_json::Value {
        let (read, write) = units();
        let mut values = self.values.clone();
        values.push((
            "DurationSeconds",
            "Seconds",
            self.started.elapsed().as_secs_f64(),
        ));
        values.push(("ReadUnits", "Count", read - self.units_at_start.0));
        values.push(("WriteUnits", "Count", write - self.units_at_start.1));
        let mut line = serde_json::Map::new();
        let definitions: Vec<serde_json::Value> = values
            .iter()
            .map(|(name, unit, _)| serde_json::json!({"Name": name, "Unit": unit}))
            .collect();
        line.insert(
            "_aws".into(),
            serde_json::json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [[]],
                    "Metrics": definitions,
                }]
            }),
        );
        for (name, _, value) in values {
            line.insert(name.into(), serde_json::json!(value));
        }
        serde_json::Value::Object(line)
    }

    /// Writes the line on standard output on Lambda (where CloudWatch reads it); elsewhere
    /// nothing.
    pub fn emit(&self) {
        if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
            println!("{}", self.line(chrono::Utc::now().timestamp_millis()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metrics_line_declares_every_figure_it_carries() {
        let mut m = Metrics::start("clientwatch/Test");
        m.count("HitsFound", 7).count("SubjectsRead", 1000);
        add_units(2.5, 4.0);
        let line = m.line(1_700_000_000_000);
        let declared: Vec<&str> = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            declared,
            [
                "HitsFound",
                "SubjectsRead",
                "DurationSeconds",
                "ReadUnits",
                "WriteUnits"
            ]
        );
        for name in declared {
            assert!(line[name].is_number(), "{name} has a value");
        }
        assert_eq!(line["HitsFound"], 7.0);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "clientwatch/Test"
        );
        // Other tests of this process may add units too: at least these were counted.
        assert!(line["ReadUnits"].as_f64().unwrap() >= 2.5);
        assert!(line["WriteUnits"].as_f64().unwrap() >= 4.0);
    }
}
