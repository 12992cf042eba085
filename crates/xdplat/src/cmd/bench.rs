//! `xdplat bench [--quick] [--json]`: the tool's performance, each figure as a ratio against a
//! baseline measured in the same run (BENCHMARKS.md; the engine: crates/bench).

use std::path::PathBuf;

use crate::cmd::common::{require_root, stop_flag};
use crate::exit::classify;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The smoke form: seconds instead of about a minute; figures are rougher.
    #[arg(long)]
    pub quick: bool,
    /// Print one JSON object keyed by benchmark name instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Python with numpy and pyarrow (default: the venv scripts/bench-setup.sh makes under the
    /// target dir, or $XDPLAT_BENCH_PYTHON).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// CPUs for the two sides (ping/generator, forwarder), e.g. `0,1`.
    #[arg(long, value_delimiter = ',', num_args = 2)]
    pub cpus: Option<Vec<usize>>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    require_root("xdplat bench")?;
    // Ctrl-C / SIGTERM: the running ping stops early, the bench ends with an error, and the
    // testbed and scratch directory are removed on the way out
    let stop = stop_flag()?;
    let opts = bench::Options {
        quick: args.quick,
        python: args.python,
        cpus: args.cpus.map(|c| (c[0], c[1])),
        xdplat: std::env::current_exe()?,
    };
    let json = args.json;
    let figures = bench::run(&opts, &stop, &mut |s| {
        if !json {
            eprintln!("bench: {s}");
        }
    })
    .map_err(classify)?;
    let table = bench::Table(&figures);
    if json {
        println!("{}", serde_json::to_string_pretty(&table.to_json())?);
    } else {
        print!("{table}");
    }
    Ok(())
}
