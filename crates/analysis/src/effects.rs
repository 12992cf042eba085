//! Which knobs matter most: for each parameter that varies across the analysed
//! configurations, the median latency of the configurations at each of its
//! values; the effect is the difference between the worst and the best value.
//!
//! - **Marginal** (the paper method): the worst value's median minus the best value's, over
//!   every configuration. Its 95% confidence interval is a percentile bootstrap over
//!   configurations (resampled with replacement, the best and worst values held at those of
//!   the full data, seeded).
//! - **Paired** (the robust method, when the sweep holds at least two pairs of configurations
//!   that differ in this parameter alone): the mean over those pairs of the worst value's
//!   latency minus the best value's, the main effect of a factorial design (Jain, *The Art of
//!   Computer Systems Performance Analysis*, 1991, ch. 17), bootstrapped over the pairs. Every
//!   other parameter is held fixed within a pair, so a strong knob elsewhere does not drown it.
//!   The latencies are the configurations' medians (over repetitions of the runs' medians), so
//!   no spike reaches a pair's difference; the mean over pairs then uses every pair (a median
//!   of a dozen differences is too coarse for its bootstrap interval to be trusted).
//!
//! An interval that reaches 0 means the effect cannot be told from noise, and so does a value
//! seen in a single configuration (or a single pair). The interaction check gives, for pairs of
//! the strongest parameters, the effect of one within each value of the other; a wide range
//! there means the two act together.

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
    /// Latency at `worst` minus at `best` (ns, ≥ 0): the difference of the two values' medians,
    /// or (paired) the mean difference over the pairs.
    pub effect_ns: f64,
    pub ci_low_ns: f64,
    pub ci_high_ns: f64,
    pub best: String,
    pub worst: String,
    /// True when the confidence interval excludes 0 and both the best and the
    /// worst value have at least two configurations (one says nothing about noise).
    pub distinguishable: bool,
    pub levels: Vec<Level>,
    /// Pairs of configurations differing in this parameter alone that the effect was measured
    /// on (paired estimate); absent for the marginal estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairs: Option<usize>,
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

use crate::robust::{median, percentile_interval};

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

/// The latency differences (config at `worst` − config at `best`) of every pair of
/// configurations that differ in `key` alone.
fn paired_diffs(
    params: &[&Params],
    values: &[String],
    latency: &[f64],
    key: &str,
    best: &str,
    worst: &str,
) -> Vec<f64> {
    let mut by_rest: std::collections::HashMap<String, (Option<usize>, Option<usize>)> =
        std::collections::HashMap::new();
    for (i, p) in params.iter().enumerate() {
        let rest: Vec<(&String, &serde_json::Value)> =
            p.iter().filter(|(k, _)| k.as_str() != key).collect();
        let slot = by_rest
            .entry(serde_json::to_string(&rest).expect("params serialise"))
            .or_default();
        if values[i] == worst {
            slot.0.get_or_insert(i);
        } else if values[i] == best {
            slot.1.get_or_insert(i);
        }
    }
    let mut d: Vec<(usize, f64)> = by_rest
        .values()
        .filter_map(|s| match s {
            (Some(w), Some(b)) => Some((*w, latency[*w] - latency[*b])),
            _ => None,
        })
        .collect();
    // the map's order is random: sort for a deterministic bootstrap
    d.sort_by_key(|x| x.0);
    d.into_iter().map(|x| x.1).collect()
}

/// Effects of every varying parameter on `latency` (one value per configuration), strongest
/// first; `paired` measures on configurations that differ in one parameter alone where the
/// sweep has at least two such pairs.
pub fn effects(
    params: &[&Params],
    latency: &[f64],
    bootstrap: usize,
    seed: u64,
    paired: bool,
) -> Vec<Effect> {
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
        let mut best = levels[0].value.clone();
        let mut worst = levels[levels.len() - 1].value.clone();
        let mut diffs = if paired {
            paired_diffs(params, &values, latency, k, &best, &worst)
        } else {
            Vec::new()
        };
        let (effect, lo, hi, distinguishable, pairs) = if diffs.len() >= 2 {
            let mut effect = crate::robust::mean(&diffs);
            if effect < 0.0 {
                std::mem::swap(&mut best, &mut worst);
                diffs.iter_mut().for_each(|d| *d = -*d);
                effect = -effect;
            }
            let m = diffs.len();
            let mut boot: Vec<f64> = (0..bootstrap)
                .map(|_| (0..m).map(|_| diffs[rng.gen_range(0..m)]).sum::<f64>() / m as f64)
                .collect();
            let (lo, hi) = percentile_interval(&mut boot);
            (effect, lo, hi, lo > 0.0, Some(m))
        } else {
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
            let (lo, hi) = percentile_interval(&mut boot);
            let enough = levels[0].configs >= 2 && levels[levels.len() - 1].configs >= 2;
            (effect, lo, hi, lo > 0.0 && enough, None)
        };
        out.push(Effect {
            param: k.clone(),
            effect_ns: effect,
            ci_low_ns: lo,
            ci_high_ns: hi,
            best,
            worst,
            distinguishable,
            levels,
            pairs,
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
