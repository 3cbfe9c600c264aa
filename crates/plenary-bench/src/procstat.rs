//! Server RSS and CPU from /proc/<pid>, when the server runs on this machine.

use std::time::Instant;

/// Linux reports CPU times in clock ticks of 1/100 s on every platform we run on.
const TICKS_PER_SECOND: f64 = 100.0;

/// Resource use of the server process over the measured window.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServerUsage {
    pub pid: u32,
    pub rss_mb: f64,
    pub peak_rss_mb: f64,
    /// 100 = one core busy for the whole window.
    pub cpu_percent: f64,
}

/// A CPU-time reading to diff against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuMark {
    ticks: u64,
    at: Instant,
}

pub(crate) fn cpu_mark(pid: u32, now: Instant) -> Option<CpuMark> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields resume after its closing parenthesis.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(CpuMark {
        ticks: utime + stime,
        at: now,
    })
}

/// The process's resident memory now (VmRSS), in MB.
pub(crate) fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_kb(&status, "VmRSS:").map(|kb| kb / 1024.0)
}

fn status_kb(status: &str, key: &str) -> Option<f64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok()
}

/// Usage between `start` and now.
pub(crate) fn usage(pid: u32, start: CpuMark, now: Instant) -> Option<ServerUsage> {
    let end = cpu_mark(pid, now)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| status_kb(&status, key);
    let seconds = end
        .at
        .saturating_duration_since(start.at)
        .as_secs_f64()
        .max(1e-6);
    Some(ServerUsage {
        pid,
        rss_mb: kb("VmRSS:")? / 1024.0,
        peak_rss_mb: kb("VmHWM:").unwrap_or(0.0) / 1024.0,
        cpu_percent: (end.ticks.saturating_sub(start.ticks)) as f64 / TICKS_PER_SECOND / seconds
            * 100.0,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_resident_memory_of_this_process() {
        let pid = std::process::id();
        let start = cpu_mark(pid, Instant::now()).unwrap();
        let u = usage(pid, start, Instant::now()).unwrap();
        assert!(u.rss_mb > 0.5, "{u:?}");
        let now = rss_mb(pid).unwrap();
        assert!(now > 0.5 && now <= u.peak_rss_mb * 2.0, "{now} vs {u:?}");
    }
}
