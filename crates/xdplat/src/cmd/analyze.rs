//! `xdplat analyze`: clusters the configurations of a sweep (run directories)
//! or of a long latency table and explains the clusters; writes analysis.json,
//! the cluster tables, the plots and report.html into `--out`.

use std::path::PathBuf;

use anyhow::Context;

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
    /// Number of clusters, or `auto` (highest mean silhouette).
    #[arg(long, default_value = "auto")]
    k: String,
    /// Feature scaling before k-means: `common` (one scale for all, default) or `feature` (z-scores).
    #[arg(long, default_value = "common")]
    scaling: String,
    /// Largest k tried by `--k auto`.
    #[arg(long, default_value_t = 8)]
    max_k: usize,
    /// Statistics clustered on (mean, median, std, q1, q3, min, max, p99, p999).
    #[arg(long, value_delimiter = ',', default_value = "mean,median,std,q1,q3")]
    features: Vec<String>,
    /// Exclude configurations whose median RTT is above this (`200us`, `1ms`, or ns).
    /// Default: the kernel-baseline (backend=udp) configurations' median, when present.
    #[arg(long, value_name = "D")]
    max_latency: Option<String>,
    /// Do not use the kernel baseline as the latency ceiling.
    #[arg(long)]
    no_baseline: bool,
    /// Exclude configurations losing more than this fraction of packets (1 disables).
    #[arg(long, default_value_t = 0.1)]
    max_loss: f64,
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
    #[arg(long, default_value_t = 50)]
    top: usize,
    /// Seed of k-means and the bootstrap.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output directory.
    #[arg(long, value_name = "REPORT_DIR")]
    out: PathBuf,
}

fn options(args: &Args) -> anyhow::Result<analysis::Options> {
    let k = args.k.parse::<analysis::KChoice>().map_err(bad_input)?;
    let max_latency_ns = match &args.max_latency {
        None => None,
        Some(s) => Some(
            analysis::parse_duration_ns(s)
                .filter(|v| *v > 0.0)
                .ok_or_else(|| bad_input(format!("--max-latency {s}: expected a duration such as 200us, 1ms or a number of ns")))?,
        ),
    };
    if !(0.0..=1.0).contains(&args.max_loss) {
        return Err(bad_input(format!(
            "--max-loss {}: expected a fraction between 0 and 1",
            args.max_loss
        )));
    }
    Ok(analysis::Options {
        features: args.features.iter().map(|f| f.trim().to_string()).collect(),
        k,
        scaling: args.scaling.parse().map_err(bad_input)?,
        max_k: args.max_k.max(2),
        max_latency_ns,
        baseline: !args.no_baseline,
        interval_filter: !args.no_interval_filter,
        max_loss: (args.max_loss < 1.0).then_some(args.max_loss),
        seed: args.seed,
        kde_top: args.top,
        ..Default::default()
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

fn one(
    ds: &analysis::Dataset,
    opts: &analysis::Options,
    out: &std::path::Path,
) -> anyhow::Result<analysis::Analysis> {
    let a = analysis::analyze(ds, opts).map_err(lib_err)?;
    analysis::write_outputs(&a, ds, opts, out)
        .map_err(lib_err)
        .with_context(|| format!("writing the report to {}", out.display()))?;
    Ok(a)
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
            "baseline" => "the kernel baseline: the reference, not clustered (--no-baseline clusters it and drops the ceiling)".into(),
            "interval" => "median near the send interval: packets waited for the next batch".into(),
            "loss" => "loss above --max-loss".into(),
            "no-data" => "no reply in any repetition".into(),
            other => other.into(),
        };
        println!("  excluded {n} by {filter}: {why}");
    }
    for c in &a.clusters {
        println!(
            "  cluster {}: mean {:.2} µs, std {:.2} µs, {} configs: {}",
            c.id,
            c.mean_ns / 1e3,
            c.std_ns / 1e3,
            c.configs.len(),
            c.description
        );
    }
    for w in &a.warnings {
        println!("  warning: {w}");
    }
}

/// Parameters that name the hardware: results from different values never belong together.
const SPLIT_KEYS: [&str; 3] = ["testbed", "nic", "driver"];

fn default_split(ds: &analysis::Dataset) -> Option<String> {
    SPLIT_KEYS.iter().find_map(|k| {
        let first = ds.configs.first()?.params.get(*k)?;
        let varies = ds.configs.iter().any(|c| c.params.get(*k) != Some(first));
        let everywhere = ds.configs.iter().all(|c| c.params.contains_key(*k));
        (varies && everywhere).then(|| k.to_string())
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let opts = options(&args)?;
    let ds = match (&args.dir, &args.table) {
        (Some(_), Some(_)) => return Err(bad_input("give either DIR or --table FILE, not both")),
        (None, None) => return Err(bad_input("nothing to analyse: give DIR or --table FILE")),
        (Some(d), None) => analysis::load_runs(d).map_err(lib_err)?,
        (None, Some(t)) => analysis::load_table(t).map_err(lib_err)?,
    };
    let by = args.by.clone().or_else(|| {
        if args.no_split {
            return None;
        }
        let key = default_split(&ds)?;
        println!(
            "{}: {key} varies: analysing each {key} separately (--no-split to keep them together)",
            ds.source
        );
        Some(key)
    });
    match &by {
        None => print(&one(&ds, &opts, &args.out)?),
        Some(col) => {
            let parts = ds.split_by(col).map_err(lib_err)?;
            let mut done = Vec::new();
            for (value, part) in &parts {
                let dir = analysis::part_dir(col, value);
                let a = one(part, &opts, &args.out.join(&dir))?;
                print(&a);
                done.push((value.clone(), dir, a));
            }
            let index: Vec<analysis::Part<'_>> = done
                .iter()
                .map(|(value, dir, a)| analysis::Part {
                    value: value.clone(),
                    dir: dir.clone(),
                    analysis: a,
                })
                .collect();
            analysis::write_index(col, &index, &args.out).map_err(lib_err)?;
        }
    }
    println!("report: {}", args.out.join("report.html").display());
    Ok(())
}
