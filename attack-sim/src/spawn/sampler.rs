//! The spawned server's resource use over time, read from `/proc/PID` (Linux): resident
//! memory, open file descriptors and CPU.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

/// Clock ticks per second in `/proc/PID/stat` (`USER_HZ`, fixed at 100 in the Linux ABI).
pub const USER_HZ: f64 = 100.0;

/// How often the server is sampled.
pub const EVERY: Duration = Duration::from_millis(250);

/// One reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ServerSample {
    /// When, in ms from the start of the scenario's run.
    pub at_ms: f64,
    /// Resident memory.
    pub rss_bytes: u64,
    /// Open file descriptors (sockets included).
    pub fds: u64,
    /// CPU used since the previous reading, in % of one core.
    pub cpu_percent: f64,
}

/// The server side of a scenario, as reported; empty unless the harness spawned the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServerStats {
    /// Peak resident memory.
    pub rss_peak_bytes: Option<u64>,
    /// Peak open file descriptors.
    pub fds_peak: Option<u64>,
    /// Peak CPU over one sampling interval, in % of one core.
    pub cpu_peak_percent: Option<f64>,
    /// Whether the server was still running at the end of the scenario.
    pub alive_at_end: Option<bool>,
    /// Every reading, in order.
    pub samples: Vec<ServerSample>,
}

impl ServerStats {
    /// From the readings of a run.
    pub fn from_samples(samples: Vec<ServerSample>, alive_at_end: bool) -> Self {
        let max = |f: fn(&ServerSample) -> u64| samples.iter().map(f).max();
        ServerStats {
            rss_peak_bytes: max(|s| s.rss_bytes),
            fds_peak: max(|s| s.fds),
            cpu_peak_percent: samples.iter().map(|s| s.cpu_percent).reduce(f64::max),
            alive_at_end: Some(alive_at_end),
            samples,
        }
    }
}

/// Raw counters of one reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// Resident bytes.
    pub rss_bytes: u64,
    /// Open descriptors.
    pub fds: u64,
    /// User plus system CPU, in clock ticks since the process started.
    pub cpu_ticks: u64,
}

/// Reads process `pid`'s counters; `None` once it has exited.
pub fn read(pid: u32) -> Option<Reading> {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let status = std::fs::read_to_string(dir.join("status")).ok()?;
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    let fds = std::fs::read_dir(dir.join("fd")).ok()?.count() as u64;
    Some(Reading {
        rss_bytes: parse_rss(&status)?,
        fds,
        cpu_ticks: parse_cpu_ticks(&stat)?,
    })
}

/// Process `pid`'s user plus system CPU in clock ticks (all its threads), alone: cheaper
/// than [`read`]; `None` once it has exited.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    parse_cpu_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// `VmRSS:   1234 kB` in `/proc/PID/status`, in bytes.
fn parse_rss(status: &str) -> Option<u64> {
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// `utime + stime` in `/proc/PID/stat`: fields 14 and 15, counted after the command name,
/// which is in parentheses and may itself hold spaces and parentheses.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so field N is at index N - 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Calls `read(ms since start)` every [`EVERY`] from `start` to `end`, collecting what it
/// returns, until it returns `None`. Ticks missed under load are skipped, not bunched.
pub async fn every_tick<T>(
    start: Instant,
    end: Instant,
    stop: &Stop,
    mut read: impl FnMut(f64) -> Option<T>,
) -> Vec<T> {
    let mut tick = tokio::time::interval_at(start, EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut out = Vec::new();
    loop {
        let at = tick.tick().await;
        if at > end || stop.is_set() {
            return out;
        }
        match read((at - start).as_secs_f64() * 1000.0) {
            Some(v) => out.push(v),
            None => return out,
        }
    }
}

/// Tells a sampling loop to end at its next tick, what it has read kept.
#[derive(Debug, Clone, Default)]
pub struct Stop(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Stop {
    /// Ends the loops that hold a clone.
    pub fn set(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether [`Stop::set`] was called.
    pub fn is_set(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Most of a settle's wait.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(15);

/// Waits (polling every [`EVERY`], at most [`SETTLE_LIMIT`]) until `pid` holds no more than
/// `fds` open descriptors, so that a scenario's connections are gone before the next
/// scenario's baseline; returns how long that took, or `None` when it did not happen in time.
pub async fn settle(pid: u32, fds: u64) -> Option<Duration> {
    let start = Instant::now();
    loop {
        match read(pid) {
            Some(r) if r.fds > fds => {}
            _ => return Some(start.elapsed()),
        }
        if start.elapsed() >= SETTLE_LIMIT {
            return None;
        }
        tokio::time::sleep(EVERY).await;
    }
}

/// Samples `pid` every [`EVERY`] from `start` until `end` or until it exits.
pub async fn sample(pid: u32, start: Instant, end: Instant, stop: Stop) -> ServerStats {
    let mut last: Option<(Instant, u64)> = None;
    let samples = every_tick(start, end, &stop, |at_ms| {
        let r = read(pid)?;
        let now = Instant::now();
        let cpu_percent = match last {
            Some((t, ticks)) if now > t => {
                let secs = (now - t).as_secs_f64();
                (r.cpu_ticks.saturating_sub(ticks)) as f64 / USER_HZ / secs * 100.0
            }
            _ => 0.0,
        };
        last = Some((now, r.cpu_ticks));
        Some(ServerSample {
            at_ms,
            rss_bytes: r.rss_bytes,
            fds: r.fds,
            cpu_percent,
        })
    })
    .await;
    ServerStats::from_samples(samples, read(pid).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_fields_parse_even_with_odd_command_names() {
        let status = "Name:\trampart\nVmPeak:\t  9000 kB\nVmRSS:\t    2048 kB\nThreads:\t3\n";
        assert_eq!(parse_rss(status), Some(2048 * 1024));
        assert_eq!(parse_rss("Name: x\n"), None);
        let stat = "4242 (ram part) (x) S 1 4242 4242 0 -1 4194560 100 0 0 0 37 5 0 0 20 0 3 0";
        assert_eq!(parse_cpu_ticks(stat), Some(42));
        assert_eq!(parse_cpu_ticks("4242 (short) S 1"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let r = read(std::process::id()).expect("own /proc entry");
        assert!(r.rss_bytes > 0 && r.fds >= 3, "{r:?}");
    }

    #[test]
    fn peaks_come_from_the_samples() {
        let s = |rss_bytes, fds, cpu_percent| ServerSample {
            at_ms: 0.0,
            rss_bytes,
            fds,
            cpu_percent,
        };
        let stats = ServerStats::from_samples(vec![s(10, 7, 50.0), s(30, 5, 120.0)], true);
        assert_eq!(stats.rss_peak_bytes, Some(30));
        assert_eq!(stats.fds_peak, Some(7));
        assert_eq!(stats.cpu_peak_percent, Some(120.0));
        let none = ServerStats::from_samples(Vec::new(), false);
        assert_eq!(
            (none.rss_peak_bytes, none.alive_at_end),
            (None, Some(false))
        );
    }
}
