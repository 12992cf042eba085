//! The forwarder: sends every probe back out of the port it came in on, swapping MAC addresses
//! (and, by default, IPv4 addresses and UDP ports, so the reply is a valid packet for the
//! sender's kernel too), optionally stamping when it saw and resent the probe.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use std::sync::Arc;

use crate::afxdp::{AfXdpConfig, AfXdpPort};
use crate::clock::Clock;
use crate::error::Result;
use crate::port::{Port, RxInfo};
use crate::protocol::QueueState;
use crate::stall::{Stall, StallWatch};
use crate::udp::UdpPort;
use crate::warning::Warning;

#[derive(Debug, Clone)]
pub struct FwdConfig {
    /// Write the forwarder stamps into probes that reserved room for them.
    pub stamp: bool,
    /// Swap IPv4 addresses and UDP ports as well as MACs.
    pub swap_l3: bool,
    /// Stop after this long (None: until stopped).
    pub duration: Option<Duration>,
    /// Busy-wait this long after reading each packet before sending it back (a known delay
    /// for checking the stage breakdown's accuracy).
    pub hold: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct FwdOutcome {
    pub forwarded: u64,
    pub dropped: u64,
    pub stamped: u64,
    pub elapsed: Duration,
    /// TX work that waited longer than the stall bound, with the rings at that moment.
    pub stalls: Vec<Stall>,
    /// Stalls seen (more than are kept in `stalls`).
    pub stalls_seen: u64,
    /// Packets forwarded by each queue, `(queue, forwarded)` (the multi-queue forwarder).
    pub per_queue: Vec<(u32, u64)>,
}

/// A port that can turn received packets around.
pub trait Forward: Port {
    fn forward(&mut self, f: &mut dyn FnMut(&mut [u8], RxInfo) -> bool) -> Result<u32>;
}

impl<C: Clock> Forward for AfXdpPort<C> {
    fn forward(&mut self, f: &mut dyn FnMut(&mut [u8], RxInfo) -> bool) -> Result<u32> {
        AfXdpPort::forward(self, f)
    }
}

impl<C: Clock> Forward for UdpPort<C> {
    fn forward(&mut self, f: &mut dyn FnMut(&mut [u8], RxInfo) -> bool) -> Result<u32> {
        UdpPort::forward(self, f)
    }
}

/// Forwards until `stop` is set or the duration ends.
pub fn run<F: Forward, C: Clock>(
    port: &mut F,
    clock: &C,
    cfg: &FwdConfig,
    stop: &AtomicBool,
) -> Result<FwdOutcome> {
    let start = clock.now_ns();
    let end = cfg.duration.map(|d| start + d.as_nanos() as u64);
    let mut out = FwdOutcome::default();
    let mut check = 0u32;
    let hold_ns = cfg.hold.as_nanos() as u64;
    let blocks = port.blocks();
    let mut left = 1_000_000u64;
    let mut watch = StallWatch::new(crate::stall::BOUND, start);
    loop {
        let n = port.forward(&mut |pkt, info| {
            crate::trace::fwd_rx(info.rx_ns, info.xdp_ns.unwrap_or(0));
            let ok = if info.payload_only {
                true
            } else {
                wire::reflect_in_place(pkt, cfg.swap_l3).is_ok()
            };
            if !ok {
                out.dropped += 1;
                return false;
            }
            if hold_ns > 0 {
                let until = clock.now_ns() + hold_ns;
                while clock.now_ns() < until {
                    std::hint::spin_loop();
                }
            }
            if cfg.stamp {
                let stamps = wire::FwdStamps {
                    xdp_ns: info.xdp_ns.unwrap_or(0),
                    rx_ns: info.rx_ns,
                    tx_ns: clock.now_ns(),
                };
                let stamped = if info.payload_only {
                    crate::payload::stamp(pkt, &stamps)
                } else {
                    wire::stamp_forwarder_queue(pkt, &stamps, info.queue)
                };
                if stamped.unwrap_or(false) {
                    out.stamped += 1;
                }
                crate::trace::fwd_tx(stamps.tx_ns);
            }
            true
        })?;
        out.forwarded += n as u64;
        // the clock and the stop flag are looked at every 64 rounds, idle or busy, when the
        // port spins (a clock read costs more than a look at the rings), every round when it
        // blocks in poll()
        check = check.wrapping_add(1);
        if blocks || check.is_multiple_of(64) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let now = clock.now_ns();
            watch.check_port(now, port);
            if end.is_some_and(|e| now >= e) {
                break;
            }
            left = end.map_or(100_000_000, |e| e.saturating_sub(now).min(100_000_000));
        }
        if n == 0 {
            port.wait(Duration::from_nanos(left.max(1)))?;
        }
    }
    let now = clock.now_ns();
    out.elapsed = Duration::from_nanos(now - start);
    out.stalls_seen = watch.seen;
    out.stalls = watch.finish(now);
    Ok(out)
}

/// Told, per queue, its port's state and its warnings.
pub type QueueReady<'a> = dyn FnMut(u32, &QueueState, &[Warning]) + 'a;

/// The multi-queue forwarder: one AF_XDP port per queue `first..first + queues` (sharing one
/// XDP program), each served by its own thread pinned to `cpus[i % cpus.len()]` (unpinned when
/// `cpus` is empty). `ready` gets each port's state and warnings as it opens. Returns the sum
/// over queues.
pub fn run_queues<C: Clock + Clone + Send + Sync>(
    cfg: &AfXdpConfig,
    queues: u32,
    cpus: &[usize],
    clock: &C,
    fwd: &FwdConfig,
    stop: &AtomicBool,
    ready: &mut QueueReady<'_>,
) -> Result<FwdOutcome> {
    let prog = AfXdpPort::<C>::attach_program(cfg)?;
    let mut ports = Vec::with_capacity(queues as usize);
    for i in 0..queues {
        let qcfg = AfXdpConfig {
            queue: cfg.queue + i,
            ..cfg.clone()
        };
        let port = AfXdpPort::open_with(&qcfg, clock.clone(), true, Arc::clone(&prog))?;
        let (_, warnings) = port.effective();
        ready(qcfg.queue, &port.queue_state(None), &warnings);
        ports.push(port);
    }
    let outcomes: Vec<Result<FwdOutcome>> = std::thread::scope(|s| {
        let handles: Vec<_> = ports
            .into_iter()
            .enumerate()
            .map(|(i, mut port)| {
                let cpu = (!cpus.is_empty()).then(|| cpus[i % cpus.len()]);
                s.spawn(move || -> Result<FwdOutcome> {
                    if let Some(cpu) = cpu {
                        crate::knobs::pin_current_thread(cpu)?;
                    }
                    let r = run(&mut port, clock, fwd, stop);
                    if r.is_err() {
                        // one queue failing stops them all
                        stop.store(true, Ordering::Relaxed);
                    }
                    r
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut total = FwdOutcome::default();
    for (i, o) in outcomes.into_iter().enumerate() {
        let o = o?;
        total.per_queue.push((cfg.queue + i as u32, o.forwarded));
        total.forwarded += o.forwarded;
        total.dropped += o.dropped;
        total.stamped += o.stamped;
        total.elapsed = total.elapsed.max(o.elapsed);
        total.stalls_seen += o.stalls_seen;
        total.stalls.extend(o.stalls);
    }
    Ok(total)
}

#[cfg(test)]
#[path = "fwd_tests.rs"]
mod tests;
