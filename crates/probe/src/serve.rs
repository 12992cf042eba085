//! A whole forwarder, as `xdplat fwd` and the benchmarks run it: the port (or one port per queue,
//! each on its own pinned thread) opened on the backend the knobs name, [`Ready`] told once
//! probes can flow, [`crate::fwd::run`] until stopped, and what it did at the end
//! ([`Stopped`]). Runs in the calling thread's network namespace.

use std::net::SocketAddrV4;
use std::sync::atomic::AtomicBool;

use crate::afxdp::{AfXdpConfig, AfXdpPort};
use crate::clock::MonotonicClock;
use crate::error::{Error, Result};
use crate::fwd::{FwdConfig, FwdOutcome};
use crate::knobs::{Backend, Knobs};
use crate::protocol::{Ready, Stopped};
use crate::udp::UdpPort;
use crate::warning::Warning;

/// Everything the forwarder needs, resolved.
#[derive(Debug, Clone)]
pub struct FwdPlan {
    pub iface: String,
    pub queue: u32,
    /// Queues served, `queue..queue + queues`, one pinned thread each.
    pub queues: u32,
    pub port: u16,
    pub knobs: Knobs,
    pub cfg: FwdConfig,
}

impl FwdPlan {
    /// The forwarder's batch is at most that many descriptors per ring operation, so a batch
    /// above the ring size (the default 64 with `--ring-size 32`) is the ring size.
    pub fn with_batch_within_ring(&self) -> FwdPlan {
        let mut plan = self.clone();
        plan.knobs.batch = plan.knobs.batch.min(plan.knobs.ring_size);
        plan
    }

    /// The announcement, before its ports are filled in.
    fn ready(&self) -> Ready {
        Ready {
            backend: self.knobs.backend.to_string(),
            iface: self.iface.clone(),
            queues: Vec::new(),
            address: None,
            warnings: Vec::new(),
        }
    }
}

/// Opens the port(s) in the current namespace, calls `ready` once packets can flow, and
/// forwards until stopped.
pub fn serve(plan: &FwdPlan, stop: &AtomicBool, ready: &mut dyn FnMut(&Ready)) -> Result<Stopped> {
    let plan = &plan.with_batch_within_ring();
    // every check before the first action: values, then the interface (a read)
    crate::check::fwd(plan)?;
    let info = host::iface::info(&plan.iface)?;
    crate::check::fwd_iface(plan, &info)?;
    let udp = plan.knobs.backend == Backend::Udp;
    if plan.queues > 1 {
        return serve_queues(plan, &info, stop, ready);
    }
    if let Some(cpu) = plan.knobs.cpu {
        crate::knobs::pin_current_thread(cpu)?;
    }
    let clock = MonotonicClock;
    crate::clock::source();
    let mut announced = plan.ready();
    if udp {
        let ip = info.ipv4.map(|(ip, _)| ip).ok_or_else(|| {
            Error::Input(format!(
                "--iface {} has no IPv4 address for the udp backend",
                plan.iface
            ))
        })?;
        let local = SocketAddrV4::new(ip, plan.port);
        let busy = plan.knobs.busy_poll.then_some(plan.knobs.busy_poll_usecs);
        let mut port = UdpPort::bind(local, None, plan.knobs.poll, busy, plan.knobs.batch, clock)?;
        announced.address = Some(local.to_string());
        ready(&announced);
        let out = crate::fwd::run(&mut port, &clock, &plan.cfg, stop)?;
        let mut end = stopped(&out);
        end.warnings.extend(stall_warnings(&out));
        return Ok(end);
    }
    let cfg = AfXdpConfig {
        ifindex: info.ifindex,
        iface: plan.iface.clone(),
        queue: plan.queue,
        probe_port: plan.port,
        knobs: plan.knobs.clone(),
    };
    let mut port = AfXdpPort::open(&cfg, clock, true)?;
    let (_, warnings) = port.effective();
    announced.queues.push(port.queue_state(None));
    announced.warnings = warnings.iter().map(ToString::to_string).collect();
    ready(&announced);
    let out = crate::fwd::run(&mut port, &clock, &plan.cfg, stop).map_err(|e| Error::Context {
        what: format!("fwd on {} queue {}", plan.iface, plan.queue),
        source: Box::new(e),
    })?;
    // ring trouble (RX ring full, fill ring empty, TX ring empty) shows in the kernel's counters,
    // what the XDP program took (probes) and passed (everything else) in its own, and what the
    // device timestamped in hw_timestamps
    let (effective, at_end) = port.effective();
    let mut end = stopped(&out);
    for key in ["xdp_statistics", "xdp_program", "hw_timestamps"] {
        if let Some(v) = effective.get(key) {
            end.counters.insert(key.into(), v.clone());
        }
    }
    end.warnings = at_end
        .iter()
        .map(ToString::to_string)
        .filter(|w| !announced.warnings.contains(w))
        .collect();
    end.warnings.extend(stall_warnings(&out));
    Ok(end)
}

/// A forwarder's end; its stalls, if any, in `counters.stalls` (the typed form) and warnings.
fn stopped(out: &FwdOutcome) -> Stopped {
    let mut s = Stopped {
        forwarded: out.forwarded,
        dropped: out.dropped,
        stamped: out.stamped,
        elapsed_ns: out.elapsed.as_nanos() as u64,
        ..Stopped::default()
    };
    s.counters.insert(
        "stalls".into(),
        serde_json::json!({ "seen": out.stalls_seen, "kept": out.stalls }),
    );
    if !out.per_queue.is_empty() {
        let by_queue: serde_json::Map<String, serde_json::Value> = out
            .per_queue
            .iter()
            .map(|(q, n)| (q.to_string(), serde_json::json!(n)))
            .collect();
        s.counters
            .insert("forwarded_by_queue".into(), by_queue.into());
    }
    s
}

fn stall_warnings(out: &FwdOutcome) -> impl Iterator<Item = String> + '_ {
    out.stalls
        .iter()
        .map(|s| Warning::Stall(Box::new(s.clone())).to_string())
}

/// The multi-queue forwarder: one pinned thread per queue, one XDP program for all.
fn serve_queues(
    plan: &FwdPlan,
    info: &host::iface::IfaceInfo,
    stop: &AtomicBool,
    ready: &mut dyn FnMut(&Ready),
) -> Result<Stopped> {
    let allowed = crate::knobs::allowed_cpus()?;
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
    let mut announced = plan.ready();
    let out = crate::fwd::run_queues(
        &cfg,
        plan.queues,
        &cpus,
        &MonotonicClock,
        &plan.cfg,
        stop,
        &mut |queue, state, warnings| {
            let cpu = cpus.get(((queue - plan.queue) as usize) % cpus.len().max(1));
            announced.queues.push(crate::protocol::QueueState {
                cpu: cpu.copied(),
                ..state.clone()
            });
            if queue + 1 == plan.queue + plan.queues {
                announced.warnings = warnings.iter().map(ToString::to_string).collect();
                ready(&announced);
            }
        },
    )?;
    let mut end = stopped(&out);
    end.warnings.extend(stall_warnings(&out));
    Ok(end)
}
