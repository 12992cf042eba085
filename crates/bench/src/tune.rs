//! `tune_overhead`: the fraction of a real `xdplat tune`'s wall time spent on its own decisions
//! (choosing each race's candidates, reading the committed results, the verdict with its
//! bootstraps and effects), from its `tune.json` (`decision_ns` / `wall_ns`), on the bench's
//! testbed. The baseline is the target, 3 % of the wall time.

use std::process::Command;

use serde_json::{Value, json};

use crate::Figure;
use crate::bed::Bed;
use crate::error::{Error, Result};

const MEANING: &str = "tune's own decisions / its wall time (target below 0.03)";

pub fn overhead(bed: &Bed, quick: bool, xdplat: &std::path::Path) -> Result<Figure> {
    let (duration, budget) = if quick {
        ("500ms", "8s")
    } else {
        ("1s", "40s")
    };
    let name = bed.name();
    let file = bed.scratch.join("bench-tune.toml");
    let experiment = format!(
        r#"# written by xdplat bench: tune_overhead
[testbed]
name = "{name}"

[roles]
ping = "a"
fwd = "b"

[probe]
interval = "1ms"
duration = "{duration}"
warmup = 10
repetitions = 1
linger = "50ms"
baseline = false

[search]
slice = "250ms"
min-rounds = 2

[axes]
xdp-mode = ["drv", "skb"]
need-wakeup = [true, false]
fwd.poll = [false, true]
ping.poll = [false, true]
"#
    );
    std::fs::write(&file, experiment)
        .map_err(|e| Error::io(format!("write {}", file.display()), e))?;
    let out_dir = bed.run_dir("tune");
    let exe = crate::sweep::binary(xdplat);
    let out = Command::new(&exe)
        .arg("tune")
        .arg(&file)
        .arg("--out")
        .arg(&out_dir)
        .args(["--budget", budget, "--seed", "1", "--json"])
        .output();
    let failed = |why: String| Ok(Figure::skipped("fraction", MEANING, why));
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            return failed(format!(
                "xdplat tune failed ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Err(e) => return failed(format!("running {} tune: {e}", exe.display())),
    };
    let t: Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(|v| v["schema"] == 1)
        })
        .ok_or_else(|| Error::Failed("xdplat tune --json printed no result".into()))?;
    let (d, w) = (t["decision_ns"].as_f64(), t["wall_ns"].as_f64());
    let (Some(d), Some(w)) = (d, w) else {
        return Err(Error::Failed(
            "tune.json without decision_ns or wall_ns".into(),
        ));
    };
    let mut f = Figure::new(d / w, 0.03, "fraction", MEANING);
    f.extra.insert(
        "tune".into(),
        json!({ "decision_s": d / 1e9, "wall_s": w / 1e9, "tried": t["tried"], "races": t["races"].as_array().map(Vec::len), "budget": budget }),
    );
    Ok(f)
}
