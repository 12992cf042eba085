//! `xdplat sweep status DIR`: how far a sweep directory is, from its index and its committed
//! runs, without touching it: what a fleet's playbook asks before it (re)runs a pair, so that a
//! complete sweep is not rerun and an interrupted one is resumed.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::Error;
use crate::store::{INDEX, Store};

/// The state of a sweep directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Every planned run is committed, or was eliminated (race) or skipped (unsupported).
    pub complete: bool,
    pub total: usize,
    pub done: usize,
    pub pending: usize,
    pub failed: usize,
    pub skipped: usize,
    pub eliminated: usize,
}

/// Reads the state of the sweep in `dir`; bad input when `dir` holds no sweep.
pub fn status(dir: &Path) -> Result<Status, Error> {
    if !Store::holds_sweep(dir) {
        return Err(Error::BadInput(format!(
            "{}: no sweep here (no experiment.toml): give a directory `xdplat sweep run --out` wrote",
            dir.display()
        )));
    }
    let index: Vec<Value> = std::fs::read(dir.join(INDEX))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["runs"].as_array().cloned())
        .unwrap_or_default();
    let mut s = Status {
        total: index.len(),
        ..Status::default()
    };
    for r in &index {
        let committed = r["run"].as_str().is_some_and(|id| {
            dir.join("runs")
                .join(id)
                .join(results::SUMMARY_FILE)
                .is_file()
        });
        match r["status"].as_str() {
            _ if committed => s.done += 1,
            Some("eliminated") => s.eliminated += 1,
            Some("skipped") => s.skipped += 1,
            Some("failed") => s.failed += 1,
            _ => s.pending += 1,
        }
    }
    s.complete = !index.is_empty() && s.pending == 0 && s.failed == 0;
    Ok(s)
}
