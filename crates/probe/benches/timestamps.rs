//! The cost of xdplat's in-process timestamps, per packet, beside the cost of one
//! `clock_gettime(CLOCK_MONOTONIC)` measured in the same run (the baseline).
//!
//! "stamp+record" is what the ping does for every probe besides building it: one clock read and
//! row write at send, and at receive one clock read, the RTT, the row update and the histogram
//! record. The paper's USDT + perf tracing cost 5-10 µs per event; this is the figure to hold
//! against it. Run with `cargo bench -p probe`.

use std::hint::black_box;
use std::time::Instant;

use hdrhistogram::Histogram;
use probe::{Clock, MonotonicClock};
use results::Sample;

const N: usize = 2_000_000;

/// Best of five rounds, in ns per iteration.
fn bench(mut f: impl FnMut(usize)) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for i in 0..N {
                f(i);
            }
            t.elapsed().as_nanos() as f64 / N as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let clock = MonotonicClock;
    let base = bench(|_| {
        black_box(clock.now_ns());
    });
    let mut rows: Vec<Sample> = (0..N as u64)
        .map(|seq| Sample {
            seq,
            ..Default::default()
        })
        .collect();
    let mut hist = Histogram::<u64>::new(3).expect("histogram");
    let stamp = bench(|i| {
        let row = &mut rows[i];
        row.tx_ns = clock.now_ns() as i64;
        row.sched_ns = Some(row.tx_ns);
        let rx = clock.now_ns() as i64;
        let rtt = rx - row.tx_ns;
        row.rx_ns = Some(rx);
        row.rtt_ns = Some(rtt);
        let _ = hist.record(rtt.max(0) as u64);
        black_box(&row);
    });
    println!("clock_gettime(CLOCK_MONOTONIC)       {base:7.1} ns/call   (baseline)");
    println!(
        "stamp+record per probe (2 clocks)    {stamp:7.1} ns/probe  ratio {:.2} x baseline, {:.4} x the paper's 5 µs tracing",
        stamp / base,
        stamp / 5000.0
    );
}
