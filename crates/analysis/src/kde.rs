//! Gaussian kernel density estimate on a regular grid, for kde.svg.
//!
//! Bandwidth: Silverman's rule of thumb, `h = 0.9 · min(σ, IQR / 1.34) · n^(−1/5)`
//! (σ the sample standard deviation), falling back to σ when the IQR is 0 and
//! never narrower than one grid step (so a sample of identical values draws a
//! narrow peak rather than nothing). The sample is linearly binned onto the
//! grid and the bins convolved with the kernel truncated at 4h: O(grid · 4h/step)
//! whatever the sample size. Values outside the grid still count in n.

/// A density curve: `ys[i]` is the density at `xs[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Kde {
    pub bandwidth: f64,
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
}

fn quantile_sorted(v: &[f64], p: f64) -> f64 {
    let h = (v.len() - 1) as f64 * p;
    let j = h.floor() as usize;
    let k = (j + 1).min(v.len() - 1);
    v[j] + (h - j as f64) * (v[k] - v[j])
}

/// Silverman's bandwidth of `values` (0 for fewer than two values or no spread).
pub fn silverman_bandwidth(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let sd = (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let mut s = values.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    let iqr = quantile_sorted(&s, 0.75) - quantile_sorted(&s, 0.25);
    let spread = if iqr > 0.0 { sd.min(iqr / 1.34) } else { sd };
    0.9 * spread * (n as f64).powf(-0.2)
}

/// The density of `values` at `points` grid points spanning `[lo, hi]`.
pub fn kde(values: &[f64], lo: f64, hi: f64, points: usize) -> Option<Kde> {
    if values.is_empty() || points < 2 || hi <= lo {
        return None;
    }
    let step = (hi - lo) / (points - 1) as f64;
    let h = silverman_bandwidth(values).max(step);
    let mut bins = vec![0.0; points];
    for &x in values {
        let pos = (x - lo) / step;
        if pos < 0.0 || pos > (points - 1) as f64 {
            continue;
        }
        let j = pos.floor() as usize;
        let f = pos - j as f64;
        bins[j] += 1.0 - f;
        if j + 1 < points {
            bins[j + 1] += f;
        }
    }
    let reach = ((4.0 * h) / step).ceil() as usize;
    let weights: Vec<f64> = (0..=reach)
        .map(|d| {
            let u = d as f64 * step / h;
            (-0.5 * u * u).exp() / (h * (2.0 * std::f64::consts::PI).sqrt())
        })
        .collect();
    let n = values.len() as f64;
    let mut ys = vec![0.0; points];
    for (j, &c) in bins.iter().enumerate() {
        if c == 0.0 {
            continue;
        }
        let a = j.saturating_sub(reach);
        let b = (j + reach).min(points - 1);
        for (i, y) in ys.iter_mut().enumerate().take(b + 1).skip(a) {
            *y += c * weights[i.abs_diff(j)] / n;
        }
    }
    Some(Kde {
        bandwidth: h,
        xs: (0..points).map(|i| lo + i as f64 * step).collect(),
        ys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrates_to_one_and_peaks_at_the_mode() {
        let v: Vec<f64> = (0..2000)
            .map(|i| 100.0 + ((i * 37) % 101) as f64 / 10.0 - 5.0)
            .collect();
        let k = kde(&v, 50.0, 150.0, 1001).unwrap();
        let step = k.xs[1] - k.xs[0];
        let area: f64 = k.ys.iter().sum::<f64>() * step;
        assert!((area - 1.0).abs() < 0.01, "area {area}");
        let peak = k.xs[k
            .ys
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0];
        assert!((peak - 100.0).abs() < 5.0, "peak {peak}");
    }

    #[test]
    fn silverman_matches_hand_computation() {
        // sd = 1.5811, IQR = 2 → min(1.5811, 1.4925) = 1.4925; 0.9 · 1.4925 · 5^(-0.2) = 1.0298
        let h = silverman_bandwidth(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!(
            (h - 0.9 * (2.0 / 1.34) * 5f64.powf(-0.2)).abs() < 1e-12,
            "{h}"
        );
    }

    #[test]
    fn identical_values_give_a_peak() {
        let k = kde(&[10.0; 100], 0.0, 20.0, 201).unwrap();
        assert!(k.ys.iter().all(|y| y.is_finite()));
        assert!(k.ys[100] > 0.0);
    }
}
