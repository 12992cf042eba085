//! The paper's load experiment (§VI.2): two configurations per cluster of a finished sweep's
//! analysis are run again at a high rate and then with no interval between batches at all
//! (raw samples subsampled so that recording is not the bottleneck), and the clusters' order
//! by mean RTT is compared with the order found at the sweep's own rate.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::plan::{Config, Plan, Run, expand};
use crate::rate::{Derived, link_speed_bps};
use crate::runner::{Options, run_plan};
use crate::store::write_atomic;
use crate::{Error, Experiment};

/// Keys of `params` that name the repetition, not the configuration (as the analysis).
const REPETITION_KEYS: [&str; 3] = ["repetition", "rep", "run_id"];

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Configurations re-run per cluster.
    pub per_cluster: usize,
    /// Probes per run (the high-rate phase: at most this many, for the sweep's run duration).
    pub count: u64,
    /// The high rate's interval between batches; None: the paper's equation (1).
    pub high_interval: Option<Duration>,
    /// Keep every Nth raw sample.
    pub sample_every: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            per_cluster: 2,
            count: 50_000,
            high_interval: None,
            sample_every: 10,
        }
    }
}

impl LoadOptions {
    /// Checks every option before anything is read or written (bad input names the flag).
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |flag: &str, v: &dyn std::fmt::Display, why: &str| {
            Err(Error::BadInput(format!("{flag} {v}: {why}")))
        };
        if self.per_cluster == 0 {
            return bad(
                "--per-cluster",
                &0,
                "re-run at least 1 configuration per cluster",
            );
        }
        if self.count == 0 {
            return bad("--count", &0, "give at least 1 probe per run");
        }
        if self.sample_every == 0 {
            return bad(
                "--sample-every",
                &0,
                "give 1 or more (1 keeps every probe's row)",
            );
        }
        if self.high_interval.is_some_and(|d| d.is_zero()) {
            return bad(
                "--high-interval",
                &"0s",
                "the no-interval phase always runs: give the high rate's interval (above 0), or leave it out for equation (1)",
            );
        }
        let warmup = (self.count / 10).min(1000);
        let rows = (self.count.saturating_add(warmup)).div_ceil(self.sample_every);
        if rows > probe::check::MAX_ROWS {
            return bad(
                "--count",
                &self.count,
                &format!(
                    "{rows} raw rows per run are above the {} one run may hold: raise --sample-every to {} or more",
                    probe::check::MAX_ROWS,
                    self.count
                        .saturating_add(warmup)
                        .div_ceil(probe::check::MAX_ROWS)
                ),
            );
        }
        Ok(())
    }
}

/// One phase's verdict.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Phase {
    pub name: String,
    pub interval_ns: u64,
    /// Cluster ids ordered by their configurations' mean RTT in this phase.
    pub order: Vec<u64>,
    pub same_order: bool,
    /// Per configuration re-run: its cluster and RTT.
    pub configs: Vec<PhaseConfig>,
}

/// One configuration re-run in a phase.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PhaseConfig {
    pub cluster: u64,
    /// The sweep's config id.
    pub config: String,
    pub label: String,
    pub mean_ns: Option<f64>,
    pub median_ns: Option<f64>,
    pub lost: Option<u64>,
}

fn strip(params: &Map<String, Value>) -> Map<String, Value> {
    let mut p = params.clone();
    for k in REPETITION_KEYS {
        p.remove(k);
    }
    p
}

/// The experiment a sweep directory was run with.
pub fn experiment_of(dir: &Path) -> Result<Experiment, Error> {
    let path = dir.join("experiment.toml");
    if !path.is_file() {
        return Err(Error::BadInput(format!(
            "{} is not a sweep directory (no experiment.toml): give the --out of a finished `xdplat sweep run`",
            dir.display()
        )));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    let text = text.split(crate::store::AS_RUN).next().unwrap_or_default();
    Experiment::parse(text, &path.display().to_string())
}

/// A run's parameters (repetition keys removed) and its sweep configuration id.
type Keyed = (Map<String, Value>, String);

/// The sweep configuration id of every analysed configuration, matched on `params`.
fn sweep_ids(dir: &Path) -> Result<Vec<Keyed>, Error> {
    let runs = dir.join("runs");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&runs).map_err(|e| Error::io("read", &runs, e))? {
        let p = e.map_err(|e| Error::io("read", &runs, e))?.path();
        let f = p.join(results::SUMMARY_FILE);
        if !f.is_file() {
            continue;
        }
        let s = results::read_summary(&f)?;
        if let Some(sweep) = s.sweep() {
            out.push((strip(&s.params), sweep.config));
        }
    }
    Ok(out)
}

/// Runs the load experiment on the sweep in `dir` with its `analysis.json`.
pub fn run_load(
    dir: &Path,
    analysis: &Path,
    lo: &LoadOptions,
    opts: &Options,
    stop: &AtomicBool,
) -> Result<Vec<Phase>, Error> {
    lo.validate()?;
    let exp = experiment_of(dir)?;
    // the sweep must not be running (or another load on it)
    let _lease = host::owner::Lease::acquire(dir, "xdplat sweep load")?;
    let body = std::fs::read(analysis).map_err(|e| Error::io("read", analysis, e))?;
    let a: Value = serde_json::from_slice(&body).map_err(|source| Error::Json {
        path: analysis.to_path_buf(),
        source,
    })?;
    let ids = sweep_ids(dir)?;
    let full = expand(&exp)?;
    let params_of = |name: &str| -> Option<Map<String, Value>> {
        a["configs"]
            .as_array()?
            .iter()
            .find(|c| c["id"] == name)
            .and_then(|c| c["params"].as_object())
            .map(strip)
    };
    // (cluster id, sweep config)
    let mut picked: Vec<(u64, Config)> = Vec::new();
    for c in a["clusters"].as_array().into_iter().flatten() {
        let cid = c["id"].as_u64().unwrap_or(0);
        for name in c["configs"]
            .as_array()
            .into_iter()
            .flatten()
            .take(lo.per_cluster)
        {
            let Some(p) = name.as_str().and_then(params_of) else {
                continue;
            };
            let Some((_, sid)) = ids.iter().find(|(q, _)| *q == p) else {
                continue;
            };
            if let Some(cfg) = full.configs.iter().find(|x| &x.id == sid) {
                picked.push((cid, cfg.clone()));
            }
        }
    }
    let clusters: Vec<u64> = {
        let mut v: Vec<u64> = picked.iter().map(|(c, _)| *c).collect();
        v.dedup();
        v
    };
    if clusters.len() < 2 {
        return Err(Error::BadInput(format!(
            "{}: fewer than two clusters with configurations of this sweep: no order to compare",
            analysis.display()
        )));
    }
    let (high, rate) = match lo.high_interval {
        Some(d) => (
            d,
            results::Rate {
                auto: false,
                interval_ns: d.as_nanos() as u64,
                ..results::Rate::default()
            },
        ),
        None => {
            let d = Derived {
                b_bps: link_speed_bps(&exp),
                l_min_ns: a["clusters"][0]["mean_ns"].as_f64().unwrap_or(10_000.0),
                size: exp.probe.size,
                from: "cluster 0 mean".into(),
            };
            (d.interval(), d.to_rate())
        }
    };
    let mut phases = Vec::new();
    for (name, interval) in [("high-rate", high), ("no-interval", Duration::ZERO)] {
        let mut e = exp.clone();
        e.probe.interval = interval;
        e.probe.auto_rate = false;
        // the high-rate phase lasts as long as a run of the sweep, at most `count` probes
        e.probe.count = Some(match interval.as_nanos() {
            0 => lo.count,
            ns => ((exp.probe.duration.as_nanos() / ns) as u64).clamp(1, lo.count),
        });
        e.probe.warmup = (lo.count / 10).min(1000);
        e.probe.repetitions = 1;
        e.probe.baseline = false;
        e.probe.sample_every = Some(lo.sample_every);
        e.probe.linger = Duration::from_millis(200);
        let configs: Vec<Config> = picked.iter().map(|(_, c)| c.clone()).collect();
        e.text = format!(
            "{}\n# load phase {name}: interval {} ns, {} probes, configurations {}\n",
            exp.text,
            interval.as_nanos(),
            lo.count,
            configs
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let runs = configs
            .iter()
            .enumerate()
            .map(|(i, c)| Run {
                id: format!("{}-r0", c.id),
                config: i,
                rep: 0,
                pinger: 0,
            })
            .collect();
        let per = Duration::from_millis(300)
            + Duration::from_nanos(interval.as_nanos() as u64 * lo.count);
        let plan = Plan {
            configs,
            excluded: Vec::new(),
            runs,
            measure_per_run: per,
            wall_per_run: per + Duration::from_millis(500),
            together: false,
        };
        let out: PathBuf = dir.join("load").join(name);
        let mut o = opts.clone();
        o.out = out.clone();
        // the load experiment's runs go back to back in the order picked
        o.order = Some(crate::experiment::Order::Sequential);
        o.strategy = Some(crate::experiment::Strategy::Full);
        run_plan(&e, &plan, &o, stop)?;
        let mut rows = Vec::new();
        let mut means: Vec<(u64, Vec<f64>)> = clusters.iter().map(|c| (*c, Vec::new())).collect();
        for (cid, cfg) in &picked {
            let f = out
                .join("runs")
                .join(format!("{}-r0", cfg.id))
                .join(results::SUMMARY_FILE);
            let s = results::read_summary(&f).ok();
            let rtt = s.as_ref().and_then(|s| s.rtt_ns);
            if let (Some(r), Some(m)) = (rtt, means.iter_mut().find(|(c, _)| c == cid)) {
                m.1.push(r.mean);
            }
            rows.push(PhaseConfig {
                cluster: *cid,
                config: cfg.id.clone(),
                label: cfg.label(),
                mean_ns: rtt.map(|r| r.mean),
                median_ns: rtt.map(|r| r.median),
                lost: s.map(|s| s.packets.lost),
            });
        }
        let mut ranked: Vec<(u64, f64)> = means
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(c, v)| (*c, v.iter().sum::<f64>() / v.len() as f64))
            .collect();
        ranked.sort_by(|x, y| x.1.total_cmp(&y.1));
        let order: Vec<u64> = ranked.iter().map(|(c, _)| *c).collect();
        phases.push(Phase {
            name: name.into(),
            interval_ns: interval.as_nanos() as u64,
            same_order: order == clusters,
            order,
            configs: rows,
        });
    }
    let body = json!({ "clusters": clusters, "high_rate": rate, "phases": phases });
    let mut text = serde_json::to_vec_pretty(&body).map_err(|source| Error::Json {
        path: dir.join("load/load.json"),
        source,
    })?;
    text.push(b'\n');
    write_atomic(&dir.join("load").join("load.json"), &text)?;
    Ok(phases)
}
