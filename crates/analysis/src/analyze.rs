//! The analysis pipeline: statistics → filters → clusters → relevant parameters → effects →
//! explanations, into one serialisable [`Analysis`] (analysis.json).

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256Plus;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cluster::KScore;
use crate::effects::{Effect, Interaction, effects, interactions};
use crate::explain::{Point, Single, Structure, explanations, noise_note, structure};
use crate::filter::{Excluded, apply};
use crate::kselect::{Clustering, Problem, cluster};
use crate::model::{Config, Dataset, Params, Run};
use crate::options::{Aggregate, Feature, KChoice, Method, Options, Scaling};
use crate::stages::{config_stages, mean_stages, merge_sources};
use crate::stats::{ConfigStats, config_stats, feature_row, has_stages, with_data};
use crate::{Error, relevant};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KSelection {
    /// "silhouette" (paper method, k = auto), "silhouette among stable k" (robust), or "fixed".
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
    /// Mean over the cluster's configurations of their median latency (the median over
    /// repetitions of the runs' medians).
    #[serde(default)]
    pub median_ns: f64,
    pub configs: Vec<String>,
    /// Parameters with one value across the cluster (fixed parameters left out).
    pub relevant: Map<String, Value>,
    pub rules: Vec<String>,
    /// `relevant` and `rules` in words, as in the paper's tables.
    pub description: String,
    /// Which stage moved against cluster 0, and which parameter moved it, in one sentence.
    #[serde(default)]
    pub explanation: String,
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
    /// Per stage, the stage median combined over repetitions as the method says (ns).
    #[serde(default)]
    pub stages: BTreeMap<String, f64>,
    /// The configuration's features as k-means saw them (after scaling), when clustered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<Vec<f64>>,
    /// How it was measured, when the reader must know (eliminated in a race: fewer samples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Analysis {
    pub schema: u32,
    pub source: String,
    /// "robust" (the default) or "paper".
    #[serde(default)]
    pub method: Method,
    pub k: usize,
    pub features: Vec<Feature>,
    #[serde(default)]
    pub scaling: Scaling,
    pub k_selection: KSelection,
    /// How strong the structure is and whether the clusters are findings.
    pub structure: Structure,
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

/// p-value of "the configurations' mean latencies differ only by sampling noise" (the paper
/// method's test): [`crate::robust::homogeneity_p`] on each mean with its standard error, the
/// larger of std / √samples and (with several repetitions) the spread of the repetitions'
/// means / √reps.
pub fn homogeneity_p(stats: &[ConfigStats]) -> f64 {
    let items: Vec<(f64, f64)> = stats
        .iter()
        .map(|s| {
            let within = s.std.powi(2) / (s.samples.max(1) as f64);
            let between = if s.reps_with_data >= 2 {
                s.rep_spread_ns.powi(2) / f64::from(s.reps_with_data)
            } else {
                0.0
            };
            (s.mean, within.max(between).sqrt())
        })
        .collect();
    crate::robust::homogeneity_p(&items)
}

/// The rows again from repetitions resampled with replacement (robust method's stability).
fn resample_rows(
    runs: &[Vec<&Run>],
    features: &[Feature],
    opts: &Options,
    how: Aggregate,
) -> Vec<Vec<Vec<f64>>> {
    if runs.iter().all(|r| r.len() < 2) {
        return Vec::new();
    }
    let mut rng = Xoshiro256Plus::seed_from_u64(opts.seed ^ 0xBB67_AE85_84CA_A73B);
    (0..opts.stability_resamples)
        .map(|_| {
            runs.iter()
                .map(|r| {
                    let pick: Vec<&Run> =
                        (0..r.len()).map(|_| r[rng.gen_range(0..r.len())]).collect();
                    feature_row(&pick, features, how)
                })
                .collect()
        })
        .collect()
}

/// The features clustered on: `asked`, with [`Feature::Stages`] replaced by the RTT's quantiles
/// when a configuration lacks the round trip's stages (and a note saying so).
fn resolve_features(asked: &[Feature], configs: &[&Config]) -> (Vec<Feature>, Option<String>) {
    let lacking: Vec<&str> = configs
        .iter()
        .filter(|c| !has_stages(c))
        .map(|c| c.id.as_str())
        .collect();
    if !asked.contains(&Feature::Stages) || lacking.is_empty() {
        return (asked.to_vec(), None);
    }
    let mut out: Vec<Feature> = Vec::new();
    for f in asked {
        let add: &[Feature] = if *f == Feature::Stages {
            &Feature::QUANTILES
        } else {
            std::slice::from_ref(f)
        };
        for a in add {
            if !out.contains(a) {
                out.push(*a);
            }
        }
    }
    let names: Vec<&str> = out.iter().map(|f| f.name()).collect();
    let why = if lacking.len() == configs.len() {
        "no configuration carries the round trip's stages (A and B stamping with one clock)"
            .to_string()
    } else {
        format!(
            "{} of {} configurations lack the round trip's stages (first: {})",
            lacking.len(),
            configs.len(),
            lacking[0]
        )
    };
    (
        out,
        Some(format!(
            "{why}: clustered on the RTT's {}",
            names.join(", ")
        )),
    )
}

/// Runs `f` in a one-thread rayon pool. linfa's k-means assigns points in parallel; on a few
/// hundred configurations the thread hand-offs cost more than the arithmetic (the analysis of
/// 240 configurations ran 3 times slower on 2 busy cores), and the robust choice of k fits
/// k-means hundreds of times. Without a pool (it could not start a thread) `f` runs here.
fn one_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    match rayon::ThreadPoolBuilder::new().num_threads(1).build() {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}

/// Runs the whole analysis on `ds`.
pub fn analyze(ds: &Dataset, opts: &Options) -> Result<Analysis, Error> {
    opts.check()?;
    if ds.configs.is_empty() {
        return Err(Error::input(
            &ds.source,
            None,
            None,
            "no configuration to analyse",
        ));
    }
    let how = opts.method.over_reps();
    let robust = opts.method == Method::Robust;
    let stats: Vec<Option<ConfigStats>> = ds.configs.iter().map(config_stats).collect();
    let stages: Vec<BTreeMap<String, f64>> =
        ds.configs.iter().map(|c| config_stages(c, how)).collect();
    let filtered = apply(&ds.configs, &stats, opts);
    let mut warnings = Vec::new();
    for (c, s) in ds.configs.iter().zip(&stats) {
        if let Some(s) = s
            && s.rep_disagreement(how) > opts.max_rep_cv
        {
            let what = if robust { "median" } else { "mean" };
            warnings.push(format!(
                "configuration {}: repetitions disagree ({what} latency varies by {:.0}% between repetitions)",
                c.id,
                s.rep_disagreement(how) * 100.0
            ));
        }
    }
    let kept = &filtered.kept;
    let kept_stats: Vec<ConfigStats> = kept
        .iter()
        .map(|&i| stats[i].expect("kept configs have data"))
        .collect();
    let runs: Vec<Vec<&Run>> = kept.iter().map(|&i| with_data(&ds.configs[i])).collect();
    let kept_configs: Vec<&Config> = kept.iter().map(|&i| &ds.configs[i]).collect();
    let (features, feature_note) = resolve_features(&opts.features, &kept_configs);
    let rows: Vec<Vec<f64>> = runs
        .iter()
        .map(|r| feature_row(r, &features, how))
        .collect();
    let latency: Vec<f64> = kept_stats.iter().map(|s| s.location(how)).collect();
    let homogeneous = if robust {
        let items: Vec<(f64, f64)> = kept_stats
            .iter()
            .map(|s| (s.robust.median, s.robust.se_ns))
            .collect();
        crate::robust::homogeneity_p(&items)
    } else {
        homogeneity_p(&kept_stats)
    };
    let noise_only = kept_stats.len() >= 2 && homogeneous > 0.01;
    let k = if opts.k == KChoice::Auto && noise_only {
        KChoice::Fixed(1)
    } else {
        opts.k
    };
    let resamples = if robust {
        resample_rows(&runs, &features, opts, how)
    } else {
        Vec::new()
    };
    let problem = Problem {
        rows: &rows,
        latency: &latency,
        resamples: &resamples,
        scaling: opts.scaling,
        max_k: opts.max_k,
        seed: opts.seed,
        restarts: opts.restarts,
        references: if robust { opts.null_references } else { 0 },
        robust,
    };
    let mut cl = one_thread(|| cluster(&problem, k))?;
    if let Some(n) = feature_note {
        cl.notes.insert(0, n);
    }
    let what = if robust { "median" } else { "mean" };
    if noise_only {
        let msg = format!(
            "the configurations' {what} latencies differ no more than sampling noise would make them (chi-square homogeneity test p = {homogeneous:.3})"
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
    let single = (cl.k == 1).then_some(if noise_only && k != opts.k {
        Single::Noise(homogeneous)
    } else {
        Single::OneProfile
    });
    let mut structure = structure(cl.k, single, cl.chosen);
    let with_reps: Vec<&ConfigStats> = stats
        .iter()
        .flatten()
        .filter(|s| s.reps_with_data >= 2)
        .collect();
    let noisy = with_reps
        .iter()
        .filter(|s| s.rep_disagreement(how) > opts.max_rep_cv)
        .count();
    if let Some(n) = noise_note(noisy, with_reps.len(), opts.max_rep_cv) {
        structure.sentence = format!("{} {n}", structure.sentence);
    }

    let kept_params: Vec<&Params> = kept.iter().map(|&i| &ds.configs[i].params).collect();
    let fixed = relevant::constant(&kept_params);
    let members: Vec<Vec<usize>> = (0..cl.k)
        .map(|id| (0..kept.len()).filter(|&j| cl.labels[j] == id).collect())
        .collect();
    let mut clusters = Vec::new();
    for (id, members) in members.iter().enumerate() {
        clusters.push(cluster_out(
            id,
            members,
            &kept_params,
            &kept_stats,
            &fixed,
            |j| ds.configs[kept[j]].id.clone(),
            |j| &stages[kept[j]],
        ));
    }
    let points: Vec<Point<'_>> = (0..kept.len())
        .map(|j| Point {
            params: kept_params[j],
            latency: latency[j],
            stages: &stages[kept[j]],
        })
        .collect();
    let relevant: Vec<Map<String, Value>> = clusters.iter().map(|c| c.relevant.clone()).collect();
    for (c, e) in clusters
        .iter_mut()
        .zip(explanations(&points, &members, &relevant))
    {
        c.explanation = e;
    }
    let eff = effects(&kept_params, &latency, opts.bootstrap, opts.seed, robust);
    let inter = interactions(&kept_params, &latency, &eff, 4);
    let configs = ds
        .configs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let j = kept.iter().position(|&k| k == i);
            ConfigOut {
                id: c.id.clone(),
                params: c.params.clone().into_iter().collect(),
                cluster: j.map(|j| cl.labels[j]),
                stats: stats[i],
                stages: stages[i].clone(),
                point: j.and_then(|j| cl.points.get(j).cloned()),
                note: c.note.clone(),
            }
        })
        .collect();
    Ok(Analysis {
        schema: 1,
        source: ds.source.clone(),
        method: opts.method,
        k: cl.k,
        features,
        scaling: opts.scaling,
        k_selection: k_selection(opts, &cl),
        structure,
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

fn k_selection(opts: &Options, cl: &Clustering) -> KSelection {
    KSelection {
        method: match (opts.k, opts.method) {
            (KChoice::Fixed(_), _) => "fixed".into(),
            (KChoice::Auto, Method::Paper) => "silhouette".into(),
            (KChoice::Auto, Method::Robust) => "silhouette among stable k".into(),
        },
        scores: cl.scores.clone(),
        notes: cl.notes.clone(),
    }
}

/// One cluster's row of the tables: statistics, relevant parameters, rules, stages.
fn cluster_out<'a>(
    id: usize,
    members: &[usize],
    params: &[&Params],
    stats: &[ConfigStats],
    fixed: &Map<String, Value>,
    name: impl Fn(usize) -> String,
    stages: impl Fn(usize) -> &'a BTreeMap<String, f64>,
) -> ClusterOut {
    let mp: Vec<&Params> = members.iter().map(|&j| params[j]).collect();
    let constant = relevant::constant(&mp);
    let rules = relevant::rules(&mp, params, &constant);
    let relevant: Map<String, Value> = constant
        .into_iter()
        .filter(|(k, _)| !fixed.contains_key(k))
        .collect();
    let n = members.len() as f64;
    let mean_ns = members.iter().map(|&j| stats[j].mean).sum::<f64>() / n;
    let means: Vec<f64> = members.iter().map(|&j| stats[j].mean).collect();
    ClusterOut {
        id,
        mean_ns,
        std_ns: members.iter().map(|&j| stats[j].std).sum::<f64>() / n,
        spread_ns: crate::robust::sample_sd(&means),
        median_ns: members.iter().map(|&j| stats[j].robust.median).sum::<f64>() / n,
        configs: members.iter().map(|&j| name(j)).collect(),
        description: relevant::describe(&relevant, &rules),
        explanation: String::new(),
        stages: mean_stages(members.iter().map(|&j| stages(j))),
        relevant,
        rules,
    }
}
