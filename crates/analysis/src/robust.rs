//! Robust statistics of latency runs: what a few scheduling spikes cannot move.
//!
//! A run's RTTs are a skewed body plus rare spikes of milliseconds. The mean and the standard
//! deviation follow the spikes (one 3 ms spike in 3000 samples of 6 µs adds 1 µs to the mean and
//! 55 µs to the std; their breakdown point is 0), the quantiles do not: a quantile moves only when
//! a fraction of the samples comparable to its distance from the ends is corrupted (the median's
//! breakdown point is 50 %, the quartiles' 25 %; Hampel et al., *Robust Statistics*, 1986, §2.2).
//! So a run is summarised by its median and quartiles ([`RunSummary`]), and a configuration by
//! the median of its repetitions' values ([`ConfigSummary`]): with three repetitions one bad
//! repetition (a neighbour compiling during it) is outvoted instead of averaged in.
//!
//! These are the statistics the analysis clusters on, ranks effects with and checks repetitions
//! against, and the ones a racing sweep can eliminate configurations with
//! ([`ConfigSummary::slower_than`]).

use serde::{Deserialize, Serialize};

use crate::options::Aggregate;

/// Median of a non-empty slice (reordered in place); NaN when empty.
pub fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    v.sort_unstable_by(f64::total_cmp);
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Mean of a slice; NaN when empty.
pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample standard deviation (n − 1); 0 for fewer than two values.
pub fn sample_sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// Median absolute deviation from the median, scaled by 1.4826 so that it estimates the
/// standard deviation of a normal sample (Rousseeuw & Croux 1993).
pub fn mad(v: &[f64]) -> f64 {
    let mut w = v.to_vec();
    let m = median(&mut w);
    for x in &mut w {
        *x = (*x - m).abs();
    }
    1.4826 * median(&mut w)
}

/// The 95 % percentile interval of bootstrap replicates (sorted in place); NaN when empty.
pub fn percentile_interval(boot: &mut [f64]) -> (f64, f64) {
    boot.sort_unstable_by(f64::total_cmp);
    let pct = |p: f64| {
        if boot.is_empty() {
            f64::NAN
        } else {
            boot[((boot.len() - 1) as f64 * p).round() as usize]
        }
    };
    (pct(0.025), pct(0.975))
}

/// Combines values (one per repetition) as `how` says.
pub fn aggregate(v: &mut [f64], how: Aggregate) -> f64 {
    match how {
        Aggregate::Mean => mean(v),
        Aggregate::Median => median(v),
    }
}

/// One run in statistics that rare spikes cannot move.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub median: f64,
    pub q1: f64,
    pub q3: f64,
    /// Number of RTTs.
    pub count: u64,
}

impl RunSummary {
    pub fn of(d: &results::Describe) -> Self {
        Self {
            median: d.median,
            q1: d.q1,
            q3: d.q3,
            count: d.count,
        }
    }

    pub fn iqr(&self) -> f64 {
        self.q3 - self.q1
    }

    /// Standard error of the median: √(π/2) σ / √n for a normal body (Kendall & Stuart), with
    /// σ estimated from the interquartile range (σ ≈ IQR / 1.349) so that spikes do not count.
    pub fn median_se(&self) -> f64 {
        median_se(self.iqr(), self.count)
    }
}

fn median_se(iqr: f64, n: u64) -> f64 {
    1.2533 * (iqr / 1.349) / (n.max(1) as f64).sqrt()
}

/// A configuration over its repetitions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConfigSummary {
    /// Median over the repetitions of the runs' medians (ns).
    pub median: f64,
    /// Median over the repetitions of the runs' first and third quartiles (ns).
    pub q1: f64,
    pub q3: f64,
    /// Sample standard deviation of the runs' medians (0 for one repetition).
    pub rep_spread_ns: f64,
    /// `rep_spread_ns / median`: how much the repetitions disagree.
    pub rep_cv: f64,
    /// Standard error of `median`: the larger of the within-run error (the median of every
    /// sample) and the between-repetition error (`rep_spread_ns / √reps`).
    pub se_ns: f64,
    /// Repetitions with data.
    pub reps: u32,
}

impl ConfigSummary {
    /// Summarises the runs of one configuration; `None` without any run.
    pub fn of(runs: &[RunSummary]) -> Option<Self> {
        if runs.is_empty() {
            return None;
        }
        let pick = |f: fn(&RunSummary) -> f64| median(&mut runs.iter().map(f).collect::<Vec<_>>());
        let medians: Vec<f64> = runs.iter().map(|r| r.median).collect();
        let m = pick(|r| r.median);
        let q1 = pick(|r| r.q1);
        let q3 = pick(|r| r.q3);
        let spread = sample_sd(&medians);
        let n: u64 = runs.iter().map(|r| r.count).sum();
        let within = median_se(q3 - q1, n);
        let between = spread / (runs.len() as f64).sqrt();
        Some(Self {
            median: m,
            q1,
            q3,
            rep_spread_ns: spread,
            rep_cv: if m != 0.0 { spread / m } else { 0.0 },
            se_ns: within.max(between),
            reps: runs.len() as u32,
        })
    }

    /// True when this configuration's median is above `other`'s by more than `z` standard
    /// errors of the difference (z = 2.58 for a two-sided 1 % test): a racing sweep can drop
    /// this configuration once the best one so far is `other`.
    pub fn slower_than(&self, other: &ConfigSummary, z: f64) -> bool {
        let se = (self.se_ns.powi(2) + other.se_ns.powi(2)).sqrt();
        self.median - other.median > z * se.max(f64::MIN_POSITIVE)
    }
}

/// p-value of "these locations differ only by their noise": Σ ((xᵢ − x̄_w) / seᵢ)² against
/// χ²(n − 1) (Wilson–Hilferty approximation), x̄_w the inverse-variance weighted mean.
/// Each item is (location, standard error).
pub fn homogeneity_p(items: &[(f64, f64)]) -> f64 {
    let n = items.len();
    if n < 2 {
        return 1.0;
    }
    let se2: Vec<f64> = items.iter().map(|(_, se)| (se * se).max(1e-6)).collect();
    let wsum: f64 = se2.iter().map(|v| 1.0 / v).sum();
    let mw = items.iter().zip(&se2).map(|((x, _), v)| x / v).sum::<f64>() / wsum;
    let x: f64 = items
        .iter()
        .zip(&se2)
        .map(|((m, _), v)| (m - mw).powi(2) / v)
        .sum();
    let k = (n - 1) as f64;
    let z = ((x / k).cbrt() - (1.0 - 2.0 / (9.0 * k))) / (2.0 / (9.0 * k)).sqrt();
    0.5 * crate::compare::erfc(z / std::f64::consts::SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(median: f64, iqr: f64, count: u64) -> RunSummary {
        RunSummary {
            median,
            q1: median - iqr / 2.0,
            q3: median + iqr / 2.0,
            count,
        }
    }

    #[test]
    fn one_bad_repetition_is_outvoted() {
        let s = ConfigSummary::of(&[
            run(10_000.0, 1_000.0, 1000),
            run(10_200.0, 1_000.0, 1000),
            run(40_000.0, 1_000.0, 1000),
        ])
        .unwrap();
        assert_eq!(s.median, 10_200.0);
        assert!(s.rep_cv > 0.5, "{s:?}");
    }

    #[test]
    fn median_and_mad() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&mut []).is_nan());
        assert!((mad(&[1.0, 2.0, 3.0, 4.0, 100.0]) - 1.4826).abs() < 1e-9);
    }

    #[test]
    fn slower_needs_more_than_noise() {
        let a = ConfigSummary::of(&[run(10_000.0, 2_000.0, 100)]).unwrap();
        let b = ConfigSummary::of(&[run(10_300.0, 2_000.0, 100)]).unwrap();
        let c = ConfigSummary::of(&[run(13_000.0, 2_000.0, 100)]).unwrap();
        assert!(!b.slower_than(&a, 2.58));
        assert!(c.slower_than(&a, 2.58));
        assert!(!a.slower_than(&c, 2.58));
    }

    #[test]
    fn homogeneity() {
        let same = [(10.0, 1.0), (10.5, 1.0), (9.7, 1.0), (10.2, 1.0)];
        assert!(homogeneity_p(&same) > 0.1);
        let apart = [(10.0, 0.1), (20.0, 0.1), (10.1, 0.1)];
        assert!(homogeneity_p(&apart) < 1e-9);
    }
}
