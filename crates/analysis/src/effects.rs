//! Which knobs matter most: for each parameter that varies across the analysed
//! configurations, the median latency of the configurations at each of its
//! values; the effect is the difference between the worst and the best value's
//! medians. Its 95% confidence interval is a percentile bootstrap over
//! configurations (resampled with replacement, the best and worst values held
//! at those of the full data, seeded): an interval that reaches 0 means the
//! effect cannot be told from noise, and so does a value seen in a single
//! configuration. The interaction check gives, for pairs of
//! the strongest parameters, the effect of one within each value of the other;
//! a wide range there means the two act together.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256Plus;
use serde::{Deserialize, Serialize};

use crate::model::{Params, render_value};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Level {
    pub value: String,
    pub median_ns: f64,
    pub configs: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Effect {
    pub param: String,
    /// Median latency at `worst` minus at `best` (ns, ≥ 0).
    pub effect_ns: f64,
    pub ci_low_ns: f64,
    pub ci_high_ns: f64,
    pub best: String,
    pub worst: String,
    /// True when the confidence interval excludes 0 and both the best and the
    /// worst value have at least two configurations (one says nothing about noise).
    pub distinguishable: bool,
    pub levels: Vec<Level>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Interaction {
    pub param: String,
    pub by: String,
    /// Effect of `param` (worst − best, as in its [`Effect`]) within each value of `by`.
    pub effect_by_value_ns: BTreeMap<String, f64>,
    /// max − min of those effects.
    pub range_ns: f64,
}

/// Median of a non-empty slice (sorted in place).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn level_median(
    values: &[String],
    latency: &[f64],
    idx: impl Iterator<Item = usize>,
    level: &str,
) -> Option<f64> {
    let mut v: Vec<f64> = idx
        .filter(|&i| values[i] == level)
        .map(|i| latency[i])
        .collect();
    (!v.is_empty()).then(|| median(&mut v))
}

/// Effects of every varying parameter on `latency` (one value per configuration), strongest first.
pub fn effects(params: &[&Params], latency: &[f64], bootstrap: usize, seed: u64) -> Vec<Effect> {
    let n = params.len();
    let keys: std::collections::BTreeSet<&String> = params.iter().flat_map(|p| p.keys()).collect();
    let mut out = Vec::new();
    let mut rng = Xoshiro256Plus::seed_from_u64(seed);
    for k in keys {
        let values: Vec<String> = params
            .iter()
            .map(|p| p.get(k).map(render_value).unwrap_or_else(|| "-".into()))
            .collect();
        let mut names: Vec<&String> = values.iter().collect();
        names.sort();
        names.dedup();
        if names.len() < 2 {
            continue;
        }
        let mut levels: Vec<Level> = names
            .iter()
            .map(|v| Level {
                value: (*v).clone(),
                median_ns: level_median(&values, latency, 0..n, v).expect("level present"),
                configs: values.iter().filter(|x| x == v).count(),
            })
            .collect();
        levels.sort_by(|a, b| a.median_ns.total_cmp(&b.median_ns));
        let best = levels[0].value.clone();
        let worst = levels[levels.len() - 1].value.clone();
        let effect = levels[levels.len() - 1].median_ns - levels[0].median_ns;
        let mut boot = Vec::with_capacity(bootstrap);
        let mut pick = Vec::with_capacity(n);
        for _ in 0..bootstrap {
            pick.clear();
            pick.extend((0..n).map(|_| rng.gen_range(0..n)));
            let w = level_median(&values, latency, pick.iter().copied(), &worst);
            let b = level_median(&values, latency, pick.iter().copied(), &best);
            if let (Some(w), Some(b)) = (w, b) {
                boot.push(w - b);
            }
        }
        boot.sort_unstable_by(f64::total_cmp);
        let pct = |p: f64| {
            if boot.is_empty() {
                f64::NAN
            } else {
                boot[((boot.len() - 1) as f64 * p).round() as usize]
            }
        };
        let (lo, hi) = (pct(0.025), pct(0.975));
        out.push(Effect {
            param: k.clone(),
            effect_ns: effect,
            ci_low_ns: lo,
            ci_high_ns: hi,
            best,
            worst,
            distinguishable: lo > 0.0
                && levels[0].configs >= 2
                && levels[levels.len() - 1].configs >= 2,
            levels,
        });
    }
    out.sort_by(|a, b| {
        b.effect_ns
            .total_cmp(&a.effect_ns)
            .then(a.param.cmp(&b.param))
    });
    out
}

/// Interactions among the `top` strongest effects.
pub fn interactions(
    params: &[&Params],
    latency: &[f64],
    effects: &[Effect],
    top: usize,
) -> Vec<Interaction> {
    let n = params.len();
    let render = |k: &str| -> Vec<String> {
        params
            .iter()
            .map(|p| p.get(k).map(render_value).unwrap_or_else(|| "-".into()))
            .collect()
    };
    let mut out = Vec::new();
    let top: Vec<&Effect> = effects.iter().take(top).collect();
    for e in &top {
        let xv = render(&e.param);
        for by in &top {
            if by.param == e.param {
                continue;
            }
            let yv = render(&by.param);
            let mut map = BTreeMap::new();
            for lvl in &by.levels {
                let idx: Vec<usize> = (0..n).filter(|&i| yv[i] == lvl.value).collect();
                let w = level_median(&xv, latency, idx.iter().copied(), &e.worst);
                let b = level_median(&xv, latency, idx.iter().copied(), &e.best);
                if let (Some(w), Some(b)) = (w, b) {
                    map.insert(lvl.value.clone(), w - b);
                }
            }
            if map.len() >= 2 {
                let max = map.values().copied().fold(f64::MIN, f64::max);
                let min = map.values().copied().fold(f64::MAX, f64::min);
                out.push(Interaction {
                    param: e.param.clone(),
                    by: by.param.clone(),
                    effect_by_value_ns: map,
                    range_ns: max - min,
                });
            }
        }
    }
    out.sort_by(|a, b| b.range_ns.total_cmp(&a.range_ns));
    out
}
