//! `xdplat sweep` modes through the real binary on a namespace testbed: two pingers (in turn and
//! together), `rate = "auto"` and its recorded derivation, the progress bar on a terminal, and
//! `sweep load` after a sweep and its analysis.

mod common;

use std::process::Stdio;

use common::sweeps::*;
use common::{TestTestbed, out_dir, xdplat};

#[test]
fn two_pingers_share_the_forwarder() {
    let Some(tb) = TestTestbed::with_spec("sw2", 1, true) else {
        return;
    };
    let dir = out_dir("sweep-two");
    let text = two_pingers(
        &small(tb.name(), 1, "").replace("fwd.poll = [false, true]", "fwd.poll = [true]"),
        false,
    );
    let file = write(&dir, &text);
    let out = dir.join("out");
    let o = sweep_cmd(&file, &out, &dir.join("state"))
        .output()
        .expect("sweep");
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let runs = complete_runs(&out);
    assert_eq!(runs.len(), 2, "{runs:?}");
    let mut seen = Vec::new();
    for r in &runs {
        let s =
            results::read_summary(&out.join("runs").join(r).join("summary.json")).expect("summary");
        assert!(s.packets.received > 0, "{r}: {:?}", s.packets);
        seen.push((s.params["pinger"].clone(), s.params["iface"].clone()));
    }
    seen.sort_by_key(|(p, _)| p.to_string());
    assert_eq!(seen[0].0, "a");
    assert_eq!(seen[1].0, "c");
    assert_ne!(seen[0].1, seen[1].1, "each pinger on its own link");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_reruns_clusters() {
    let Some(tb) = TestTestbed::new("swl", 1) else {
        return;
    };
    let dir = out_dir("sweep-load");
    let state = dir.join("state");
    let text = small(tb.name(), 1, "").replace("[axes]", "baseline = false\n\n[axes]");
    let file = write(&dir, &text);
    let out = dir.join("out");
    let o = sweep_cmd(&file, &out, &state).output().expect("sweep");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // an analysis with one configuration per cluster (written here: clustering two noisy
    // configurations on a shared 2-core machine gives no stable order to test against)
    let mut configs = Vec::new();
    let mut clusters = Vec::new();
    for (i, r) in complete_runs(&out).iter().enumerate() {
        let s =
            results::read_summary(&out.join("runs").join(r).join("summary.json")).expect("summary");
        let id = format!("config {i}");
        configs.push(serde_json::json!({ "id": id, "params": s.params }));
        clusters.push(serde_json::json!({ "id": i, "mean_ns": 20000.0, "configs": [id] }));
    }
    let analysis = dir.join("analysis.json");
    std::fs::write(
        &analysis,
        serde_json::to_vec(&serde_json::json!({ "clusters": clusters, "configs": configs }))
            .expect("json"),
    )
    .expect("write analysis");
    let analysis = analysis.to_str().expect("utf-8 path");
    let (load, _) = sweep_load(
        &out,
        &state,
        &[
            "--analysis",
            analysis,
            "--count",
            "200",
            "--high-interval",
            "1ms",
        ],
    );
    let phases = load["phases"].as_array().expect("phases");
    assert_eq!(phases.len(), 2);
    for p in phases {
        assert_eq!(p["configs"].as_array().map(Vec::len), Some(2), "{p}");
        assert!(p["same_order"].is_boolean());
        for c in p["configs"].as_array().into_iter().flatten() {
            assert!(c["mean_ns"].as_f64().is_some(), "{c}");
        }
    }
    assert_eq!(phases[1]["interval_ns"], 0);
    assert_eq!(complete_runs(&out.join("load/no-interval")).len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rate_auto_records_its_derivation() {
    let Some(tb) = TestTestbed::new("swr", 1) else {
        return;
    };
    let dir = out_dir("sweep-rate");
    let text = small(tb.name(), 2, "")
        .replace("interval = \"1ms\"", "rate = \"auto\"")
        .replace("[axes]", "baseline = false\n\n[axes]");
    let file = write(&dir, &text);
    let plan = xdplat()
        .args(["sweep", "plan"])
        .arg(&file)
        .output()
        .expect("plan");
    let said = String::from_utf8_lossy(&plan.stdout);
    assert!(
        said.contains("rate = auto") && said.contains("assumes"),
        "{said}"
    );
    let out = dir.join("out");
    let o = sweep_cmd(&file, &out, &dir.join("state"))
        .output()
        .expect("sweep");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("calibration"), "{stdout}");
    // the calibration run is kept, and is not a run of the sweep
    let cal = results::read_summary(&out.join("calibration/summary.json")).expect("calibration");
    assert_eq!(cal.params["interval_ns"], 1_000_000);
    let runs = complete_runs(&out);
    assert_eq!(runs.len(), 4, "{runs:?}");
    let mut by_config: std::collections::BTreeMap<String, Vec<serde_json::Value>> =
        Default::default();
    let mut froms = Vec::new();
    for r in &runs {
        let s =
            results::read_summary(&out.join("runs").join(r).join("summary.json")).expect("summary");
        let rate = &s.extra["rate"];
        assert_eq!(rate["auto"], true, "{rate}");
        let (pps, b, l, size) = (
            rate["pps"].as_f64().expect("pps"),
            rate["b_bps"].as_f64().expect("b"),
            rate["l_min_ns"].as_f64().expect("l_min"),
            rate["size"].as_f64().expect("size"),
        );
        assert!(b > 0.0 && l > 0.0, "{rate}");
        // equation (1), and the interval the ping was given
        assert!(
            (pps - b * l / 1e9 / (8.0 * size)).abs() < 1e-6 * pps,
            "{rate}"
        );
        let iv = rate["interval_ns"].as_f64().expect("interval");
        assert!((iv - 1e9 / pps).abs() <= 1.0, "{rate}");
        froms.push(rate["from"].as_str().expect("from").to_string());
        // the configuration's identity does not carry the derived interval
        assert_eq!(s.params["interval_ns"], "auto");
        let mut p = s.params.clone();
        p.remove("repetition");
        by_config
            .entry(s.extra["sweep"]["config"].to_string())
            .or_default()
            .push(serde_json::Value::Object(p));
    }
    assert_eq!(by_config.len(), 2);
    for reps in by_config.values() {
        assert_eq!(reps.len(), 2);
        assert_eq!(reps[0], reps[1], "repetitions of one configuration differ");
    }
    // the first run's l_min came from the calibration, the later ones from completed runs
    assert!(froms.iter().any(|f| f == "calibration"), "{froms:?}");
    for f in froms.iter().filter(|f| *f != "calibration") {
        let id = f.strip_prefix("run ").expect("run <id>");
        assert!(runs.iter().any(|r| r == id), "{f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_pingers_together_overlap() {
    let Some(tb) = TestTestbed::with_spec("sw3", 1, true) else {
        return;
    };
    let dir = out_dir("sweep-together");
    let text = two_pingers(
        &small(tb.name(), 2, "")
            .replace("fwd.poll = [false, true]", "fwd.poll = [true]")
            .replace("count = 100", "count = 500"),
        true,
    );
    let file = write(&dir, &text);
    let out = dir.join("out");
    let o = sweep_cmd(&file, &out, &dir.join("state"))
        .arg("--json")
        .output()
        .expect("sweep");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let runs = complete_runs(&out);
    assert_eq!(runs.len(), 4, "{runs:?}");
    // per repetition: A's and C's runs, each on its own link, probing at the same time
    for rep in 0..2 {
        let mut windows = Vec::new();
        let mut ifaces = Vec::new();
        for p in ["a", "c"] {
            let r = runs
                .iter()
                .find(|r| r.ends_with(&format!("-{p}-r{rep}")))
                .expect("run of each pinger");
            let d = out.join("runs").join(r);
            let s = results::read_summary(&d.join("summary.json")).expect("summary");
            assert!(s.packets.received > 0, "{r}: {:?}", s.packets);
            assert_eq!(s.params["pinger"], p);
            assert_eq!(s.extra["sweep"]["together"], serde_json::json!(["a", "c"]));
            ifaces.push(s.params["iface"].clone());
            let cols = results::read_samples(&d.join("samples.parquet")).expect("samples");
            let tx = &cols.tx_ns;
            let (lo, hi) = (
                *tx.iter().min().expect("rows"),
                *tx.iter().max().expect("rows"),
            );
            windows.push((lo, hi));
        }
        assert_ne!(ifaces[0], ifaces[1], "each pinger on its own link");
        let (a, c) = (windows[0], windows[1]);
        let overlap = a.1.min(c.1) - a.0.max(c.0);
        // 500 probes at 1 ms each: the two windows share most of their half second
        assert!(
            overlap > 100_000_000,
            "windows {a:?} {c:?} overlap {overlap} ns"
        );
    }
    // a group left half committed (as a SIGKILL between its two renames would) is redone whole
    let c1 = runs.iter().find(|r| r.ends_with("-c-r1")).expect("c r1");
    let a1 = runs.iter().find(|r| r.ends_with("-a-r1")).expect("a r1");
    let a1_summary = out.join("runs").join(a1).join("summary.json");
    let before = std::fs::read(&a1_summary).expect("a r1 summary");
    std::fs::remove_dir_all(out.join("runs").join(c1)).expect("remove c r1");
    let o = sweep_cmd(&file, &out, &dir.join("state"))
        .arg("--resume")
        .output()
        .expect("resume");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}");
    assert!(stdout.contains(&format!("removed {a1}")), "{stdout}");
    assert_eq!(complete_runs(&out).len(), 4);
    assert_ne!(std::fs::read(&a1_summary).expect("redone"), before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn progress_bar_on_a_terminal() {
    // `script` (util-linux) gives the sweep a pseudo-terminal for stdout and stderr
    if !host::test_support::require_tool("progress_bar_on_a_terminal", "script", "--version") {
        return;
    }
    let Some(tb) = TestTestbed::new("swb", 1) else {
        return;
    };
    let dir = out_dir("sweep-bar");
    let file = write(&dir, &small(tb.name(), 1, ""));
    let out = dir.join("out");
    let cmd = format!(
        "XDPLAT_STATE_DIR={} {} sweep run {} --out {}",
        dir.join("state").display(),
        env!("CARGO_BIN_EXE_xdplat"),
        file.display(),
        out.display()
    );
    let in_terminal = |term: &str, run: &str| {
        let log = dir.join(format!("tty-{term}.log"));
        let o = std::process::Command::new("script")
            .arg("-qec")
            .arg(format!("{cmd}{run}"))
            .arg(&log)
            .env("TERM", term)
            .stdin(Stdio::null())
            .output()
            .expect("script");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(o.status.success(), "{text}");
        text
    };
    // the bar (runs done of total, failures, ETA, the configuration running) and, above it,
    // the per-run history and the closing line
    let text = in_terminal("xterm", "");
    assert!(text.contains("/3 runs | failures 0 | ETA"), "{text}");
    assert!(text.contains("fwd.poll=true"), "{text}");
    assert!(text.contains("[3/3] "), "{text}");
    assert!(text.contains("sweep: 3/3 runs done"), "{text}");
    assert_eq!(complete_runs(&out).len(), 3);
    // a terminal that cannot draw a bar (TERM=dumb, as CI sets) still gets every run's line
    let text = in_terminal("dumb", "-dumb");
    assert!(!text.contains("/3 runs | failures"), "no bar drawn: {text}");
    assert!(text.contains("[3/3] "), "{text}");
    assert!(text.contains("sweep: 3/3 runs done"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_after_a_real_sweep_and_analysis() {
    let Some(tb) = TestTestbed::new("swd", 1) else {
        return;
    };
    let dir = out_dir("sweep-load-real");
    let state = dir.join("state");
    let text = small(tb.name(), 1, "ping.poll = [false, true]")
        .replace("[axes]", "baseline = false\n\n[axes]");
    let file = write(&dir, &text);
    let out = dir.join("out");
    let o = sweep_cmd(&file, &out, &state).output().expect("sweep");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(complete_runs(&out).len(), 4);
    // the real analysis, with two clusters asked for (with `auto`, four noisy configurations
    // on a shared 2-core machine may well make one) and no filter that could drop one
    let report = out.join("report");
    let o = xdplat()
        .arg("analyze")
        .arg(&out)
        .args(["--k", "2", "--no-baseline", "--no-interval-filter"])
        .args(["--max-loss", "1", "--out"])
        .arg(&report)
        .output()
        .expect("analyze");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let analysis: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("analysis.json")).expect("analysis"))
            .expect("json");
    let clusters = analysis["clusters"].as_array().expect("clusters");
    assert_eq!(clusters.len(), 2, "{analysis}");
    // `sweep load DIR` with its defaults: the analysis in DIR/report, the rate of equation (1)
    let (load, stdout) = sweep_load(&out, &state, &["--count", "200"]);
    // the clusters in the analysis's order
    let ids: Vec<u64> = clusters.iter().filter_map(|c| c["id"].as_u64()).collect();
    assert_eq!(load["clusters"], serde_json::json!(ids));
    // the high rate derived from equation (1) with cluster 0's mean
    let rate = &load["high_rate"];
    assert_eq!(rate["auto"], true, "{rate}");
    assert_eq!(rate["from"], "cluster 0 mean");
    assert_eq!(rate["l_min_ns"], clusters[0]["mean_ns"]);
    let (b, l, size, pps) = (
        rate["b_bps"].as_f64().expect("b"),
        rate["l_min_ns"].as_f64().expect("l"),
        rate["size"].as_f64().expect("size"),
        rate["pps"].as_f64().expect("pps"),
    );
    assert!(
        (pps - b * l / 1e9 / (8.0 * size)).abs() < 1e-6 * pps,
        "{rate}"
    );
    // up to two configurations per cluster, each from its cluster
    let expected: usize = clusters
        .iter()
        .map(|c| c["configs"].as_array().map_or(0, |v| v.len().min(2)))
        .sum();
    let phases = load["phases"].as_array().expect("phases");
    assert_eq!(phases.len(), 2);
    assert_eq!(phases[0]["name"], "high-rate");
    assert_eq!(phases[0]["interval_ns"], rate["interval_ns"]);
    assert_eq!(phases[1]["name"], "no-interval");
    assert_eq!(phases[1]["interval_ns"], 0);
    for p in phases {
        let configs = p["configs"].as_array().expect("configs");
        assert_eq!(configs.len(), expected, "{p}");
        for c in configs {
            assert!(
                ids.contains(&c["cluster"].as_u64().expect("cluster")),
                "{c}"
            );
            assert!(c["mean_ns"].as_f64().is_some(), "{c}");
        }
        // the verdict, whatever the order on this noisy machine
        assert!(p["same_order"].is_boolean(), "{p}");
        let mut order: Vec<u64> = p["order"]
            .as_array()
            .expect("order")
            .iter()
            .filter_map(|v| v.as_u64())
            .collect();
        order.sort();
        let mut want = ids.clone();
        want.sort();
        assert_eq!(order, want, "{p}");
        let name = p["name"].as_str().expect("name");
        assert_eq!(complete_runs(&out.join("load").join(name)).len(), expected);
    }
    assert!(stdout.contains("cluster order by mean RTT"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
