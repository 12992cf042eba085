//! `xdplat compare A B`: do two runs (or two configurations) differ in
//! latency, by how much, and how sure is that (analysis::compare: Mann–Whitney
//! U test, bootstrap interval of the median shift).
//!
//! A and B are run directories, or directories of runs whose samples are
//! pooled (every repetition of a configuration); with `--table FILE` they are
//! configuration ids of that table (its per-repetition kept samples, at most
//! analysis::KEEP_SAMPLES each).

use std::path::{Path, PathBuf};

use crate::exit::bad_input;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Baseline: a run directory, a directory of runs, or a config id with --table.
    a: String,
    /// Compared against A, same kinds.
    b: String,
    /// Read A and B as configuration ids of this long table (CSV or Parquet).
    #[arg(long, value_name = "FILE")]
    table: Option<PathBuf>,
    /// Print the comparison as JSON.
    #[arg(long)]
    json: bool,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn from_runs(path: &str) -> anyhow::Result<Vec<i64>> {
    let dirs = analysis::run_dirs(Path::new(path)).map_err(|e| bad_input(e.to_string()))?;
    if dirs.is_empty() {
        return Err(bad_input(format!(
            "{path}: no run directory (summary.json) found"
        )));
    }
    let mut out = Vec::new();
    for d in dirs {
        let p = d.join(results::SAMPLES_FILE);
        out.extend(results::read_rtts(&p).map_err(|e| bad_input(e.to_string()))?);
    }
    Ok(out)
}

fn from_table(ds: &analysis::Dataset, id: &str) -> anyhow::Result<Vec<i64>> {
    let c = ds
        .configs
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| bad_input(format!("{}: no configuration {id}", ds.source)))?;
    Ok(c.runs
        .iter()
        .flat_map(|r| r.sample.iter().copied())
        .collect())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (a, b) = match &args.table {
        Some(t) => {
            let ds = analysis::load_table(t).map_err(|e| bad_input(e.to_string()))?;
            (from_table(&ds, &args.a)?, from_table(&ds, &args.b)?)
        }
        None => (from_runs(&args.a)?, from_runs(&args.b)?),
    };
    let c = analysis::compare(&a, &b, args.bootstrap, args.seed).ok_or_else(|| {
        bad_input(format!(
            "nothing to compare: A has {} latency samples, B has {}",
            a.len(),
            b.len()
        ))
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        println!(
            "A: {} samples, median {:.2} µs\nB: {} samples, median {:.2} µs\n{}",
            c.n_a,
            c.median_a_ns / 1e3,
            c.n_b,
            c.median_b_ns / 1e3,
            c.verdict
        );
    }
    Ok(())
}
