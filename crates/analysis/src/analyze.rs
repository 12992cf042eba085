//! The analysis pipeline: statistics → filters → clusters → relevant
//! parameters → effects, into one serialisable [`Analysis`] (analysis.json).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cluster::{KChoice, KScore, Scaling, cluster};
use crate::effects::{Effect, Interaction, effects, interactions};
use crate::filter::{Excluded, apply};
use crate::model::{Config, Dataset, Params};
use crate::stats::{ConfigStats, FEATURES, config_stats};
use crate::{Error, relevant};

/// Everything the user can tune; [`Options::default`] is the CLI's default.
#[derive(Debug, Clone)]
pub struct Options {
    /// Statistics fed to k-means (from [`FEATURES`]); the paper's choice by default.
    pub features: Vec<String>,
    pub k: KChoice,
    pub scaling: Scaling,
    /// Largest k tried by `KChoice::Auto`.
    pub max_k: usize,
    /// Exclude configurations whose median latency is above this (ns).
    pub max_latency_ns: Option<f64>,
    /// Use the kernel-baseline configurations (backend = udp) as the ceiling.
    pub baseline: bool,
    /// Exclude configurations whose median reaches `interval_fraction` of their send interval.
    pub interval_filter: bool,
    pub interval_fraction: f64,
    /// Exclude configurations losing more than this fraction of packets.
    pub max_loss: Option<f64>,
    pub seed: u64,
    /// k-means restarts per k.
    pub restarts: usize,
    /// Bootstrap resamples for the effect intervals.
    pub bootstrap: usize,
    /// Configurations drawn in kde.svg.
    pub kde_top: usize,
    /// Repetitions whose means differ by more than this coefficient of variation get a warning.
    pub max_rep_cv: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            features: ["mean", "median", "std", "q1", "q3"]
                .map(String::from)
                .to_vec(),
            k: KChoice::Auto,
            scaling: Scaling::Common,
            max_k: 8,
            max_latency_ns: None,
            baseline: true,
            interval_filter: true,
            interval_fraction: 0.5,
            max_loss: Some(0.1),
            seed: 42,
            restarts: 10,
            bootstrap: 1000,
            kde_top: 50,
            max_rep_cv: 0.2,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KSelection {
    /// "silhouette" (k = auto) or "fixed".
    pub method: String,
    pub scores: Vec<KScore>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClusterOut {
    pub id: usize,
    /// Mean over the cluster's configurations of their mean latency.
    pub mean_ns: f64,
    /// Mean over the cluster's configurations of their standard deviation.
    pub std_ns: f64,
    /// Standard deviation of the configurations' mean latencies within the cluster.
    pub spread_ns: f64,
    pub configs: Vec<String>,
    /// Parameters with one value across the cluster (fixed parameters left out).
    pub relevant: Map<String, Value>,
    pub rules: Vec<String>,
    /// `relevant` and `rules` in words, as in the paper's tables.
    pub description: String,
    /// Per stage, the mean over the cluster's configurations of their stage median (ns).
    #[serde(default)]
    pub stages: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConfigOut {
    pub id: String,
    pub params: Map<String, Value>,
    /// `None` when a filter excluded the configuration.
    pub cluster: Option<usize>,
    pub stats: Option<ConfigStats>,
    /// Per stage, the mean over repetitions of the stage median (ns).
    #[serde(default)]
    pub stages: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Analysis {
    pub schema: u32,
    pub source: String,
    pub k: usize,
    pub features: Vec<String>,
    pub k_selection: KSelection,
    pub clusters: Vec<ClusterOut>,
    /// Parameters with one value across every analysed configuration (not findings).
    pub fixed: Map<String, Value>,
    pub excluded: Vec<Excluded>,
    /// The latency ceiling applied by the max-latency filter, and its origin.
    pub ceiling_ns: Option<f64>,
    pub ceiling_source: Option<String>,
    pub configs: Vec<ConfigOut>,
    pub effects: Vec<Effect>,
    pub interactions: Vec<Interaction>,
    pub warnings: Vec<String>,
    /// How each stage was measured across the runs: "software", "hardware", "software in N of
    /// M runs", or "not measured: why" when no run measured it.
    #[serde(default)]
    pub stage_sources: BTreeMap<String, String>,
}

fn check_features(features: &[String]) -> Result<(), Error> {
    if features.is_empty() {
        return Err(Error::Option(
            "--features: at least one feature is needed".into(),
        ));
    }
    for f in features {
        if !FEATURES.contains(&f.as_str()) {
            return Err(Error::Option(format!(
                "--features: unknown feature {f} (known: {})",
                FEATURES.join(", ")
            )));
        }
    }
    Ok(())
}

/// p-value of "the configurations' mean latencies differ only by sampling
/// noise": Σ ((mᵢ − m̄_w) / seᵢ)² against χ²(n − 1) (Wilson–Hilferty
/// approximation), with m̄_w the inverse-variance weighted mean and seᵢ the
/// standard error of a configuration's mean: the larger of std / √samples
/// and (with several repetitions) the spread of the repetitions' means / √reps.
pub fn homogeneity_p(stats: &[ConfigStats]) -> f64 {
    let n = stats.len();
    if n < 2 {
        return 1.0;
    }
    let se2: Vec<f64> = stats
        .iter()
        .map(|s| {
            let within = s.std.powi(2) / (s.samples.max(1) as f64);
            let between = if s.reps_with_data >= 2 {
                s.rep_spread_ns.powi(2) / f64::from(s.reps_with_data)
            } else {
                0.0
            };
            within.max(between).max(1e-6)
        })
        .collect();
    let wsum: f64 = se2.iter().map(|v| 1.0 / v).sum();
    let mw = stats.iter().zip(&se2).map(|(s, v)| s.mean / v).sum::<f64>() / wsum;
    let x: f64 = stats
        .iter()
        .zip(&se2)
        .map(|(s, v)| (s.mean - mw).powi(2) / v)
        .sum();
    let k = (n - 1) as f64;
    let z = ((x / k).cbrt() - (1.0 - 2.0 / (9.0 * k))) / (2.0 / (9.0 * k)).sqrt();
    0.5 * crate::compare::erfc(z / std::f64::consts::SQRT_2)
}

/// Mean of each stage's median over the maps that have it.
fn mean_stages<'a>(maps: impl Iterator<Item = &'a BTreeMap<String, f64>>) -> BTreeMap<String, f64> {
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

/// One verdict per stage over every run: what measured it and in how many runs ("software",
/// "software in 24 of 27 runs"), or, when no run did, the most common reason.
fn merge_sources(ds: &Dataset) -> BTreeMap<String, String> {
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

fn config_stages(c: &Config) -> BTreeMap<String, f64> {
    mean_stages(c.runs.iter().map(|r| &r.stages))
}

/// Runs the whole analysis on `ds`.
pub fn analyze(ds: &Dataset, opts: &Options) -> Result<Analysis, Error> {
    check_features(&opts.features)?;
    if ds.configs.is_empty() {
        return Err(Error::input(
            &ds.source,
            None,
            None,
            "no configuration to analyse",
        ));
    }
    let stats: Vec<Option<ConfigStats>> = ds.configs.iter().map(config_stats).collect();
    let stages: Vec<BTreeMap<String, f64>> = ds.configs.iter().map(config_stages).collect();
    let filtered = apply(&ds.configs, &stats, opts);
    let mut warnings = Vec::new();
    for (c, s) in ds.configs.iter().zip(&stats) {
        if let Some(s) = s
            && s.rep_cv > opts.max_rep_cv
        {
            warnings.push(format!(
                "configuration {}: repetitions disagree (mean latency varies by {:.0}% between repetitions)",
                c.id,
                s.rep_cv * 100.0
            ));
        }
    }
    let kept = &filtered.kept;
    let kept_stats: Vec<ConfigStats> = kept
        .iter()
        .map(|&i| stats[i].expect("kept configs have data"))
        .collect();
    let rows: Vec<Vec<f64>> = kept_stats
        .iter()
        .map(|s| {
            opts.features
                .iter()
                .map(|f| s.feature(f).expect("checked"))
                .collect()
        })
        .collect();
    let latency: Vec<f64> = kept_stats.iter().map(|s| s.mean).collect();
    let homogeneous = homogeneity_p(&kept_stats);
    let noise_only = kept_stats.len() >= 2 && homogeneous > 0.01;
    let k = if opts.k == KChoice::Auto && noise_only {
        KChoice::Fixed(1)
    } else {
        opts.k
    };
    let mut cl = cluster(
        &rows,
        &latency,
        k,
        opts.scaling,
        opts.max_k,
        opts.seed,
        opts.restarts,
    )?;
    if noise_only {
        let msg = format!(
            "the configurations' mean latencies differ no more than sampling noise would make them (chi-square homogeneity test p = {homogeneous:.3})"
        );
        if k != opts.k {
            cl.notes.insert(0, format!("{msg}: k = 1 without a search"));
        } else {
            warnings.push(format!("{msg}: the clusters may split one group on noise"));
        }
    }
    if cl.weak {
        warnings.push("weak clustering: the best mean silhouette is below 0.25, the clusters may split one group on noise".into());
    }
    if kept.is_empty() {
        warnings.push("every configuration was excluded by a filter: nothing to cluster".into());
    }

    let kept_params: Vec<&Params> = kept.iter().map(|&i| &ds.configs[i].params).collect();
    let fixed = relevant::constant(&kept_params);
    let mut clusters = Vec::new();
    for id in 0..cl.k {
        let members: Vec<usize> = (0..kept.len()).filter(|&j| cl.labels[j] == id).collect();
        let mp: Vec<&Params> = members.iter().map(|&j| kept_params[j]).collect();
        let constant = relevant::constant(&mp);
        let rules = relevant::rules(&mp, &kept_params, &constant);
        let relevant: Map<String, Value> = constant
            .into_iter()
            .filter(|(k, _)| !fixed.contains_key(k))
            .collect();
        let n = members.len() as f64;
        let mean_ns = members.iter().map(|&j| kept_stats[j].mean).sum::<f64>() / n;
        let spread_ns = if members.len() > 1 {
            (members
                .iter()
                .map(|&j| (kept_stats[j].mean - mean_ns).powi(2))
                .sum::<f64>()
                / (n - 1.0))
                .sqrt()
        } else {
            0.0
        };
        clusters.push(ClusterOut {
            id,
            mean_ns,
            std_ns: members.iter().map(|&j| kept_stats[j].std).sum::<f64>() / n,
            spread_ns,
            configs: members
                .iter()
                .map(|&j| ds.configs[kept[j]].id.clone())
                .collect(),
            description: relevant::describe(&relevant, &rules),
            stages: mean_stages(members.iter().map(|&j| &stages[kept[j]])),
            relevant,
            rules,
        });
    }
    let eff = effects(&kept_params, &latency, opts.bootstrap, opts.seed);
    let inter = interactions(&kept_params, &latency, &eff, 4);
    let configs = ds
        .configs
        .iter()
        .enumerate()
        .map(|(i, c)| ConfigOut {
            id: c.id.clone(),
            params: c.params.clone().into_iter().collect(),
            cluster: kept.iter().position(|&k| k == i).map(|j| cl.labels[j]),
            stats: stats[i],
            stages: stages[i].clone(),
        })
        .collect();
    Ok(Analysis {
        schema: 1,
        source: ds.source.clone(),
        k: cl.k,
        features: opts.features.clone(),
        k_selection: KSelection {
            method: match opts.k {
                KChoice::Auto => "silhouette".into(),
                KChoice::Fixed(_) => "fixed".into(),
            },
            scores: cl.scores,
            notes: cl.notes,
        },
        clusters,
        fixed,
        excluded: filtered.excluded,
        ceiling_ns: filtered.ceiling_ns,
        ceiling_source: filtered.ceiling_source,
        configs,
        effects: eff,
        interactions: inter,
        warnings,
        stage_sources: merge_sources(ds),
    })
}
