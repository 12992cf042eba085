//! `describe()` against numpy on deterministic data. The expected values were
//! computed once with numpy 2.4 (`np.quantile` default method, `std(ddof=1)`):
//!
//! ```python
//! i = np.arange(n, dtype=np.int64)
//! v = 20_000 + (i*i*7919 + i*104729) % 50_021 + np.where(i % 97 == 0, 1_000_000, 0)
//! ```

use results::describe;

fn data(n: i64) -> Vec<i64> {
    (0..n)
        .map(|i| {
            20_000 + (i * i * 7919 + i * 104_729) % 50_021 + if i % 97 == 0 { 1_000_000 } else { 0 }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn check(n: i64, mean: f64, std: f64, q: [f64; 5], min: f64, max: f64) {
    let mut v = data(n);
    let d = describe(&mut v).unwrap();
    let close = |a: f64, b: f64, what: &str| {
        assert!(
            (a - b).abs() < 1e-6 * b.abs().max(1.0),
            "n={n} {what}: {a} vs numpy {b}"
        )
    };
    close(d.mean, mean, "mean");
    close(d.std, std, "std");
    close(d.q1, q[0], "q1");
    close(d.median, q[1], "median");
    close(d.q3, q[2], "q3");
    close(d.p99, q[3], "p99");
    close(d.p999, q[4], "p999");
    assert_eq!((d.min, d.max, d.count), (min, max, n as u64));
}

#[test]
fn matches_numpy_100001() {
    check(
        100_001,
        55398.92417075829,
        102049.42714297088,
        [32818.0, 45308.0, 58019.0, 1021727.0, 1064850.0],
        20000.0,
        1069967.0,
    );
}

#[test]
fn matches_numpy_1000() {
    check(
        1000,
        55487.587,
        104704.10648594184,
        [32097.25, 44443.5, 57711.25, 1020034.82, 1053055.954],
        20060.0,
        1057006.0,
    );
}

#[test]
fn matches_numpy_2() {
    check(
        2,
        526303.0,
        698192.9931029099,
        [
            279454.5,
            526303.0,
            773151.5,
            1010126.0599999999,
            1019012.606,
        ],
        32606.0,
        1020000.0,
    );
}
