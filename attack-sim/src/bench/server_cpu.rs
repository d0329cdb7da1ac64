//! What a handshake or a request costs the server in CPU, read from `/proc/PID/stat` of the
//! processes `--server-pid` names (a server on this host, Linux): user plus system time over
//! a measurement, divided by what the measurement completed. Unlike a rate, it does not
//! depend on the client's own cost or on how it counts: two load tools that disagree on
//! handshakes per second agree on this, or show that they do different work.

use std::time::Duration;

use crate::spawn::sampler;

/// Why `--server-pid` cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("--server-pid {pid}: no such process readable here (/proc/{pid}/stat)")]
pub struct UnknownPid {
    /// The pid given.
    pub pid: u32,
}

/// The server's processes (a master and its workers count together).
#[derive(Debug, Clone, Default)]
pub struct ServerCpu {
    pids: Vec<u32>,
}

/// CPU ticks of the server when a measurement began; `None` when no pid was given.
#[derive(Debug, Clone, Copy)]
pub struct Mark(Option<u64>);

impl ServerCpu {
    /// Checks that every pid can be read now.
    pub fn new(pids: Vec<u32>) -> Result<Self, UnknownPid> {
        if let Some(&pid) = pids.iter().find(|&&p| sampler::cpu_ticks(p).is_none()) {
            return Err(UnknownPid { pid });
        }
        Ok(ServerCpu { pids })
    }

    /// Total ticks of every process; `None` when none was given or one has exited.
    fn ticks(&self) -> Option<u64> {
        if self.pids.is_empty() {
            return None;
        }
        self.pids.iter().map(|&p| sampler::cpu_ticks(p)).sum()
    }

    /// Marks the start of a measurement.
    pub fn mark(&self) -> Mark {
        Mark(self.ticks())
    }

    /// Microseconds of server CPU per operation since `from`, over `ops` operations; `None`
    /// without pids, when a process exited, or when nothing completed.
    pub fn per_op_us(&self, from: Mark, ops: u64) -> Option<f64> {
        let used = self.ticks()?.checked_sub(from.0?)?;
        per_op_us(used, ops)
    }
}

/// `ticks` of CPU (at [`sampler::USER_HZ`]) spread over `ops`, in microseconds each.
fn per_op_us(ticks: u64, ops: u64) -> Option<f64> {
    if ops == 0 {
        return None;
    }
    let used = Duration::from_secs_f64(ticks as f64 / sampler::USER_HZ);
    Some(used.as_secs_f64() * 1e6 / ops as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_spread_over_what_completed() {
        // 150 ticks are 1.5 s; over 3,000 handshakes, 500 µs each.
        assert_eq!(per_op_us(150, 3_000), Some(500.0));
        assert_eq!(per_op_us(0, 10), Some(0.0));
        assert_eq!(per_op_us(150, 0), None, "nothing completed: no figure");
    }

    #[test]
    fn a_process_that_does_not_exist_is_named() {
        // Above any pid_max Linux allows (2^22).
        let Err(e) = ServerCpu::new(vec![std::process::id(), 4_294_967_295]) else {
            panic!("an unknown pid was taken");
        };
        assert_eq!(e.pid, 4_294_967_295);
        assert!(e.to_string().contains("--server-pid 4294967295"), "{e}");
    }

    #[test]
    fn this_process_burning_cpu_is_measured() {
        let cpu = ServerCpu::new(vec![std::process::id()]).expect("own pid");
        let from = cpu.mark();
        // Spin until the kernel has counted at least two ticks (20 ms) of this process.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while cpu.per_op_us(from, 1).unwrap_or(0.0) < 20_000.0 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            assert!(start.elapsed() < Duration::from_secs(20), "no CPU counted");
        }
        assert!(cpu.per_op_us(from, 1).is_some(), "{x}");
        assert_eq!(cpu.per_op_us(from, 0), None);
    }

    #[test]
    fn without_pids_there_is_no_figure() {
        let cpu = ServerCpu::new(Vec::new()).expect("none");
        assert_eq!(cpu.per_op_us(cpu.mark(), 10), None);
    }
}
