//! The clustering against scikit-learn on the same points: KMeans (k-means++, 10 starts) finds
//! the same partition, and scikit-learn's silhouette_score and adjusted_rand_score give the
//! numbers this crate computes. Runs where a Python with scikit-learn is found
//! (`XDPLAT_TEST_PYTHON`, then target/bench-venv from scripts/bench-setup.sh, then python3);
//! skipped with the reason otherwise.

mod common;

use std::path::PathBuf;
use std::process::Command;

use analysis::{Method, Options, adjusted_rand_index, analyze};
use common::heavy_tailed;

fn python() -> Result<PathBuf, String> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-venv/bin/python");
    let candidates: Vec<PathBuf> = std::env::var_os("XDPLAT_TEST_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([venv, PathBuf::from("python3")])
        .collect();
    for p in &candidates {
        let ok = Command::new(p)
            .args(["-c", "import sklearn, numpy"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Ok(p.clone());
        }
    }
    Err(format!(
        "no Python with scikit-learn among {candidates:?} (scripts/bench-setup.sh installs it into target/bench-venv)"
    ))
}

const SCRIPT: &str = r#"
import json, sys
import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
d = json.load(open(sys.argv[1]))
x = np.array(d["points"])
ours = np.array(d["labels"])
km = KMeans(n_clusters=d["k"], n_init=10, random_state=0).fit(x)
print(json.dumps({
    "labels": km.labels_.tolist(),
    "silhouette_ours": float(silhouette_score(x, ours)),
    "ari_ours_vs_planted": float(adjusted_rand_score(d["planted"], ours)),
}))
"#;

#[test]
fn same_clusters_as_scikit_learn() {
    let py = match python() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let (ds, planted) = heavy_tailed(3, &[1], 3, 400);
    for method in [Method::Robust, Method::Paper] {
        let a = analyze(
            &ds,
            &Options {
                bootstrap: 100,
                ..Options::for_method(method)
            },
        )
        .unwrap();
        let kept: Vec<(&analysis::ConfigOut, usize)> = a
            .configs
            .iter()
            .zip(&planted)
            .filter_map(|(c, p)| Some((c, (*p)?)))
            .filter(|(c, _)| c.cluster.is_some())
            .collect();
        let points: Vec<&Vec<f64>> = kept
            .iter()
            .map(|(c, _)| c.point.as_ref().unwrap())
            .collect();
        let labels: Vec<usize> = kept.iter().map(|(c, _)| c.cluster.unwrap()).collect();
        let planted: Vec<usize> = kept.iter().map(|(_, p)| *p).collect();
        let input =
            std::env::temp_dir().join(format!("analysis-sklearn-{}.json", std::process::id()));
        let body =
            serde_json::json!({ "points": points, "labels": labels, "k": a.k, "planted": planted });
        std::fs::write(&input, body.to_string()).unwrap();
        let out = Command::new(&py)
            .args(["-c", SCRIPT])
            .arg(&input)
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&input);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let theirs: Vec<usize> = r["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let agree = adjusted_rand_index(&labels, &theirs);
        let sil = a
            .k_selection
            .scores
            .iter()
            .find(|s| s.k == a.k)
            .map(|s| s.silhouette);
        println!(
            "{method:?}: k = {}, ARI(ours, scikit-learn KMeans) = {agree:.3}, silhouette ours {sil:?} scikit-learn {}",
            a.k, r["silhouette_ours"]
        );
        assert!(
            agree >= 0.95,
            "{method:?}: ARI against scikit-learn {agree}"
        );
        if let Some(s) = sil {
            assert!((s - r["silhouette_ours"].as_f64().unwrap()).abs() < 1e-9);
        }
        let ari = adjusted_rand_index(&planted, &labels);
        assert!((ari - r["ari_ours_vs_planted"].as_f64().unwrap()).abs() < 1e-9);
    }
}
