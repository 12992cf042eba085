//! Do two latency samples differ, by how much, and how sure is that?
//!
//! - Test: the two-sided Mann–Whitney U test (Wilcoxon rank-sum), normal
//!   approximation with tie correction and continuity correction; it makes no
//!   assumption on the shape of the distributions (RTTs are skewed). With
//!   large samples even a tiny shift is "significant", so the size comes with it:
//! - `shift_ns`: median of B minus median of A, with a 95% percentile-bootstrap
//!   interval (each side resampled with replacement; at most 20 000 values per
//!   side, evenly strided, enter the bootstrap);
//! - `prob_b_slower`: P(a random packet of B is slower than one of A), ties
//!   counting half (U / (n_a · n_b)); 0.5 means no tendency.
//!
//! The samples differ when p < 0.01 and the interval excludes 0.
//!
//! [`compare_inputs`] is `xdplat compare`: A and B are run directories, or directories of runs
//! whose samples are pooled (every repetition of one configuration: a directory with runs of
//! several is refused), or, with a table or a sweep directory, configuration ids of that table
//! (its per-repetition kept samples, at most [`crate::KEEP_SAMPLES`] each).

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256Plus;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Comparison {
    pub n_a: u64,
    pub n_b: u64,
    pub median_a_ns: f64,
    pub median_b_ns: f64,
    pub shift_ns: f64,
    pub ci_low_ns: f64,
    pub ci_high_ns: f64,
    pub u: f64,
    pub z: f64,
    pub p_value: f64,
    pub prob_b_slower: f64,
    pub differ: bool,
    /// The result in one sentence.
    pub verdict: String,
}

fn median_i64(v: &mut [i64]) -> f64 {
    let n = v.len();
    let (_, hi, _) = v.select_nth_unstable(n / 2);
    let hi = *hi as f64;
    if n % 2 == 1 {
        hi
    } else {
        let lo = *v[..n / 2].iter().max().expect("n >= 2") as f64;
        (lo + hi) / 2.0
    }
}

/// Complementary error function (W. J. Cody's rational approximation via
/// Numerical Recipes' erfcc, fractional error < 1.2e-7).
pub(crate) fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// U of sample B against A (count of pairs with b > a, ties ½), and the tie term Σ(t³ − t).
fn mann_whitney(a: &[i64], b: &[i64]) -> (f64, f64) {
    let mut all: Vec<(i64, bool)> = a
        .iter()
        .map(|&x| (x, false))
        .chain(b.iter().map(|&x| (x, true)))
        .collect();
    all.sort_unstable();
    let mut rank_sum_b = 0.0;
    let mut ties = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        let t = (j - i) as f64;
        ties += t * t * t - t;
        rank_sum_b += avg_rank * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let nb = b.len() as f64;
    (rank_sum_b - nb * (nb + 1.0) / 2.0, ties)
}

fn strided(v: &[i64], max: usize) -> Vec<i64> {
    let step = v.len().div_ceil(max).max(1);
    v.iter().step_by(step).copied().collect()
}

/// Compares sample `b` with sample `a`; `None` when either is empty.
pub fn compare(a: &[i64], b: &[i64], bootstrap: usize, seed: u64) -> Option<Comparison> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let median_a_ns = median_i64(&mut a.to_vec());
    let median_b_ns = median_i64(&mut b.to_vec());
    let (u, ties) = mann_whitney(a, b);
    let n = na + nb;
    let mu = na * nb / 2.0;
    let var = na * nb / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)).max(1.0));
    let (z, p_value) = if var > 0.0 {
        let d = u - mu;
        let z = (d - 0.5 * d.signum()) / var.sqrt();
        (z, erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0))
    } else {
        (0.0, 1.0)
    };
    let (sa, sb) = (strided(a, 20_000), strided(b, 20_000));
    let mut rng = Xoshiro256Plus::seed_from_u64(seed);
    let mut boot = Vec::with_capacity(bootstrap);
    let (mut ra, mut rb) = (vec![0i64; sa.len()], vec![0i64; sb.len()]);
    for _ in 0..bootstrap {
        for x in ra.iter_mut() {
            *x = sa[rng.gen_range(0..sa.len())];
        }
        for x in rb.iter_mut() {
            *x = sb[rng.gen_range(0..sb.len())];
        }
        boot.push(median_i64(&mut rb) - median_i64(&mut ra));
    }
    let (ci_low_ns, ci_high_ns) = crate::robust::percentile_interval(&mut boot);
    let shift_ns = median_b_ns - median_a_ns;
    let differ = p_value < 0.01 && (ci_low_ns > 0.0 || ci_high_ns < 0.0);
    let verdict = if differ {
        format!(
            "B is {} than A by {:.2} µs in the median (95% CI {:.2} to {:.2} µs; Mann–Whitney p = {:.2e}; P(B slower) = {:.2})",
            if shift_ns > 0.0 { "slower" } else { "faster" },
            shift_ns.abs() / 1e3,
            ci_low_ns / 1e3,
            ci_high_ns / 1e3,
            p_value,
            u / (na * nb)
        )
    } else {
        format!(
            "no difference shown: median shift {:.2} µs (95% CI {:.2} to {:.2} µs; Mann–Whitney p = {:.2e})",
            shift_ns / 1e3,
            ci_low_ns / 1e3,
            ci_high_ns / 1e3,
            p_value
        )
    };
    Some(Comparison {
        n_a: a.len() as u64,
        n_b: b.len() as u64,
        median_a_ns,
        median_b_ns,
        shift_ns,
        ci_low_ns,
        ci_high_ns,
        u,
        z,
        p_value,
        prob_b_slower: u / (na * nb),
        differ,
        verdict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
    }

    #[test]
    fn u_by_hand() {
        // pairs with b > a: 2.5 + 3.5 + 4.5 + 5 + 5 + 5 (ties count ½)
        let (u, _) = mann_whitney(&[1, 2, 3, 4, 5], &[3, 4, 5, 6, 7, 8]);
        assert_eq!(u, 25.5);
    }

    #[test]
    fn shifted_samples_differ_and_same_do_not() {
        let a: Vec<i64> = (0..2000).map(|i| 10_000 + (i * 7919 % 1000)).collect();
        let b: Vec<i64> = a.iter().map(|x| x + 300).collect();
        let c = compare(&a, &b, 200, 1).unwrap();
        assert!(c.differ && (c.shift_ns - 300.0).abs() < 1.0, "{c:?}");
        assert!(c.ci_low_ns > 100.0 && c.ci_high_ns < 500.0, "{c:?}");
        let d = compare(&a, &a, 200, 1).unwrap();
        assert!(!d.differ && d.p_value > 0.5 && d.shift_ns == 0.0, "{d:?}");
        assert!(compare(&[], &a, 10, 1).is_none());
    }
}

/// What `xdplat compare` compares.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// Baseline: a run directory, a directory of runs, or a configuration id of `table`.
    pub a: String,
    /// Compared against A, same kinds.
    pub b: String,
    /// Read A and B as configuration ids of this long table (CSV or Parquet).
    pub table: Option<std::path::PathBuf>,
    pub bootstrap: usize,
    pub seed: u64,
}

/// The run directories of `path` (a run, or one configuration's runs), checked before any
/// sample is read.
fn run_set(path: &str) -> Result<Vec<std::path::PathBuf>, crate::Error> {
    let dirs = crate::run_dirs(std::path::Path::new(path))?;
    if dirs.is_empty() {
        return Err(crate::Error::input(
            path,
            None,
            None,
            "no run directory (summary.json) found",
        ));
    }
    let configs = crate::load_runs::configurations(&dirs)?;
    if configs.len() > 1 {
        let ids = crate::config_ids(&configs);
        return Err(crate::Error::input(
            path,
            None,
            None,
            format!(
                "holds runs of {} configurations ({}); pooling them would compare a mixture: \
                 compare two configurations of a sweep with `xdplat compare --table {path} ID_A \
                 ID_B` (ids as `xdplat analyze` prints them), or name one run directory",
                ids.len(),
                some_ids(ids.iter().map(String::as_str), 3)
            ),
        ));
    }
    Ok(dirs)
}

/// The first `n` configuration ids, quoted, with `, ...` when there are more.
fn some_ids<'a>(ids: impl ExactSizeIterator<Item = &'a str>, n: usize) -> String {
    let more = if ids.len() > n { ", ..." } else { "" };
    let shown: Vec<String> = ids.take(n).map(|id| format!("`{id}`")).collect();
    format!("{}{more}", shown.join(", "))
}

/// Every latency sample of the runs in `dirs`.
fn pooled(dirs: &[std::path::PathBuf]) -> Result<Vec<i64>, crate::Error> {
    let mut out = Vec::new();
    for d in dirs {
        out.extend(results::read_rtts(&d.join(results::SAMPLES_FILE))?);
    }
    Ok(out)
}

fn from_table(ds: &crate::Dataset, id: &str) -> Result<Vec<i64>, crate::Error> {
    let c = ds.configs.iter().find(|c| c.id == id).ok_or_else(|| {
        let ids = some_ids(ds.configs.iter().map(|c| c.id.as_str()), 5);
        crate::Error::input(
            &ds.source,
            None,
            None,
            format!("no configuration {id} (its ids: {ids})"),
        )
    })?;
    Ok(c.runs
        .iter()
        .flat_map(|r| r.sample.iter().copied())
        .collect())
}

/// Loads A and B as `opts` says and compares them.
pub fn compare_inputs(opts: &CompareOptions) -> Result<Comparison, crate::Error> {
    crate::options::check_bootstrap(opts.bootstrap)?;
    let (a, b) = match &opts.table {
        Some(t) => {
            let ds = if t.is_dir() {
                crate::load_runs(t)?
            } else {
                crate::load_table(t)?
            };
            (from_table(&ds, &opts.a)?, from_table(&ds, &opts.b)?)
        }
        None => {
            let (a, b) = (run_set(&opts.a)?, run_set(&opts.b)?);
            (pooled(&a)?, pooled(&b)?)
        }
    };
    compare(&a, &b, opts.bootstrap, opts.seed).ok_or_else(|| {
        crate::Error::Option(format!(
            "nothing to compare: A has {} latency samples, B has {}",
            a.len(),
            b.len()
        ))
    })
}
