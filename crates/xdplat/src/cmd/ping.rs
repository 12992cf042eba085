//! `xdplat ping`: the generator/receiver (host A). Writes a run directory (DESIGN.md).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;
use probe::afxdp::{AfXdpConfig, AfXdpPort};
use probe::ping::{PingConfig, Progress};
use probe::record::RunFacts;
use probe::udp::UdpPort;
use probe::{Knobs, MonotonicClock};
use serde_json::{Value, json};

use crate::cmd::common::{
    enter_netns, iface, parse_duration, require_role_caps, run_id, stop_flag, us,
};
use crate::cmd::fwd::backend_is_udp;
use crate::cmd::knobs::{KnobArgs, PlaceArgs};
use crate::exit::{bad_input, classify};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub at: PlaceArgs,
    /// The forwarder's IPv4 address.
    #[arg(long)]
    pub dst_ip: Ipv4Addr,
    /// The forwarder's MAC, or `auto` to take it from the kernel's neighbour table.
    #[arg(long, default_value = "auto")]
    pub dst_mac: String,
    /// Bytes per probe frame (64 minimum; 88 with --stamp-room).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Time between batches (0 = back to back).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// How long to send (ignored with --count).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Probes to measure (instead of --duration).
    #[arg(long)]
    pub count: Option<u64>,
    /// Probes sent first and discarded.
    #[arg(long, default_value_t = 0)]
    pub warmup: u64,
    /// How long to wait for replies after the last send.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub linger: Duration,
    /// Reserve room in each probe for forwarder stamps (needs --size 88 or more).
    #[arg(long)]
    pub stamp_room: bool,
    /// Most probes in flight (default: 256 with --interval 0, else no limit).
    #[arg(long)]
    pub window: Option<u32>,
    /// Keep a raw row for every Nth probe only (the RTT statistics still cover every probe,
    /// from a histogram): for maximum-rate runs of millions of probes.
    #[arg(long, default_value_t = 1)]
    pub sample_every: u64,
    /// Repetition number recorded in the summary (sweeps set it).
    #[arg(long, default_value_t = 0)]
    pub repetition: u32,
    /// Run directory to write samples.parquet and summary.json into.
    #[arg(long)]
    pub out: PathBuf,
    /// No per-second progress lines.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub knobs: KnobArgs,
}

/// Everything a ping needs, resolved; shared with `demo`.
#[derive(Debug, Clone)]
pub struct PingPlan {
    pub iface: String,
    pub queue: u32,
    pub dst_ip: Ipv4Addr,
    pub dst_mac: Option<[u8; 6]>,
    pub udp: bool,
    pub port: u16,
    pub size: usize,
    pub interval: Duration,
    pub count: u64,
    pub warmup: u64,
    pub linger: Duration,
    pub stamp_room: bool,
    pub repetition: u32,
    /// Most probes in flight (0: no limit).
    pub window: u32,
    pub sample_every: u64,
    pub knobs: Knobs,
}

/// The default window: bounded at maximum rate, unbounded when paced.
pub fn default_window(interval: Duration) -> u32 {
    if interval.is_zero() { 256 } else { 0 }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    require_role_caps(
        "xdplat ping",
        args.at.netns.as_deref(),
        &args.at.backend,
        &args.knobs,
    )?;
    let knobs = args.knobs.to_knobs()?;
    let count = match args.count {
        Some(n) => n,
        None => count_for(args.duration, args.interval, knobs.batch)?,
    };
    let dst_mac = match args.dst_mac.as_str() {
        "auto" => None,
        s => Some(host::iface::parse_mac("--dst-mac", s).map_err(classify)?),
    };
    let plan = PingPlan {
        iface: args.at.iface.clone(),
        queue: args.at.queue,
        dst_ip: args.dst_ip,
        dst_mac,
        udp: backend_is_udp(&args.at.backend)?,
        port: args.at.port,
        size: args.size,
        interval: args.interval,
        count,
        warmup: args.warmup,
        linger: args.linger,
        stamp_room: args.stamp_room,
        repetition: args.repetition,
        window: args.window.unwrap_or(default_window(args.interval)),
        sample_every: args.sample_every,
        knobs,
    };
    let _ns = enter_netns(args.at.netns.as_deref())?;
    let stop = stop_flag()?;
    let quiet = args.quiet;
    let summary = measure(&plan, &args.out, &stop, &mut |p| {
        if !quiet {
            print_progress(p)
        }
    })?;
    print_summary(&summary, &args.out);
    Ok(())
}

/// Probes for a duration at one batch per interval.
pub fn count_for(duration: Duration, interval: Duration, batch: u32) -> anyhow::Result<u64> {
    if interval.is_zero() {
        return Err(bad_input(
            "--interval 0 needs --count (how many probes to send back to back)",
        ));
    }
    Ok((duration.as_nanos() / interval.as_nanos()).max(1) as u64 * batch as u64)
}

/// Runs the ping in the current namespace and writes the run directory `out`.
pub fn measure(
    plan: &PingPlan,
    out: &Path,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> anyhow::Result<results::Summary> {
    let info = iface(&plan.iface)?;
    let src_ip = info.ipv4.map(|(ip, _)| ip).ok_or_else(|| {
        bad_input(format!(
            "--iface {} has no IPv4 address: give it one (ip addr add)",
            plan.iface
        ))
    })?;
    let dst_mac = match plan.dst_mac {
        Some(m) => m,
        None => host::iface::resolve_mac(&plan.iface, plan.dst_ip).map_err(classify)?,
    };
    let cpus = match plan.knobs.cpu {
        Some(cpu) => Some(probe::knobs::pin_current_thread(cpu).map_err(classify)?),
        None => None,
    };
    let cfg = PingConfig {
        flow: wire::FlowRepr {
            src_mac: wire::MacAddr(info.mac),
            dst_mac: wire::MacAddr(dst_mac),
            src_ip,
            dst_ip: plan.dst_ip,
            src_port: plan.port,
            dst_port: plan.port,
        },
        size: plan.size,
        batch: plan.knobs.batch,
        interval: plan.interval,
        count: plan.count,
        warmup: plan.warmup,
        linger: plan.linger,
        stamp_room: plan.stamp_room,
        run_id: run_id(),
        window: plan.window,
        sample_every: plan.sample_every,
    };
    let clock = MonotonicClock;
    let mut params = plan.knobs.to_params();
    params.insert(
        "backend".into(),
        json!(if plan.udp { "udp" } else { "afxdp" }),
    );
    params.insert("size".into(), json!(plan.size));
    params.insert("interval_ns".into(), json!(plan.interval.as_nanos() as u64));
    params.insert("count".into(), json!(plan.count));
    params.insert("window".into(), json!(plan.window));
    params.insert("sample_every".into(), json!(plan.sample_every));
    params.insert("iface".into(), json!(plan.iface));
    params.insert("queue".into(), json!(plan.queue));
    params.insert("driver".into(), json!(info.driver));
    // refuse to overwrite a finished run: results are never lost
    if out.join(results::SUMMARY_FILE).exists() {
        return Err(bad_input(format!(
            "--out {} already holds a finished run (summary.json): choose another directory",
            out.display()
        )));
    }
    let (outcome, mut effective, warnings) = if plan.udp {
        let mut port = UdpPort::bind(
            SocketAddrV4::new(src_ip, plan.port),
            Some(SocketAddrV4::new(plan.dst_ip, plan.port)),
            plan.knobs.poll,
            plan.knobs.batch,
            clock,
        )
        .map_err(classify)?;
        cfg.validate(probe::Port::max_frame(&port))
            .map_err(classify)?;
        let outcome =
            probe::ping::run(&mut port, &clock, &cfg, stop, progress).map_err(classify)?;
        let eff = json!({ "backend": "udp", "poll": plan.knobs.poll });
        let Value::Object(eff) = eff else {
            unreachable!("object literal")
        };
        (outcome, eff, Vec::new())
    } else {
        let acfg = AfXdpConfig {
            ifindex: info.ifindex,
            iface: plan.iface.clone(),
            queue: plan.queue,
            probe_port: plan.port,
            knobs: plan.knobs.clone(),
        };
        let mut port = AfXdpPort::open(&acfg, clock, false).map_err(classify)?;
        cfg.validate(probe::Port::max_frame(&port))
            .map_err(classify)?;
        let outcome = probe::ping::run(&mut port, &clock, &cfg, stop, progress)
            .map_err(classify)
            .with_context(|| format!("ping on {} queue {}", plan.iface, plan.queue))?;
        let (eff, warnings) = port.effective();
        (outcome, eff, warnings)
    };
    effective.insert("cpus".into(), json!(cpus));
    effective.insert("dst_mac".into(), json!(host::iface::format_mac(&dst_mac)));
    effective.insert("run_id".into(), json!(cfg.run_id));
    let facts = RunFacts {
        params,
        effective,
        warnings,
        repetition: plan.repetition,
    };
    probe::record::write_run(out, &outcome, facts).map_err(classify)
}

/// One progress line; a closed stdout does not stop the measurement (its results still go to the
/// run directory).
fn print_progress(p: &Progress) {
    use std::io::Write;
    let q = |v: Option<u64>| v.map_or("-".to_string(), |ns| us(ns as f64));
    let _ = writeln!(
        std::io::stdout(),
        "{:>4.0}s  sent {:>8}  received {:>8}  lost {:>6}  p50 {:>10}  p99 {:>10}",
        p.elapsed.as_secs_f64(),
        p.sent,
        p.received,
        p.lost,
        q(p.p50_ns),
        q(p.p99_ns)
    );
}

/// The short human summary of a run.
pub fn print_summary(s: &results::Summary, dir: &Path) {
    let p = &s.packets;
    println!(
        "--- {} probes sent, {} received, {} lost, {} duplicates, {} reordered ---",
        p.sent, p.received, p.lost, p.duplicates, p.reordered
    );
    match &s.rtt_ns {
        Some(r) => println!(
            "rtt min {} median {} mean {} p99 {} p99.9 {} max {} (std {})",
            us(r.min),
            us(r.median),
            us(r.mean),
            us(r.p99),
            us(r.p999),
            us(r.max),
            us(r.std)
        ),
        None => println!("rtt: no reply received"),
    }
    for w in &s.warnings {
        println!("warning: {w}");
    }
    println!("run directory: {}", dir.display());
}
