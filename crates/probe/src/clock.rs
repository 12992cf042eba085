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
