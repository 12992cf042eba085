//! `xdplat fwd`: the forwarder (host B).

use std::net::SocketAddrV4;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;
use probe::afxdp::{AfXdpConfig, AfXdpPort};
use probe::fwd::{FwdConfig, FwdOutcome};
use probe::udp::UdpPort;
use probe::{Knobs, MonotonicClock};

use crate::cmd::common::{enter_netns, iface, parse_duration, require_role_caps, stop_flag};
use crate::cmd::knobs::{KnobArgs, PlaceArgs};
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
    #[command(flatten)]
    pub knobs: KnobArgs,
}

/// Everything the forwarder needs, resolved; shared with `demo`.
#[derive(Debug, Clone)]
pub struct FwdPlan {
    pub iface: String,
    pub queue: u32,
    /// Queues served, `queue..queue + queues`, one pinned thread each.
    pub queues: u32,
    pub udp: bool,
    pub port: u16,
    pub knobs: Knobs,
    pub cfg: FwdConfig,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    require_role_caps(
        "xdplat fwd",
        args.at.netns.as_deref(),
        &args.at.backend,
        &args.knobs,
    )?;
    let plan = FwdPlan {
        iface: args.at.iface.clone(),
        queue: args.at.queue,
        queues: args.queues,
        udp: backend_is_udp(&args.at.backend)?,
        port: args.at.port,
        knobs: args.knobs.to_knobs()?,
        cfg: FwdConfig {
            stamp: args.stamp,
            swap_l3: !args.mac_only,
            duration: args.duration,
            hold: args.hold,
        },
    };
    let _ns = enter_netns(args.at.netns.as_deref())?;
    let stop = stop_flag()?;
    let out = serve(&plan, &stop, &mut |ready| eprintln!("{ready}"))?;
    println!(
        "fwd: forwarded {} packets in {:.1} s ({} stamped, {} dropped as not IPv4/UDP)",
        out.forwarded,
        out.elapsed.as_secs_f64(),
        out.stamped,
        out.dropped
    );
    Ok(())
}

pub fn backend_is_udp(backend: &str) -> anyhow::Result<bool> {
    match backend {
        "afxdp" => Ok(false),
        "udp" => Ok(true),
        other => Err(crate::exit::bad_input(format!(
            "invalid --backend {other:?}: expected afxdp or udp"
        ))),
    }
}

/// Opens the port in the current namespace, calls `ready` with a one-line description once
/// packets can flow, and forwards until stopped.
pub fn serve(
    plan: &FwdPlan,
    stop: &AtomicBool,
    ready: &mut dyn FnMut(String),
) -> anyhow::Result<FwdOutcome> {
    let info = iface(&plan.iface)?;
    if plan.queues == 0 || (plan.queues > 1 && plan.udp) {
        return Err(crate::exit::bad_input(format!(
            "invalid --queues {}: at least 1, and more than 1 only with the afxdp backend",
            plan.queues
        )));
    }
    if plan.queues > 1 {
        return serve_queues(plan, &info, stop, ready);
    }
    if let Some(cpu) = plan.knobs.cpu {
        probe::knobs::pin_current_thread(cpu).map_err(classify)?;
    }
    let clock = MonotonicClock;
    if plan.udp {
        let ip = info.ipv4.map(|(ip, _)| ip).ok_or_else(|| {
            crate::exit::bad_input(format!(
                "--iface {} has no IPv4 address for the udp backend",
                plan.iface
            ))
        })?;
        let mut port = UdpPort::bind(
            SocketAddrV4::new(ip, plan.port),
            None,
            plan.knobs.poll,
            plan.knobs.batch,
            clock,
        )
        .map_err(classify)?;
        ready(format!("fwd: udp backend on {ip}:{}", plan.port));
        return probe::fwd::run(&mut port, &clock, &plan.cfg, stop).map_err(classify);
    }
    let cfg = AfXdpConfig {
        ifindex: info.ifindex,
        iface: plan.iface.clone(),
        queue: plan.queue,
        probe_port: plan.port,
        knobs: plan.knobs.clone(),
    };
    let mut port = AfXdpPort::open(&cfg, clock, true).map_err(classify)?;
    let (effective, warnings) = port.effective();
    ready(format!(
        "fwd: afxdp on {} queue {} ({} mode, {} bind, napi id {})",
        plan.iface, plan.queue, effective["xdp_mode"], effective["bind"], effective["napi_id"]
    ));
    for w in &warnings {
        ready(format!("fwd: warning: {w}"));
    }
    let out = probe::fwd::run(&mut port, &clock, &plan.cfg, stop)
        .map_err(classify)
        .with_context(|| format!("fwd on {} queue {}", plan.iface, plan.queue))?;
    // ring trouble (RX ring full, fill ring empty, TX ring empty) shows in the kernel's counters,
    // what the XDP program took (probes) and passed (everything else) in its own, and what the
    // device timestamped in hw_timestamps
    let (effective, at_end) = port.effective();
    for key in ["xdp_statistics", "xdp_program", "hw_timestamps"] {
        if let Some(v) = effective.get(key) {
            ready(format!("fwd: {key} {v}"));
        }
    }
    for w in at_end.iter().filter(|w| !warnings.contains(w)) {
        ready(format!("fwd: warning: {w}"));
    }
    Ok(out)
}

/// The multi-queue forwarder: one pinned thread per queue, one XDP program for all.
fn serve_queues(
    plan: &FwdPlan,
    info: &host::iface::IfaceInfo,
    stop: &AtomicBool,
    ready: &mut dyn FnMut(String),
) -> anyhow::Result<FwdOutcome> {
    let allowed = probe::knobs::allowed_cpus().map_err(classify)?;
    // CPUs in order from --cpu (or the first allowed one), wrapping round
    let start = plan
        .knobs
        .cpu
        .and_then(|c| allowed.iter().position(|&a| a == c))
        .unwrap_or(0);
    let cpus: Vec<usize> = allowed[start..]
        .iter()
        .chain(&allowed[..start])
        .copied()
        .collect();
    let cfg = AfXdpConfig {
        ifindex: info.ifindex,
        iface: plan.iface.clone(),
        queue: plan.queue,
        probe_port: plan.port,
        knobs: Knobs {
            cpu: None,
            ..plan.knobs.clone()
        },
    };
    let mut lines = Vec::new();
    let out = probe::fwd::run_queues(
        &cfg,
        plan.queues,
        &cpus,
        &MonotonicClock,
        &plan.cfg,
        stop,
        &mut |queue, eff, warnings| {
            let cpu = cpus[((queue - plan.queue) as usize) % cpus.len()];
            lines.push(format!(
                "fwd: afxdp on {} queue {queue} on CPU {cpu} ({} mode, {} bind, napi id {})",
                plan.iface, eff["xdp_mode"], eff["bind"], eff["napi_id"]
            ));
            if queue + 1 == plan.queue + plan.queues {
                for w in warnings {
                    lines.push(format!("fwd: warning: {w}"));
                }
                for l in lines.drain(..) {
                    ready(l);
                }
            }
        },
    )
    .map_err(classify)?;
    Ok(out)
}
