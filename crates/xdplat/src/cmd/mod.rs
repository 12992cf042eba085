//! The subcommands, one module each.

use clap::{Parser, Subcommand};

mod analyze;

#[derive(Debug, Parser)]
#[command(name = "xdplat", version, about = "Measure, explain and minimise the latency of AF_XDP applications")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Cluster the configurations of a sweep (or a table) and explain the clusters.
    Analyze(analyze::Args),
}

pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Analyze(args) => analyze::run(args),
    }
}
