//! `xdplat sweep plan|run`: every combination of parameters of an experiment file, run one at a
//! time on the namespace testbed, local interfaces or hosts over ssh, resumable (crates/sweep).

use std::path::{Path, PathBuf};

use crate::cmd::common::{require_root, stop_flag};
use crate::exit::bad_input;

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Configurations and runs of an experiment file, the ones excluded and why, the estimated
    /// duration; nothing is touched.
    Plan(PlanArgs),
    /// Run the sweep, one run at a time, into --out.
    Run(RunArgs),
    /// The paper's load experiment: two configurations per cluster of a finished sweep, again at
    /// a high rate and back to back; do the clusters keep their order?
    Load(LoadArgs),
}

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// A finished sweep's directory.
    pub dir: PathBuf,
    /// Its analysis (default: DIR/report/analysis.json, made by `xdplat analyze` if missing).
    #[arg(long)]
    pub analysis: Option<PathBuf>,
    /// Configurations re-run per cluster.
    #[arg(long, default_value_t = 2)]
    pub per_cluster: usize,
    /// Probes per run.
    #[arg(long, default_value_t = 50_000)]
    pub count: u64,
    /// Interval between batches of the high-rate phase (default: the paper's equation (1),
    /// B × l_min / (8 × P) packets per second, B the link speed, l_min cluster 0's mean).
    #[arg(long, value_parser = crate::cmd::common::parse_duration)]
    pub high_interval: Option<std::time::Duration>,
    /// Keep a raw sample of every Nth probe only.
    #[arg(long, default_value_t = 10)]
    pub sample_every: u64,
    /// Continue an interrupted load experiment.
    #[arg(long)]
    pub resume: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The experiment file (TOML).
    pub file: PathBuf,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The experiment file (TOML).
    pub file: PathBuf,
    /// The sweep directory (experiment.toml, index.json, runs/).
    #[arg(long)]
    pub out: PathBuf,
    /// Continue a sweep in --out: complete runs are kept, partial ones redone.
    #[arg(long)]
    pub resume: bool,
    /// One JSON object per line for progress, for scripts.
    #[arg(long)]
    pub json: bool,
}

/// Maps a sweep error to the exit codes: bad input (2) or run-time failure (1).
pub fn classify(e: sweep::Error) -> anyhow::Error {
    if e.is_bad_input() {
        bad_input(e.to_string())
    } else {
        e.into()
    }
}

pub fn run(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Plan(a) => plan(&a),
        Cmd::Load(a) => load(&a),
        Cmd::Run(a) => {
            let out = run_sweep(&a.file, &a.out, a.resume, a.json)?;
            if out.failed > 0 {
                anyhow::bail!(
                    "{} of {} runs failed (see index.json)",
                    out.failed,
                    out.total
                );
            }
            Ok(())
        }
    }
}

fn plan(a: &PlanArgs) -> anyhow::Result<()> {
    let exp = sweep::Experiment::load(&a.file).map_err(classify)?;
    let plan = sweep::expand(&exp);
    if a.json {
        let configs: Vec<_> = plan
            .configs
            .iter()
            .map(|c| serde_json::json!({ "config": c.id, "label": c.label(), "baseline": c.baseline }))
            .collect();
        let excluded: Vec<_> = plan
            .excluded
            .iter()
            .map(|e| serde_json::json!({ "config": e.config.id, "label": e.config.label(), "why": e.why }))
            .collect();
        let rate = exp.probe.auto_rate.then(|| {
            serde_json::json!({ "auto": true, "assumed_b_bps": sweep::rate::DEFAULT_BPS,
                "assumed_l_min_ns": sweep::rate::ASSUMED_L_MIN_NS,
                "assumed_interval_ns": exp.probe.interval.as_nanos() as u64 })
        });
        let body = serde_json::json!({
            "configs": configs, "excluded": excluded, "runs": plan.runs.len(),
            "repetitions": exp.probe.repetitions,
            "together": plan.together,
            "rate": rate,
            "estimate_s": plan.estimate().as_secs_f64(),
            "measure_per_run_s": plan.measure_per_run.as_secs_f64(),
        });
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(());
    }
    let pingers = match exp.pingers.len() {
        1 => String::new(),
        n => format!(" × {n} pingers"),
    };
    println!(
        "{}: {} configurations × {} repetitions{pingers} = {} runs, {} excluded",
        a.file.display(),
        plan.configs.len(),
        exp.probe.repetitions,
        plan.runs.len(),
        plan.excluded.len()
    );
    for c in &plan.configs {
        println!("  {}  {}", c.id, c.label());
    }
    for e in &plan.excluded {
        println!(
            "  excluded {}  {}: {}",
            e.config.id,
            e.config.label(),
            e.why
        );
    }
    if plan.together {
        println!(
            "pingers {} probe together: {} groups of {} runs",
            exp.pingers.join(" and "),
            plan.groups().len(),
            exp.pingers.len()
        );
    }
    if exp.probe.auto_rate {
        println!(
            "rate = auto: each run's interval from the paper's equation (1), pps = B × l_min / (8 × {} B), \
             B the ping interface's link speed, l_min the lowest median RTT of the runs done so far \
             (before the first, of a {}-probe calibration run at 1 ms); the estimate assumes \
             B = {:.0} Gb/s and l_min = {:.0} µs: interval {:.2} ms",
            exp.probe.size,
            sweep::rate::CALIBRATION_PROBES,
            sweep::rate::DEFAULT_BPS / 1e9,
            sweep::rate::ASSUMED_L_MIN_NS / 1e3,
            exp.probe.interval.as_secs_f64() * 1e3
        );
    }
    println!(
        "estimated {:.0} s ({:.1} s probing + ~{:.1} s start-up, warm-up and linger per run)",
        plan.estimate().as_secs_f64(),
        plan.measure_per_run.as_secs_f64(),
        (plan.wall_per_run - plan.measure_per_run).as_secs_f64()
    );
    Ok(())
}

/// `xdplat analyze DIR --out REPORT` in process, with the analysis options `opts`.
pub fn analyze_into(dir: &Path, report: &Path, opts: analysis::Options) -> anyhow::Result<()> {
    crate::cmd::analyze::run_with(&analysis::RunOptions {
        input: analysis::Input::Runs(dir.to_path_buf()),
        out: report.to_path_buf(),
        split: analysis::Split::Auto,
        analysis: opts,
    })
}

fn load(a: &LoadArgs) -> anyhow::Result<()> {
    require_root("xdplat sweep load")?;
    let analysis = match &a.analysis {
        Some(f) => f.clone(),
        None => {
            let report = a.dir.join("report");
            let f = report.join("analysis.json");
            if !f.is_file() {
                analyze_into(&a.dir, &report, analysis::Options::default())?;
            }
            f
        }
    };
    let stop = stop_flag()?;
    let opts = sweep::Options {
        out: a.dir.clone(),
        resume: a.resume,
        json: a.json,
        local_bin: std::env::current_exe()?,
        state: host::StateDir::from_env(),
    };
    let lo = sweep::load::LoadOptions {
        per_cluster: a.per_cluster,
        count: a.count,
        high_interval: a.high_interval,
        sample_every: a.sample_every,
    };
    let phases = sweep::load::run_load(&a.dir, &analysis, &lo, &opts, &stop).map_err(classify)?;
    for p in &phases {
        println!(
            "load {} (interval {} ns): cluster order by mean RTT {:?}: {}",
            p.name,
            p.interval_ns,
            p.order,
            if p.same_order {
                "same as the sweep"
            } else {
                "CHANGED"
            }
        );
        for c in &p.configs {
            println!(
                "  cluster {} {}: mean {} median {}",
                c["cluster"],
                c["label"].as_str().unwrap_or_default(),
                us(c["mean_ns"].as_f64()),
                us(c["median_ns"].as_f64())
            );
        }
    }
    println!(
        "load results: {}",
        a.dir.join("load").join("load.json").display()
    );
    Ok(())
}

fn us(ns: Option<f64>) -> String {
    ns.map_or("-".into(), |v| format!("{:.1} µs", v / 1000.0))
}

/// Reads and checks an experiment file (bad input: exit 2).
pub fn sweep_file(file: &Path) -> anyhow::Result<sweep::Experiment> {
    sweep::Experiment::load(file).map_err(classify)
}

/// Runs the sweep of `file` into `out`; shared with `demo`.
pub fn run_sweep(
    file: &Path,
    out: &Path,
    resume: bool,
    json: bool,
) -> anyhow::Result<sweep::Outcome> {
    let exp = sweep::Experiment::load(file).map_err(classify)?;
    require_root("xdplat sweep run")?;
    let stop = stop_flag()?;
    let opts = sweep::Options {
        out: out.to_path_buf(),
        resume,
        json,
        local_bin: std::env::current_exe()?,
        state: host::StateDir::from_env(),
    };
    sweep::run(&exp, &opts, &stop).map_err(classify)
}
