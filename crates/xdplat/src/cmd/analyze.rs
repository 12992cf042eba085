//! `xdplat analyze`: placeholder until the analysis issue lands.

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("analyze is not implemented yet")
}
