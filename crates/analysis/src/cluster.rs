//! k-means on standardised features, with k-means++ seeding and several
//! restarts (linfa-clustering), seeded so that the same input gives the same
//! output.
//!
//! Standardising: every feature is centred on its mean over the configurations.
//! With [`Scaling::Common`] (the default) all features are then divided by one
//! scale, the root mean of their variances: the features are all latencies in
//! ns, and per-feature z-scores would blow a feature that barely varies (the
//! std when every configuration jitters alike) up into a dimension as strong
//! as the mean, and split clusters on its noise. [`Scaling::Feature`] gives
//! classic per-feature z-scores. A feature constant across the configurations
//! contributes 0 either way.
//!
//! `k = auto` tries every k from 2 to `max_k` (at most the number of distinct
//! feature vectors − 1) and keeps the one with the highest mean silhouette
//! (Rousseeuw 1987: per point `(b − a) / max(a, b)` with `a` the mean distance
//! to its own cluster and `b` to the nearest other cluster; 0 for a point alone
//! in its cluster). Every score is reported; a best score below 0.25 is flagged
//! as no substantial structure (silhouette cannot choose k = 1 by itself).
//! Clusters are renumbered from the lowest mean latency (0) upward.

use linfa::DatasetBase;
use linfa::prelude::{Fit, Predict};
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::Array2;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use serde::{Deserialize, Serialize};

use crate::Error;

/// How k is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KChoice {
    Auto,
    Fixed(usize),
}

impl std::str::FromStr for KChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            return Ok(KChoice::Auto);
        }
        match s.parse::<usize>() {
            Ok(0) | Err(_) => Err(format!("--k {s}: expected auto or a positive integer")),
            Ok(k) => Ok(KChoice::Fixed(k)),
        }
    }
}

/// The score of one k tried.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct KScore {
    pub k: usize,
    pub silhouette: f64,
    /// Sum of squared distances to the centroids (standardised units).
    pub inertia: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Clustering {
    pub k: usize,
    /// Cluster of each row, numbered by ascending mean latency.
    pub labels: Vec<usize>,
    pub scores: Vec<KScore>,
    pub notes: Vec<String>,
    /// The best silhouette found is below [`WEAK_SILHOUETTE`].
    pub weak: bool,
}

/// Below this mean silhouette a clustering shows no substantial structure.
pub const WEAK_SILHOUETTE: f64 = 0.25;

/// How features are brought to one scale before k-means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scaling {
    /// Centred, then divided by one scale common to all features.
    #[default]
    Common,
    /// Per-feature z-scores.
    Feature,
}

impl std::str::FromStr for Scaling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "common" => Ok(Scaling::Common),
            "feature" => Ok(Scaling::Feature),
            _ => Err(format!("--scaling {s}: expected common or feature")),
        }
    }
}

/// Centres each column and scales it (population standard deviations) as `scaling` says.
pub fn standardise(rows: &[Vec<f64>], scaling: Scaling) -> Array2<f64> {
    let n = rows.len();
    let d = rows.first().map_or(0, Vec::len);
    let means: Vec<f64> = (0..d)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n as f64)
        .collect();
    let sds: Vec<f64> = (0..d)
        .map(|j| (rows.iter().map(|r| (r[j] - means[j]).powi(2)).sum::<f64>() / n as f64).sqrt())
        .collect();
    let common = (sds.iter().map(|s| s * s).sum::<f64>() / d.max(1) as f64).sqrt();
    let mut a = Array2::zeros((n, d));
    for j in 0..d {
        let sd = match scaling {
            Scaling::Common => common,
            Scaling::Feature => sds[j],
        };
        for (i, r) in rows.iter().enumerate() {
            a[[i, j]] = if sd > 0.0 && sd.is_finite() && sds[j] > 0.0 {
                (r[j] - means[j]) / sd
            } else {
                0.0
            };
        }
    }
    a
}

fn dist(a: &Array2<f64>, i: usize, j: usize) -> f64 {
    a.row(i)
        .iter()
        .zip(a.row(j).iter())
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Mean silhouette of a labelling (0 when k < 2).
pub fn silhouette(a: &Array2<f64>, labels: &[usize], k: usize) -> f64 {
    let n = labels.len();
    if k < 2 || n < 2 {
        return 0.0;
    }
    let mut total = 0.0;
    for i in 0..n {
        let mut sum = vec![0.0; k];
        let mut cnt = vec![0usize; k];
        for j in 0..n {
            if j != i {
                sum[labels[j]] += dist(a, i, j);
                cnt[labels[j]] += 1;
            }
        }
        let own = labels[i];
        if cnt[own] == 0 {
            continue;
        }
        let ai = sum[own] / cnt[own] as f64;
        let bi = (0..k)
            .filter(|&c| c != own && cnt[c] > 0)
            .map(|c| sum[c] / cnt[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if bi.is_finite() {
            let m = ai.max(bi);
            total += if m > 0.0 { (bi - ai) / m } else { 0.0 };
        }
    }
    total / n as f64
}

fn kmeans(
    a: &Array2<f64>,
    k: usize,
    seed: u64,
    restarts: usize,
) -> Result<(Vec<usize>, f64), Error> {
    if k == 1 {
        let n = a.nrows();
        let c = a.mean_axis(ndarray::Axis(0)).expect("non-empty");
        let inertia = (0..n)
            .map(|i| {
                a.row(i)
                    .iter()
                    .zip(c.iter())
                    .map(|(x, y)| (x - y).powi(2))
                    .sum::<f64>()
            })
            .sum();
        return Ok((vec![0; n], inertia));
    }
    let rng = Xoshiro256Plus::seed_from_u64(seed);
    let ds = DatasetBase::from(a.clone());
    let model = KMeans::params_with_rng(k, rng)
        .init_method(KMeansInit::KMeansPlusPlus)
        .n_runs(restarts.max(1))
        .max_n_iterations(500)
        .tolerance(1e-8)
        .fit(&ds)
        .map_err(|e| Error::Option(format!("k-means with k={k}: {e}")))?;
    let labels = model.predict(&ds).to_vec();
    Ok((labels, model.inertia()))
}

fn distinct_rows(a: &Array2<f64>) -> usize {
    let mut rows: Vec<Vec<u64>> = a
        .rows()
        .into_iter()
        .map(|r| r.iter().map(|x| x.to_bits()).collect())
        .collect();
    rows.sort();
    rows.dedup();
    rows.len()
}

/// Relabels so that cluster 0 has the lowest mean of `latency`, and the
/// numbers are contiguous (k-means may leave a cluster empty).
fn renumber(labels: &[usize], latency: &[f64]) -> (Vec<usize>, usize) {
    let mut ids: Vec<usize> = labels.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut order: Vec<(f64, usize)> = ids
        .iter()
        .map(|&c| {
            let v: Vec<f64> = labels
                .iter()
                .zip(latency)
                .filter(|(l, _)| **l == c)
                .map(|(_, x)| *x)
                .collect();
            (v.iter().sum::<f64>() / v.len() as f64, c)
        })
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let map = |c: usize| {
        order
            .iter()
            .position(|(_, o)| *o == c)
            .expect("label present")
    };
    (labels.iter().map(|&l| map(l)).collect(), order.len())
}

/// Clusters `rows` (one feature vector per configuration); `latency` orders the clusters.
pub fn cluster(
    rows: &[Vec<f64>],
    latency: &[f64],
    k: KChoice,
    scaling: Scaling,
    max_k: usize,
    seed: u64,
    restarts: usize,
) -> Result<Clustering, Error> {
    let n = rows.len();
    let mut out = Clustering::default();
    if n == 0 {
        out.notes.push("no configuration left to cluster".into());
        return Ok(out);
    }
    if rows.iter().flatten().any(|x| !x.is_finite()) {
        return Err(Error::Option(
            "a clustering feature is not a finite number".into(),
        ));
    }
    let a = standardise(rows, scaling);
    let distinct = distinct_rows(&a);
    let chosen = match k {
        KChoice::Fixed(k) => {
            if k > distinct {
                out.notes.push(format!("--k {k} asked, but only {distinct} distinct configuration profiles exist: k = {distinct}"));
            }
            let k = k.min(distinct);
            let (labels, inertia) = kmeans(&a, k, seed, restarts)?;
            out.scores.push(KScore {
                k,
                silhouette: silhouette(&a, &labels, k),
                inertia,
            });
            out.labels = labels;
            k
        }
        KChoice::Auto => {
            let hi = max_k.min(distinct.saturating_sub(1));
            if hi < 2 {
                let k = distinct.min(2);
                out.notes.push(format!(
                    "{distinct} distinct configuration profile(s): k = {k} without a search"
                ));
                let (labels, inertia) = kmeans(&a, k, seed, restarts)?;
                out.scores.push(KScore {
                    k,
                    silhouette: silhouette(&a, &labels, k),
                    inertia,
                });
                out.labels = labels;
                k
            } else {
                let mut best: Option<(f64, usize, Vec<usize>)> = None;
                for k in 2..=hi {
                    let (labels, inertia) = kmeans(&a, k, seed, restarts)?;
                    let s = silhouette(&a, &labels, k);
                    out.scores.push(KScore {
                        k,
                        silhouette: s,
                        inertia,
                    });
                    if best.as_ref().is_none_or(|(b, _, _)| s > *b + 1e-12) {
                        best = Some((s, k, labels));
                    }
                }
                let (s, k, labels) = best.expect("at least one k tried");
                out.notes.push(format!(
                    "k = {k} chosen by the highest mean silhouette ({s:.3}) among k = 2..{hi}"
                ));
                if s < WEAK_SILHOUETTE {
                    out.weak = true;
                    out.notes.push(format!(
                        "a mean silhouette below {WEAK_SILHOUETTE} means no substantial structure (Kaufman & Rousseeuw): the configurations may all belong together"
                    ));
                }
                out.labels = labels;
                k
            }
        }
    };
    let (labels, used) = renumber(&out.labels, latency);
    if used < chosen {
        out.notes
            .push(format!("k-means left {} cluster(s) empty", chosen - used));
    }
    out.labels = labels;
    out.k = used;
    Ok(out)
}
