//! The generator/receiver: sends `batch` probes every `interval`, matches replies by sequence
//! number and records, per probe, when it was scheduled, stamped, kicked, completed, seen by the
//! forwarder and received back.
//!
//! Stamps: `tx_ns` is taken while the probe is written into its frame, just before the TX ring
//! is published; `rx_ns` right after the RX ring (or socket) was read. The RTT is
//! `rx_ns - tx_ns`, both from our own records: nothing on the wire is trusted for it. Sending is
//! scheduled from the start time (`sched_ns`), so a stalled sender shows up as lateness instead
//! of hiding latency (coordinated omission).
//!
//! Maximum-rate mode (`interval` zero): batches go back to back while fewer than `window`
//! probes are in flight; one clock read stamps a whole batch (its probes are published in one
//! commit); every RTT goes into the histogram and a raw row is kept for every
//! `sample_every`th probe, so memory does not grow with the packet rate ([`crate::tally`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use results::{PacketCounts, Sample};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::port::{Port, RxInfo};
use crate::stall::{Stall, StallWatch, Waiting};
use crate::tally::{Reply, Tally};

/// Most probes in flight an interval-paced run tracks (slots of the tally's ring).
const PACED_RING: u64 = 1 << 20;

#[derive(Debug, Clone)]
pub struct PingConfig {
    /// The first flow; with `flows` > 1 probe k uses port `flow.dst_port + k % flows` as both
    /// its source and destination port.
    pub flow: wire::FlowRepr,
    /// Flows the probes are spread over (1: all on `flow`).
    pub flows: u32,
    /// Bytes per probe frame (no FCS).
    pub size: usize,
    pub batch: u32,
    pub interval: Duration,
    /// Probes measured, after the warm-up.
    pub count: u64,
    /// Probes sent first and discarded.
    pub warmup: u64,
    /// How long to wait for replies after the last send (and, in a window, before a probe
    /// stops counting as in flight).
    pub linger: Duration,
    /// Reserve room in each probe for the forwarder's stamps.
    pub stamp_room: bool,
    pub run_id: u16,
    /// Most probes in flight (0: no limit).
    pub window: u32,
    /// Keep a raw row for every Nth probe (1: all).
    pub sample_every: u64,
    /// How to wait for the next send while no probe is in flight.
    pub pace: crate::knobs::Pace,
}

impl PingConfig {
    pub fn validate(&self, max_frame: usize) -> Result<()> {
        let min = if self.stamp_room {
            wire::MIN_STAMPED_PROBE_SIZE
        } else {
            wire::MIN_PROBE_SIZE
        };
        if self.size < min {
            let why = if self.stamp_room {
                format!("with forwarder stamps a probe needs at least {min} bytes")
            } else {
                format!("a probe needs at least {min} bytes (the paper's minimum)")
            };
            return Err(Error::config("--size", self.size, why));
        }
        if self.size > max_frame.min(wire::MAX_PROBE_SIZE) {
            return Err(Error::config(
                "--size",
                self.size,
                format!(
                    "larger than a frame can hold ({} bytes); raise --frame-size or lower --size",
                    max_frame.min(wire::MAX_PROBE_SIZE)
                ),
            ));
        }
        if self.count == 0 {
            return Err(Error::config(
                "--count",
                self.count,
                "must send at least one probe",
            ));
        }
        if self.sample_every == 0 {
            return Err(Error::config(
                "--sample-every",
                self.sample_every,
                "must be 1 or more",
            ));
        }
        let total = self.count.saturating_add(self.warmup);
        let max = crate::check::MAX_ROWS;
        if total.div_ceil(self.sample_every) > max {
            return Err(Error::config(
                "--count",
                self.count,
                format!(
                    "at most {max} raw rows per run: raise --sample-every to at least {}",
                    total.div_ceil(max)
                ),
            ));
        }
        Ok(())
    }

    /// Slots of the in-flight ring. A lost probe holds its slot until `linger` has passed, so
    /// the ring is far larger than the window: sending stalls only when a loss is a whole ring
    /// (64 windows, at least 65536 probes) behind.
    fn ring(&self) -> u64 {
        let total = self.count + self.warmup;
        if self.window == 0 {
            total.min(PACED_RING)
        } else {
            (64 * self.window as u64).max(1 << 16).min(total.max(2))
        }
    }
}

/// A once-a-second view of a running ping.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub elapsed: Duration,
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub p50_ns: Option<u64>,
    pub p99_ns: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct PingOutcome {
    /// One row per sampled measured probe (all of them when `sample_every` is 1), warm-up
    /// excluded, in sequence order.
    pub samples: Vec<Sample>,
    /// The RTT of every measured probe that came back (3 significant digits).
    pub rtt_hist: Histogram<u64>,
    pub sample_every: u64,
    pub counts: PacketCounts,
    pub warmup: u64,
    /// Replies that came back so late that their probe's slot had been reused.
    pub late: u64,
    /// Stopped before the end: by the caller's stop flag, or stalled.
    pub interrupted: bool,
    /// Stopped because the window stayed full with no reply for `linger` (peer gone).
    pub stalled: bool,
    /// Work that waited longer than the stall bound, with the rings at that moment.
    pub stalls: Vec<Stall>,
    /// Stalls seen (more than are kept in `stalls`).
    pub stalls_seen: u64,
    pub elapsed: Duration,
    /// Measured replies by the forwarder queue (and NAPI) that turned them around, where the
    /// forwarder said (stamping probes with room for its queue).
    pub fwd_queues: Vec<results::FwdQueueCount>,
}

fn progress_of(t: &Tally, elapsed: Duration, sent: u64) -> Progress {
    let has = !t.hist.is_empty();
    Progress {
        elapsed,
        sent,
        received: t.counts.received,
        lost: sent.saturating_sub(t.counts.received),
        p50_ns: has.then(|| t.hist.value_at_quantile(0.5)),
        p99_ns: has.then(|| t.hist.value_at_quantile(0.99)),
    }
}

/// The flow of probe `seq`: ports `first.dst_port + seq % flows` both ways.
fn flow_of(first: &wire::FlowRepr, flows: u32, seq: u64) -> wire::FlowRepr {
    if flows <= 1 {
        return *first;
    }
    let port = first.dst_port.wrapping_add((seq % u64::from(flows)) as u16);
    wire::FlowRepr {
        src_port: port,
        dst_port: port,
        ..*first
    }
}

fn on_reply(t: &mut Tally, counts_run: u16, pkt: &[u8], info: RxInfo) {
    let parsed = if info.payload_only {
        crate::payload::parse(pkt)
    } else {
        wire::parse_probe(pkt).map(|(_, p)| p)
    };
    let probe = match parsed {
        Ok(p) => p,
        Err(wire::Error::NotProbe { .. }) => {
            t.counts.foreign += 1;
            return;
        }
        Err(_) => {
            t.counts.corrupt += 1;
            return;
        }
    };
    if probe.run_id != counts_run {
        t.counts.foreign += 1;
        return;
    }
    match t.reply(probe.seq, &info, probe.stamps) {
        Reply::Measured(rtt) => {
            if let Some(q) = probe.fwd_queue {
                *t.fwd_queues.entry(q).or_default() += 1;
            }
            crate::trace::ping_rx(probe.seq, info.rx_ns, rtt, info.xdp_ns.unwrap_or(0))
        }
        Reply::Warmup => crate::trace::ping_rx(probe.seq, info.rx_ns, 0, info.xdp_ns.unwrap_or(0)),
        Reply::Duplicate | Reply::Late => {}
        Reply::Unknown => t.counts.foreign += 1,
    }
}

/// Runs a ping to completion (or until `stop` is set) over `port`.
pub fn run<P: Port, C: Clock>(
    port: &mut P,
    clock: &C,
    cfg: &PingConfig,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<PingOutcome> {
    cfg.validate(port.max_frame())?;
    let total = cfg.warmup + cfg.count;
    let mut t = Tally::new(total, cfg.warmup, cfg.sample_every, cfg.ring() as usize)?;
    let stamps = cfg.stamp_room.then(wire::FwdStamps::default);
    let max_rate = cfg.interval.is_zero();
    let window = if cfg.window == 0 {
        u64::MAX
    } else {
        cfg.window as u64
    };
    let mut tags: Vec<u64> = Vec::with_capacity(cfg.batch as usize);
    let start = clock.now_ns();
    let mut next_at = start;
    let mut next_seq = 0u64;
    let mut batch_left = 0u64;
    let mut last_send = start;
    let (mut answered_seen, mut last_reply, mut stalled) = (0u64, start, false);
    let mut next_report = start + 1_000_000_000;
    let mut interrupted = false;
    let linger = cfg.linger.as_nanos() as u64;
    // a stall is seen before the window rule below gives up on the peer
    let bound = crate::stall::BOUND
        .min(cfg.linger / 2)
        .max(Duration::from_millis(1));
    let mut watch = StallWatch::new(bound, start);
    loop {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        let now = clock.now_ns();
        let mut sent_now = 0;
        if next_seq < total && now >= next_at {
            if batch_left == 0 {
                batch_left = (cfg.batch as u64).min(total - next_seq);
            }
            let mut room = t.room().min(window.saturating_sub(t.outstanding()));
            if room < batch_left {
                t.expire(now, linger);
                room = t.room().min(window.saturating_sub(t.outstanding()));
            }
            let n = batch_left.min(room);
            if n > 0 {
                tags.clear();
                tags.extend(next_seq..next_seq + n);
                let sched = next_at;
                // maximum rate: one clock read for the batch, which one commit publishes
                let batch_ns = if max_rate { clock.now_ns() } else { 0 };
                let tally = &mut t;
                let (sent, kick) = port.send(&tags, &mut |i, buf| {
                    let seq = tags[i];
                    let tx_ns = if max_rate { batch_ns } else { clock.now_ns() };
                    let probe = wire::ProbeRepr {
                        run_id: cfg.run_id,
                        seq,
                        tx_ns,
                        stamps,
                        fwd_queue: None,
                    };
                    let flow = flow_of(&cfg.flow, cfg.flows, seq);
                    // sizes were validated against the frame, so emit cannot fail here
                    let _ = wire::emit_probe(&mut buf[..cfg.size], &flow, &probe);
                    tally.sent(seq, tx_ns, sched);
                    crate::trace::ping_tx(seq, tx_ns);
                    cfg.size
                })?;
                if let Some(k) = kick {
                    t.kicked(next_seq, sent as u64, k);
                    crate::trace::ping_kick(next_seq, sent as u64, k);
                }
                next_seq += sent as u64;
                batch_left -= sent as u64;
                sent_now = sent;
                if batch_left == 0 {
                    next_at = if max_rate {
                        now
                    } else {
                        next_at + cfg.interval.as_nanos() as u64
                    };
                }
                if sent > 0 {
                    last_send = now;
                }
            }
        }
        let tally = &mut t;
        // one clock read for all the frames one look at the completion ring finds
        let mut done_ns = None;
        port.completions(&mut |tag, stamp| {
            let now = *done_ns.get_or_insert_with(|| clock.now_ns());
            tally.completed(tag, now, stamp);
            crate::trace::ping_tx_done(tag, now);
        })?;
        let tally = &mut t;
        port.recv(64, &mut |pkt, info| on_reply(tally, cfg.run_id, pkt, info))?;
        let now = clock.now_ns();
        watch.check_port(now, port);
        // probes still to send: a lull in replies after the last send is a loss, not a stall
        let waiting = if next_seq < total { t.outstanding() } else { 0 };
        watch.check(now, Waiting::Replies, waiting, t.answered, &mut || {
            port.rings()
        });
        if next_seq == total && (now >= last_send + linger || t.answered == total) {
            break;
        }
        if t.answered != answered_seen {
            answered_seen = t.answered;
            last_reply = now;
        }
        // a full window with no reply for `linger`: the peer is gone, and sending on would
        // only trickle one window per linger (the slots of expired probes); stop with what was
        // measured. The last reply counts, not the last send: a send into an expired slot is
        // no sign of life.
        if window != u64::MAX && t.outstanding() >= window && now >= last_reply + linger {
            stalled = true;
            interrupted = true;
            break;
        }
        if now >= next_report {
            progress(&progress_of(
                &t,
                Duration::from_nanos(now - start),
                next_seq.saturating_sub(cfg.warmup),
            ));
            next_report += 1_000_000_000;
        }
        // a full window with the next batch due: nothing can be sent before a reply comes (or a
        // probe expires), so a blocking port sleeps in poll() until then instead of spinning
        let window_full = next_seq < total && now >= next_at && t.outstanding() >= window;
        let until = if window_full && port.blocks() {
            now + linger
        } else if next_seq < total {
            next_at
        } else {
            last_send + linger
        };
        let timeout = until.saturating_sub(now).min(100_000_000);
        // at maximum rate a full window or TX ring leaves nothing due: the zero wait still
        // wakes a fill ring that asks for it and drives a busy-polled NAPI, which no send does
        // --pace spin: nothing in flight and a send to come, so the next one is all there is to
        // wait for, on the clock
        let spin = cfg.pace == crate::knobs::Pace::Spin && t.outstanding() == 0 && next_seq < total;
        if !spin && (timeout > 0 || sent_now == 0) {
            port.wait(Duration::from_nanos(timeout))?;
        }
    }
    let end = clock.now_ns();
    let elapsed = Duration::from_nanos(end - start);
    let stalls_seen = watch.seen;
    let stalls = watch.finish(end);
    let warmup = cfg.warmup.min(next_seq);
    let late = t.late;
    let fwd_queues = t
        .fwd_queues
        .iter()
        .map(|(q, n)| results::FwdQueueCount {
            queue: q.queue,
            napi_id: q.napi_id,
            probes: *n,
        })
        .collect();
    let (samples, rtt_hist, counts) = t.into_parts(next_seq);
    Ok(PingOutcome {
        samples,
        rtt_hist,
        sample_every: cfg.sample_every,
        counts,
        warmup,
        late,
        interrupted,
        stalled,
        stalls,
        stalls_seen,
        elapsed,
        fwd_queues,
    })
}

#[cfg(test)]
#[path = "ping_tests.rs"]
mod tests;
