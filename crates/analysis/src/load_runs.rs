//! Reads a sweep's run directories (DESIGN.md "A run directory"): every
//! `DIR/runs/*/` (or `DIR/*/`, or `DIR` itself) holding a `summary.json`, with
//! its `samples.parquet` when present. Runs with equal `params` (ignoring the
//! repetition) form one configuration. Statistics are recomputed from the
//! samples when they exist, else taken from the summary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::Error;
use crate::model::{Config, Dataset, Params, Run, config_ids};

/// Keys of `params` that name the repetition rather than the configuration.
const REPETITION_KEYS: [&str; 3] = ["repetition", "rep", "run_id"];

/// Lists the run directories under `dir`, sorted by path.
pub fn run_dirs(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    if dir.join(results::SUMMARY_FILE).is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let base = if dir.join("runs").is_dir() {
        dir.join("runs")
    } else {
        dir.to_path_buf()
    };
    let entries = std::fs::read_dir(&base).map_err(|source| Error::Read {
        path: base.clone(),
        source,
    })?;
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(|source| Error::Read {
            path: base.clone(),
            source,
        })?;
        let p = e.path();
        if p.join(results::SUMMARY_FILE).is_file() {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// The configuration a run belongs to: its parameters without the repetition.
fn configuration(s: &results::Summary) -> Params {
    let mut params: Params = s.params.clone().into_iter().collect();
    for k in REPETITION_KEYS {
        params.remove(k);
    }
    params
}

/// The distinct configurations of the runs in `dirs`, in the order first met.
pub fn configurations(dirs: &[PathBuf]) -> Result<Vec<Params>, Error> {
    let mut out: Vec<Params> = Vec::new();
    for d in dirs {
        let p = configuration(&results::read_summary(&d.join(results::SUMMARY_FILE))?);
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// CPU time recorded in a summary: `cpu_ns`, or the sum of the `*_ns` numbers of a `cpu` object.
fn cpu_ns(s: &results::Summary) -> Option<f64> {
    match s.extra.get("cpu_ns").or_else(|| s.extra.get("cpu")) {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::Object(m)) => {
            let v: Vec<f64> = m
                .iter()
                .filter(|(k, _)| k.ends_with("_ns"))
                .filter_map(|(_, v)| v.as_f64())
                .collect();
            (!v.is_empty()).then(|| v.iter().sum())
        }
        _ => None,
    }
}

/// A racing sweep's eliminated configurations (`DIR/race/race.json`): their slice directories
/// under `DIR/race/`, and what to say about them.
fn race_slices(dir: &Path) -> Vec<(PathBuf, String)> {
    let race = dir.join("race");
    let Some(record) = std::fs::read(race.join("race.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    else {
        return Vec::new();
    };
    let slice_ms = record["slice_ns"].as_f64().unwrap_or(0.0) / 1e6;
    let mut out = Vec::new();
    for e in record["eliminated"].as_array().into_iter().flatten() {
        let (Some(id), Some(round)) = (e["config"].as_str(), e["round"].as_u64()) else {
            continue;
        };
        let note = match e["failed"].as_str() {
            Some(f) => {
                format!("dropped from the race: {f}; only its race slices ({slice_ms} ms each)")
            }
            None => format!(
                "eliminated in race round {round} (median {} vs the best's {}, Holm p {:.1e}): only its {round} race slices of {slice_ms} ms, fewer samples than a full configuration",
                results::us(e["median_ns"].as_f64().unwrap_or(0.0)),
                results::us(e["best_median_ns"].as_f64().unwrap_or(0.0)),
                e["p_holm"].as_f64().unwrap_or(1.0)
            ),
        };
        for k in 1..=round {
            let d = race.join(format!("{id}-k{k}"));
            if d.join(results::SUMMARY_FILE).is_file() {
                out.push((d, note.clone()));
            }
        }
    }
    out
}

/// Loads every run under `dir` and groups them into configurations; a racing sweep's
/// eliminated configurations come from their race slices, with a note saying so.
pub fn load_runs(dir: &Path) -> Result<Dataset, Error> {
    let mut notes: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut dirs = run_dirs(dir)?;
    for (d, note) in race_slices(dir) {
        dirs.push(d.clone());
        notes.insert(d, note);
    }
    if dirs.is_empty() {
        return Err(Error::input(
            dir.display(),
            None,
            None,
            "no run directories (runs/*/summary.json) found",
        ));
    }
    let mut groups: BTreeMap<String, (Params, Vec<Run>, Option<String>)> = BTreeMap::new();
    for d in &dirs {
        let s = results::read_summary(&d.join(results::SUMMARY_FILE))?;
        let params = configuration(&s);
        let samples = d.join(results::SAMPLES_FILE);
        let mut run = if samples.is_file() {
            let mut rtts = results::read_rtts(&samples)?;
            Run::from_rtts(
                s.repetition,
                &mut rtts,
                s.packets.sent,
                s.packets.lost,
                d.display().to_string(),
            )
        } else {
            Run {
                rep: s.repetition,
                rtt: s.rtt_ns,
                sent: s.packets.sent,
                lost: s.packets.lost,
                source: d.display().to_string(),
                ..Default::default()
            }
        };
        run.cpu_ns = cpu_ns(&s);
        run.stages = s
            .stages
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.get("median")?.as_f64()?)))
            .collect();
        run.auto_interval_ns = s
            .extra
            .get("rate")
            .and_then(|r| r.get("interval_ns"))
            .and_then(|v| v.as_f64());
        run.stage_sources = s
            .extra
            .get("stage_sources")
            .and_then(|v| v.as_object())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let key = serde_json::to_string(&params).expect("params serialise");
        let g = groups
            .entry(key)
            .or_insert_with(|| (params, Vec::new(), None));
        g.1.push(run);
        if let Some(n) = notes.get(d) {
            g.2 = Some(n.clone());
        }
    }
    let mut params = Vec::new();
    let mut runs = Vec::new();
    let mut config_notes = Vec::new();
    for (p, r, n) in groups.into_values() {
        params.push(p);
        runs.push(r);
        config_notes.push(n);
    }
    let ids = config_ids(&params);
    let configs = ids
        .into_iter()
        .zip(params)
        .zip(runs)
        .zip(config_notes)
        .map(|(((id, params), runs), note)| Config {
            id,
            params,
            runs,
            note,
        })
        .collect();
    Ok(Dataset {
        source: dir.display().to_string(),
        configs,
    })
}
