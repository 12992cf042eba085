//! Synthetic sweeps whose runs carry realistic tails (a skewed body, spikes of 0.2-5 ms in
//! 0.5 % of the samples, samples that waited a send interval, repetitions drifting a few
//! percent, nuisance parameters, interval-like outlier configurations): the default analysis
//! recovers the planted clusters, k, the outliers and the relevant parameters, and the paper's
//! exact method, on the same data, does not.

mod common;

use analysis::{Analysis, Method, Options, Strength, adjusted_rand_index, analyze};
use common::*;
use serde_json::{Value, json};

fn fast(method: Method) -> Options {
    Options {
        bootstrap: 200,
        ..Options::for_method(method)
    }
}

/// ARI between the planted clusters and the analysis's, over the configurations it clustered.
fn ari(a: &Analysis, planted: &[Option<usize>]) -> f64 {
    let (p, f): (Vec<usize>, Vec<usize>) = a
        .configs
        .iter()
        .zip(planted)
        .filter_map(|(c, p)| Some(((*p)?, c.cluster?)))
        .unzip();
    adjusted_rand_index(&p, &f)
}

#[test]
fn default_recovers_the_planted_structure_and_the_paper_method_does_not() {
    let (ds, planted) = heavy_tailed(3, &[1], 3, 400);
    let a = analyze(&ds, &fast(Method::Robust)).unwrap();
    let paper = analyze(&ds, &fast(Method::Paper)).unwrap();
    let (ari_robust, ari_paper) = (ari(&a, &planted), ari(&paper, &planted));
    println!(
        "heavy-tailed sweep, 48 configurations x 3 repetitions x 400 samples: default (robust) k = {} ARI = {ari_robust:.3}; paper method k = {} ARI = {ari_paper:.3}",
        a.k, paper.k
    );
    // the default: k, the clusters, the outliers, the relevant parameters
    assert_eq!(a.k, 4, "{:?}", a.k_selection);
    assert!(ari_robust >= 0.95, "ARI {ari_robust}");
    let outliers: Vec<(&str, &str)> = a
        .excluded
        .iter()
        .map(|e| (e.filter.as_str(), e.config.as_str()))
        .collect();
    assert_eq!(outliers.len(), 2, "{outliers:?}");
    assert!(
        outliers
            .iter()
            .all(|(f, c)| *f == "interval" && c.contains("bind=zero-copy")),
        "{outliers:?}"
    );
    let expect = [
        json!({"fwd_poll": false, "poll": false}),
        json!({"fwd_poll": false, "poll": true}),
        json!({"fwd_poll": true, "poll": false}),
        json!({"fwd_poll": true, "poll": true}),
    ];
    for (c, e) in a.clusters.iter().zip(&expect) {
        assert_eq!(Value::Object(c.relevant.clone()), *e, "cluster {}", c.id);
    }
    assert_eq!(a.clusters[1].description, "poll enabled, fwd_poll disabled");
    assert!(a.structure.findings, "{:?}", a.structure);
    assert_eq!(a.structure.strength, Strength::Strong, "{:?}", a.structure);
    // the effects: both poll knobs matter, the nuisances do not
    for knob in ["fwd_poll", "poll"] {
        let e = a.effects.iter().find(|e| e.param == knob).unwrap();
        assert!(e.distinguishable && e.effect_ns > 15_000.0, "{e:?}");
    }
    for nuisance in ["xdp_mode", "need_wakeup", "cstate"] {
        let e = a.effects.iter().find(|e| e.param == nuisance).unwrap();
        assert!(e.effect_ns < 2_000.0, "{e:?}");
    }
    // no repetition is flagged: their medians agree within a few percent
    assert!(
        !a.warnings
            .iter()
            .any(|w| w.contains("repetitions disagree")),
        "{:?}",
        a.warnings
    );
    // the explanations name the knob that moved each cluster
    assert!(
        a.clusters[1].explanation.contains("poll is enabled")
            && a.clusters[2].explanation.contains("fwd_poll is enabled"),
        "{:?}",
        a.clusters
            .iter()
            .map(|c| &c.explanation)
            .collect::<Vec<_>>()
    );

    // the paper's exact method on the same data: the spikes rule its mean and std
    assert!(
        paper.k != 4 || ari_paper < 0.8,
        "the paper method should fail here: k = {}, ARI {ari_paper}",
        paper.k
    );
    assert!(
        ari_paper < ari_robust - 0.3,
        "paper {ari_paper} robust {ari_robust}"
    );
}

/// Three more seeds, two sample sizes: the figures of the default and of the paper method.
#[test]
fn the_default_holds_across_seeds() {
    for (seed, n) in [(11, 400), (12, 1000), (13, 2000)] {
        let (ds, planted) = heavy_tailed(seed, &[1], 3, n);
        let a = analyze(&ds, &fast(Method::Robust)).unwrap();
        let p = analyze(&ds, &fast(Method::Paper)).unwrap();
        let (ra, pa) = (ari(&a, &planted), ari(&p, &planted));
        println!(
            "seed {seed}, {n} samples per run: default k = {} ARI = {ra:.3}; paper k = {} ARI = {pa:.3}",
            a.k, p.k
        );
        assert_eq!(a.k, 4, "seed {seed}: {:?}", a.k_selection);
        assert!(ra >= 0.95, "seed {seed}: ARI {ra}");
    }
}

/// Configurations spread evenly over 20-40 µs (no groups, only a continuum): the analysis says
/// the structure is weak, with its number, instead of presenting clusters as findings.
#[test]
fn a_continuum_is_reported_as_weak_structure() {
    let mut noise = Noise::new(5);
    let configs = (0..16)
        .map(|i| {
            let p = params(&[("x", i.into()), ("y", (i % 2 == 0).into())]);
            heavy_config(
                &mut noise,
                format!("x={i}"),
                p,
                20_000.0 + 20_000.0 * f64::from(i) / 15.0,
                3,
                400,
            )
        })
        .collect();
    let ds = analysis::Dataset {
        source: "continuum".into(),
        configs,
    };
    let a = analyze(&ds, &fast(Method::Robust)).unwrap();
    println!("continuum: k = {}, {}", a.k, a.structure.sentence);
    assert!(!a.structure.findings, "{:?}", a.structure);
    assert!(
        a.structure.sentence.contains("not a finding")
            && a.structure
                .sentence
                .contains(&format!("{:.2}", a.structure.silhouette.unwrap())),
        "{}",
        a.structure.sentence
    );
}

/// When the RTT medians of the poll groups overlap (a busy 2-core testbed), the stages still
/// separate them: the default clusters on where the time goes and recovers the four groups as a
/// finding, explained by the stage each poll() lengthens; on the RTT alone the same groups are
/// not clear of a continuum.
#[test]
fn stages_separate_what_the_rtt_blurs() {
    let (ds, planted) = staged_poll_sweep(21, 3, 600);
    let a = analyze(&ds, &fast(Method::Robust)).unwrap();
    let rtt_only = analyze(
        &ds,
        &Options {
            features: analysis::Feature::QUANTILES.to_vec(),
            ..fast(Method::Robust)
        },
    )
    .unwrap();
    let (ari_stages, ari_rtt) = (ari(&a, &planted), ari(&rtt_only, &planted));
    println!(
        "staged sweep, 16 configurations: stages k = {} ARI = {ari_stages:.3} ({}); RTT quantiles k = {} ARI = {ari_rtt:.3} ({})",
        a.k, a.structure.sentence, rtt_only.k, rtt_only.structure.sentence
    );
    assert_eq!(a.features, [analysis::Feature::Stages]);
    assert_eq!(a.k, 4, "{:?}", a.k_selection);
    assert!(ari_stages >= 0.95, "ARI {ari_stages}");
    assert!(a.structure.findings, "{:?}", a.structure);
    assert!(!rtt_only.structure.findings, "{:?}", rtt_only.structure);
    for c in &a.clusters {
        println!("  {}: {}", c.description, c.explanation);
    }
    assert_eq!(a.clusters[1].description, "poll enabled, fwd_poll disabled");
    assert!(
        a.clusters[1]
            .explanation
            .contains("in A's XDP-to-user when poll is enabled"),
        "{}",
        a.clusters[1].explanation
    );
    assert!(
        a.clusters[2]
            .explanation
            .contains("in B's XDP-to-user when fwd_poll is enabled"),
        "{}",
        a.clusters[2].explanation
    );
    let both = &a.clusters[3].explanation;
    assert!(
        both.contains("B's XDP-to-user when fwd_poll is enabled")
            && both.contains("A's XDP-to-user when poll is enabled"),
        "{both}"
    );

    // one configuration without stages: the RTT's quantiles, and a note saying why
    let mut ds = ds;
    for r in &mut ds.configs[0].runs {
        r.stages.clear();
    }
    let a = analyze(&ds, &fast(Method::Robust)).unwrap();
    assert_eq!(a.features, analysis::Feature::QUANTILES);
    assert!(
        a.k_selection.notes[0].starts_with("1 of 16 configurations lack the round trip's stages"),
        "{:?}",
        a.k_selection.notes
    );
}
