//! The stacked stage breakdown (issue 7): with chain stages in the runs' summaries, the report
//! names the stage that separates a cluster from cluster 0 and draws breakdown.svg.

use std::path::Path;

use serde_json::json;

fn write_run(dir: &Path, name: &str, hold: u32, rep: u32, base: i64, b_processing: f64) {
    let d = dir.join("runs").join(name);
    std::fs::create_dir_all(&d).unwrap();
    let mut w = results::SamplesWriter::create(&d).unwrap();
    let mut rtts = Vec::new();
    for i in 0..200i64 {
        let rtt = base + (i * 37 % 11) * 100;
        rtts.push(rtt);
        w.push(&results::Sample {
            seq: i as u64,
            tx_ns: i * 1000,
            rx_ns: Some(i * 1000 + rtt),
            rtt_ns: Some(rtt),
            ..Default::default()
        })
        .unwrap();
    }
    w.finish().unwrap();
    let mut s = results::Summary {
        repetition: rep,
        ..Default::default()
    };
    s.params.insert("hold_us".into(), hold.into());
    s.params.insert("repetition".into(), rep.into());
    s.packets.sent = 200;
    s.packets.received = 200;
    s.rtt_ns = results::describe(&mut rtts);
    // the planted breakdown: equal everywhere but B's processing
    let stages = [3_000.0, 9_000.0, b_processing, 2_000.0, 6_000.0];
    for (k, v) in results::CHAIN_STAGES.iter().zip(stages) {
        s.stages.insert(k.to_string(), json!({ "median": v }));
    }
    // how the stages were measured: the same in every run but one verdict
    s.extra.insert(
        "stage_sources".into(),
        json!({
            "chain_b_processing": "software",
            "a_nic_rtt": "not measured: rx_hw_ns: the device gave no hardware RX timestamp",
            "a_tx_to_stack": if hold == 0 { "software" } else { "not measured: tx_stack_ns: not asked" },
        }),
    );
    results::write_summary(&d, &s).unwrap();
}

#[test]
fn the_stage_that_separates_clusters_is_named() {
    let dir = tempfile_dir();
    for rep in 0..2 {
        write_run(&dir, &format!("a{rep}"), 0, rep, 20_000, 1_000.0);
        write_run(&dir, &format!("b{rep}"), 0, rep, 20_500, 1_100.0);
        write_run(&dir, &format!("c{rep}"), 40, rep, 61_000, 41_000.0);
        write_run(&dir, &format!("d{rep}"), 40, rep, 61_500, 41_200.0);
    }
    let ds = analysis::load_runs(&dir).unwrap();
    let a = analysis::analyze(
        &ds,
        &analysis::Options {
            k: analysis::KChoice::Fixed(2),
            ..Default::default()
        },
    )
    .unwrap();
    let findings = analysis::breakdown_findings(&a);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].starts_with("cluster 1 differs from cluster 0 mostly in b_processing: +40.0"),
        "{findings:?}"
    );
    assert!(analysis::breakdown_svg(&a).unwrap().is_some());
    assert_eq!(a.stage_sources["chain_b_processing"], "software");
    assert!(a.stage_sources["a_nic_rtt"].starts_with("not measured: rx_hw_ns"));
    assert_eq!(a.stage_sources["a_tx_to_stack"], "software in 4 of 8 runs");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("xdplat-breakdown-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}
