//! How many clusters: every score for every k tried, and the rule that picks one.
//!
//! - **Paper method**: the highest mean silhouette over k = 2..`max_k` (Rousseeuw 1987), as the
//!   analysis always did.
//! - **Robust method** (default): the silhouette alone picked k = 2 on a real sweep whose medians
//!   fell into four clear groups, so two more scores are computed for every k.
//!   *Stability*: the repetitions of every configuration are resampled with replacement, the
//!   features recomputed, k-means run again, and the new clusters compared with the full data's
//!   by the adjusted Rand index (Hubert & Arabie 1985); the mean over resamples is the k's
//!   stability (Lange et al. 2004; von Luxburg 2010, "Clustering stability: an overview"). A
//!   partition that a different draw of the same repetitions would not reproduce is noise; with
//!   Hennig (2007) a mean agreement of at least [`STABLE`] counts as stable.
//!   *Null silhouette*: the mean silhouette k-means reaches on configurations spread uniformly
//!   over the box of the data's principal axes (the reference of Tibshirani, Walther & Hastie's
//!   gap statistic, 2001; seeded reference sets), with its standard deviation. Any data split
//!   into k groups has some silhouette (evenly spread configurations split in two score about
//!   0.6); only a silhouette clearly above the null one ([`EXCESS_Z`] standard deviations) shows
//!   groups rather than a continuum.
//!   k is the highest mean silhouette among the stable k (every k when none is).
//!
//! Every score is reported (`k_selection` in analysis.json, k.svg).

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256Plus;

use crate::Error;
use crate::cluster::{Distances, KScore, Scaler, distinct_rows, kmeans, renumber};
use crate::options::{KChoice, Scaling};

/// Below this mean silhouette a clustering shows no substantial structure (Kaufman & Rousseeuw).
pub const WEAK_SILHOUETTE: f64 = 0.25;
/// A k whose clusters come back with at least this mean adjusted Rand index is stable.
pub const STABLE: f64 = 0.75;
/// A silhouette this many null standard deviations above the null silhouette shows groups.
pub const EXCESS_Z: f64 = 3.0;
/// k-means restarts on resampled and reference data (each k is fitted many times there).
const QUICK_RESTARTS: usize = 2;

/// What to cluster and how.
#[derive(Debug)]
pub struct Problem<'a> {
    /// One feature vector per configuration.
    pub rows: &'a [Vec<f64>],
    /// Orders the clusters (cluster 0 the lowest).
    pub latency: &'a [f64],
    /// The rows again, each set from resampled repetitions (empty: no stability check).
    pub resamples: &'a [Vec<Vec<f64>>],
    pub scaling: Scaling,
    pub max_k: usize,
    pub seed: u64,
    pub restarts: usize,
    /// Uniform reference sets for the null silhouette (0: not computed).
    pub references: usize,
    /// Pick k by silhouette among the stable k (robust) or by silhouette alone (paper).
    pub robust: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Clustering {
    pub k: usize,
    /// Cluster of each row, numbered by ascending latency.
    pub labels: Vec<usize>,
    pub scores: Vec<KScore>,
    pub notes: Vec<String>,
    /// The score of the k chosen.
    pub chosen: Option<KScore>,
    /// The rows as k-means saw them (scaled).
    pub points: Vec<Vec<f64>>,
    /// Paper method: the best mean silhouette is below [`WEAK_SILHOUETTE`].
    pub weak: bool,
}

/// Adjusted Rand index of two labellings of the same items (1: the same partition, about 0:
/// no more agreement than chance). Two single-cluster labellings agree: 1.
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> f64 {
    assert_eq!(a.len(), b.len(), "labellings of the same items");
    let n = a.len();
    let ka = a.iter().max().map_or(0, |m| m + 1);
    let kb = b.iter().max().map_or(0, |m| m + 1);
    let mut table = vec![0u64; ka * kb];
    for (x, y) in a.iter().zip(b) {
        table[x * kb + y] += 1;
    }
    let c2 = |x: u64| (x * x.saturating_sub(1)) as f64 / 2.0;
    let index: f64 = table.iter().map(|&v| c2(v)).sum();
    let rows: f64 = (0..ka)
        .map(|i| c2(table[i * kb..(i + 1) * kb].iter().sum()))
        .sum();
    let cols: f64 = (0..kb)
        .map(|j| c2((0..ka).map(|i| table[i * kb + j]).sum()))
        .sum();
    let expected = rows * cols / c2(n as u64).max(1.0);
    let max = (rows + cols) / 2.0;
    if (max - expected).abs() < 1e-12 {
        1.0
    } else {
        (index - expected) / (max - expected)
    }
}

/// Eigenvectors (columns) of a symmetric matrix, cyclic Jacobi rotations.
fn eigenvectors(mut m: Array2<f64>) -> Array2<f64> {
    let d = m.nrows();
    let mut v = Array2::eye(d);
    for _ in 0..50 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[[i, j]].powi(2))
            .sum();
        if off < 1e-18 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                if m[[p, q]].abs() < 1e-300 {
                    continue;
                }
                let theta = (m[[q, q]] - m[[p, p]]) / (2.0 * m[[p, q]]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (mkp, mkq) = (m[[k, p]], m[[k, q]]);
                    m[[k, p]] = c * mkp - s * mkq;
                    m[[k, q]] = s * mkp + c * mkq;
                }
                for k in 0..d {
                    let (mpk, mqk) = (m[[p, k]], m[[q, k]]);
                    m[[p, k]] = c * mpk - s * mqk;
                    m[[q, k]] = s * mpk + c * mqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    v
}

/// Reference sets for the gap statistic: uniform over the box of `a`'s principal axes.
fn references(a: &Array2<f64>, count: usize, seed: u64) -> Vec<Array2<f64>> {
    let (n, d) = a.dim();
    let mean = a.mean_axis(ndarray::Axis(0)).expect("non-empty");
    let centred = a - &mean;
    let cov = centred.t().dot(&centred) / n as f64;
    let v = eigenvectors(cov);
    let proj = centred.dot(&v);
    let lo: Vec<f64> = (0..d)
        .map(|j| proj.column(j).fold(f64::INFINITY, |m, x| m.min(*x)))
        .collect();
    let hi: Vec<f64> = (0..d)
        .map(|j| proj.column(j).fold(f64::NEG_INFINITY, |m, x| m.max(*x)))
        .collect();
    let mut rng = Xoshiro256Plus::seed_from_u64(seed ^ 0x6A09_E667_F3BC_C908);
    (0..count)
        .map(|_| {
            let z = Array2::from_shape_fn((n, d), |(_, j)| {
                if hi[j] > lo[j] {
                    rng.gen_range(lo[j]..=hi[j])
                } else {
                    lo[j]
                }
            });
            z.dot(&v.t()) + &mean
        })
        .collect()
}

/// Mean and standard deviation of the silhouette k-means reaches with `k` on each reference set.
fn null_silhouette(
    refs: &[(Array2<f64>, Distances)],
    k: usize,
    seed: u64,
) -> Result<Option<(f64, f64)>, Error> {
    if refs.is_empty() {
        return Ok(None);
    }
    let mut v = Vec::with_capacity(refs.len());
    for (b, (z, dz)) in refs.iter().enumerate() {
        let (l, _) = kmeans(z, k, seed.wrapping_add(b as u64 + 1), QUICK_RESTARTS)?;
        v.push(dz.silhouette(&l, k));
    }
    Ok(Some((
        crate::robust::mean(&v),
        crate::robust::sample_sd(&v),
    )))
}

/// Mean adjusted Rand index between `labels` and the clusters of each resample.
fn stability(
    scaler: &Scaler,
    resamples: &[Vec<Vec<f64>>],
    labels: &[usize],
    k: usize,
    seed: u64,
) -> Result<Option<f64>, Error> {
    if resamples.is_empty() {
        return Ok(None);
    }
    let mut total = 0.0;
    for (b, rows) in resamples.iter().enumerate() {
        let a = scaler.apply(rows);
        let (l, _) = kmeans(&a, k, seed.wrapping_add(1000 + b as u64), QUICK_RESTARTS)?;
        total += adjusted_rand_index(labels, &l);
    }
    Ok(Some(total / resamples.len() as f64))
}

/// Fits one k and scores it.
fn fit(
    p: &Problem<'_>,
    a: &Array2<f64>,
    da: &Distances,
    scaler: &Scaler,
    refs: &[(Array2<f64>, Distances)],
    k: usize,
) -> Result<(KScore, Vec<usize>), Error> {
    let (labels, inertia) = kmeans(a, k, p.seed, p.restarts)?;
    let (stab, null) = if p.robust && k >= 2 {
        (
            stability(scaler, p.resamples, &labels, k, p.seed)?,
            null_silhouette(refs, k, p.seed)?,
        )
    } else {
        (None, None)
    };
    let score = KScore {
        k,
        silhouette: da.silhouette(&labels, k),
        inertia,
        stability: stab,
        null_silhouette: null.map(|n| n.0),
        null_sd: null.map(|n| n.1),
    };
    Ok((score, labels))
}

/// Clusters the problem's rows with `k`.
pub fn cluster(p: &Problem<'_>, k: KChoice) -> Result<Clustering, Error> {
    let n = p.rows.len();
    let mut out = Clustering::default();
    if n == 0 {
        out.notes.push("no configuration left to cluster".into());
        return Ok(out);
    }
    if p.rows.iter().flatten().any(|x| !x.is_finite()) {
        return Err(Error::Option(
            "a clustering feature is not a finite number".into(),
        ));
    }
    let scaler = Scaler::fit(p.rows, p.scaling);
    let a = scaler.apply(p.rows);
    out.points = a.rows().into_iter().map(|r| r.to_vec()).collect();
    let distinct = distinct_rows(&a);
    let da = Distances::new(&a);
    let refs: Vec<(Array2<f64>, Distances)> = if p.robust && p.references > 0 && n >= 3 {
        references(&a, p.references, p.seed)
            .into_iter()
            .map(|z| {
                let d = Distances::new(&z);
                (z, d)
            })
            .collect()
    } else {
        Vec::new()
    };
    let (chosen, labels) = match k {
        KChoice::Fixed(k) => {
            if k > distinct {
                out.notes.push(format!("--k {k} asked, but only {distinct} distinct configuration profiles exist: k = {distinct}"));
            }
            let (s, labels) = fit(p, &a, &da, &scaler, &refs, k.min(distinct))?;
            out.scores.push(s);
            (s, labels)
        }
        KChoice::Auto => {
            let hi = p.max_k.min(distinct.saturating_sub(1));
            if hi < 2 {
                let k = distinct.min(2);
                out.notes.push(format!(
                    "{distinct} distinct configuration profile(s): k = {k} without a search"
                ));
                let (s, labels) = fit(p, &a, &da, &scaler, &refs, k)?;
                out.scores.push(s);
                (s, labels)
            } else {
                let mut fits = Vec::new();
                for k in 2..=hi {
                    let (s, labels) = fit(p, &a, &da, &scaler, &refs, k)?;
                    out.scores.push(s);
                    fits.push((s, labels));
                }
                let (s, labels) = pick(p, fits, hi, &mut out.notes);
                if !p.robust && s.silhouette < WEAK_SILHOUETTE {
                    out.weak = true;
                    out.notes.push(format!(
                        "a mean silhouette below {WEAK_SILHOUETTE} means no substantial structure (Kaufman & Rousseeuw): the configurations may all belong together"
                    ));
                }
                (s, labels)
            }
        }
    };
    let (labels, used) = renumber(&labels, p.latency);
    if used < chosen.k {
        out.notes
            .push(format!("k-means left {} cluster(s) empty", chosen.k - used));
    }
    out.labels = labels;
    out.k = used;
    out.chosen = Some(chosen);
    Ok(out)
}

/// The k = auto rule over the fitted k = 2..=hi.
fn pick(
    p: &Problem<'_>,
    fits: Vec<(KScore, Vec<usize>)>,
    hi: usize,
    notes: &mut Vec<String>,
) -> (KScore, Vec<usize>) {
    let best_of = |set: &mut dyn Iterator<Item = &(KScore, Vec<usize>)>| {
        set.fold(None::<&(KScore, Vec<usize>)>, |b, f| match b {
            Some(b) if f.0.silhouette <= b.0.silhouette + 1e-12 => Some(b),
            _ => Some(f),
        })
        .cloned()
    };
    let measured = fits.iter().any(|f| f.0.stability.is_some());
    if !p.robust || !measured {
        let (s, labels) = best_of(&mut fits.iter()).expect("at least one k");
        notes.push(format!(
            "k = {} chosen by the highest mean silhouette ({:.3}) among k = 2..{hi}",
            s.k, s.silhouette
        ));
        if p.robust {
            notes.push("one repetition per configuration: the stability across repetitions could not be measured".into());
        }
        return (s, labels);
    }
    let stable = |f: &&(KScore, Vec<usize>)| f.0.stability.is_some_and(|s| s >= STABLE);
    match best_of(&mut fits.iter().filter(stable)) {
        Some((s, labels)) => {
            let ks: Vec<String> = fits
                .iter()
                .filter(stable)
                .map(|f| f.0.k.to_string())
                .collect();
            notes.push(format!(
                "k = {} chosen by the highest mean silhouette ({:.3}) among the k whose clusters come back when the repetitions are resampled (stability ≥ {STABLE}: k = {} of 2..{hi})",
                s.k,
                s.silhouette,
                ks.join(", ")
            ));
            (s, labels)
        }
        None => {
            let (s, labels) = best_of(&mut fits.iter()).expect("at least one k");
            notes.push(format!(
                "no k in 2..{hi} is stable when the repetitions are resampled (stability < {STABLE}); k = {} has the highest mean silhouette ({:.3})",
                s.k, s.silhouette
            ));
            (s, labels)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ari_of_known_partitions() {
        assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
        assert_eq!(adjusted_rand_index(&[0, 0, 0], &[0, 0, 0]), 1.0);
        // scikit-learn: adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714285714285715
        let v = adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]);
        assert!((v - 0.571_428_571_428_571_5).abs() < 1e-12, "{v}");
        // adjusted_rand_score([0,0,1,1],[0,1,0,1]) = -0.5
        assert!((adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]) + 0.5).abs() < 1e-12);
    }

    #[test]
    fn principal_axes() {
        let m = ndarray::arr2(&[[2.0, 1.0], [1.0, 2.0]]);
        let v = eigenvectors(m.clone());
        for j in 0..2 {
            let x = v.column(j).to_owned();
            let y = m.dot(&x);
            let lambda = y.dot(&x);
            assert!((&y - &(&x * lambda)).iter().all(|e| e.abs() < 1e-9));
        }
    }
}
