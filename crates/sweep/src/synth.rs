//! Planted sweeps: a completed sweep directory written from a generator instead of a testbed,
//! every configuration of a plan assigned to a group with a known median, with realistic,
//! heavy-tailed runs (a log-normal body, a Pareto tail, a per-repetition offset). The replay
//! testbed serves them like any recorded sweep, so that tests and benchmarks of the search
//! strategies know the right answer.

use std::path::Path;

use crate::Error;
use crate::experiment::Experiment;
use crate::plan::Plan;
use crate::schedule::SplitMix;
use crate::store::Store;

/// One planted group of configurations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Group {
    /// The median RTT of the group's runs (ns).
    pub median_ns: f64,
    /// σ of the log-normal body (0.1: a 10 % spread).
    pub sigma: f64,
    /// Fraction of the probes in the Pareto tail.
    pub tail: f64,
    /// CPU cores the group's runs use (written as the ping's user time); 0: no CPU recorded.
    pub cores: f64,
}

impl Group {
    /// A group with the default noise: 8 % body, 2 % of the probes in a Pareto(1.5) tail.
    pub fn at(median_ns: f64) -> Group {
        Group {
            median_ns,
            sigma: 0.08,
            tail: 0.02,
            cores: 0.0,
        }
    }

    /// The same group, its runs using `cores` CPU cores.
    pub fn with_cores(self, cores: f64) -> Group {
        Group { cores, ..self }
    }
}

/// A standard normal deviate (Box–Muller).
fn normal(rng: &mut SplitMix) -> f64 {
    let u = rng.unit().max(f64::MIN_POSITIVE);
    let v = rng.unit();
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// Writes a completed sweep of `plan` (an expansion of `exp`) into `dir`: configuration `i`
/// belongs to `groups[group_of(i)]`; `exp.count(1)` probes per run; seeded.
pub fn write_sweep(
    dir: &Path,
    exp: &Experiment,
    plan: &Plan,
    groups: &[Group],
    group_of: impl Fn(usize) -> usize,
    seed: u64,
) -> Result<(), Error> {
    let store = Store::open(dir, &exp.text, "synthetic sweep (sweep::synth)\n", false)?;
    let n = exp.count(1) as usize;
    let step = exp.probe.interval.as_nanos().max(1) as i64;
    let mut rng = SplitMix::new(seed);
    for run in &plan.runs {
        let cfg = &plan.configs[run.config];
        let g = groups[group_of(run.config) % groups.len()];
        // a repetition's own level: the machine is never quite the same twice
        let level = g.median_ns * (1.0 + 0.02 * normal(&mut rng));
        let tmp = store.tmp_dir(&run.id);
        store.remove(&tmp)?;
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        let mut w = results::SamplesWriter::create(&tmp)?;
        let mut rtts = Vec::with_capacity(n);
        for i in 0..n {
            let mut rtt = level * (g.sigma * normal(&mut rng)).exp();
            if rng.unit() < g.tail {
                // Pareto(α = 1.5, scale = the level): rare, long stalls
                rtt += level * (rng.unit().max(1e-12).powf(-1.0 / 1.5) - 1.0);
            }
            let rtt = rtt.round().max(1.0) as i64;
            rtts.push(rtt);
            let tx = i as i64 * step;
            w.push(&results::Sample {
                seq: i as u64,
                tx_ns: tx,
                rx_ns: Some(tx + rtt),
                rtt_ns: Some(rtt),
                ..Default::default()
            })?;
        }
        w.finish()?;
        let mut s = results::Summary {
            repetition: run.rep,
            rtt_ns: results::describe(&mut rtts),
            ..Default::default()
        };
        s.params = crate::roles::extra_params(exp, cfg);
        for (k, v) in &cfg.values {
            s.params
                .entry(k.replace(['-', '.'], "_"))
                .or_insert_with(|| v.to_json());
        }
        s.packets.sent = n as u64;
        s.packets.received = n as u64;
        if g.cores > 0.0 {
            s.set_cpu(&results::Cpu {
                ping_user_ns: Some((g.cores * (n as i64 * step) as f64) as u64),
                ..Default::default()
            });
        }
        s.set_sweep(&results::Sweep {
            config: cfg.id.clone(),
            run: run.id.clone(),
            label: cfg.label(),
            ..Default::default()
        });
        results::write_summary(&tmp, &s)?;
        store.commit(&tmp, &store.run_dir(&run.id))?;
    }
    Ok(())
}
