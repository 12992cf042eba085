//! The generator/receiver: sends `batch` probes every `interval`, matches replies by sequence
//! number and records, per probe, when it was scheduled, stamped, kicked, completed, seen by the
//! forwarder and received back.
//!
//! Stamps: `tx_ns` is taken while the probe is written into its frame, just before the TX ring
//! is published; `rx_ns` right after the RX ring (or socket) was read. The RTT is
//! `rx_ns - tx_ns`, both from our own records: nothing on the wire is trusted for it. Sending is
//! scheduled from the start time (`sched_ns`), so a stalled sender shows up as lateness instead
//! of hiding latency (coordinated omission).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use results::{PacketCounts, Sample};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::port::{Port, RxInfo};

/// Largest number of probes one run keeps rows for.
pub const MAX_RECORDED: u64 = 50_000_000;

#[derive(Debug, Clone)]
pub struct PingConfig {
    pub flow: wire::FlowRepr,
    /// Bytes per probe frame (no FCS).
    pub size: usize,
    pub batch: u32,
    pub interval: Duration,
    /// Probes measured, after the warm-up.
    pub count: u64,
    /// Probes sent first and discarded.
    pub warmup: u64,
    /// How long to wait for replies after the last send.
    pub linger: Duration,
    /// Reserve room in each probe for the forwarder's stamps.
    pub stamp_room: bool,
    pub run_id: u16,
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
        if self.count + self.warmup > MAX_RECORDED {
            return Err(Error::config(
                "--count",
                self.count,
                format!("at most {MAX_RECORDED} probes per run"),
            ));
        }
        Ok(())
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
    /// One row per measured probe (warm-up excluded), in sequence order.
    pub samples: Vec<Sample>,
    pub counts: PacketCounts,
    pub warmup: u64,
    /// Stopped by the caller's stop flag before the end.
    pub interrupted: bool,
    pub elapsed: Duration,
}

struct State<'c> {
    cfg: &'c PingConfig,
    rows: Vec<Sample>,
    seen: Vec<u8>,
    hist: Histogram<u64>,
    received: u64,
    max_rx_seq: Option<u64>,
    counts: PacketCounts,
}

impl State<'_> {
    fn on_reply(&mut self, pkt: &[u8], info: RxInfo) {
        let parsed = if info.payload_only {
            crate::payload::parse(pkt)
        } else {
            wire::parse_probe(pkt).map(|(_, p)| p)
        };
        let probe = match parsed {
            Ok(p) => p,
            Err(wire::Error::NotProbe { .. }) => {
                self.counts.foreign += 1;
                return;
            }
            Err(_) => {
                self.counts.corrupt += 1;
                return;
            }
        };
        let total = self.rows.len() as u64;
        if probe.run_id != self.cfg.run_id
            || probe.seq >= total
            || self.rows[probe.seq as usize].tx_ns == 0
        {
            self.counts.foreign += 1;
            return;
        }
        let seq = probe.seq as usize;
        self.seen[seq] = self.seen[seq].saturating_add(1);
        let measured = probe.seq >= self.cfg.warmup;
        if self.seen[seq] > 1 {
            if measured {
                self.counts.duplicates += 1;
            }
            return;
        }
        if measured {
            if self.max_rx_seq.is_some_and(|m| probe.seq < m) {
                self.counts.reordered += 1;
            }
            self.received += 1;
        }
        self.max_rx_seq = Some(self.max_rx_seq.map_or(probe.seq, |m| m.max(probe.seq)));
        let row = &mut self.rows[seq];
        let rtt = info.rx_ns as i64 - row.tx_ns;
        row.rx_ns = Some(info.rx_ns as i64);
        row.rtt_ns = Some(rtt);
        row.xdp_ns = info.xdp_ns.map(|v| v as i64);
        crate::trace::ping_rx(probe.seq, info.rx_ns, rtt, info.xdp_ns.unwrap_or(0));
        if let Some(s) = probe.stamps.filter(|s| s.rx_ns != 0) {
            row.fwd_xdp_ns = (s.xdp_ns != 0).then_some(s.xdp_ns as i64);
            row.fwd_rx_ns = Some(s.rx_ns as i64);
            row.fwd_tx_ns = (s.tx_ns != 0).then_some(s.tx_ns as i64);
        }
        if measured && rtt >= 0 {
            let _ = self.hist.record(rtt as u64);
        }
    }

    fn progress(&self, elapsed: Duration, sent: u64) -> Progress {
        let has = !self.hist.is_empty();
        Progress {
            elapsed,
            sent,
            received: self.received,
            lost: sent.saturating_sub(self.received),
            p50_ns: has.then(|| self.hist.value_at_quantile(0.5)),
            p99_ns: has.then(|| self.hist.value_at_quantile(0.99)),
        }
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
    let mut st = State {
        cfg,
        rows: (0..total)
            .map(|seq| Sample {
                seq,
                ..Default::default()
            })
            .collect(),
        seen: vec![0; total as usize],
        hist: Histogram::new(3).map_err(|e| Error::config("histogram", 3, e.to_string()))?,
        received: 0,
        max_rx_seq: None,
        counts: PacketCounts::default(),
    };
    let stamps = cfg.stamp_room.then(wire::FwdStamps::default);
    let mut tags: Vec<u64> = Vec::with_capacity(cfg.batch as usize);
    let start = clock.now_ns();
    let mut next_at = start;
    let mut next_seq = 0u64;
    let mut batch_left = 0u64;
    let mut last_send = start;
    let mut next_report = start + 1_000_000_000;
    let mut interrupted = false;
    let linger = cfg.linger.as_nanos() as u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        let now = clock.now_ns();
        if next_seq < total && now >= next_at {
            if batch_left == 0 {
                batch_left = (cfg.batch as u64).min(total - next_seq);
            }
            tags.clear();
            tags.extend(next_seq..next_seq + batch_left);
            let sched = next_at as i64;
            let rows = &mut st.rows;
            let (sent, kick) = port.send(&tags, &mut |i, buf| {
                let seq = tags[i];
                let tx_ns = clock.now_ns();
                let probe = wire::ProbeRepr {
                    run_id: cfg.run_id,
                    seq,
                    tx_ns,
                    stamps,
                };
                // sizes were validated against the frame, so emit cannot fail here
                let _ = wire::emit_probe(&mut buf[..cfg.size], &cfg.flow, &probe);
                let row = &mut rows[seq as usize];
                row.tx_ns = tx_ns as i64;
                row.sched_ns = Some(sched);
                crate::trace::ping_tx(seq, tx_ns);
                cfg.size
            })?;
            for seq in next_seq..next_seq + sent as u64 {
                st.rows[seq as usize].kick_ns = kick.map(|k| k as i64);
            }
            if let Some(k) = kick {
                crate::trace::ping_kick(next_seq, sent as u64, k);
            }
            next_seq += sent as u64;
            batch_left -= sent as u64;
            if batch_left == 0 {
                next_at = if cfg.interval.is_zero() {
                    now
                } else {
                    next_at + cfg.interval.as_nanos() as u64
                };
            }
            last_send = now;
        }
        let rows = &mut st.rows;
        port.completions(&mut |tag| {
            if let Some(row) = rows.get_mut(tag as usize) {
                let now = clock.now_ns();
                row.tx_done_ns = Some(now as i64);
                crate::trace::ping_tx_done(tag, now);
            }
        })?;
        port.recv(64, &mut |pkt, info| st.on_reply(pkt, info))?;
        let now = clock.now_ns();
        let all_back = st.seen.iter().filter(|&&c| c > 0).count() as u64 == total;
        if next_seq == total
            && (now >= last_send + linger || (st.received == cfg.count && all_back))
        {
            break;
        }
        if now >= next_report {
            progress(&st.progress(
                Duration::from_nanos(now - start),
                next_seq.saturating_sub(cfg.warmup),
            ));
            next_report += 1_000_000_000;
        }
        let until = if next_seq < total {
            next_at
        } else {
            last_send + linger
        };
        let timeout = until.saturating_sub(now).min(100_000_000);
        if timeout > 0 {
            port.wait(Duration::from_nanos(timeout))?;
        }
    }
    let elapsed = Duration::from_nanos(clock.now_ns() - start);
    let sent = next_seq.saturating_sub(cfg.warmup);
    st.counts.sent = sent;
    st.counts.received = st.received;
    st.counts.lost = sent - st.received;
    let warmup = cfg.warmup.min(next_seq);
    let mut samples = st.rows;
    samples.truncate(next_seq as usize);
    samples.drain(..warmup as usize);
    Ok(PingOutcome {
        samples,
        counts: st.counts,
        warmup,
        interrupted,
        elapsed,
    })
}
