//! The tool's own per-packet cost of timestamping and recording, measured beside the cost of one
//! `clock_gettime(CLOCK_MONOTONIC)` (the baseline), so it is a reported figure, not an assumption.
//! Used by `cargo bench -p xdplat-probe` and `xdplat bench` (`timestamp_cost`).
//!
//! What is timed is exactly what [`crate::ping`] does per probe besides building and parsing
//! it: the send stamp and [`Tally::sent`], the receive stamp and [`Tally::reply`] (ring slot,
//! duplicate/reorder checks, histogram, sampled row). Clock reads are per batch, as in the ping:
//! at `batch` 1 that is two reads per probe. The stamps are read as the roles read them
//! ([`crate::clock::source`]: the TSC where the kernel's clock runs on it); the baseline is
//! always one vDSO clock_gettime.

use std::hint::black_box;
use std::time::Instant;

use crate::clock::{self, Clock, MonotonicClock};
use crate::error::Result;
use crate::tally::Tally;

/// Nanoseconds per packet, best of several rounds.
#[derive(Debug, Clone, Copy)]
pub struct TimestampCost {
    /// Stamp and record, per probe (send and receive side together).
    pub per_packet_ns: f64,
    /// One clock_gettime(CLOCK_MONOTONIC) through the vDSO.
    pub clock_ns: f64,
    /// One stamp as the roles take it ([`clock::source`]).
    pub stamp_ns: f64,
    /// The same loop's stamps alone, per probe (two per batch, nothing recorded): the floor no
    /// bookkeeping can go under. `per_packet_ns - stamps_ns` is what the recording costs.
    pub stamps_ns: f64,
    pub batch: usize,
    /// How the stamps were read (`tsc` or `vdso`).
    pub source: &'static str,
}

const ROUNDS: usize = 5;

/// Measures `packets` probes per round in batches of `batch`, keeping a row every
/// `sample_every` probes.
pub fn timestamp_cost(packets: u64, batch: usize, sample_every: u64) -> Result<TimestampCost> {
    let clock = MonotonicClock;
    clock::source();
    let batch = batch.max(1) as u64;
    let packets = packets.max(batch).div_ceil(batch) * batch;
    let per_read = |read: &dyn Fn() -> u64| {
        best_ns(
            packets,
            || Ok(()),
            |_| {
                for _ in 0..packets {
                    black_box(read());
                }
            },
        )
    };
    let clock_ns = per_read(&clock::vdso_ns)?;
    let stamp_ns = per_read(&|| clock.now_ns())?;
    let stamps_ns = best_ns(
        packets,
        || Ok(()),
        |_| {
            for _ in 0..packets / batch {
                black_box(clock.now_ns());
                black_box(clock.now_ns());
            }
        },
    )?;
    let per_packet_ns = best_ns(
        packets,
        || Tally::new(packets, 0, sample_every, 2 * batch as usize),
        |tally| {
            let mut seq = 0;
            while seq < packets {
                let tx = clock.now_ns();
                for s in seq..seq + batch {
                    tally.sent(s, tx, tx);
                }
                let rx = clock.now_ns();
                for s in seq..seq + batch {
                    black_box(tally.reply(
                        black_box(s),
                        &crate::RxInfo {
                            rx_ns: rx,
                            ..Default::default()
                        },
                        None,
                    ));
                }
                seq += batch;
            }
            black_box(&tally);
        },
    )?;
    Ok(TimestampCost {
        per_packet_ns,
        clock_ns,
        stamp_ns,
        stamps_ns,
        batch: batch as usize,
        source: clock::source().name(),
    })
}

/// ns per packet of `run` over `packets` packets, the best of [`ROUNDS`] rounds, each on a fresh
/// `setup()` made before its clock starts.
fn best_ns<S>(
    packets: u64,
    mut setup: impl FnMut() -> Result<S>,
    mut run: impl FnMut(&mut S),
) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..ROUNDS {
        let mut state = setup()?;
        let t = Instant::now();
        run(&mut state);
        best = best.min(t.elapsed().as_nanos() as f64 / packets as f64);
    }
    Ok(best)
}
