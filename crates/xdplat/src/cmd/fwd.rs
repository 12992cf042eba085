//! `xdplat fwd`: the forwarder (host B); the engine is `probe::serve`. Readiness and the end are
//! announced to a parent process as `probe::protocol` events on stderr, beside the lines for
//! people.

use std::time::Duration;

use probe::fwd::FwdConfig;
use probe::protocol::Event;
use probe::serve::{FwdPlan, serve};

use crate::cmd::common::{enter_netns, parse_duration, stop_flag};
use crate::cmd::knobs::{Fwd, KnobArgs, PlaceArgs};
use crate::exit::classify;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub at: PlaceArgs,
    /// Stop after this long (default: until Ctrl-C / SIGTERM).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Write this forwarder's XDP-hook, receive and send times into probes that have room.
    #[arg(long)]
    pub stamp: bool,
    /// Busy-wait this long before sending each packet back (checks the stage breakdown).
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub hold: Duration,
    /// Swap only MAC addresses, like xdpsock l2fwd (default also swaps IPv4 and UDP endpoints).
    #[arg(long)]
    pub mac_only: bool,
    /// Serve queues `--queue`..`--queue + N`, one thread per queue, each pinned to its own CPU
    /// (from `--cpu` on, else from the first CPU this process may use).
    #[arg(long, default_value_t = 1)]
    pub queues: u32,
    /// Where the verifier's log goes when the kernel refuses the XDP program (default: the
    /// temporary directory, in xdplat-fwd-PID/).
    #[arg(long)]
    pub log_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub knobs: KnobArgs<Fwd>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let knobs = args.knobs.knobs;
    let netns = args.at.netns.as_deref();
    let plan = FwdPlan {
        iface: args.at.iface,
        queue: args.at.queue,
        queues: args.queues,
        port: args.at.port,
        knobs,
        cfg: FwdConfig {
            stamp: args.stamp,
            swap_l3: !args.mac_only,
            duration: args.duration,
            hold: args.hold,
        },
    };
    // the values first, then the privileges, then the namespace and the interface (serve)
    probe::check::fwd(&plan.with_batch_within_ring()).map_err(classify)?;
    if let Some(ns) = netns {
        host::netns::validate_name(ns).map_err(classify)?;
    }
    probe::preflight::require_role_caps("xdplat fwd", netns.is_some(), &plan.knobs)
        .map_err(classify)?;
    let _ns = enter_netns(netns)?;
    let stop = stop_flag()?;
    let end = serve(&plan, &stop, &mut |ready| {
        eprint!("{ready}");
        Event::Ready(ready.clone()).announce();
    })
    .map_err(|e| {
        let tmp = std::env::temp_dir().join(format!("xdplat-fwd-{}", std::process::id()));
        crate::exit::classify_keeping_log(e, &crate::exit::log_dir(args.log_dir.as_deref(), &tmp))
    })?;
    eprint!("{end}");
    Event::Stopped(end.clone()).announce();
    println!(
        "fwd: forwarded {} packets in {:.1} s ({} stamped, {} dropped as not IPv4/UDP)",
        end.forwarded,
        end.elapsed_ns as f64 / 1e9,
        end.stamped,
        end.dropped
    );
    Ok(())
}
