//! The clock every stamp is taken with: CLOCK_MONOTONIC in nanoseconds, which is also what
//! `bpf_ktime_get_ns()` returns in the XDP program, so user-space and XDP-hook stamps of one host
//! can be subtracted directly. It is read from the TSC where the kernel's own CLOCK_MONOTONIC
//! runs on it ([`tsc`]), else through the vDSO; [`source`] says which, and why.

mod tsc;

use std::sync::OnceLock;

use nix::time::{ClockId, clock_gettime};

pub use tsc::Rate;

/// A source of nanosecond timestamps. Engines take one as a parameter so tests can drive time.
pub trait Clock {
    fn now_ns(&self) -> u64;
}

/// CLOCK_MONOTONIC, from the TSC when [`source`] is [`Source::Tsc`], else through the vDSO.
#[derive(Debug, Clone, Copy, Default)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    #[inline]
    fn now_ns(&self) -> u64 {
        tsc::now()
    }
}

/// How this process reads CLOCK_MONOTONIC.
#[derive(Debug, Clone)]
pub enum Source {
    /// The TSC, converted (and checked at start) against clock_gettime.
    Tsc(Rate),
    /// clock_gettime through the vDSO, with the reason the TSC is not used.
    Vdso(String),
}

impl Source {
    /// For a run's summary: `tsc` or `vdso`, with the rate or the reason.
    pub fn describe(&self) -> String {
        match self {
            Source::Tsc(r) => format!(
                "tsc ({:.3} GHz, within {} ns of clock_gettime at start)",
                r.khz as f64 / 1e6,
                r.max_error_ns
            ),
            Source::Vdso(why) => format!("vdso ({why})"),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Source::Tsc(_) => "tsc",
            Source::Vdso(_) => "vdso",
        }
    }
}

/// The process's clock source, decided (and the TSC calibrated, about 11 ms) on first use;
/// roles call it before their first stamp. `XDPLAT_CLOCK=vdso` keeps the vDSO.
pub fn source() -> &'static Source {
    static SOURCE: OnceLock<Source> = OnceLock::new();
    SOURCE.get_or_init(|| {
        if std::env::var_os("XDPLAT_CLOCK").is_some_and(|v| v == "vdso") {
            return Source::Vdso("XDPLAT_CLOCK=vdso".into());
        }
        match Rate::calibrate() {
            Ok(rate) => Source::Tsc(rate),
            Err(why) => Source::Vdso(why),
        }
    })
}

/// CLOCK_MONOTONIC through the vDSO (no syscall): the reference the TSC is checked against,
/// and the baseline of the stamp-cost benchmark.
#[inline]
pub fn vdso_ns() -> u64 {
    // CLOCK_MONOTONIC cannot fail on Linux; a zero would show up as an absurd RTT, not hide.
    clock_gettime(ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
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

    #[test]
    fn stamps_agree_with_clock_gettime_and_never_go_back() {
        let src = source();
        println!("clock source: {}", src.describe());
        let clock = MonotonicClock;
        let (mut last, mut worst) = (0, 0);
        let end = vdso_ns() + 30_000_000;
        while vdso_ns() < end {
            let m0 = vdso_ns();
            let c = clock.now_ns();
            let m1 = vdso_ns();
            assert!(c >= last, "went back: {last} -> {c}");
            last = c;
            // 1 µs: a preempted sandwich is wide, a wrong conversion is off by far more
            let off = if c < m0 { m0 - c } else { c.saturating_sub(m1) };
            worst = worst.max(off);
            assert!(off < 1_000 || m1 - m0 > 1_000, "{c} outside {m0}..{m1}");
        }
        println!("worst distance outside the sandwich over 30 ms: {worst} ns");
    }
}
