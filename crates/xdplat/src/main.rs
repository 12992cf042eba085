//! xdplat: the command-line front end. Thin: every subcommand parses its arguments, calls one
//! engine function of a library crate and prints. Exit codes: `probe::protocol::Exit`.

mod cmd;
mod exit;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cmd::Cli::parse();
    exit::run(cli)
}
