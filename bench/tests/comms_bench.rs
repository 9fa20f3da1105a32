//! `comms_bench` end to end at a tiny size, so that the benchmark's setup cannot rot: the book
//! seeded through the records' functions, `clientwatch-local comms` run on it twice, and every
//! due reminder found sent once (the benchmark checks the run's own output and the outbox, and
//! fails otherwise), then nothing sent on the day again.
//!
//! It runs the `clientwatch-local` beside the benchmark (`target/debug/`), which
//! `cargo test --workspace` builds; alone, build it first: `cargo build -p clientwatch-local`.

use std::process::Command;

use clientwatch_bench::comms::Book;

const INVOICES: u64 = 200;

#[test]
fn a_tiny_book_gets_every_reminder_once_and_nothing_on_the_day_again() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_comms_bench"))
        .args(["--invoices", &INVOICES.to_string()])
        .arg("--data")
        .arg(data.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");

    let messages = Book::new(INVOICES).messages();
    assert!(
        messages > INVOICES,
        "some clients have two reminded contacts"
    );
    let row = |label: &str, sent: u64| format!("| {INVOICES} | {label} | {sent} |");
    assert!(
        stdout.contains(&row("every reminder due", messages)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&row("the same day again (nothing due)", 0)),
        "{stdout}"
    );
}
