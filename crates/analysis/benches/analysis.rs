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
use common::{Noise, heavy_config, params, planted_poll_cluster};

/// 240 configurations: fwd_poll × poll (the four planted clusters) × 60 nuisance combinations.
fn sweep() -> Dataset {
    let mut noise = Noise::new(1);
    let mut configs = Vec::new();
    for fwd in [false, true] {
        for poll in [false, true] {
            for mode in ["drv", "skb"] {
                for nw in [false, true] {
                    for cs in [0, 1, 6] {
                        for batch in [1, 2, 4, 8, 16] {
                            let c = planted_poll_cluster(fwd, poll);
                            let base = [6_000.0, 26_000.0, 40_000.0, 78_000.0][c]
                                * (1.0 + 0.03 * noise.normal());
                            let p = params(&[
                                ("fwd_poll", fwd.into()),
                                ("poll", poll.into()),
                                ("xdp_mode", mode.into()),
                                ("need_wakeup", nw.into()),
                                ("cstate", cs.into()),
                                ("batch", batch.into()),
                            ]);
                            let id = format!("c{}", configs.len());
                            configs.push(heavy_config(&mut noise, id, p, base, 3, 400));
                        }
                    }
                }
            }
        }
    }
    Dataset {
        source: "bench".into(),
        configs,
    }
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
