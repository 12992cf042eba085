//! `xdplat compare A B`: do two runs (or two configurations) differ in latency, by how much,
//! and how sure is that (analysis::compare_inputs: Mann–Whitney U test, bootstrap interval of
//! the median shift).
//!
//! A and B are run directories, or directories of runs whose samples are pooled (every
//! repetition of one configuration); with `--table FILE|DIR` they are configuration ids of that
//! table or sweep directory (its per-repetition kept samples, at most analysis::KEEP_SAMPLES
//! each).

use std::path::PathBuf;

use crate::exit::bad_input;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Baseline: a run directory, a directory of one configuration's runs, or a config id with
    /// --table.
    a: String,
    /// Compared against A, same kinds.
    b: String,
    /// Read A and B as configuration ids of this long table (CSV or Parquet) or sweep directory.
    #[arg(long, value_name = "FILE|DIR")]
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

pub fn run(args: Args) -> anyhow::Result<()> {
    let c = analysis::compare_inputs(&analysis::CompareOptions {
        a: args.a,
        b: args.b,
        table: args.table,
        bootstrap: args.bootstrap,
        seed: args.seed,
    })
    .map_err(|e| bad_input(e.to_string()))?;
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
