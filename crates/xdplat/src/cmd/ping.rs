//! `xdplat ping`: the generator/receiver (host A). Writes a run directory (DESIGN.md); the
//! engine is `probe::measure`.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use probe::check::count_for;
use probe::measure::{PingPlan, default_window, measure};
use probe::ping::Progress;

use crate::cmd::common::{enter_netns, parse_duration, stop_flag};
use crate::cmd::knobs::{KnobArgs, Ping, PlaceArgs};
use crate::exit::classify;

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
    /// Where the verifier's log goes when the kernel refuses the XDP program (default: --out).
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
    #[command(flatten)]
    pub knobs: KnobArgs<Ping>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let knobs = args.knobs.knobs;
    let netns = args.at.netns.as_deref();
    let count = match args.count {
        Some(n) => n,
        None => count_for(args.duration, args.interval, knobs.batch).map_err(classify)?,
    };
    let dst_mac = match args.dst_mac.as_str() {
        "auto" => None,
        s => Some(host::iface::parse_mac("--dst-mac", s).map_err(classify)?),
    };
    let plan = PingPlan {
        iface: args.at.iface,
        queue: args.at.queue,
        dst_ip: args.dst_ip,
        dst_mac,
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
    // the values first (exit 2 whoever runs it), then the privileges, then the namespace, the
    // interface and --out (measure checks those before it touches anything)
    probe::check::ping(&plan).map_err(classify)?;
    if let Some(ns) = netns {
        host::netns::validate_name(ns).map_err(classify)?;
    }
    probe::preflight::require_role_caps("xdplat ping", netns.is_some(), &plan.knobs)
        .map_err(classify)?;
    let _ns = enter_netns(netns)?;
    let stop = stop_flag()?;
    let quiet = args.quiet;
    let summary = measure(&plan, &args.out, &stop, &mut |p| {
        if !quiet {
            print_progress(p)
        }
    })
    .map_err(|e| {
        let dir = crate::exit::log_dir(args.log_dir.as_deref(), &args.out);
        crate::exit::classify_keeping_log(e, &dir)
    })?;
    print_summary(&summary, &args.out);
    Ok(())
}

/// One progress line; a closed stdout does not stop the measurement (its results still go to the
/// run directory).
fn print_progress(p: &Progress) {
    use std::io::Write;
    let q = |v: Option<u64>| v.map_or("-".to_string(), |ns| results::us(ns as f64));
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
    use results::us;
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
    if !s.fwd_queues.is_empty() {
        let each: Vec<String> = s
            .fwd_queues
            .iter()
            .map(|q| format!("queue {} (napi {}) {}", q.queue, q.napi_id, q.probes))
            .collect();
        println!("forwarder queues: {}", each.join(", "));
    }
    for w in &s.warnings {
        println!("warning: {w}");
    }
    println!("run directory: {}", dir.display());
}
