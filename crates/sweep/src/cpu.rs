//! What a run cost in CPU: user and system time of each role process (the growth of this
//! process's RUSAGE_CHILDREN as each role is reaped, so nothing is sampled while it runs) and
//! the softirq time of the CPUs involved (/proc/stat deltas, in USER_HZ ticks of 10 ms).

use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};

/// User and system time of the children reaped so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChildTimes {
    pub user: Duration,
    pub sys: Duration,
}

fn tv(t: nix::sys::time::TimeVal) -> Duration {
    Duration::new(t.tv_sec().max(0) as u64, (t.tv_usec().max(0) as u32) * 1000)
}

/// This process's reaped children's CPU time, so far.
pub fn children() -> ChildTimes {
    match getrusage(UsageWho::RUSAGE_CHILDREN) {
        Ok(u) => ChildTimes {
            user: tv(u.user_time()),
            sys: tv(u.system_time()),
        },
        Err(_) => ChildTimes::default(),
    }
}

impl ChildTimes {
    /// The CPU time between `earlier` and `self`.
    pub fn since(self, earlier: ChildTimes) -> ChildTimes {
        ChildTimes {
            user: self.user.saturating_sub(earlier.user),
            sys: self.sys.saturating_sub(earlier.sys),
        }
    }
}

/// /proc/stat's USER_HZ (fixed at 100 for user space on Linux).
const NS_PER_TICK: u64 = 10_000_000;

/// Softirq ticks per CPU, from /proc/stat.
pub fn softirq_ticks() -> Vec<(usize, u64)> {
    let Ok(s) = std::fs::read_to_string("/proc/stat") else {
        return Vec::new();
    };
    s.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let cpu = f.next()?.strip_prefix("cpu")?.parse::<usize>().ok()?;
            // user nice system idle iowait irq softirq
            let softirq = f.nth(6)?.parse::<u64>().ok()?;
            Some((cpu, softirq))
        })
        .collect()
}

/// Softirq time in ns between two snapshots, over `cpus` (all CPUs when None).
pub fn softirq_ns(before: &[(usize, u64)], after: &[(usize, u64)], cpus: Option<&[usize]>) -> u64 {
    after
        .iter()
        .filter(|(c, _)| cpus.is_none_or(|set| set.contains(c)))
        .map(|(c, a)| {
            let b = before.iter().find(|(x, _)| x == c).map_or(*a, |(_, b)| *b);
            a.saturating_sub(b) * NS_PER_TICK
        })
        .sum()
}
