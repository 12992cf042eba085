//! The files `write_outputs` produces: analysis.json (DESIGN.md contract),
//! the cluster tables, the plots and a self-contained report.html.

mod common;

use std::path::PathBuf;

use analysis::{Options, analyze, write_outputs};
use common::*;

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn writes_every_output() {
    let dir = TempDir(std::env::temp_dir().join(format!("analysis-out-{}", std::process::id())));
    let mut ds = paper_like(2);
    for (i, c) in ds.configs.iter_mut().enumerate() {
        for r in &mut c.runs {
            r.cpu_ns = Some(1e9 * (1 + i % 3) as f64);
        }
    }
    let opts = Options {
        bootstrap: 100,
        ..Default::default()
    };
    let a = analyze(&ds, &opts).unwrap();
    let files = write_outputs(&a, &ds, &opts, &dir.0.join("report")).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for n in [
        "analysis.json",
        "clusters.md",
        "clusters.tex",
        "clusters.csv",
        "kde.svg",
        "ecdf.svg",
        "k.svg",
        "pareto.svg",
        "report.html",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
    }
    let read = |n: &str| std::fs::read_to_string(dir.0.join("report").join(n)).unwrap();

    let j: serde_json::Value = serde_json::from_str(&read("analysis.json")).unwrap();
    assert_eq!(j["k"], 3);
    let c0 = &j["clusters"][0];
    assert_eq!(c0["id"], 0);
    assert!(c0["mean_ns"].as_f64().unwrap() < c0["std_ns"].as_f64().unwrap() * 100.0);
    assert_eq!(
        c0["relevant"],
        serde_json::json!({"busy_poll": true, "need_wakeup": false})
    );
    assert!(c0["configs"].as_array().unwrap().len() == 6 && c0["rules"].is_array());
    assert!(j["excluded"].as_array().unwrap().is_empty());
    assert!(j["k_selection"]["scores"].as_array().unwrap().len() >= 2);

    let md = read("clusters.md");
    assert!(
        md.starts_with("| Cluster | Mean | Std | Relevant parameters |"),
        "{md}"
    );
    assert!(
        md.contains("| 0 | 10.0") && md.contains("busy_poll enabled, need_wakeup disabled"),
        "{md}"
    );
    assert!(
        md.contains("Fixed across the whole sweep (not findings): batch = 1"),
        "{md}"
    );
    let tex = read("clusters.tex");
    assert!(
        tex.contains("\\begin{tabular}")
            && tex.contains("busy\\_poll enabled")
            && tex.contains("$\\mu$s"),
        "{tex}"
    );
    let csv = read("clusters.csv");
    assert_eq!(csv.lines().count(), 4);
    assert!(csv.starts_with("cluster,mean_ns,std_ns"));

    let kde = read("kde.svg");
    assert!(
        kde.starts_with("<svg") && kde.contains("cluster 2 (mean 1"),
        "{}",
        &kde[..200]
    );
    let html = read("report.html");
    assert_eq!(
        html.matches("<svg").count(),
        4,
        "kde, ecdf, k and pareto inline"
    );
    for external in ["src=", "href=", "<script", "<link"] {
        assert!(
            !html.contains(external),
            "report.html is self-contained: found {external}"
        );
    }
    assert!(html.contains("Which parameters matter most") && html.contains("busy_poll"));
}

#[test]
fn pareto_front() {
    let pts = [(1.0, 10.0), (2.0, 5.0), (3.0, 6.0), (0.5, 20.0), (4.0, 1.0)];
    assert_eq!(analysis::pareto_front(&pts), [3, 0, 1, 4]);
}
