//! `xdplat doctor`: what this machine and its interfaces can and cannot do for AF_XDP latency
//! measurements, and what each gap means for a result (the engine: `probe::doctor`). A report: it
//! exits 0 whatever is missing, 2 only for a bad `--iface`/`--netns`.

use crate::cmd::common::enter_netns;
use crate::exit::classify;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Network namespace whose interfaces to examine.
    #[arg(long)]
    pub netns: Option<String>,
    /// Examine this interface only, and try XDP attach and AF_XDP binds on it.
    #[arg(long)]
    pub iface: Option<String>,
    /// Queue for the AF_XDP bind tries.
    #[arg(long, default_value_t = 0)]
    pub queue: u32,
    /// Read only: no attach or bind tries (a drv-mode attach resets the rings of some NICs).
    #[arg(long)]
    pub passive: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let _ns = enter_netns(args.netns.as_deref())?;
    let report = probe::doctor::run(&probe::doctor::Options {
        netns: args.netns,
        iface: args.iface,
        queue: args.queue,
        passive: args.passive,
    })
    .map_err(classify)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}
