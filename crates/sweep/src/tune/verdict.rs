//! The evidence of a tune: each final configuration's median, p99 and p99.9 with 95 % percentile
//! bootstrap intervals (Efron and Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13)
//! over the probes of all its repetitions, the CPU it cost, the winner by the objective within
//! the CPU cap, its gap to the default configuration (the difference's own bootstrap interval,
//! and the Mann–Whitney test of [`analysis::compare`]), the knobs that mattered (the effects of
//! [`analysis::knob_effects`] on every raced configuration's slices, paired where one axis alone
//! differs), and the Pareto front of latency against CPU.
//!
//! The bootstrap resamples probes, not repetitions: a machine that drifts between repetitions
//! makes the interval too narrow, so each figure also gives the spread of its repetitions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::experiment::Objective;
use crate::schedule::SplitMix;

/// Resamples of each bootstrap.
pub const BOOTSTRAP: usize = 400;
/// Most probes that enter a bootstrap (evenly strided).
const MAX_BOOT: usize = 50_000;

/// A statistic with its 95 % interval.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Est {
    pub ns: f64,
    pub ci_low_ns: f64,
    pub ci_high_ns: f64,
}

/// The final runs of one configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Figures {
    pub median: Est,
    pub p99: Est,
    pub p999: Est,
    /// The objective of each repetition alone (their spread).
    pub per_run_ns: Vec<f64>,
    pub probes: u64,
    pub lost: u64,
    /// CPU cores (roles and softirq, per second of probing), the median over the runs.
    pub cores: Option<f64>,
}

impl Figures {
    pub fn objective(&self, o: Objective) -> Est {
        match o {
            Objective::Median => self.median,
            Objective::P99 => self.p99,
            Objective::P999 => self.p999,
        }
    }
}

/// The RTTs and CPU cores of one configuration's runs.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub rtts: Vec<Vec<i64>>,
    pub lost: u64,
    pub cores: Vec<f64>,
}

fn strided(all: &[i64]) -> Vec<i64> {
    let step = all.len().div_ceil(MAX_BOOT).max(1);
    all.iter().step_by(step).copied().collect()
}

fn stat(v: &mut [i64], o: Objective) -> Option<f64> {
    results::describe(v).map(|d| o.of(&d))
}

fn resample(v: &[i64], rng: &mut SplitMix, buf: &mut Vec<i64>) {
    buf.clear();
    buf.extend((0..v.len()).map(|_| v[rng.below(v.len() as u64) as usize]));
}

fn interval(mut boot: Vec<f64>) -> (f64, f64) {
    if boot.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    boot.sort_by(f64::total_cmp);
    let at = |q: f64| boot[((boot.len() - 1) as f64 * q).round() as usize];
    (at(0.025), at(0.975))
}

fn estimate(all: &[i64], o: Objective, seed: u64) -> Est {
    let ns = stat(&mut all.to_vec(), o).unwrap_or(f64::NAN);
    let s = strided(all);
    let mut rng = SplitMix::new(seed);
    let mut buf = Vec::with_capacity(s.len());
    let boot = (0..BOOTSTRAP)
        .filter_map(|_| {
            resample(&s, &mut rng, &mut buf);
            stat(&mut buf, o)
        })
        .collect();
    let (ci_low_ns, ci_high_ns) = interval(boot);
    Est {
        ns,
        ci_low_ns,
        ci_high_ns,
    }
}

/// The figures of one configuration; `None` without a reply.
pub fn figures(m: &Measured, o: Objective, seed: u64) -> Option<Figures> {
    let all: Vec<i64> = m.rtts.iter().flatten().copied().collect();
    if all.is_empty() {
        return None;
    }
    let per_run_ns = m
        .rtts
        .iter()
        .filter_map(|r| stat(&mut r.clone(), o))
        .collect();
    Some(Figures {
        median: estimate(&all, Objective::Median, seed),
        p99: estimate(&all, Objective::P99, seed ^ 1),
        p999: estimate(&all, Objective::P999, seed ^ 2),
        per_run_ns,
        probes: all.len() as u64,
        lost: m.lost,
        cores: (!m.cores.is_empty()).then(|| analysis::robust::median(&mut m.cores.clone())),
    })
}

/// The winner's objective minus the default's, with the difference's interval.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Gap {
    pub objective: Objective,
    /// Winner − default (negative: the winner is faster).
    pub diff: Est,
    /// The difference in % of the default's objective.
    pub percent: f64,
    /// The median shift's Mann–Whitney test (B = winner, A = default).
    pub test: Option<analysis::Comparison>,
    /// The interval of the difference excludes 0.
    pub significant: bool,
}

/// The gap between the winner's probes `w` and the default's `d`.
pub fn gap(w: &[i64], d: &[i64], o: Objective, seed: u64) -> Option<Gap> {
    let (sw, sd) = (strided(w), strided(d));
    let dw = stat(&mut w.to_vec(), o)?;
    let dd = stat(&mut d.to_vec(), o)?;
    let mut rng = SplitMix::new(seed);
    let (mut bw, mut bd) = (Vec::new(), Vec::new());
    let boot = (0..BOOTSTRAP)
        .filter_map(|_| {
            resample(&sw, &mut rng, &mut bw);
            resample(&sd, &mut rng, &mut bd);
            Some(stat(&mut bw, o)? - stat(&mut bd, o)?)
        })
        .collect();
    let (lo, hi) = interval(boot);
    Some(Gap {
        objective: o,
        diff: Est {
            ns: dw - dd,
            ci_low_ns: lo,
            ci_high_ns: hi,
        },
        percent: if dd > 0.0 {
            100.0 * (dw - dd) / dd
        } else {
            0.0
        },
        test: analysis::compare(d, w, 1000, seed),
        significant: lo > 0.0 || hi < 0.0,
    })
}

/// One point of the Pareto front: a configuration's CPU cost and its objective (the median of
/// its race slices, or of its final runs).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Point {
    pub config: String,
    pub label: String,
    pub cores: f64,
    pub objective_ns: f64,
}

/// The configurations no other beats on both latency and CPU, cheapest first.
pub fn pareto(points: &[Point]) -> Vec<Point> {
    let pts: Vec<(f64, f64)> = points.iter().map(|p| (p.cores, p.objective_ns)).collect();
    analysis::pareto_front(&pts)
        .into_iter()
        .map(|i| points[i].clone())
        .collect()
}

/// The knob effects over the raced configurations: `params` and one latency (the median of
/// its slices' objective) per configuration. The search picks configurations that differ in
/// many axes at once, so a marginal effect (without pairs that differ in that axis alone) is
/// confounded by the others: it is never told from noise here, and comes after the paired ones.
pub fn effects(
    params: &[BTreeMap<String, Value>],
    latency: &[f64],
    seed: u64,
) -> Vec<analysis::Effect> {
    let refs: Vec<&BTreeMap<String, Value>> = params.iter().collect();
    let mut out = analysis::knob_effects(&refs, latency, 1000, seed, true);
    for e in out.iter_mut().filter(|e| e.pairs.is_none()) {
        e.distinguishable = false;
    }
    out.sort_by(|a, b| {
        b.pairs
            .is_some()
            .cmp(&a.pairs.is_some())
            .then(b.effect_ns.total_cmp(&a.effect_ns))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(level: i64, n: usize, seed: u64) -> Vec<i64> {
        let mut r = SplitMix::new(seed);
        (0..n).map(|_| level + r.below(1000) as i64).collect()
    }

    #[test]
    fn intervals_hold_the_estimate() {
        let m = Measured {
            rtts: vec![sample(10_000, 3000, 1), sample(10_100, 3000, 2)],
            lost: 0,
            cores: vec![1.0, 1.2],
        };
        let f = figures(&m, Objective::P99, 3).expect("figures");
        for e in [f.median, f.p99, f.p999] {
            assert!(e.ci_low_ns <= e.ns && e.ns <= e.ci_high_ns, "{e:?}");
        }
        assert!((f.median.ns - 10_550.0).abs() < 60.0, "{:?}", f.median);
        assert_eq!(f.per_run_ns.len(), 2);
        assert_eq!(f.cores, Some(1.1));
    }

    #[test]
    fn a_faster_winner_has_a_negative_significant_gap() {
        let w = sample(10_000, 2000, 4);
        let d = sample(12_000, 2000, 5);
        let g = gap(&w, &d, Objective::Median, 6).expect("gap");
        assert!(
            g.significant && g.diff.ns < -1900.0 && g.diff.ci_high_ns < 0.0,
            "{g:?}"
        );
        assert!((g.percent + 16.0).abs() < 2.0, "{}", g.percent);
        let same = gap(&w, &sample(10_000, 2000, 7), Objective::Median, 8).expect("gap");
        assert!(!same.significant, "{same:?}");
    }

    #[test]
    fn the_front_drops_dominated_points() {
        let p = |c: &str, cores, ns| Point {
            config: c.into(),
            label: c.into(),
            cores,
            objective_ns: ns,
        };
        let front = pareto(&[
            p("spin", 2.0, 10.0),
            p("poll", 0.1, 30.0),
            p("worse", 1.0, 40.0),
            p("mid", 1.0, 20.0),
        ]);
        let ids: Vec<&str> = front.iter().map(|x| x.config.as_str()).collect();
        assert_eq!(ids, ["poll", "mid", "spin"]);
    }
}
