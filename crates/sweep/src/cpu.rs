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
    std::fs::read_to_string("/proc/stat")
        .map(|s| parse_stat(s.lines()))
        .unwrap_or_default()
}

/// Softirq ticks per CPU from /proc/stat lines (`cpuN user nice system idle iowait irq softirq`).
pub fn parse_stat<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<(usize, u64)> {
    lines
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

/// The cost a role's ssh wrapper reported: its CPU time (cutime/cstime of the wrapper, in
/// ticks) and the softirq time of `cpus` on that host during the role's life.
pub fn remote_cost(marks: &[String], cpus: Option<&[usize]>) -> Option<(ChildTimes, u64)> {
    fn pick<'a>(marks: &'a [String], tag: &'static str) -> impl Iterator<Item = &'a str> {
        marks.iter().filter_map(move |l| l.strip_prefix(tag))
    }
    let before = parse_stat(pick(marks, "xdplat-si0 "));
    let after = parse_stat(pick(marks, "xdplat-si1 "));
    let stat = pick(marks, "xdplat-stat ").next()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // after the command: state is field 3, cutime 16, cstime 17
    let tick = |i: usize| {
        f.get(i - 3)?
            .parse::<u64>()
            .ok()
            .map(|t| Duration::from_nanos(t * NS_PER_TICK))
    };
    let times = ChildTimes {
        user: tick(16)?,
        sys: tick(17)?,
    };
    Some((times, softirq_ns(&before, &after, cpus)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapper_marks() {
        let marks: Vec<String> = [
            "xdplat-si0 cpu0 1 2 3 4 5 6 100 0 0 0",
            "xdplat-si0 cpu1 1 2 3 4 5 6 200 0 0 0",
            "xdplat-si1 cpu0 1 2 3 4 5 6 103 0 0 0",
            "xdplat-si1 cpu1 1 2 3 4 5 6 201 0 0 0",
            "xdplat-stat 42 (sh) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 250 30 20 0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (t, si) = remote_cost(&marks, None).expect("cost");
        assert_eq!(t.user, Duration::from_millis(2500));
        assert_eq!(t.sys, Duration::from_millis(300));
        assert_eq!(si, 40_000_000);
        assert_eq!(remote_cost(&marks, Some(&[1])).expect("cost").1, 10_000_000);
    }
}
