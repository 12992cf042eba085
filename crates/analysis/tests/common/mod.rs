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
    pub fn uniform(&mut self) -> f64 {
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

/// A repetition of configuration `id` that sent as many probes as `rtts` holds, all answered.
pub fn run(rep: u32, mut rtts: Vec<i64>, id: &str) -> Run {
    let n = rtts.len() as u64;
    Run::from_rtts(rep, &mut rtts, n, 0, format!("synthetic {id} rep {rep}"))
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
                    let rtts: Vec<i64> = (0..n)
                        .map(|_| (mean + sd * noise.normal()).max(0.0) as i64)
                        .collect();
                    run(rep, rtts, &id)
                })
                .collect();
            Config {
                id,
                params,
                runs,
                note: None,
            }
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

/// One run of `n` RTTs with a realistic tail around `base` (ns): a skewed body (0.9 × base plus
/// an exponential of mean 0.1 × base, plus 1 % Gaussian jitter), spikes in `spike_rate` of the
/// samples (log-uniform between 0.2 and 5 ms: scheduling and interrupts), and about one sample
/// in 400 that waited a whole send interval (`interval_ns`) for the next batch.
pub fn heavy_run(
    noise: &mut Noise,
    base: f64,
    n: usize,
    spike_rate: f64,
    interval_ns: f64,
) -> Vec<i64> {
    (0..n)
        .map(|_| {
            let u = noise.uniform();
            let x = if u < spike_rate {
                200_000.0 * 25f64.powf(noise.uniform())
            } else if u < spike_rate + 0.0025 {
                interval_ns * (0.9 + 0.1 * noise.uniform())
            } else {
                0.9 * base - 0.1 * base * noise.uniform().ln() + 0.01 * base * noise.normal()
            };
            x.max(1.0) as i64
        })
        .collect()
}

/// A configuration planted at `base` ns: `reps` heavy-tailed runs of `n` RTTs, each repetition
/// drifting by a few percent (3 % standard deviation).
pub fn heavy_config(
    noise: &mut Noise,
    id: String,
    params: Params,
    base: f64,
    reps: u32,
    n: usize,
) -> Config {
    let runs = (0..reps)
        .map(|rep| {
            let drift = 1.0 + 0.03 * noise.normal();
            run(rep, heavy_run(noise, base * drift, n, 0.005, 1e6), &id)
        })
        .collect();
    Config {
        id,
        params,
        runs,
        note: None,
    }
}

/// The planted cluster of the demo's structure, by who sleeps in poll(): neither (0, 6 µs),
/// the receiver (1, 26 µs), the forwarder (2, 40 µs), both (3, 78 µs).
pub fn planted_poll_cluster(fwd_poll: bool, poll: bool) -> usize {
    match (fwd_poll, poll) {
        (false, false) => 0,
        (false, true) => 1,
        (true, false) => 2,
        (true, true) => 3,
    }
}

const POLL_BASE_NS: [f64; 4] = [6_000.0, 26_000.0, 40_000.0, 78_000.0];

/// A heavy-tailed sweep with the demo's structure: fwd_poll × poll decide the latency (four
/// planted clusters); xdp_mode, need_wakeup and cstate are nuisance parameters that do not
/// matter (each configuration is a few percent off its cluster's base at random), and so does
/// `batch` (one of `batches`); every run has spikes and interval-like samples; and two zero-copy
/// configurations are interval-like outliers (their median is most of the 1 ms send interval:
/// they waited for the next batch). Returns the dataset and the planted cluster of each
/// configuration (`None` for the outliers).
pub fn heavy_tailed(
    seed: u64,
    batches: &[i64],
    reps: u32,
    n: usize,
) -> (Dataset, Vec<Option<usize>>) {
    let mut noise = Noise::new(seed);
    let mut sets: Vec<(Params, f64, Option<usize>)> = Vec::new();
    for fwd in [false, true] {
        for poll in [false, true] {
            for mode in ["drv", "skb"] {
                for nw in [false, true] {
                    for (cs, &batch) in [0, 1, 6]
                        .into_iter()
                        .flat_map(|cs| batches.iter().map(move |b| (cs, b)))
                    {
                        let c = planted_poll_cluster(fwd, poll);
                        let p = params(&[
                            ("fwd_poll", fwd.into()),
                            ("poll", poll.into()),
                            ("xdp_mode", mode.into()),
                            ("need_wakeup", nw.into()),
                            ("cstate", cs.into()),
                            ("batch", batch.into()),
                            ("bind", "copy".into()),
                            ("interval_ns", 1_000_000.into()),
                        ]);
                        let base = POLL_BASE_NS[c] * (1.0 + 0.03 * noise.normal());
                        sets.push((p, base, Some(c)));
                    }
                }
            }
        }
    }
    for nw in [false, true] {
        let p = params(&[
            ("fwd_poll", false.into()),
            ("poll", false.into()),
            ("xdp_mode", "drv".into()),
            ("need_wakeup", nw.into()),
            ("cstate", 0.into()),
            ("batch", batches[0].into()),
            ("bind", "zero-copy".into()),
            ("interval_ns", 1_000_000.into()),
        ]);
        sets.push((p, 900_000.0, None));
    }
    let ids = config_ids(&sets.iter().map(|s| s.0.clone()).collect::<Vec<_>>());
    let mut planted = Vec::new();
    let configs = sets
        .into_iter()
        .zip(ids)
        .map(|((p, base, c), id)| {
            planted.push(c);
            heavy_config(&mut noise, id, p, base, reps, n)
        })
        .collect();
    (
        Dataset {
            source: "heavy-tailed synthetic".into(),
            configs,
        },
        planted,
    )
}

/// The demo's structure as a noisy 2-core testbed shows it: the RTT medians of the four poll
/// groups overlap into a continuum (each configuration's path is a few µs off at random, and
/// generic mode is faster than native when nobody polls), but the stages say who waited: A's
/// XDP-to-user is about 21 µs when the receiver polls (2 µs when it spins), B's about 36 µs
/// when the forwarder polls. Every run carries its chain-stage medians (with run-to-run noise)
/// and heavy-tailed RTTs whose body is the sum of its stages.
pub fn staged_poll_sweep(seed: u64, reps: u32, n: usize) -> (Dataset, Vec<Option<usize>>) {
    let mut noise = Noise::new(seed);
    let mut configs = Vec::new();
    let mut planted = Vec::new();
    for fwd in [false, true] {
        for poll in [false, true] {
            for mode in ["drv", "skb"] {
                for nw in [false, true] {
                    let p = params(&[
                        ("fwd_poll", fwd.into()),
                        ("poll", poll.into()),
                        ("xdp_mode", mode.into()),
                        ("need_wakeup", nw.into()),
                    ]);
                    let wire = 7_000.0 + 4_000.0 * noise.uniform();
                    let a_user = if poll { 21_000.0 } else { 2_000.0 };
                    let b_user = if fwd { 36_000.0 } else { 2_500.0 };
                    let offset = if mode == "skb" && !poll && !fwd {
                        -8_000.0
                    } else {
                        0.0
                    };
                    let id = format!("c{}", configs.len());
                    let runs = (0..reps)
                        .map(|rep| {
                            let j = |x: f64, noise: &mut Noise| x * (1.0 + 0.08 * noise.normal());
                            let stages = [
                                j(wire, &mut noise),
                                j(b_user, &mut noise),
                                j(800.0, &mut noise),
                                j(wire, &mut noise),
                                j(a_user, &mut noise),
                            ];
                            let base = (stages.iter().sum::<f64>() + offset).max(5_000.0);
                            let mut rtts = heavy_run(&mut noise, base, n, 0.005, 1e6);
                            let mut run = Run::from_rtts(
                                rep,
                                &mut rtts,
                                n as u64,
                                0,
                                format!("{id} rep {rep}"),
                            );
                            run.stages = results::CHAIN_STAGES
                                .iter()
                                .zip(stages)
                                .map(|(k, v)| (k.to_string(), v))
                                .collect();
                            run
                        })
                        .collect();
                    planted.push(Some(planted_poll_cluster(fwd, poll)));
                    configs.push(Config {
                        id,
                        params: p,
                        runs,
                        note: None,
                    });
                }
            }
        }
    }
    (
        Dataset {
            source: "staged synthetic".into(),
            configs,
        },
        planted,
    )
}
