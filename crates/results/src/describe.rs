//! Descriptive statistics of a latency sample, with the conventions of the
//! paper's Python tooling spelled out so that numbers can be compared:
//!
//! - quantiles use numpy's default `linear` method (Hyndman & Fan type 7):
//!   for a sorted sample `x` of length `n`, `q(p) = x[j] + g * (x[j+1] - x[j])`
//!   with `h = (n - 1) p`, `j = floor(h)`, `g = h - j`;
//! - `std` is the *sample* standard deviation (ddof = 1, pandas' default);
//!   it is 0 for a single value;
//! - `mean` is exact (summed in i128) before its conversion to f64.
//!
//! The order statistics come from successive `select_nth_unstable` calls
//! rather than a full sort (a few linear passes instead of n log n).

use serde::{Deserialize, Serialize};

/// A latency in nanoseconds as people read it: `1234.5 µs` style, one decimal.
pub fn us(ns: f64) -> String {
    format!("{:.1} µs", ns / 1000.0)
}

/// Summary statistics in the unit of the input (nanoseconds for latencies).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Describe {
    pub mean: f64,
    pub median: f64,
    pub std: f64,
    pub q1: f64,
    pub q3: f64,
    pub min: f64,
    pub max: f64,
    pub p99: f64,
    pub p999: f64,
    /// Number of values; absent in files written before it existed.
    #[serde(default)]
    pub count: u64,
}

const PROBS: [f64; 5] = [0.25, 0.5, 0.75, 0.99, 0.999];

/// Describes `values`, reordering the slice in place. `None` for empty input.
pub fn describe(values: &mut [i64]) -> Option<Describe> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mut sum: i128 = 0;
    let (mut min, mut max) = (i64::MAX, i64::MIN);
    for &v in values.iter() {
        sum += i128::from(v);
        min = min.min(v);
        max = max.max(v);
    }
    let mean = sum as f64 / n as f64;
    let std = if n > 1 {
        let ss: f64 = values
            .iter()
            .map(|&v| {
                let d = v as f64 - mean;
                d * d
            })
            .sum();
        (ss / (n - 1) as f64).sqrt()
    } else {
        0.0
    };

    // Every rank any quantile needs, ascending; select each in turn on the
    // part of the slice not yet fixed, so that values[r] is the r-th smallest.
    let mut ranks: Vec<usize> = PROBS
        .iter()
        .flat_map(|&p| {
            let j = position(p, n).0;
            [j, (j + 1).min(n - 1)]
        })
        .collect();
    ranks.sort_unstable();
    ranks.dedup();
    let mut start = 0;
    for &r in &ranks {
        if r >= start {
            values[start..].select_nth_unstable(r - start);
            start = r + 1;
        }
    }
    let q = |p: f64| {
        let (j, g) = position(p, n);
        let lo = values[j] as f64;
        let hi = values[(j + 1).min(n - 1)] as f64;
        lerp(lo, hi, g)
    };
    Some(Describe {
        mean,
        median: q(0.5),
        std,
        q1: q(0.25),
        q3: q(0.75),
        min: min as f64,
        max: max as f64,
        p99: q(0.99),
        p999: q(0.999),
        count: n as u64,
    })
}

/// Index `j` and fraction `g` of quantile `p` in a sorted sample of `n` (type 7).
fn position(p: f64, n: usize) -> (usize, f64) {
    let h = (n - 1) as f64 * p;
    let j = h.floor();
    ((j as usize).min(n - 1), h - j)
}

/// numpy's `_lerp`: exact at both ends, computed from the nearer end.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_none() {
        assert_eq!(describe(&mut []), None);
    }

    #[test]
    fn single_value() {
        let d = describe(&mut [42]).unwrap();
        assert_eq!(
            (d.mean, d.median, d.std, d.min, d.max, d.p999),
            (42.0, 42.0, 0.0, 42.0, 42.0, 42.0)
        );
        assert_eq!(d.count, 1);
    }

    #[test]
    fn matches_numpy_small() {
        // numpy.quantile([5, 1, 4, 2, 3], ...), numpy.std(ddof=1)
        let d = describe(&mut [5, 1, 4, 2, 3]).unwrap();
        assert_eq!(d.median, 3.0);
        assert_eq!(d.q1, 2.0);
        assert_eq!(d.q3, 4.0);
        assert!((d.p99 - 4.96).abs() < 1e-9);
        assert!((d.p999 - 4.996).abs() < 1e-9);
        assert!((d.std - 1.5811388300841898).abs() < 1e-12);
    }
}
