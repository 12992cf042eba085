//! Synthetic sweeps with planted structure, shared by the tests.
#![allow(dead_code)]

use analysis::{Config, Dataset, Params, Run, config_ids};
use serde_json::Value;

/// Deterministic normal deviates (xorshift64* + Box–Muller).
#[derive(Debug)]
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

pub fn params(pairs: &[(&str, Value)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// Builds a dataset: each parameter set gets `reps` runs of `n` RTTs ~ N(mean, sd).
pub fn dataset(sets: Vec<(Params, f64, f64)>, reps: u32, n: usize, seed: u64) -> Dataset {
    let mut noise = Noise::new(seed);
    let ids = config_ids(&sets.iter().map(|s| s.0.clone()).collect::<Vec<_>>());
    let configs = sets
        .into_iter()
        .zip(ids)
        .map(|((params, mean, sd), id)| {
            let runs = (0..reps)
                .map(|rep| {
                    let mut rtts: Vec<i64> = (0..n)
                        .map(|_| (mean + sd * noise.normal()).max(0.0) as i64)
                        .collect();
                    Run::from_rtts(
                        rep,
                        &mut rtts,
                        n as u64,
                        0,
                        format!("synthetic {id} rep {rep}"),
                    )
                })
                .collect();
            Config { id, params, runs }
        })
        .collect();
    Dataset {
        source: "synthetic".into(),
        configs,
    }
}

/// The paper-like sweep: busy_poll × need_wakeup × poll × cstate(0,1,6), batch fixed at 1.
/// Planted latency: busy_poll ∧ ¬need_wakeup → 10 µs; busy_poll ∧ need_wakeup → 65 µs; ¬busy_poll → 130 µs.
pub fn paper_like(seed: u64) -> Dataset {
    let mut sets = Vec::new();
    for bp in [true, false] {
        for nw in [true, false] {
            for poll in [true, false] {
                for cs in [0, 1, 6] {
                    let mean = match (bp, nw) {
                        (true, false) => 10_000.0,
                        (true, true) => 65_000.0,
                        _ => 130_000.0,
                    };
                    let p = params(&[
                        ("busy_poll", bp.into()),
                        ("need_wakeup", nw.into()),
                        ("poll", poll.into()),
                        ("cstate", cs.into()),
                        ("batch", 1.into()),
                    ]);
                    sets.push((p, mean, 1_500.0));
                }
            }
        }
    }
    dataset(sets, 3, 400, seed)
}
