//! The analysis finds the structure planted in synthetic sweeps: the clusters,
//! their relevant parameters and rules, the fixed parameters and the effects.

mod common;

use analysis::{KChoice, Options, analyze};
use common::*;
use serde_json::{Value, json};

fn fast() -> Options {
    Options {
        bootstrap: 200,
        ..Default::default()
    }
}

#[test]
fn finds_the_planted_clusters_and_parameters() {
    let ds = paper_like(1);
    let a = analyze(&ds, &fast()).unwrap();
    assert_eq!(a.k, 3, "{:?}", a.k_selection);
    let means: Vec<f64> = a.clusters.iter().map(|c| c.mean_ns).collect();
    assert!(
        (means[0] - 10_000.0).abs() < 300.0
            && (means[1] - 65_000.0).abs() < 300.0
            && (means[2] - 130_000.0).abs() < 300.0,
        "{means:?}"
    );
    assert_eq!(
        a.clusters
            .iter()
            .map(|c| c.configs.len())
            .collect::<Vec<_>>(),
        [6, 6, 12]
    );
    let rel = |i: usize| Value::Object(a.clusters[i].relevant.clone());
    assert_eq!(rel(0), json!({"busy_poll": true, "need_wakeup": false}));
    assert_eq!(rel(1), json!({"busy_poll": true, "need_wakeup": true}));
    assert_eq!(rel(2), json!({"busy_poll": false}));
    assert_eq!(
        Value::Object(a.fixed.clone()),
        json!({"batch": 1}),
        "a constant parameter is fixed, not a finding"
    );
    assert_eq!(
        a.clusters[0].description,
        "busy_poll enabled, need_wakeup disabled"
    );
    assert!(a.excluded.is_empty());
    // busy_poll matters most and clearly; cstate and poll are noise.
    assert_eq!(a.effects[0].param, "busy_poll");
    assert!(a.effects[0].distinguishable);
    for noise in ["cstate", "poll"] {
        let e = a.effects.iter().find(|e| e.param == noise).unwrap();
        assert!(!e.distinguishable, "{noise}: {e:?}");
        assert!(e.effect_ns < 1_000.0, "{noise}: {e:?}");
    }
    // need_wakeup only matters with busy polling: the interaction check shows it.
    let i = a
        .interactions
        .iter()
        .find(|i| i.param == "need_wakeup" && i.by == "busy_poll")
        .unwrap();
    assert!(i.range_ns > 50_000.0, "{i:?}");
}

#[test]
fn same_input_same_output() {
    let a = analyze(&paper_like(7), &fast()).unwrap();
    let b = analyze(&paper_like(7), &fast()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn either_one_of_rule() {
    // fast when a or b is enabled, slow otherwise; c is noise.
    let mut sets = Vec::new();
    for x in [true, false] {
        for y in [true, false] {
            for z in [true, false] {
                let mean = if x || y { 20_000.0 } else { 90_000.0 };
                sets.push((
                    params(&[("a", x.into()), ("b", y.into()), ("c", z.into())]),
                    mean,
                    1_000.0,
                ));
            }
        }
    }
    let a = analyze(&dataset(sets, 2, 300, 3), &fast()).unwrap();
    assert_eq!(a.k, 2, "{:?}", a.k_selection);
    assert_eq!(a.clusters[0].rules, ["either one of a or b enabled"]);
    assert!(a.clusters[0].relevant.is_empty());
    assert_eq!(
        Value::Object(a.clusters[1].relevant.clone()),
        json!({"a": false, "b": false})
    );
    assert_eq!(a.clusters[1].description, "a and b disabled");
}

#[test]
fn exactly_one_and_one_of_rules() {
    // fast when exactly one of a, b is enabled; mode ∈ {x, y} fast, z slow.
    let mut sets = Vec::new();
    for x in [true, false] {
        for y in [true, false] {
            for m in ["x", "y", "z"] {
                let mean = if x != y && m != "z" {
                    15_000.0
                } else {
                    80_000.0
                };
                sets.push((
                    params(&[("a", x.into()), ("b", y.into()), ("mode", m.into())]),
                    mean,
                    800.0,
                ));
            }
        }
    }
    let a = analyze(&dataset(sets, 2, 300, 5), &fast()).unwrap();
    assert_eq!(a.k, 2);
    assert_eq!(
        a.clusters[0].rules,
        ["exactly one of a or b enabled", "mode is one of x, y"]
    );
}

#[test]
fn one_configuration() {
    let ds = dataset(
        vec![(params(&[("a", true.into())]), 10_000.0, 500.0)],
        3,
        100,
        1,
    );
    let a = analyze(&ds, &fast()).unwrap();
    assert_eq!(a.k, 1);
    assert_eq!(a.clusters[0].configs.len(), 1);
    assert_eq!(Value::Object(a.fixed.clone()), json!({"a": true}));
    assert!(a.effects.is_empty());
}

#[test]
fn all_identical_configurations() {
    // identical statistics (no noise): one profile, one cluster whatever k asks.
    let sets = (0..4)
        .map(|i| (params(&[("i", i.into())]), 10_000.0, 0.0))
        .collect();
    let ds = dataset(sets, 1, 50, 1);
    for k in [KChoice::Auto, KChoice::Fixed(3)] {
        let a = analyze(&ds, &Options { k, ..fast() }).unwrap();
        assert_eq!(a.k, 1, "{k:?}: {:?}", a.k_selection);
        assert_eq!(a.clusters[0].configs.len(), 4);
    }
}

#[test]
fn fewer_configurations_than_k() {
    let sets = (0..3)
        .map(|i| (params(&[("i", i.into())]), 10_000.0 * (i + 1) as f64, 300.0))
        .collect();
    let a = analyze(
        &dataset(sets, 2, 100, 1),
        &Options {
            k: KChoice::Fixed(5),
            ..fast()
        },
    )
    .unwrap();
    assert_eq!(a.k, 3);
    assert!(
        a.k_selection.notes.iter().any(|n| n.contains("--k 5")),
        "{:?}",
        a.k_selection.notes
    );
    assert_eq!(
        a.clusters
            .iter()
            .map(|c| c.configs.len())
            .collect::<Vec<_>>(),
        [1, 1, 1]
    );
}

#[test]
fn filters_report_what_they_removed() {
    let mut sets = vec![
        (
            params(&[
                ("backend", "afxdp".into()),
                ("bp", true.into()),
                ("interval", "1ms".into()),
            ]),
            10_000.0,
            300.0,
        ),
        (
            params(&[
                ("backend", "afxdp".into()),
                ("bp", false.into()),
                ("interval", "1ms".into()),
            ]),
            300_000.0,
            300.0,
        ),
        (
            params(&[
                ("backend", "udp".into()),
                ("bp", false.into()),
                ("interval", "1ms".into()),
            ]),
            50_000.0,
            300.0,
        ),
        (
            params(&[
                ("backend", "afxdp".into()),
                ("bp", true.into()),
                ("interval", "50us".into()),
            ]),
            40_000.0,
            300.0,
        ),
    ];
    sets.push((
        params(&[
            ("backend", "afxdp".into()),
            ("bp", false.into()),
            ("interval", "2ms".into()),
        ]),
        12_000.0,
        300.0,
    ));
    let mut ds = dataset(sets, 2, 100, 1);
    // the last configuration loses half of its packets
    for r in &mut ds.configs[4].runs {
        r.sent *= 2;
        r.lost = r.sent / 2;
    }
    let a = analyze(&ds, &fast()).unwrap();
    let why: Vec<(&str, &str)> = a
        .excluded
        .iter()
        .map(|e| (e.filter.as_str(), e.config.as_str()))
        .collect();
    assert_eq!(why.len(), 4, "{:?}", a.excluded);
    assert!(why.iter().any(|w| w.0 == "baseline" && w.1.contains("udp")));
    assert!(
        why.iter()
            .any(|w| w.0 == "max-latency" && w.1.contains("bp=false interval=1ms")),
        "{why:?}"
    );
    assert!(
        why.iter()
            .any(|w| w.0 == "interval" && w.1.contains("50us"))
    );
    assert!(why.iter().any(|w| w.0 == "loss"));
    assert_eq!(
        a.ceiling_source.as_deref(),
        Some("kernel baseline (backend=udp)")
    );
    assert_eq!(a.clusters.iter().map(|c| c.configs.len()).sum::<usize>(), 1);

    // every filter switched off: nothing excluded
    let off = Options {
        baseline: analysis::Baseline::Cluster,
        interval_filter: false,
        max_loss: None,
        ..fast()
    };
    assert!(analyze(&ds, &off).unwrap().excluded.is_empty());
    // an explicit ceiling replaces the baseline
    let a = analyze(
        &ds,
        &Options {
            max_latency_ns: Some(20_000.0),
            ..off
        },
    )
    .unwrap();
    assert_eq!(a.excluded.len(), 3, "{:?}", a.excluded);
}

#[test]
fn everything_filtered_is_not_an_error() {
    let ds = dataset(
        vec![(params(&[("a", 1.into())]), 500_000.0, 10.0)],
        1,
        10,
        1,
    );
    let a = analyze(
        &ds,
        &Options {
            max_latency_ns: Some(1_000.0),
            ..fast()
        },
    )
    .unwrap();
    assert_eq!(a.k, 0);
    assert!(a.clusters.is_empty());
    assert_eq!(a.excluded.len(), 1);
}

#[test]
fn empty_dataset_is_an_error() {
    let err = analyze(&analysis::Dataset::default(), &fast()).unwrap_err();
    assert!(err.is_bad_input());
}

#[test]
fn unknown_feature_is_an_error() {
    let err = "mode".parse::<analysis::Feature>().unwrap_err();
    assert!(err.contains("mode") && err.contains("median"), "{err}");
    let err = analyze(
        &paper_like(1),
        &Options {
            features: Vec::new(),
            ..fast()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("--features"), "{err}");
}

#[test]
fn repetitions_that_disagree_are_reported() {
    let mut ds = dataset(
        vec![
            (params(&[("a", 1.into())]), 10_000.0, 100.0),
            (params(&[("a", 2.into())]), 20_000.0, 100.0),
        ],
        2,
        100,
        1,
    );
    let mut rtts = vec![30_000i64; 100];
    ds.configs[0].runs[1] = analysis::Run::from_rtts(1, &mut rtts, 100, 0, "x".into());
    let a = analyze(&ds, &fast()).unwrap();
    assert!(
        a.warnings
            .iter()
            .any(|w| w.contains("a=1") && w.contains("repetitions disagree")),
        "{:?}",
        a.warnings
    );
    let s = a.configs[0].stats.unwrap();
    assert!(
        (s.mean - 20_000.0).abs() < 100.0 && s.rep_spread_ns > 10_000.0,
        "{s:?}"
    );
}

#[test]
fn noise_only_is_one_cluster() {
    // eight configurations drawn from one distribution: their means differ by sampling noise only.
    let sets = (0..8)
        .map(|i| (params(&[("i", i.into())]), 50_000.0, 5_000.0))
        .collect();
    let ds = dataset(sets, 2, 30, 9);
    let a = analyze(&ds, &fast()).unwrap();
    assert_eq!(a.k, 1, "{:?}", a.k_selection);
    assert!(
        a.k_selection.notes[0].contains("sampling noise"),
        "{:?}",
        a.k_selection.notes
    );
    // an explicit k is obeyed, with a warning
    let a = analyze(
        &ds,
        &Options {
            k: KChoice::Fixed(3),
            ..fast()
        },
    )
    .unwrap();
    assert_eq!(a.k, 3);
    assert!(
        a.warnings.iter().any(|w| w.contains("sampling noise")),
        "{:?}",
        a.warnings
    );
    // planted structure passes the test
    let a = analyze(&paper_like(1), &fast()).unwrap();
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    assert!(
        analysis::homogeneity_p(&a.configs.iter().filter_map(|c| c.stats).collect::<Vec<_>>())
            < 1e-9
    );
}

#[test]
fn paper_table_one_row_four() {
    // Table I, cluster 4: "Polling on the forwarder enabled, busy polling disabled,
    // and either one of need wakeup and polling on the receiver enabled".
    let mut sets = Vec::new();
    for bp in [true, false] {
        for nw in [true, false] {
            for rx in [true, false] {
                for fwd in [true, false] {
                    let mean = if bp {
                        10_000.0
                    } else if fwd && (nw || rx) {
                        90_000.0
                    } else {
                        130_000.0
                    };
                    let p = params(&[
                        ("busy_poll", bp.into()),
                        ("need_wakeup", nw.into()),
                        ("poll_rx", rx.into()),
                        ("poll_fwd", fwd.into()),
                    ]);
                    sets.push((p, mean, 1_000.0));
                }
            }
        }
    }
    let a = analyze(&dataset(sets, 3, 200, 11), &fast()).unwrap();
    assert_eq!(a.k, 3, "{:?}", a.k_selection);
    assert_eq!(
        a.clusters[1].description,
        "poll_fwd enabled, busy_poll disabled, either one of need_wakeup or poll_rx enabled"
    );
    assert_eq!(a.clusters[0].description, "busy_poll enabled");
}
