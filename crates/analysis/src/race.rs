//! The decision of a racing sweep (F-Race, Birattari, Stützle, Paquete and Varrentrapp,
//! GECCO 2002): the rounds are the blocks, the surviving configurations the treatments, and
//! each cell is the median RTT of one configuration's slice in one round. The Friedman test
//! (with the ties correction) asks whether any configuration differs; when it does, each
//! configuration is compared with the best (lowest rank sum) by Conover's post-hoc test for
//! the Friedman ranks (W. J. Conover, Practical Nonparametric Statistics, 3rd ed., 1999,
//! p. 371, the test F-Race and irace use), one-sided, and the p-values are corrected for the
//! number of comparisons with Holm's step-down method (S. Holm, Scand. J. Statist. 6, 1979).
//! Ranks per round make the test immune to heavy tails and to a drift of the machine that
//! moves every configuration of a round together.

/// The outcome of one round's test.
#[derive(Debug, Clone, PartialEq)]
pub struct RaceTest {
    /// Friedman's T1 (ties corrected) and its p-value against χ²(k − 1).
    pub friedman: f64,
    pub friedman_p: f64,
    /// Index of the best treatment (lowest rank sum).
    pub best: usize,
    /// Per treatment: Conover's t against the best, its one-sided p-value and the Holm
    /// adjusted p-value (the best: 0, 1, 1).
    pub t: Vec<f64>,
    pub p: Vec<f64>,
    pub p_holm: Vec<f64>,
    /// Treatments worse than the best at level alpha (Friedman significant, Holm-adjusted
    /// post-hoc p below alpha).
    pub worse: Vec<usize>,
}

/// Ranks of `v` (1-based, ties get their mean rank).
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|a, b| v[*a].total_cmp(&v[*b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for k in &idx[i..=j] {
            r[*k] = mean;
        }
        i = j + 1;
    }
    r
}

/// Tests `blocks[round][treatment]` (every block holds every treatment); None with fewer than
/// two blocks or two treatments.
pub fn friedman_conover(blocks: &[Vec<f64>], alpha: f64) -> Option<RaceTest> {
    let n = blocks.len();
    let k = blocks.first()?.len();
    if n < 2 || k < 2 || blocks.iter().any(|b| b.len() != k) {
        return None;
    }
    let (nf, kf) = (n as f64, k as f64);
    let mut sums = vec![0.0; k];
    let mut a = 0.0;
    for b in blocks {
        for (j, r) in ranks(b).into_iter().enumerate() {
            sums[j] += r;
            a += r * r;
        }
    }
    let c = nf * kf * (kf + 1.0).powi(2) / 4.0;
    let best = (0..k)
        .min_by(|x, y| sums[*x].total_cmp(&sums[*y]))
        .expect("k >= 2");
    let spread = a - c;
    if spread <= 0.0 {
        return Some(RaceTest {
            friedman: 0.0,
            friedman_p: 1.0,
            best,
            t: vec![0.0; k],
            p: vec![1.0; k],
            p_holm: vec![1.0; k],
            worse: Vec::new(),
        });
    }
    let centre = nf * (kf + 1.0) / 2.0;
    let t1 = (kf - 1.0) * sums.iter().map(|s| (s - centre).powi(2)).sum::<f64>() / spread;
    let friedman_p = chi2_sf(t1, kf - 1.0);
    let df = (nf - 1.0) * (kf - 1.0);
    let scale = (2.0 * nf * spread / df * (1.0 - t1 / (nf * (kf - 1.0))).max(0.0)).sqrt();
    let mut t = vec![0.0; k];
    let mut p = vec![1.0; k];
    for j in (0..k).filter(|j| *j != best) {
        t[j] = (sums[j] - sums[best]) / scale.max(f64::MIN_POSITIVE);
        p[j] = student_t_sf(t[j], df);
    }
    let p_holm = holm(&p, best);
    let worse = if friedman_p < alpha {
        (0..k)
            .filter(|j| *j != best && p_holm[*j] < alpha)
            .collect()
    } else {
        Vec::new()
    };
    Some(RaceTest {
        friedman: t1,
        friedman_p,
        best,
        t,
        p,
        p_holm,
        worse,
    })
}

/// Holm's step-down adjusted p-values of every index but `skip` (which gets 1).
fn holm(p: &[f64], skip: usize) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|j| *j != skip).collect();
    idx.sort_by(|a, b| p[*a].total_cmp(&p[*b]));
    let m = idx.len() as f64;
    let mut out = vec![1.0; p.len()];
    let mut running: f64 = 0.0;
    for (i, j) in idx.iter().enumerate() {
        running = running.max(((m - i as f64) * p[*j]).min(1.0));
        out[*j] = running;
    }
    out
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine coefficients; relative error below 1e-13).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut s = G[0];
    for (i, g) in G.iter().enumerate().skip(1) {
        s += g / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + s.ln()
}

/// The continued fraction of the regularized incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let tiny = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        for coef in [
            even,
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + coef * d;
            if d.abs() < tiny {
                d = tiny;
            }
            c = 1.0 + coef / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-14 {
            break;
        }
    }
    h
}

/// The regularized incomplete beta function I_x(a, b).
fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// P(T > t) for Student's t with `df` degrees of freedom.
pub fn student_t_sf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * inc_beta(df / 2.0, 0.5, df / (df + t * t));
    if t >= 0.0 { tail } else { 1.0 - tail }
}

/// P(X > x) for χ²(df), by the regularized upper incomplete gamma function (series below
/// a + 1, continued fraction above).
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let (a, x) = (df / 2.0, x / 2.0);
    let lead = (-x + a * x.ln() - ln_gamma(a)).exp();
    if x < a + 1.0 {
        let (mut sum, mut term, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..1000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (1.0 - sum * lead).clamp(0.0, 1.0)
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -f64::from(i) * (f64::from(i) - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-15 {
                break;
            }
        }
        (lead * h).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_match_tables() {
        // t(10): P(T > 2.228) = 0.025; t(1) is Cauchy: P(T > 1) = 0.25
        assert!((student_t_sf(2.228, 10.0) - 0.025).abs() < 2e-4);
        assert!((student_t_sf(1.0, 1.0) - 0.25).abs() < 1e-9);
        assert!((student_t_sf(-1.0, 1.0) - 0.75).abs() < 1e-9);
        // χ²(1): P(X > 3.841) = 0.05; χ²(10): P(X > 18.307) = 0.05; χ²(2) is exponential
        assert!((chi2_sf(3.841, 1.0) - 0.05).abs() < 2e-4);
        assert!((chi2_sf(18.307, 10.0) - 0.05).abs() < 2e-4);
        assert!((chi2_sf(4.0, 2.0) - (-2.0f64).exp()).abs() < 1e-9);
    }

    #[test]
    fn ties_share_ranks_and_holm_is_monotone() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
        let h = holm(&[0.01, 0.04, 0.03, 0.5], 3);
        assert_eq!(h[0], 0.03);
        assert!((h[2] - 0.06).abs() < 1e-12 && (h[1] - 0.06).abs() < 1e-12);
        assert_eq!(h[3], 1.0);
    }

    #[test]
    fn the_clearly_worse_are_found_and_the_equal_kept() {
        // 6 rounds; treatments 0..3 equal up to noise, 4 and 5 clearly slower
        let blocks: Vec<Vec<f64>> = (0..6)
            .map(|r| {
                let w = f64::from(r) * 0.37;
                vec![
                    10.0 + (w * 3.1).sin(),
                    10.0 + (w * 5.3).cos(),
                    10.0 + (w * 7.7).sin(),
                    10.0 + (w * 2.9).cos(),
                    20.0 + w.sin(),
                    30.0 + w.cos(),
                ]
            })
            .collect();
        let t = friedman_conover(&blocks, 0.05).expect("testable");
        assert!(t.friedman_p < 0.01, "{t:?}");
        assert!(t.best < 4);
        assert!(t.worse.contains(&5), "{t:?}");
        assert!(t.worse.iter().all(|w| *w >= 4), "{t:?}");
    }

    #[test]
    fn identical_treatments_are_not_separated() {
        let blocks = vec![vec![1.0, 1.0, 1.0]; 5];
        let t = friedman_conover(&blocks, 0.05).expect("testable");
        assert!(t.worse.is_empty());
        assert!(friedman_conover(&blocks[..1], 0.05).is_none());
    }
}
