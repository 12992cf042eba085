//! `xdplat analyze`: clusters the configurations of a sweep (run directories) or of a long
//! latency table and explains the clusters (analysis::run); writes analysis.json, the cluster
//! tables, the plots and report.html into `--out`, and prints what it found.

use std::path::PathBuf;

use analysis::{Baseline, Feature, KChoice, Method, Options, Scaling};

use crate::exit::bad_input;

mod compare;
pub use compare::{Args as CompareArgs, run as compare};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A sweep's output directory (runs/*/summary.json + samples.parquet).
    dir: Option<PathBuf>,
    /// A long table instead (CSV or Parquet): config, rep, rtt_ns, parameter columns.
    #[arg(long, value_name = "FILE")]
    table: Option<PathBuf>,
    /// `robust`: quantile features, the median over repetitions, k stable across resampled
    /// repetitions; `paper`: the paper's exact method (mean, median, std, q1, q3 averaged over
    /// repetitions, k by the silhouette).
    #[arg(long, value_enum, default_value_t)]
    method: Method,
    /// Number of clusters, or `auto` (the default).
    #[arg(long)]
    k: Option<KChoice>,
    /// Feature scaling before k-means: `common` (one scale for all, default) or `feature` (z-scores).
    #[arg(long, value_enum)]
    scaling: Option<Scaling>,
    /// Largest k tried by `--k auto`.
    #[arg(long, default_value_t = Options::default().max_k)]
    max_k: usize,
    /// Statistics clustered on (default: the method's: robust median,q1,q3; paper mean,median,std,q1,q3).
    #[arg(long, value_enum, value_delimiter = ',')]
    features: Option<Vec<Feature>>,
    /// Exclude configurations whose median RTT is above this (`200us`, `1ms`, or ns).
    /// Default: the kernel-baseline (backend=udp) configurations' median, when present.
    #[arg(long, value_name = "D")]
    max_latency: Option<String>,
    /// The kernel baseline (backend=udp): `ceiling` (not clustered, its median the ceiling for
    /// the others'), `reference` (not clustered, no ceiling) or `cluster`.
    #[arg(long, value_enum, default_value_t)]
    baseline: Baseline,
    /// Cluster the kernel baseline like the others (`--baseline cluster`).
    #[arg(long, conflicts_with = "baseline")]
    no_baseline: bool,
    /// Exclude configurations losing more than this fraction of packets (1 disables; default 0.1).
    #[arg(long)]
    max_loss: Option<f64>,
    /// Keep configurations whose latency approaches their send interval.
    #[arg(long)]
    no_interval_filter: bool,
    /// Analyse each value of this parameter separately. Default: split by
    /// `testbed`, `nic` or `driver` when one of them varies (different hardware
    /// is never clustered together, as the paper's Tables I and II).
    #[arg(long, value_name = "COLUMN")]
    by: Option<String>,
    /// Never split by testbed, NIC or driver on its own.
    #[arg(long, conflicts_with = "by")]
    no_split: bool,
    /// Configurations drawn in kde.svg.
    #[arg(long, default_value_t = Options::default().kde_top)]
    top: usize,
    /// Seed of k-means and the bootstraps.
    #[arg(long, default_value_t = Options::default().seed)]
    seed: u64,
    /// Output directory.
    #[arg(long, value_name = "REPORT_DIR")]
    out: PathBuf,
}

fn options(args: &Args) -> anyhow::Result<analysis::RunOptions> {
    let mut o = Options::for_method(args.method);
    if let Some(k) = args.k {
        o.k = k;
    }
    if let Some(s) = args.scaling {
        o.scaling = s;
    }
    if let Some(f) = &args.features {
        o.features = f.clone();
    }
    if let Some(s) = &args.max_latency {
        o.max_latency_ns = Some(analysis::parse_duration_ns(s).filter(|v| *v > 0.0).ok_or_else(|| {
            bad_input(format!("--max-latency {s}: expected a duration such as 200us, 1ms or a number of ns"))
        })?);
    }
    if let Some(l) = args.max_loss {
        o.max_loss = (l < 1.0).then_some(l);
        if !(0.0..=1.0).contains(&l) {
            return Err(bad_input(format!(
                "--max-loss {l}: expected a fraction between 0 and 1"
            )));
        }
    }
    o.max_k = args.max_k.max(2);
    o.baseline = if args.no_baseline {
        Baseline::Cluster
    } else {
        args.baseline
    };
    o.interval_filter = !args.no_interval_filter;
    o.seed = args.seed;
    o.kde_top = args.top;
    let input = match (&args.dir, &args.table) {
        (Some(_), Some(_)) => return Err(bad_input("give either DIR or --table FILE, not both")),
        (None, None) => return Err(bad_input("nothing to analyse: give DIR or --table FILE")),
        (Some(d), None) => analysis::Input::Runs(d.clone()),
        (None, Some(t)) => analysis::Input::Table(t.clone()),
    };
    let split = match (&args.by, args.no_split) {
        (Some(c), _) => analysis::Split::By(c.clone()),
        (None, true) => analysis::Split::Never,
        (None, false) => analysis::Split::Auto,
    };
    Ok(analysis::RunOptions {
        input,
        out: args.out.clone(),
        split,
        analysis: o,
    })
}

/// Maps a library error to exit 2 (input) or 1 (writing the outputs).
fn lib_err(e: analysis::Error) -> anyhow::Error {
    if e.is_bad_input() {
        bad_input(e.to_string())
    } else {
        anyhow::Error::new(e)
    }
}

fn print(a: &analysis::Analysis) {
    println!("{}: k = {}, {} excluded", a.source, a.k, a.excluded.len());
    let mut by_filter: std::collections::BTreeMap<&str, usize> = Default::default();
    for e in &a.excluded {
        *by_filter.entry(e.filter.as_str()).or_default() += 1;
    }
    for (filter, n) in by_filter {
        let why = match filter {
            "max-latency" => format!(
                "median above {:.2} µs ({})",
                a.ceiling_ns.unwrap_or(0.0) / 1e3,
                a.ceiling_source.as_deref().unwrap_or("")
            ),
            "baseline" => {
                "the kernel baseline: the reference, not clustered (--baseline cluster clusters it)"
                    .into()
            }
            "interval" => "median near the send interval: packets waited for the next batch".into(),
            "loss" => "loss above --max-loss".into(),
            "no-data" => "no reply in any repetition".into(),
            other => other.into(),
        };
        println!("  excluded {n} by {filter}: {why}");
    }
    println!("  {}", a.structure.sentence);
    for c in &a.clusters {
        println!(
            "  cluster {}: median {:.2} µs, mean {:.2} µs, std {:.2} µs, {} configs: {}",
            c.id,
            c.median_ns / 1e3,
            c.mean_ns / 1e3,
            c.std_ns / 1e3,
            c.configs.len(),
            c.description
        );
        println!("    {}", c.explanation);
    }
    for w in &a.warnings {
        println!("  warning: {w}");
    }
}

/// Runs the analysis `opts` describes and prints what it found; shared with `sweep` and `demo`.
pub fn run_with(opts: &analysis::RunOptions) -> anyhow::Result<()> {
    let report = analysis::run(opts).map_err(lib_err)?;
    if let Some((key, true)) = &report.split {
        println!(
            "{}: {key} varies: analysed each {key} separately (--no-split to keep them together)",
            report.source
        );
    }
    for p in &report.parts {
        print(&p.analysis);
    }
    println!("report: {}", report.report.display());
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    run_with(&options(&args)?)
}
