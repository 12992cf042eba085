//! Benchmark: `results::describe` on 10 million RTT samples, in samples per
//! second, against a plain `sort_unstable` of the same data as the baseline
//! (what describe would cost if it sorted). Best of 5 runs each.
//! Run: `cargo bench -p analysis --bench describe`.

use std::hint::black_box;
use std::time::{Duration, Instant};

const N: usize = 10_000_000;

fn data() -> Vec<i64> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..N)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // ~20 µs with a long tail, like an RTT sample
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            20_000 + (-(1.0 - u).ln() * 3_000.0) as i64
        })
        .collect()
}

fn best<F: FnMut(&mut [i64])>(src: &[i64], mut f: F) -> Duration {
    (0..5)
        .map(|_| {
            let mut v = src.to_vec();
            let t = Instant::now();
            f(black_box(&mut v));
            let d = t.elapsed();
            black_box(&v);
            d
        })
        .min()
        .expect("five runs")
}

fn main() {
    let src = data();
    let d = best(&src, |v| {
        black_box(results::describe(v));
    });
    let s = best(&src, |v| v.sort_unstable());
    let rate = |d: Duration| N as f64 / d.as_secs_f64();
    println!(
        "describe: {N} samples in {:?}: {:.1} M samples/s",
        d,
        rate(d) / 1e6
    );
    println!(
        "sort_unstable (baseline): {N} samples in {:?}: {:.1} M samples/s",
        s,
        rate(s) / 1e6
    );
    println!(
        "describe / sort time ratio: {:.2}",
        d.as_secs_f64() / s.as_secs_f64()
    );
}
