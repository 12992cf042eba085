//! The subcommands, one module each, plus the flag groups they share.

use clap::{Parser, Subcommand};

mod analyze;
mod bench;
mod common;
mod demo;
mod doctor;
mod fleet;
mod fwd;
mod host;
mod knobs;
mod ping;
#[cfg(test)]
mod surfaces;
mod sweep;
mod testbed;
mod tune;

#[derive(Debug, Parser)]
#[command(
    name = "xdplat",
    version,
    about = "Measure, explain and minimise the latency of AF_XDP applications"
)]
#[command(after_help = probe::protocol::Exit::help())]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create, inspect or remove the local namespace testbed (veth pairs between namespaces).
    #[command(subcommand)]
    Testbed(testbed::Cmd),
    /// Send probes and measure their round trip (host A: generator and receiver).
    Ping(ping::Args),
    /// Send every probe back where it came from (host B: MAC-swap forwarder).
    Fwd(fwd::Args),
    /// Show, apply and restore host settings (queues, coalescing, busy-poll, C-states, IRQs).
    #[command(subcommand)]
    Host(host::Cmd),
    /// The whole pipeline on the local testbed: testbed up, the sweep of examples/quick.toml,
    /// the analysis, the path of report.html, testbed down.
    Demo(demo::Args),
    /// Cluster the configurations of a sweep (or a table) and explain the clusters.
    Analyze(analyze::Args),
    /// Benchmarks, each as a ratio against a baseline measured in the same run.
    Bench(bench::Args),
    /// Do two runs (or configurations) differ in latency, by how much, and how sure is that?
    Compare(analyze::CompareArgs),
    /// What this machine and its interfaces can do for AF_XDP measurements, and what each gap means.
    Doctor(doctor::Args),
    /// Run every combination of parameters of an experiment file (plan, run, resume).
    #[command(subcommand)]
    Sweep(sweep::Cmd),
    /// Many host pairs' sweeps as one: a merged store, a per-pair table, the pairs that differ.
    Fleet(fleet::Args),
    /// Find the lowest-latency configuration of a link within a budget, with the evidence;
    /// apply it (journaled) and check later that it holds.
    Tune(tune::Args),
}

/// Every option that takes a value accepts one that starts with `-` and a digit, so that
/// `--size -1` is refused by the option's own parser, naming it, instead of being taken for an
/// unknown flag.
pub fn with_negative_values(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|a| {
        if a.get_action().takes_values() {
            a.allow_negative_numbers(true)
        } else {
            a
        }
    })
    .mut_subcommands(with_negative_values)
}

pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    // checked before any command acts, as every other input is
    xdp::forced_from_env().map_err(crate::exit::bad_input)?;
    match cli.command {
        Command::Testbed(cmd) => testbed::run(cmd),
        Command::Ping(args) => ping::run(args),
        Command::Fwd(args) => fwd::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Host(cmd) => host::run(cmd),
        Command::Analyze(args) => analyze::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Compare(args) => analyze::compare(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Sweep(cmd) => sweep::run(cmd),
        Command::Tune(args) => tune::run(args),
        Command::Fleet(args) => fleet::run(args),
    }
}
