//! Benchmark: the whole analysis of a 240-configuration sweep (3 repetitions of 400
//! heavy-tailed samples each: 288 000 RTTs), with the default (robust) method against the
//! paper method in the same run. The paper method is the analysis as it was before the robust
//! default (its features, k by the silhouette alone, marginal effects), so the ratio says what
//! the robust default costs; the target is at most 2.
//! Run: `cargo bench -p analysis --bench analysis`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use analysis::{Dataset, Method, Options, analyze};
use common::heavy_tailed;

/// 240 configurations: fwd_poll × poll (the four planted clusters) × 60 nuisance combinations
/// (the test sweep's, with five batch sizes; its two outlier configurations left out).
fn sweep() -> Dataset {
    let (mut ds, planted) = heavy_tailed(1, &[1, 2, 4, 8, 16], 3, 400);
    let mut keep = planted.iter().map(Option::is_some);
    ds.configs.retain(|_| keep.next().unwrap_or(false));
    ds
}

fn best(ds: &Dataset, method: Method) -> (Duration, usize) {
    let opts = Options::for_method(method);
    let mut k = 0;
    let d = (0..5)
        .map(|_| {
            let t = Instant::now();
            k = analyze(ds, &opts).expect("analysis").k;
            t.elapsed()
        })
        .min()
        .expect("five runs");
    (d, k)
}

fn main() {
    let ds = sweep();
    let (paper, kp) = best(&ds, Method::Paper);
    let (robust, kr) = best(&ds, Method::Robust);
    println!(
        "analysis of {} configurations x 3 repetitions x 400 samples (best of 5):",
        ds.configs.len()
    );
    println!(
        "  paper method (baseline, the analysis before the robust default): {paper:?}, k = {kp}"
    );
    println!("  robust method (default): {robust:?}, k = {kr}");
    println!(
        "  robust / paper time ratio: {:.2} (target at most 2)",
        robust.as_secs_f64() / paper.as_secs_f64()
    );
}
