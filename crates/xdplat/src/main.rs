//! xdplat: the command-line front end. Thin: every subcommand parses its arguments and calls into
//! an engine crate. Exit codes: 0 success, 1 run-time failure, 2 bad input (usage, config, value).

mod cmd;
mod exit;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cmd::Cli::parse();
    exit::run(cli)
}
