//! The standard `process_*` metrics every Prometheus client exports (CPU, memory, file
//! descriptors, start time, threads), read from `/proc/self` at scrape time, plus
//! `venture_memory_limit_bytes`, the memory the process may use (its cgroup's limit, else
//! the machine's), so "memory above 80% of the limit" is one division in a rule.
//!
//! prometheus-client has no process collector of its own, so this is a [`Collector`] over
//! the `procfs` crate. A value that cannot be read is left out of that scrape rather than
//! failing it. On systems without `/proc` the collector exports nothing.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// What one scrape read; `None` where a value could not be read.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessSample {
    pub cpu_seconds: Option<f64>,
    pub resident_bytes: Option<i64>,
    pub virtual_bytes: Option<i64>,
    pub open_fds: Option<i64>,
    pub max_fds: Option<i64>,
    pub start_time_seconds: Option<f64>,
    pub threads: Option<i64>,
    pub memory_limit_bytes: Option<i64>,
}

impl ProcessSample {
    /// Reads the current process.
    #[cfg(target_os = "linux")]
    pub fn read() -> Self {
        use procfs::process::{LimitValue, Process};
        use procfs::{Current, WithCurrentSystemInfo};
        let mut s = ProcessSample::default();
        let Ok(me) = Process::myself() else {
            return s;
        };
        let tps = procfs::ticks_per_second().max(1) as f64;
        if let Ok(stat) = me.stat() {
            s.cpu_seconds = Some((stat.utime + stat.stime) as f64 / tps);
            s.resident_bytes = i64::try_from(stat.rss_bytes().get()).ok();
            s.virtual_bytes = i64::try_from(stat.vsize).ok();
            s.threads = Some(stat.num_threads);
            if let Ok(boot) = procfs::boot_time_secs() {
                s.start_time_seconds = Some(boot as f64 + stat.starttime as f64 / tps);
            }
        }
        s.open_fds = me.fd_count().ok().and_then(|n| i64::try_from(n).ok());
        if let Ok(limits) = me.limits() {
            s.max_fds = match limits.max_open_files.soft_limit {
                LimitValue::Value(v) => i64::try_from(v).ok(),
                LimitValue::Unlimited => Some(i64::MAX),
            };
        }
        let machine = procfs::Meminfo::current().ok().map(|m| m.mem_total);
        s.memory_limit_bytes = memory_limit(cgroup_memory_limit(), machine);
        s
    }

    /// Reads the current process (nothing to read here).
    #[cfg(not(target_os = "linux"))]
    pub fn read() -> Self {
        ProcessSample::default()
    }
}

/// The effective limit: the cgroup's when it is set and below the machine's memory.
fn memory_limit(cgroup: Option<u64>, machine: Option<u64>) -> Option<i64> {
    let limit = match (cgroup, machine) {
        (Some(c), Some(m)) => c.min(m),
        (c, m) => c.or(m)?,
    };
    i64::try_from(limit).ok()
}

/// The memory limit of this process's cgroup, or of the nearest ancestor that sets one:
/// `memory.max` (cgroup v2) or `memory.limit_in_bytes` (v1). `None` when unlimited or
/// unreadable.
#[cfg(target_os = "linux")]
fn cgroup_memory_limit() -> Option<u64> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    cgroups.lines().find_map(|line| {
        // "0::/system.slice/x.service" (v2) or "4:memory:/docker/abc" (v1).
        let mut parts = line.splitn(3, ':');
        let (id, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let (root, file) = if id == "0" && controllers.is_empty() {
            ("/sys/fs/cgroup", "memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            ("/sys/fs/cgroup/memory", "memory.limit_in_bytes")
        } else {
            return None;
        };
        let root = std::path::Path::new(root);
        let mut dir = root.join(path.trim_start_matches('/'));
        loop {
            let limit = std::fs::read_to_string(dir.join(file))
                .ok()
                .and_then(|t| parse_limit(&t));
            if limit.is_some() {
                return limit;
            }
            if dir == root || !dir.pop() {
                return None;
            }
        }
    })
}

/// A limit file's content: bytes, or none for `max` (v2) or a number near 2^63 (v1's
/// "unlimited", rounded down to a page).
fn parse_limit(text: &str) -> Option<u64> {
    text.trim().parse().ok().filter(|&v: &u64| v < (1 << 62))
}

/// The [`Collector`] registered with the root (unprefixed) registry.
#[derive(Debug, Default)]
pub struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = ProcessSample::read();
        if let Some(v) = s.cpu_seconds {
            let c = ConstCounter::new(v);
            // The counter encoder adds `_total`.
            let m = encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                None,
                c.metric_type(),
            )?;
            c.encode(m)?;
        }
        let gauges: [(&str, &str, Option<i64>); 6] = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                s.resident_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                s.virtual_bytes,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                s.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                s.max_fds,
            ),
            (
                "process_threads",
                "Number of OS threads in the process.",
                s.threads,
            ),
            (
                "venture_memory_limit_bytes",
                "Memory the process may use: its cgroup's limit, else the machine's total.",
                s.memory_limit_bytes,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(v) = value {
                let g = ConstGauge::new(v);
                let m = encoder.encode_descriptor(name, help, None, g.metric_type())?;
                g.encode(m)?;
            }
        }
        if let Some(v) = s.start_time_seconds {
            let g = ConstGauge::new(v);
            let m = encoder.encode_descriptor(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                None,
                g.metric_type(),
            )?;
            g.encode(m)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_combine() {
        assert_eq!(memory_limit(Some(2 << 30), Some(8 << 30)), Some(2 << 30));
        assert_eq!(memory_limit(Some(16 << 30), Some(8 << 30)), Some(8 << 30));
        assert_eq!(memory_limit(None, Some(8 << 30)), Some(8 << 30));
        assert_eq!(memory_limit(None, None), None);
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("2147483648\n"), Some(2_147_483_648));
        assert_eq!(parse_limit("9223372036854771712\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        // Hold a few more descriptors and memory, and burn a little CPU: the figures move.
        let before = ProcessSample::read();
        let files: Vec<std::fs::File> = (0..64)
            .map(|_| std::fs::File::open("/proc/self/stat").expect("open"))
            .collect();
        let block = vec![1u8; 64 << 20];
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(200) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        let after = ProcessSample::read();
        assert!(std::hint::black_box(x) != 1 || block[7] == 1);
        let rss = after.resident_bytes.expect("rss");
        assert!(rss >= 64 << 20, "64 MiB touched, rss {rss}");
        // Other tests open and close files meanwhile: only a lower bound is certain.
        assert!(after.open_fds.expect("fds") >= 64);
        assert!(after.max_fds.expect("max fds") >= after.open_fds.expect("fds"));
        assert!(after.cpu_seconds.expect("cpu") > before.cpu_seconds.expect("cpu"));
        assert!(after.threads.expect("threads") >= 1);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        let started = after.start_time_seconds.expect("start time");
        // Started before now, and not long ago (a test binary).
        assert!(
            started <= now + 1.0 && started > now - 3600.0,
            "{started} vs {now}"
        );
        assert!(after.memory_limit_bytes.expect("limit") >= rss);
        drop(files);
    }
}
