//! A whole ping, as `xdplat ping` and the benchmarks run it: the plan resolved against the
//! interface (addresses, the peer's MAC), the thread pinned, the port opened on the backend the
//! knobs name, [`crate::ping::run`] driven to the end, and the run directory written. Runs in the
//! calling thread's network namespace.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::afxdp::{AfXdpConfig, AfXdpPort};
use crate::clock::MonotonicClock;
use crate::error::{Error, Result};
use crate::knobs::{Backend, Knobs};
use crate::ping::{PingConfig, PingOutcome, Progress};
use crate::record::RunFacts;
use crate::sources::Asked;
use crate::udp::UdpPort;
use crate::warning::Warning;

/// Everything a ping needs, resolved.
#[derive(Debug, Clone)]
pub struct PingPlan {
    pub iface: String,
    pub queue: u32,
    pub dst_ip: Ipv4Addr,
    /// None: from the kernel's neighbour table.
    pub dst_mac: Option<[u8; 6]>,
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

/// Probes for a duration at one batch per interval ([`crate::check::count_for`]).
pub use crate::check::count_for;

/// A run id that differs between runs, so stale replies of an earlier run are not matched.
pub fn run_id() -> u16 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (t ^ std::process::id().rotate_left(7)) as u16
}

impl PingPlan {
    /// The summary's `params`: the knobs, then what the probing was.
    fn params(&self, driver: Option<&str>) -> Map<String, Value> {
        let mut params = self.knobs.to_params();
        params.insert("size".into(), json!(self.size));
        params.insert("interval_ns".into(), json!(self.interval.as_nanos() as u64));
        params.insert("count".into(), json!(self.count));
        params.insert("window".into(), json!(self.window));
        params.insert("sample_every".into(), json!(self.sample_every));
        params.insert("iface".into(), json!(self.iface));
        params.insert("queue".into(), json!(self.queue));
        params.insert("driver".into(), json!(driver));
        params
    }
}

/// Runs the ping in the current namespace and writes the run directory `out`.
pub fn measure(
    plan: &PingPlan,
    out: &Path,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<results::Summary> {
    // every check before the first action: values, the interface (a read), the run directory
    crate::check::ping(plan)?;
    let info = host::iface::info(&plan.iface)?;
    let src_ip = crate::check::ping_iface(plan, &info)?;
    crate::check::out_dir(out)?;
    // the neighbour lookup may send an ARP request: the first network action
    let dst_mac = match plan.dst_mac {
        Some(m) => m,
        None => host::iface::resolve_mac(&plan.iface, plan.dst_ip)?,
    };
    let cpus = match plan.knobs.cpu {
        Some(cpu) => Some(crate::knobs::pin_current_thread(cpu)?),
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
        pace: plan.knobs.pace,
        flows: plan.knobs.flows,
    };
    let params = plan.params(info.driver.as_deref());
    // the clock source decided (the TSC calibrated) before the first stamp
    let stamp_clock = crate::clock::source().describe();
    let (outcome, mut effective, warnings, asked) = match plan.knobs.backend {
        Backend::Udp => over_udp(plan, &cfg, src_ip, stop, progress)?,
        Backend::Afxdp => over_afxdp(plan, &cfg, info.ifindex, stop, progress)?,
    };
    effective.insert("cpus".into(), json!(cpus));
    effective.insert("stamp_clock".into(), json!(stamp_clock));
    effective.insert("dst_mac".into(), json!(host::iface::format_mac(&dst_mac)));
    effective.insert("run_id".into(), json!(cfg.run_id));
    let facts = RunFacts {
        params,
        effective,
        warnings,
        repetition: plan.repetition,
        asked,
    };
    crate::record::write_run(out, &outcome, facts)
}

type Ran = (PingOutcome, Map<String, Value>, Vec<Warning>, Asked);

fn over_udp(
    plan: &PingPlan,
    cfg: &PingConfig,
    src_ip: Ipv4Addr,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Ran> {
    let clock = MonotonicClock;
    let mut port = UdpPort::bind(
        SocketAddrV4::new(src_ip, plan.port),
        Some(SocketAddrV4::new(plan.dst_ip, plan.port)),
        plan.knobs.poll,
        plan.knobs.busy_poll.then_some(plan.knobs.busy_poll_usecs),
        plan.knobs.batch,
        clock,
    )?;
    cfg.validate(crate::Port::max_frame(&port))?;
    let outcome = crate::ping::run(&mut port, &clock, cfg, stop, progress)?;
    let (eff, warnings) = port.effective();
    let asked = Asked {
        udp: true,
        hw: plan.knobs.hw_timestamps,
        ..Asked::default()
    };
    Ok((outcome, eff, warnings, asked))
}

fn over_afxdp(
    plan: &PingPlan,
    cfg: &PingConfig,
    ifindex: u32,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Ran> {
    let clock = MonotonicClock;
    let acfg = AfXdpConfig {
        ifindex,
        iface: plan.iface.clone(),
        queue: plan.queue,
        probe_port: plan.port,
        knobs: plan.knobs.clone(),
    };
    let mut port = AfXdpPort::open(&acfg, clock, false)?;
    cfg.validate(crate::Port::max_frame(&port))?;
    let outcome =
        crate::ping::run(&mut port, &clock, cfg, stop, progress).map_err(|e| Error::Context {
            what: format!("ping on {} queue {}", plan.iface, plan.queue),
            source: Box::new(e),
        })?;
    let (eff, warnings) = port.effective();
    let asked = Asked {
        udp: false,
        hw: plan.knobs.hw_timestamps,
        zero_copy: port.zero_copy(),
        tx_off: port.tx_stamps_off(),
    };
    Ok((outcome, eff, warnings, asked))
}
