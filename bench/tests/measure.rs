//! `measure` in a process of its own: the peak it reports for a child is the child's, not this
//! process's (which unit tests running alongside would inflate).

use std::process::Command;
use std::time::Duration;

use clientwatch_bench::measure::measure;

#[test]
fn a_child_holding_30_mb_peaks_above_it_and_a_small_child_stays_small() {
    // The shell keeps the whole substituted output in memory before it takes its length.
    let big = measure(Command::new("sh").args([
        "-c",
        "x=$(head -c 30000000 /dev/zero | tr '\\0' a); echo ${#x}",
    ]))
    .unwrap();
    // A 200 MB peak of this process, gone before the next child starts, must not show in it.
    drop(std::hint::black_box(vec![1u8; 200_000_000]));
    let small = measure(Command::new("sh").args(["-c", "echo small"])).unwrap();

    assert!(big.status.success());
    assert_eq!(big.stdout_text(), "30000000\n");
    assert!(big.peak_rss_kib > 30_000, "{big:?}");
    assert!(big.wall > Duration::ZERO);
    // Making 30 MB of text is work, done by the shell's children, which it waited for.
    assert!(big.cpu > Duration::ZERO, "{big:?}");
    assert!(small.status.success());
    assert_eq!(small.stdout_text(), "small\n");
    assert!(small.peak_rss_kib > 0);
    assert!(small.peak_rss_kib < 20_000, "{:?}", small);
    assert!(small.floor_kib < 20_000, "{:?}", small);
}
