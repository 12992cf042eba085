//! xdplat: the command-line front end. Thin: every subcommand parses its arguments, calls one
//! engine function of a library crate and prints. Exit codes: `probe::protocol::Exit`.

mod cmd;
mod exit;

use clap::{CommandFactory, FromArgMatches};

fn main() -> std::process::ExitCode {
    let matches = cmd::with_negative_values(cmd::Cli::command()).get_matches();
    let cli = cmd::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    exit::run(cli)
}
