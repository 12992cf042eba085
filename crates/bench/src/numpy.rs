//! `analysis_vs_numpy`: the statistics of a run (mean, std, quartiles, p99, p99.9, min, max of
//! the RTT) computed from a samples.parquet, in samples per second, by xdplat
//! (`results::read_rtts` + `results::describe`) and by numpy + pyarrow on the same file. The
//! Python side comes from `scripts/bench-setup.sh` (a venv under the target dir); without it,
//! or with `--quick`, the benchmark is skipped with the reason.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

use crate::Figure;
use crate::error::{Error, Result};

const MEANING: &str =
    "xdplat samples/s / numpy+pyarrow samples/s on one Parquet file (target at least 1)";

const NUMPY: &str = r#"
import json, sys, time
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
path, rounds = sys.argv[1], int(sys.argv[2])
best, n = float("inf"), 0
for _ in range(rounds):
    t = time.perf_counter()
    a = pc.drop_null(pq.read_table(path, columns=["rtt_ns"]).column(0)).to_numpy()
    stats = (a.mean(), a.std(ddof=1), np.percentile(a, [25, 50, 75, 99, 99.9]), a.min(), a.max())
    best = min(best, time.perf_counter() - t)
    n = len(a)
print(json.dumps({"seconds": best, "samples": n, "median": float(stats[2][1])}))
"#;

/// The Python to use: `--python`, `$XDPLAT_BENCH_PYTHON`, or `<target>/bench-venv/bin/python`.
fn python(asked: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = asked {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("XDPLAT_BENCH_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    // target/<profile>/xdplat (or target/<profile>/deps/...) -> target/bench-venv
    exe.ancestors()
        .map(|d| d.join("bench-venv/bin/python"))
        .find(|p| p.exists())
}

fn synthetic(dir: &Path, n: u64) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("mkdir {}", dir.display()), e))?;
    let mut w = results::SamplesWriter::create(dir)?;
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for seq in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
        let rtt = 20_000 + (-(1.0 - u).ln() * 3_000.0) as i64;
        let tx = 1_000_000 + seq as i64 * 1000;
        w.push(&results::Sample {
            seq,
            tx_ns: tx,
            rx_ns: Some(tx + rtt),
            rtt_ns: Some(rtt),
            ..Default::default()
        })?;
    }
    w.finish()?;
    Ok(dir.join(results::SAMPLES_FILE))
}

pub fn vs_numpy(quick: bool, asked: Option<&Path>, scratch: &Path) -> Result<Figure> {
    if quick {
        return Ok(Figure::skipped(
            "samples/s",
            MEANING,
            "--quick: the Parquet file and Python start-up take longer than the smoke budget",
        ));
    }
    let Some(py) = python(asked) else {
        return Ok(Figure::skipped(
            "samples/s",
            MEANING,
            "no Python with numpy and pyarrow: run scripts/bench-setup.sh (or give --python)",
        ));
    };
    let check = Command::new(&py)
        .args(["-c", "import numpy, pyarrow"])
        .output();
    if !check.is_ok_and(|o| o.status.success()) {
        return Ok(Figure::skipped(
            "samples/s",
            MEANING,
            format!(
                "{} cannot import numpy and pyarrow: run scripts/bench-setup.sh",
                py.display()
            ),
        ));
    }
    let n = 10_000_000;
    let rounds = 3;
    let file = synthetic(&scratch.join("analysis"), n)?;
    let mut ours = f64::INFINITY;
    let mut median = 0.0;
    for _ in 0..rounds {
        let t = Instant::now();
        let mut v = results::read_rtts(&file)?;
        let d = results::describe(&mut v).ok_or_else(|| Error::Failed("no samples".into()))?;
        ours = ours.min(t.elapsed().as_secs_f64());
        median = d.median;
    }
    let out = Command::new(&py)
        .args(["-c", NUMPY])
        .arg(&file)
        .arg(rounds.to_string())
        .output()
        .map_err(|e| Error::io(format!("running {}", py.display()), e))?;
    if !out.status.success() {
        return Err(Error::Failed(format!(
            "numpy side failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::Failed(format!("numpy side's JSON: {e}")))?;
    let theirs = v["seconds"]
        .as_f64()
        .ok_or_else(|| Error::Failed("numpy side: no seconds".into()))?;
    let mut f = Figure::new(n as f64 / ours, n as f64 / theirs, "samples/s", MEANING);
    f.extra.insert(
        "check".into(),
        json!({ "samples": n, "median_ns": median, "numpy_median_ns": v["median"], "python": py }),
    );
    Ok(f)
}
