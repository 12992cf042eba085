//! `xdplat fleet DIR --out REPORT`: the sweeps of many host pairs (as `ansible/` fetches them,
//! one `DIR/<pair>/sweep/` each) merged into one store and compared: a per-pair table, the pairs
//! that differ from the fleet, explained by stage and by doctor's facts (crates/analysis).

use std::path::PathBuf;

use crate::exit::classify;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The fleet directory: one subdirectory per pair holding `sweep/` (and `doctor.json`).
    pub dir: PathBuf,
    /// Where to write fleet.parquet, fleet_samples.parquet, fleet.json, fleet.md, fleet.html.
    #[arg(long)]
    pub out: PathBuf,
    /// The smallest median shift against the other pairs that counts, as a fraction of their
    /// median.
    #[arg(long, default_value_t = 0.25)]
    pub min_shift: f64,
    /// Print fleet.json instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let f = analysis::run_fleet(&a.dir, &a.out, a.min_shift).map_err(classify)?;
    if a.json {
        println!("{}", serde_json::to_string(&f)?);
    } else {
        print!("{}", analysis::fleet_markdown(&f));
        println!("fleet report: {}", a.out.join("fleet.html").display());
    }
    Ok(())
}
