//! Stage timings: per configuration (each repetition's stage medians combined as the method
//! says), per cluster (their mean), how each stage was measured, and the stages' names in words.

use std::collections::BTreeMap;

use crate::model::{Config, Dataset};
use crate::options::Aggregate;
use crate::robust::aggregate;

/// A stage key in words: the chain stages of a round trip by the hosts they cross.
pub fn stage_label(key: &str) -> String {
    match key {
        "chain_a_to_b_xdp" => "A to B's XDP hook".into(),
        "chain_b_xdp_to_user" => "B's XDP-to-user".into(),
        "chain_b_processing" => "B's processing".into(),
        "chain_b_to_a_xdp" => "B to A's XDP hook".into(),
        "chain_a_xdp_to_user" => "A's XDP-to-user".into(),
        other => other.to_string(),
    }
}

/// Mean of each stage's value over the maps that have it.
pub fn mean_stages<'a>(
    maps: impl Iterator<Item = &'a BTreeMap<String, f64>>,
) -> BTreeMap<String, f64> {
    let mut acc: BTreeMap<String, (f64, u32)> = BTreeMap::new();
    for m in maps {
        for (k, v) in m {
            let e = acc.entry(k.clone()).or_default();
            e.0 += v;
            e.1 += 1;
        }
    }
    acc.into_iter()
        .map(|(k, (s, n))| (k, s / f64::from(n)))
        .collect()
}

/// Each stage's median over the configuration's repetitions, combined as `how` says.
pub fn config_stages(c: &Config, how: Aggregate) -> BTreeMap<String, f64> {
    if how == Aggregate::Mean {
        return mean_stages(c.runs.iter().map(|r| &r.stages));
    }
    let mut acc: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in &c.runs {
        for (k, v) in &r.stages {
            acc.entry(k).or_default().push(*v);
        }
    }
    acc.into_iter()
        .map(|(k, mut v)| (k.to_owned(), aggregate(&mut v, how)))
        .collect()
}

/// One verdict per stage over every run: what measured it and in how many runs ("software",
/// "software in 24 of 27 runs"), or, when no run did, the most common reason.
pub fn merge_sources(ds: &Dataset) -> BTreeMap<String, String> {
    let mut seen: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for r in ds.configs.iter().flat_map(|c| &c.runs) {
        for (stage, verdict) in &r.stage_sources {
            *seen.entry(stage).or_default().entry(verdict).or_default() += 1;
        }
    }
    seen.into_iter()
        .map(|(stage, verdicts)| {
            let total: usize = verdicts.values().sum();
            let (measured, not): (Vec<_>, Vec<_>) = verdicts
                .iter()
                .partition(|(v, _)| !v.starts_with("not measured"));
            let v = if !measured.is_empty() {
                let kinds: Vec<&str> = measured.iter().map(|(v, _)| **v).collect();
                let n: usize = measured.iter().map(|(_, n)| **n).sum();
                let kinds = kinds.join(" or ");
                if n == total {
                    kinds
                } else {
                    format!("{kinds} in {n} of {total} runs")
                }
            } else {
                let (why, n) = not
                    .iter()
                    .max_by_key(|(_, n)| **n)
                    .map(|(v, n)| (**v, **n))
                    .unwrap_or_default();
                if n == total {
                    why.to_owned()
                } else {
                    format!("{why} (in {n} of {total} runs; other reasons in the rest)")
                }
            };
            (stage.to_owned(), v)
        })
        .collect()
}
