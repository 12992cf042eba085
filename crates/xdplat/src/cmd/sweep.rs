//! `xdplat sweep plan|run`: every combination of parameters of an experiment file, run one at a
//! time on the namespace testbed, local interfaces or hosts over ssh, resumable (crates/sweep).

use std::path::{Path, PathBuf};

use crate::cmd::common::{require_root, stop_flag};
use crate::exit::classify;

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Configurations and runs of an experiment file, the ones excluded and why, the estimated
    /// duration; nothing is touched.
    Plan(PlanArgs),
    /// Run the sweep, one run at a time, into --out.
    Run(RunArgs),
    /// How far a sweep directory is (runs done, pending, failed); exit 2 when it holds no sweep.
    Status(StatusArgs),
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
pub struct StatusArgs {
    /// The sweep directory.
    pub dir: PathBuf,
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
    #[command(flatten)]
    pub search: SearchArgs,
}

/// How the sweep spends its probe time (overrides `[search]` of the file; a resumed sweep
/// keeps the strategy, order and seed of its first session).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SearchArgs {
    /// interleaved: every configuration's repetition 0 in a seeded random order, then
    /// repetition 1 in a new order, ...; sequential: configuration by configuration.
    #[arg(long, value_parser = ["interleaved", "sequential"])]
    pub order: Option<String>,
    /// The order's seed (default: drawn, and recorded in experiment.toml).
    #[arg(long)]
    pub seed: Option<u64>,
    /// full: every configuration in full; race: F-Race, the survivors in full.
    #[arg(long, value_parser = ["full", "race"])]
    pub strategy: Option<String>,
}

impl SearchArgs {
    fn apply(&self, opts: &mut sweep::Options) {
        opts.order = self.order.as_deref().and_then(|o| o.parse().ok());
        opts.strategy = self.strategy.as_deref().and_then(|o| o.parse().ok());
        opts.seed = self.seed;
    }
}

pub fn run(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Plan(a) => plan(&a),
        Cmd::Load(a) => load(&a),
        Cmd::Status(a) => {
            let s = sweep::status::status(&a.dir).map_err(classify)?;
            if a.json {
                println!("{}", serde_json::to_string(&s)?);
            } else {
                println!(
                    "{}: {} ({} of {} runs done, {} pending, {} failed, {} skipped, {} eliminated)",
                    a.dir.display(),
                    if s.complete { "complete" } else { "incomplete" },
                    s.done,
                    s.total,
                    s.pending,
                    s.failed,
                    s.skipped,
                    s.eliminated
                );
            }
            Ok(())
        }
        Cmd::Run(a) => {
            let out = run_sweep_with(&a.file, &a.out, a.resume, a.json, &a.search)?;
            failed_check(&out)?;
            Ok(())
        }
    }
}

/// Exit 3 when every AF_XDP run failed, 1 when some runs failed (the causes were printed).
pub fn failed_check(out: &sweep::Outcome) -> anyhow::Result<()> {
    if out.every_afxdp_run_failed() {
        let top = out
            .causes()
            .into_iter()
            .next()
            .map(|c| c.what)
            .unwrap_or_default();
        return Err(crate::exit::NoAfXdp(format!(
            "every AF_XDP run failed ({} of {}), first cause: {top}",
            out.failures.iter().filter(|f| !f.baseline).count(),
            out.total
        ))
        .into());
    }
    if out.failed > 0 {
        anyhow::bail!(
            "{} of {} runs failed (see index.json)",
            out.failed,
            out.total
        );
    }
    Ok(())
}

/// The plan, with the configurations `sweep run` would refuse (then exit 2, as `run` would).
fn plan(a: &PlanArgs) -> anyhow::Result<()> {
    let exp = sweep::Experiment::load(&a.file).map_err(classify)?;
    let plan = sweep::expand(&exp).map_err(classify)?;
    let refused = sweep::check::configs(&exp, &plan);
    let mut report = sweep::report::PlanReport::new(&a.file.display().to_string(), &exp, &plan);
    report.refused.clone_from(&refused);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    sweep::check::refuse(&exp, &refused).map_err(classify)
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
    let lo = sweep::load::LoadOptions {
        per_cluster: a.per_cluster,
        count: a.count,
        high_interval: a.high_interval,
        sample_every: a.sample_every,
    };
    // every check before the analysis is written: the options, the sweep, its analysis file
    lo.validate().map_err(classify)?;
    sweep::load::experiment_of(&a.dir).map_err(classify)?;
    if let Some(f) = &a.analysis
        && !f.is_file()
    {
        return Err(crate::exit::bad_input(format!(
            "--analysis {}: no such file: give an analysis.json of `xdplat analyze`",
            f.display()
        )));
    }
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
        order: None,
        seed: None,
        strategy: None,
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
        let us = |ns: Option<f64>| ns.map_or("-".into(), results::us);
        for c in &p.configs {
            println!(
                "  cluster {} {}: mean {} median {}",
                c.cluster,
                c.label,
                us(c.mean_ns),
                us(c.median_ns)
            );
        }
    }
    println!(
        "load results: {}",
        a.dir.join("load").join("load.json").display()
    );
    Ok(())
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
    run_sweep_with(file, out, resume, json, &SearchArgs::default())
}

fn run_sweep_with(
    file: &Path,
    out: &Path,
    resume: bool,
    json: bool,
    search: &SearchArgs,
) -> anyhow::Result<sweep::Outcome> {
    let exp = sweep::Experiment::load(file).map_err(classify)?;
    if exp.replay.is_none() {
        require_root("xdplat sweep run")?;
    }
    let stop = stop_flag()?;
    let mut opts = sweep::Options {
        out: out.to_path_buf(),
        resume,
        json,
        local_bin: std::env::current_exe()?,
        state: host::StateDir::from_env(),
        order: None,
        seed: None,
        strategy: None,
    };
    search.apply(&mut opts);
    sweep::run(&exp, &opts, &stop).map_err(classify)
}
