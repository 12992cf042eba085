//! What the clusters mean, in sentences: how strong the structure is (and so whether the
//! clusters are findings at all), and for each cluster which stage of the round trip moved
//! against cluster 0 and which parameter moved it.
//!
//! **Strength** (Kaufman & Rousseeuw, *Finding Groups in Data*, 1990, p. 88): a mean silhouette
//! above 0.70 is a strong structure, 0.51-0.70 reasonable, 0.26-0.50 weak and possibly
//! artificial, below that none. A structure that does not come back when the repetitions are
//! resampled, or whose silhouette configurations spread evenly over the same range reach as
//! well (the null silhouette, [`crate::kselect`]), is weak at best.
//! Only strong and reasonable structures are findings.
//!
//! **Explanation** of cluster c: the chain stages (which add up to the RTT) whose median moved
//! most between cluster 0 and c (the first, and a second when it carries at least a quarter of
//! the movement); for each, among the parameters with one value in c that cluster 0 does not
//! share, the one whose change moves that stage most in the direction seen, measured on pairs
//! of configurations that differ in that parameter alone (over all analysed configurations when
//! the sweep has no such pair). Without stage timings the same is said of the RTT.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cluster::KScore;
use crate::kselect::{EXCESS_Z, STABLE};
use crate::model::{Params, render_value};
use crate::robust::median;
use crate::stages::stage_label;

/// How much structure the data shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    Strong,
    Reasonable,
    Weak,
    None,
}

/// The verdict on the clustering as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Structure {
    pub strength: Strength,
    /// True when the clusters can be read as findings (strong or reasonable structure).
    pub findings: bool,
    /// Mean silhouette of the k chosen.
    pub silhouette: Option<f64>,
    /// Its stability across resampled repetitions.
    pub stability: Option<f64>,
    /// The mean silhouette of uniformly spread configurations with that k.
    pub null_silhouette: Option<f64>,
    /// The verdict in one sentence, with its numbers.
    pub sentence: String,
}

/// Why k = 1, when it is.
#[derive(Debug, Clone, Copy)]
pub enum Single {
    /// The homogeneity test found no difference beyond noise (its p-value).
    Noise(f64),
    /// Fewer than two distinct configuration profiles.
    OneProfile,
}

/// The verdict for a clustering with `k` clusters whose chosen k scored `score`.
pub fn structure(k: usize, single: Option<Single>, score: Option<KScore>) -> Structure {
    let mut s = Structure {
        strength: Strength::None,
        findings: false,
        silhouette: score.map(|s| s.silhouette),
        stability: score.and_then(|s| s.stability),
        null_silhouette: score.and_then(|s| s.null_silhouette),
        sentence: String::new(),
    };
    if k == 0 {
        s.sentence = "No structure: no configuration was left to cluster.".into();
        return s;
    }
    if k == 1 {
        s.sentence = match single {
            Some(Single::Noise(p)) => format!(
                "No structure: the configurations' latencies differ no more than their noise (homogeneity test p = {p:.3}), so they form one group."
            ),
            _ => "No structure to find: the configurations cannot be told apart (one profile), so they form one group.".into(),
        };
        return s;
    }
    let sil = s.silhouette.unwrap_or(0.0);
    s.strength = if sil > 0.70 {
        Strength::Strong
    } else if sil > 0.50 {
        Strength::Reasonable
    } else if sil > 0.25 {
        Strength::Weak
    } else {
        Strength::None
    };
    let mut because = Vec::new();
    if let Some(st) = s.stability
        && st < STABLE
    {
        because.push(format!(
            "the clusters do not come back when the repetitions are resampled (stability {st:.2} < {STABLE})"
        ));
    }
    if let (Some(z), Some(m), Some(sd)) = (
        score.and_then(|s| s.excess_z()),
        s.null_silhouette,
        score.and_then(|s| s.null_sd),
    ) && z < EXCESS_Z
    {
        because.push(format!(
            "configurations spread evenly over the same range split as well (null silhouette {m:.2} ± {sd:.2}): a continuum, not groups"
        ));
    }
    if !because.is_empty() && matches!(s.strength, Strength::Strong | Strength::Reasonable) {
        s.strength = Strength::Weak;
    }
    s.findings = matches!(s.strength, Strength::Strong | Strength::Reasonable);
    let extra = [
        s.null_silhouette
            .map(|v| format!("against {v:.2} for evenly spread configurations")),
        s.stability
            .map(|v| format!("stability across resampled repetitions {v:.2}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(" ({extra})")
    };
    let band = match s.strength {
        Strength::Strong => "strong",
        Strength::Reasonable => "reasonable",
        Strength::Weak => "weak",
        Strength::None => "absent",
    };
    s.sentence = if s.findings {
        format!(
            "The structure is {band}: k = {k}, mean silhouette {sil:.2}{extra}; Kaufman & Rousseeuw: above 0.70 strong, 0.51-0.70 reasonable."
        )
    } else {
        let why = if because.is_empty() {
            format!(
                "its mean silhouette is {sil:.2} (0.50 or less: weak, possibly artificial; Kaufman & Rousseeuw)"
            )
        } else {
            format!("mean silhouette {sil:.2}, but {}", because.join(", and "))
        };
        format!(
            "The structure is {band}: the best partition (k = {k}) is not a finding, {why}. Read the clusters as groupings of similar configurations, not as classes."
        )
    };
    s
}

/// A sentence for a sweep where at least half of the configurations' repetitions disagree
/// (`noisy` of `total` above `max_cv`): the runs measured the machine's load as much as the
/// configurations, whatever the clusters say.
pub fn noise_note(noisy: usize, total: usize, max_cv: f64) -> Option<String> {
    (total >= 2 && 2 * noisy >= total).then(|| {
        format!(
            "The runs were noisy: in {noisy} of {total} configurations the repetitions disagree by more than {:.0}%, so they measured the machine's load as much as the configurations; rerun on a quieter machine or with more repetitions.",
            max_cv * 100.0
        )
    })
}

/// One configuration as the explanations see it.
#[derive(Debug)]
pub struct Point<'a> {
    pub params: &'a Params,
    /// The configuration's latency (ns) as the method measures it.
    pub latency: f64,
    pub stages: &'a BTreeMap<String, f64>,
}

fn us(ns: f64) -> String {
    format!("{:+.1} µs", ns / 1e3)
}

fn when(param: &str, v: &Value) -> String {
    match v {
        Value::Bool(true) => format!("{param} is enabled"),
        Value::Bool(false) => format!("{param} is disabled"),
        v => format!("{param} is {}", render_value(v)),
    }
}

fn metric(p: &Point<'_>, stage: Option<&str>) -> Option<f64> {
    match stage {
        None => Some(p.latency),
        Some(s) => p.stages.get(s).copied(),
    }
}

fn med(v: impl Iterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = v.collect();
    (!v.is_empty()).then(|| median(&mut v))
}

/// How much setting `key` to `to` (from any value cluster 0 holds) moves `stage`: the median
/// over pairs of configurations differing in `key` alone, else the difference of medians.
fn moved_by(
    points: &[Point<'_>],
    base: &[usize],
    key: &str,
    to: &Value,
    stage: Option<&str>,
) -> Option<f64> {
    let from: Vec<&Value> = base
        .iter()
        .filter_map(|&i| points[i].params.get(key))
        .collect();
    let rest = |p: &Params| {
        let r: Vec<(&String, &Value)> = p.iter().filter(|(k, _)| k.as_str() != key).collect();
        serde_json::to_string(&r).expect("params serialise")
    };
    let mut at: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, p) in points.iter().enumerate() {
        if p.params.get(key) == Some(to) {
            at.entry(rest(p.params)).or_default().push(i);
        }
    }
    let mut diffs = Vec::new();
    for p in points.iter() {
        let v = p.params.get(key);
        if v.is_none_or(|v| v == to || !from.contains(&v)) {
            continue;
        }
        if let (Some(js), Some(m0)) = (at.get(&rest(p.params)), metric(p, stage)) {
            for &j in js {
                if let Some(m1) = metric(&points[j], stage) {
                    diffs.push(m1 - m0);
                }
            }
        }
    }
    if !diffs.is_empty() {
        return Some(median(&mut diffs));
    }
    let with = med(points
        .iter()
        .filter(|p| p.params.get(key) == Some(to))
        .filter_map(|p| metric(p, stage)))?;
    let without = med(points
        .iter()
        .filter(|p| p.params.get(key).is_some_and(|v| v != to))
        .filter_map(|p| metric(p, stage)))?;
    Some(with - without)
}

/// The parameter of cluster `relevant` (not shared by all of cluster 0) that moves `stage`
/// most in the direction of `delta`.
fn culprit(
    points: &[Point<'_>],
    base: &[usize],
    relevant: &Map<String, Value>,
    stage: Option<&str>,
    delta: f64,
) -> Option<(String, Value, f64)> {
    relevant
        .iter()
        .filter(|(k, v)| {
            !base
                .iter()
                .all(|&i| points[i].params.get(k.as_str()) == Some(v))
        })
        .filter_map(|(k, v)| {
            let m = moved_by(points, base, k, v, stage)?;
            (m * delta > 0.0).then(|| (k.clone(), v.clone(), m))
        })
        .max_by(|a, b| a.2.abs().total_cmp(&b.2.abs()).then(b.0.cmp(&a.0)))
}

/// One sentence per cluster: `members[c]` are indices into `points`, `relevant[c]` the
/// cluster's parameters with one value (fixed ones left out).
pub fn explanations(
    points: &[Point<'_>],
    members: &[Vec<usize>],
    relevant: &[Map<String, Value>],
) -> Vec<String> {
    let Some(base) = members.first() else {
        return Vec::new();
    };
    let loc = |m: &[usize]| med(m.iter().map(|&i| points[i].latency));
    let stage_med =
        |m: &[usize], s: &str| med(m.iter().filter_map(|&i| points[i].stages.get(s).copied()));
    let base_loc = loc(base).unwrap_or(f64::NAN);
    let mut out = vec![format!(
        "Cluster 0 is the reference: the lowest latency, {:.1} µs.",
        base_loc / 1e3
    )];
    for (c, m) in members.iter().enumerate().skip(1) {
        let d_rtt = loc(m).unwrap_or(f64::NAN) - base_loc;
        let mut deltas: Vec<(&str, f64)> = results::CHAIN_STAGES
            .iter()
            .filter_map(|s| Some((*s, stage_med(m, s)? - stage_med(base, s)?)))
            .collect();
        deltas.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        let total: f64 = deltas.iter().map(|d| d.1.abs()).sum();
        let mut clauses = Vec::new();
        for (i, (s, d)) in deltas.iter().enumerate().take(2) {
            if i == 1 && d.abs() < 0.25 * total {
                break;
            }
            let by = culprit(points, base, &relevant[c], Some(s), *d)
                .map(|(k, v, _)| format!(" when {}", when(&k, &v)))
                .unwrap_or_default();
            clauses.push(format!("{} in {}{by}", us(*d), stage_label(s)));
        }
        out.push(if clauses.is_empty() {
            let by = culprit(points, base, &relevant[c], None, d_rtt)
                .map(|(k, v, e)| {
                    format!(
                        " when {} ({} between configurations that differ in {k} alone)",
                        when(&k, &v),
                        us(e)
                    )
                })
                .unwrap_or_default();
            format!("Cluster {c}: {} latency against cluster 0{by}.", us(d_rtt))
        } else {
            format!(
                "Cluster {c}: {} (latency {} against cluster 0).",
                clauses.join(" and "),
                us(d_rtt)
            )
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noisy_when_half_the_configurations_disagree() {
        assert!(noise_note(4, 9, 0.2).is_none());
        let n = noise_note(5, 9, 0.2).unwrap();
        assert!(n.contains("5 of 9") && n.contains("20%"), "{n}");
        assert!(noise_note(1, 1, 0.2).is_none());
    }

    #[test]
    fn a_silhouette_near_the_null_is_weak() {
        let score = |sil: f64, null: f64, stab: f64| KScore {
            k: 3,
            silhouette: sil,
            inertia: 1.0,
            stability: Some(stab),
            null_silhouette: Some(null),
            null_sd: Some(0.05),
        };
        let s = structure(3, None, Some(score(0.8, 0.4, 1.0)));
        assert_eq!(s.strength, Strength::Strong);
        assert!(s.findings);
        let s = structure(3, None, Some(score(0.8, 0.7, 1.0)));
        assert_eq!(s.strength, Strength::Weak);
        assert!(
            s.sentence.contains("null silhouette 0.70"),
            "{}",
            s.sentence
        );
        let s = structure(3, None, Some(score(0.8, 0.4, 0.5)));
        assert!(
            !s.findings && s.sentence.contains("stability 0.50"),
            "{}",
            s.sentence
        );
        let s = structure(1, Some(Single::Noise(0.3)), None);
        assert_eq!(s.strength, Strength::None);
        assert!(s.sentence.contains("p = 0.300"), "{}", s.sentence);
    }
}
