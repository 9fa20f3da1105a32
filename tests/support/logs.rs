//! Everything the process logs, at every level, captured for a test to read: for tests that
//! check what reaches (and what never reaches) a log line. It installs the process's only
//! subscriber, so a test that uses it runs in a process of its own ([`in_own_process!`]): the
//! scenarios are one test binary, and the subscriber would otherwise catch every other test's
//! logs and could be installed once only.
//!
//! [`in_own_process!`]: crate::in_own_process

use std::io::Write;
use std::process::Command;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The captured log of the whole process.
pub struct Captured(Sink);

impl Captured {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.0.lock().unwrap()).into_owned()
    }
}

/// Installs a TRACE-level subscriber writing into memory. Only in a test declared with
/// [`in_own_process!`](crate::in_own_process).
pub fn capture() -> Captured {
    assert!(
        std::env::var_os(ALONE).is_some(),
        "logs::capture() installs the process's subscriber: declare the test with \
         in_own_process! so that it runs alone"
    );
    let sink = Sink::default();
    let writer = sink.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    Captured(sink)
}

/// Set, in a child process, to the name of the one test it runs.
const ALONE: &str = "CLIENTWATCH_TEST_ALONE";

/// Declares a `#[tokio::test]` that runs in a process of its own: the test binary runs itself
/// again with only this test selected, and the test passes when that run does.
#[macro_export]
macro_rules! in_own_process {
    (
        $(#[doc = $doc:expr])*
        #[tokio::test($($runtime:tt)*)]
        async fn $name:ident() $body:block
    ) => {
        $(#[doc = $doc])*
        #[test]
        fn $name() {
            #[tokio::main($($runtime)*)]
            async fn body() $body
            if $crate::logs::alone(module_path!(), stringify!($name)) {
                body();
            }
        }
    };
}

/// Whether this process is the one to run test `name` (of module `module`) in. In the test
/// binary's own run, it is not: this runs the binary again for that test alone, shows what the
/// run printed, and asserts that the test ran there and passed.
pub fn alone(module: &str, name: &str) -> bool {
    // `module_path!()` begins with the test binary's crate name; a test's name does not.
    let test = match module.split_once("::") {
        Some((_, path)) => format!("{path}::{name}"),
        None => name.to_owned(),
    };
    if std::env::var(ALONE).is_ok_and(|running| running == test) {
        return true;
    }
    let binary = std::env::current_exe().expect("the test binary's path");
    let run = Command::new(binary)
        .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(ALONE, &test)
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&run.stdout);
    // Marked, so that the run's own `test result:` line is not read as this binary's.
    for line in stdout.lines() {
        println!("[own process] {line}");
    }
    for line in String::from_utf8_lossy(&run.stderr).lines() {
        eprintln!("[own process] {line}");
    }
    assert!(run.status.success(), "{test} failed in its own process");
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{test} did not run in its own process"
    );
    false
}
