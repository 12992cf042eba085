//! `sweep_efficiency`: the fraction of a sweep's wall time spent probing, as `xdplat sweep run`
//! reports it (`measuring_fraction` of its end event), for a small experiment on the bench's
//! testbed. The baseline is 1 (a sweep with no overhead between and around its runs).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::Figure;
use crate::bed::Bed;
use crate::error::{Error, Result};

const MEANING: &str = "time probing / wall time of a sweep (1 = no overhead)";

/// The xdplat binary at `xdplat`: a rebuilt binary replaces ours on disk while we run, so the
/// new one at the same path is taken.
pub(crate) fn binary(xdplat: &Path) -> PathBuf {
    match xdplat.to_str().and_then(|s| s.strip_suffix(" (deleted)")) {
        Some(s) => PathBuf::from(s),
        None => xdplat.to_path_buf(),
    }
}

pub fn efficiency(bed: &Bed, quick: bool, xdplat: &Path) -> Result<Figure> {
    let (duration, reps) = if quick { ("500ms", 1) } else { ("3s", 2) };
    let name = bed.name();
    let file = bed.scratch.join("bench-sweep.toml");
    let experiment = format!(
        r#"# written by xdplat bench: sweep_efficiency
[testbed]
name = "{name}"

[roles]
ping = "a"
fwd = "b"

[probe]
interval = "1ms"
duration = "{duration}"
warmup = 10
repetitions = {reps}
linger = "50ms"

[axes]
fwd.poll = [false, true]
"#
    );
    std::fs::write(&file, experiment)
        .map_err(|e| Error::io(format!("write {}", file.display()), e))?;
    let out_dir = bed.run_dir("sweep");
    let exe = binary(xdplat);
    let out = match Command::new(&exe)
        .args(["sweep", "run"])
        .arg(&file)
        .arg("--out")
        .arg(&out_dir)
        .arg("--json")
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            return Ok(Figure::skipped(
                "fraction",
                MEANING,
                format!("running {} sweep run: {e}", exe.display()),
            ));
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let end = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("event").and_then(Value::as_str) == Some("end"));
    let Some(end) = end.filter(|_| out.status.success()) else {
        return Ok(Figure::skipped(
            "fraction",
            MEANING,
            format!(
                "xdplat sweep run failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    };
    let fraction = end
        .get("measuring_fraction")
        .and_then(Value::as_f64)
        .ok_or_else(|| Error::Failed("sweep end event without measuring_fraction".into()))?;
    let mut f = Figure::new(fraction, 1.0, "fraction", MEANING);
    f.extra.insert(
        "sweep".into(),
        json!({ "runs": end.get("done"), "wall_s": end.get("wall_s"), "measured_s": end.get("measured_s"), "run_duration": duration }),
    );
    Ok(f)
}
