//! CLOCK_MONOTONIC from the TSC: a stamp costs one RDTSC and a multiply instead of a vDSO call
//! (8.5 against 18.5 ns measured here; the vDSO itself reads the TSC, then a seqlock, then the
//! same conversion). Used only where the kernel's own CLOCK_MONOTONIC runs on the TSC
//! (clocksource `tsc`: invariant and synchronised across CPUs, or the kernel would not use it),
//! so the two are one clock up to the conversion.
//!
//! The conversion is ours, not the kernel's: the vDSO's mult/shift live in its data page, which
//! is no ABI. The rate is measured against CLOCK_MONOTONIC over [`CALIBRATION`] (so it includes
//! NTP's current slew), and each thread re-anchors its conversion to a fresh
//! (clock_gettime, TSC, clock_gettime) sandwich every [`REANCHOR`]: a rate error of 1 ppm then
//! moves a stamp by 1 ns at most, and a change of NTP's slew cannot accumulate. Each thread's
//! stamps never go backwards (a re-anchor that would step back by a few ns is held). Before it
//! is used the conversion is checked against clock_gettime ([`CHECKS`] sandwiches, each stamp
//! within [`TOLERANCE`] of its sandwich) and refused, with the reason, when it disagrees.

use std::cell::Cell;
use std::time::Duration;

const CALIBRATION: Duration = Duration::from_millis(10);
const REANCHOR: Duration = Duration::from_millis(1);
const CHECKS: u32 = 200;
const TOLERANCE: u64 = 250;
const SHIFT: u32 = 32;

/// The TSC's rate in CLOCK_MONOTONIC nanoseconds, as a fixed-point multiplier.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    mult: u64,
    /// Cycles after which a thread re-anchors (about [`REANCHOR`]).
    reanchor: u64,
    /// The TSC's frequency, for the summary.
    pub khz: u64,
    /// The largest distance between a converted stamp and its clock_gettime sandwich's middle,
    /// seen in the check.
    pub max_error_ns: u64,
}

/// A thread's conversion: its anchor, its last stamp, and the rate copied from [`Rate`] (so
/// the fast path reads only this thread's own line of cache). `limit` 0: not set up yet, or the
/// process reads the vDSO.
struct Local {
    tsc: Cell<u64>,
    ns: Cell<u64>,
    /// The last stamp this thread returned (stamps never go backwards).
    last: Cell<u64>,
    mult: Cell<u64>,
    limit: Cell<u64>,
}

thread_local! {
    static LOCAL: Local = const {
        Local {
            tsc: Cell::new(0),
            ns: Cell::new(0),
            last: Cell::new(0),
            mult: Cell::new(0),
            limit: Cell::new(0),
        }
    };
}

/// CLOCK_MONOTONIC in ns: from the TSC where [`super::source`] allows it, else the vDSO.
#[inline(always)]
pub fn now() -> u64 {
    LOCAL.with(|l| {
        let limit = l.limit.get();
        if limit == 0 {
            return first(l);
        }
        let t = xsk::read_tsc().unwrap_or(0);
        // a TSC behind the anchor (another CPU's, a few cycles off) wraps and re-anchors too
        let d = t.wrapping_sub(l.tsc.get());
        if d >= limit {
            return reanchor(l);
        }
        let ns = (l.ns.get() + ((d * l.mult.get()) >> SHIFT)).max(l.last.get());
        l.last.set(ns);
        ns
    })
}

/// A thread's first stamp (the source decided, the thread's conversion set up), or a stamp of
/// a process that reads the vDSO.
#[cold]
#[inline(never)]
fn first(l: &Local) -> u64 {
    match super::source() {
        super::Source::Tsc(rate) => {
            l.mult.set(rate.mult);
            l.limit.set(rate.reanchor);
            reanchor(l)
        }
        super::Source::Vdso(_) => super::vdso_ns(),
    }
}

/// A new anchor for this thread; the stamp is the sandwich's own instant (a few tens of ns
/// after the TSC read that asked for it), held at the thread's last stamp.
#[cold]
#[inline(never)]
fn reanchor(l: &Local) -> u64 {
    let (_, tsc, ns) = sandwich();
    l.tsc.set(tsc);
    l.ns.set(ns);
    let ns = ns.max(l.last.get());
    l.last.set(ns);
    ns
}

/// One sandwich: the TSC read between two clock_gettime reads, tightest of three.
fn sandwich() -> (u64, u64, u64) {
    let mut best = (u64::MAX, 0, 0);
    for _ in 0..3 {
        let m0 = super::vdso_ns();
        let t = xsk::read_tsc().unwrap_or(0);
        let m1 = super::vdso_ns();
        let width = m1.saturating_sub(m0);
        if width < best.0 {
            best = (width, t, m0 + width / 2);
        }
    }
    best
}

impl Rate {
    /// Measures the rate and checks it, or says why the TSC cannot be used here.
    pub fn calibrate() -> Result<Rate, String> {
        if xsk::read_tsc().is_none() {
            return Err("this architecture has no TSC".into());
        }
        let cs = std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        )
        .map_err(|e| format!("the kernel's clocksource cannot be read ({e})"))?;
        if cs.trim() != "tsc" {
            return Err(format!(
                "the kernel's clocksource is {}, not tsc",
                cs.trim()
            ));
        }
        let (w0, t0, n0) = sandwich();
        std::thread::sleep(CALIBRATION);
        let (w1, t1, n1) = sandwich();
        if t1 <= t0 || n1 <= n0 || w0.max(w1) > 2_000 {
            return Err(format!(
                "calibration failed (TSC {t0} -> {t1}, sandwich widths {w0} and {w1} ns)"
            ));
        }
        let (cycles, ns) = (u128::from(t1 - t0), u128::from(n1 - n0));
        let mult = u64::try_from((ns << SHIFT) / cycles).map_err(|_| "TSC slower than 1 Hz")?;
        let mut rate = Rate {
            mult,
            reanchor: (cycles * REANCHOR.as_nanos() / ns) as u64,
            khz: (cycles * 1_000_000 / ns) as u64,
            max_error_ns: 0,
        };
        rate.check()?;
        Ok(rate)
    }

    /// Converted stamps against clock_gettime, through re-anchors: each within [`TOLERANCE`]
    /// of its sandwich.
    fn check(&mut self) -> Result<(), String> {
        let mut anchor = sandwich();
        for i in 0..CHECKS {
            let old = i % 50 == 49;
            if old {
                // a stamp almost a whole re-anchor period after its anchor
                std::thread::sleep(REANCHOR * 9 / 10);
            }
            let m0 = super::vdso_ns();
            let d = xsk::read_tsc().unwrap_or(0).wrapping_sub(anchor.1);
            let c = anchor.2 + ((d * self.mult) >> SHIFT);
            let m1 = super::vdso_ns();
            if c + TOLERANCE < m0 || c > m1 + TOLERANCE {
                return Err(format!(
                    "the TSC disagreed with CLOCK_MONOTONIC: {c} ns converted, {m0}..{m1} ns read \
                     (check {i} of {CHECKS})"
                ));
            }
            self.max_error_ns = self.max_error_ns.max(c.abs_diff(m0 + (m1 - m0) / 2));
            if old {
                anchor = sandwich();
            }
        }
        Ok(())
    }
}
