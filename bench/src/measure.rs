//! Runs one child process and reports its wall time, its processor time, its peak resident
//! memory and its standard output.
//!
//! The peak comes from `wait4` on the child's own pid: it is that child's high-water mark (or,
//! if larger, that of a descendant it waited for), unmixed with other children of this process,
//! which `getrusage(RUSAGE_CHILDREN)` would fold in.
//!
//! One caveat of Linux: a new program inherits the high-water mark of the address space it was
//! started from, which for a spawned child is this process's. So before each spawn this
//! process's own high-water mark is lowered to its current size (`/proc/self/clear_refs`), and
//! that size is reported as `floor_kib`: a child whose own peak is below it is reported at it.
//! So keep the measuring process small; and know that its own `VmHWM` no longer shows its
//! lifetime peak.

use std::fs;
use std::io::{self, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Measurement {
    pub status: ExitStatus,
    /// From just before the spawn until the child was reaped.
    pub wall: Duration,
    /// User and system time of the child (and of descendants it waited for): what the work
    /// costs a processor, whatever else shared the machine meanwhile.
    pub cpu: Duration,
    /// `ru_maxrss`: kibibytes on Linux. Not below about `floor_kib`.
    pub peak_rss_kib: u64,
    /// This process's resident size when it spawned the child (0 where `/proc` is missing).
    pub floor_kib: u64,
    pub stdout: Vec<u8>,
}

impl Measurement {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Runs `command` to its end with its standard output captured (standard error and input are
/// left as the command has them). A child that fails is still measured: check `status`.
pub fn measure(command: &mut Command) -> io::Result<Measurement> {
    command.stdout(Stdio::piped());
    let floor_kib = lower_own_peak();
    let started = Instant::now();
    let mut child = command.spawn()?;
    let mut stdout = Vec::new();
    let read = child
        .stdout
        .take()
        .expect("stdout is piped")
        .read_to_end(&mut stdout);
    // Reaped here, never through `child.wait()`: the rusage comes only with the reaping.
    let (status, usage) = wait4(child.id())?;
    let wall = started.elapsed();
    read?;
    Ok(Measurement {
        status,
        wall,
        cpu: duration(usage.ru_utime) + duration(usage.ru_stime),
        peak_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        floor_kib,
        stdout,
    })
}

fn duration(t: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
        + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
}

/// Resets this process's high-water mark to its current resident size and returns it, in KiB.
fn lower_own_peak() -> u64 {
    // Writing "5" resets the peak (Linux 4.0 and later); without it the floor is the peak.
    let _ = fs::write("/proc/self/clear_refs", "5");
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

fn wait4(pid: u32) -> io::Result<(ExitStatus, libc::rusage)> {
    let pid = libc::pid_t::try_from(pid).map_err(io::Error::other)?;
    let mut status = 0;
    // SAFETY: `rusage` is plain old data, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals of the right types; `pid` is our own child,
        // not yet reaped.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            return Ok((ExitStatus::from_raw(status), usage));
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Kibibytes (as `wait4` gives peak memory) in mebibytes.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// `m` if its process succeeded; otherwise an error saying `what` failed, with its output.
pub fn checked(what: &str, m: Measurement) -> anyhow::Result<Measurement> {
    if !m.status.success() {
        anyhow::bail!("{what} failed ({}):\n{}", m.status, m.stdout_text());
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_child_is_measured_with_its_status() {
        let failed = measure(Command::new("sh").args(["-c", "echo partial; exit 3"])).unwrap();
        assert_eq!(failed.status.code(), Some(3));
        assert_eq!(failed.stdout_text(), "partial\n");
    }

    #[test]
    fn a_missing_program_is_an_error() {
        assert!(measure(&mut Command::new("/nonexistent/program")).is_err());
    }
}
