//! The clock every stamp is taken with: CLOCK_MONOTONIC in nanoseconds, which is also what
//! `bpf_ktime_get_ns()` returns in the XDP program, so user-space and XDP-hook stamps of one host
//! can be subtracted directly.

use nix::time::{ClockId, clock_gettime};

/// A source of nanosecond timestamps. Engines take one as a parameter so tests can drive time.
pub trait Clock {
    fn now_ns(&self) -> u64;
}

/// CLOCK_MONOTONIC through the vDSO (no syscall).
#[derive(Debug, Clone, Copy, Default)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    #[inline]
    fn now_ns(&self) -> u64 {
        // CLOCK_MONOTONIC cannot fail on Linux; a zero would show up as an absurd RTT, not hide.
        clock_gettime(ClockId::CLOCK_MONOTONIC)
            .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
            .unwrap_or(0)
    }
}

/// CLOCK_TAI minus CLOCK_MONOTONIC in ns, read as the tightest of a few monotonic-TAI-monotonic
/// sandwiches (the vDSO reads cost tens of ns, so the error is that small). Used to put the
/// kernel's copy-mode TX timestamps (CLOCK_TAI) on the monotonic clock of every other stamp. The
/// offset moves only when the wall clock is stepped, so it is read at the start and the end of a
/// run and any difference is reported.
pub fn tai_minus_monotonic() -> i64 {
    let read = |id| {
        clock_gettime(id)
            .map(|t| t.tv_sec() * 1_000_000_000 + t.tv_nsec())
            .unwrap_or(0)
    };
    let mut best = (i64::MAX, 0);
    for _ in 0..5 {
        let m0 = read(ClockId::CLOCK_MONOTONIC);
        let tai = read(ClockId::CLOCK_TAI);
        let m1 = read(ClockId::CLOCK_MONOTONIC);
        let width = m1 - m0;
        if width < best.0 {
            best = (width, tai - (m0 + width / 2));
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tai_offset_is_stable_between_reads() {
        let a = tai_minus_monotonic();
        let b = tai_minus_monotonic();
        // TAI runs from 1970, monotonic from boot: the offset is large and positive
        assert!(a > 1_000_000_000 * 3600 * 24 * 365 * 50, "offset {a}");
        assert!((a - b).abs() < 50_000, "offset moved {a} -> {b}");
    }
}
