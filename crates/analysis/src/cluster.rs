//! k-means on standardised features, with k-means++ seeding and several restarts
//! (linfa-clustering), seeded so that the same input gives the same output.
//!
//! Standardising: every feature is centred on its mean over the configurations. With
//! [`Scaling::Common`] (the default) all features are then divided by one scale, the root mean
//! of their variances: the features are all latencies in ns, and per-feature z-scores would blow
//! a feature that barely varies (the std when every configuration jitters alike) up into a
//! dimension as strong as the mean, and split clusters on its noise. [`Scaling::Feature`] gives
//! classic per-feature z-scores. A feature constant across the configurations contributes 0
//! either way.
//!
//! How k is chosen is [`crate::kselect`]'s business; this module fits, scores (mean silhouette,
//! Rousseeuw 1987: per point `(b − a) / max(a, b)` with `a` the mean distance to its own cluster
//! and `b` to the nearest other cluster; 0 for a point alone in its cluster) and renumbers the
//! clusters from the lowest latency (0) upward.

use linfa::DatasetBase;
use linfa::prelude::{Fit, Predict};
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::Array2;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::options::Scaling;

/// The score of one k tried.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct KScore {
    pub k: usize,
    pub silhouette: f64,
    /// Sum of squared distances to the centroids (standardised units).
    pub inertia: f64,
    /// Mean adjusted Rand index between this k's clusters and those found again on resampled
    /// repetitions (robust method, configurations with several repetitions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stability: Option<f64>,
    /// Mean silhouette of k-means with this k on configurations spread uniformly over the
    /// data's principal box (robust method), and its standard deviation over reference sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_silhouette: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_sd: Option<f64>,
}

impl KScore {
    /// How many null standard deviations the silhouette stands above the null silhouette.
    pub fn excess_z(&self) -> Option<f64> {
        let (m, sd) = (self.null_silhouette?, self.null_sd?);
        Some((self.silhouette - m) / sd.max(1e-3))
    }
}

/// The centring and scale of each feature, fitted on the configurations.
#[derive(Debug, Clone)]
pub struct Scaler {
    means: Vec<f64>,
    /// Divisor per feature; 0 when the feature is constant (it contributes 0).
    div: Vec<f64>,
}

impl Scaler {
    /// Fits on `rows` (population standard deviations) as `scaling` says.
    pub fn fit(rows: &[Vec<f64>], scaling: Scaling) -> Self {
        let n = rows.len().max(1) as f64;
        let d = rows.first().map_or(0, Vec::len);
        let means: Vec<f64> = (0..d)
            .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
            .collect();
        let sds: Vec<f64> = (0..d)
            .map(|j| (rows.iter().map(|r| (r[j] - means[j]).powi(2)).sum::<f64>() / n).sqrt())
            .collect();
        let common = (sds.iter().map(|s| s * s).sum::<f64>() / d.max(1) as f64).sqrt();
        let div = sds
            .iter()
            .map(|&sd| {
                let s = match scaling {
                    Scaling::Common => common,
                    Scaling::Feature => sd,
                };
                if s > 0.0 && s.is_finite() && sd > 0.0 {
                    s
                } else {
                    0.0
                }
            })
            .collect();
        Self { means, div }
    }

    /// `rows` in the fitted units.
    pub fn apply(&self, rows: &[Vec<f64>]) -> Array2<f64> {
        let d = self.means.len();
        let mut a = Array2::zeros((rows.len(), d));
        for (i, r) in rows.iter().enumerate() {
            for j in 0..d {
                a[[i, j]] = if self.div[j] > 0.0 {
                    (r[j] - self.means[j]) / self.div[j]
                } else {
                    0.0
                };
            }
        }
        a
    }
}

/// Centres each column and scales it (population standard deviations) as `scaling` says.
pub fn standardise(rows: &[Vec<f64>], scaling: Scaling) -> Array2<f64> {
    Scaler::fit(rows, scaling).apply(rows)
}

/// Pairwise Euclidean distances of the rows of a matrix, computed once for every labelling
/// scored on it.
#[derive(Debug)]
pub struct Distances {
    n: usize,
    d: Vec<f64>,
}

impl Distances {
    pub fn new(a: &Array2<f64>) -> Self {
        let n = a.nrows();
        let rows: Vec<Vec<f64>> = a.rows().into_iter().map(|r| r.to_vec()).collect();
        let mut d = vec![0.0; n * n];
        for i in 0..n {
            for j in i + 1..n {
                let v = rows[i]
                    .iter()
                    .zip(&rows[j])
                    .map(|(x, y)| (x - y).powi(2))
                    .sum::<f64>()
                    .sqrt();
                d[i * n + j] = v;
                d[j * n + i] = v;
            }
        }
        Self { n, d }
    }

    /// Mean silhouette of a labelling (0 when k < 2).
    pub fn silhouette(&self, labels: &[usize], k: usize) -> f64 {
        let n = self.n;
        if k < 2 || n < 2 {
            return 0.0;
        }
        let mut total = 0.0;
        let mut sum = vec![0.0; k];
        let mut cnt = vec![0usize; k];
        for i in 0..n {
            sum.iter_mut().for_each(|s| *s = 0.0);
            cnt.iter_mut().for_each(|c| *c = 0);
            let row = &self.d[i * n..(i + 1) * n];
            for (j, (&l, &dij)) in labels.iter().zip(row).enumerate() {
                if j != i {
                    sum[l] += dij;
                    cnt[l] += 1;
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
}

/// Mean silhouette of a labelling of the rows of `a` (0 when k < 2).
pub fn silhouette(a: &Array2<f64>, labels: &[usize], k: usize) -> f64 {
    Distances::new(a).silhouette(labels, k)
}

/// k-means with `restarts` k-means++ starts; the labels and the inertia of the best.
pub fn kmeans(
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

/// Number of distinct rows (identical feature vectors cannot be told apart).
pub fn distinct_rows(a: &Array2<f64>) -> usize {
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
pub fn renumber(labels: &[usize], latency: &[f64]) -> (Vec<usize>, usize) {
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
