//! Per-probe bookkeeping of a ping in memory bounded by the probes in flight, not by the run:
//! a ring of in-flight slots (send stamp, state) decides matches, duplicates and loss exactly;
//! every measured RTT goes into an HDR histogram ([`crate::hist`]); a raw row is kept for every Nth probe only
//! (`--sample-every N`; N = 1 keeps them all, as an interval-paced run does by default).
//!
//! This is also what `timestamp_cost` benchmarks: the per-packet work between the two clock reads.

use hdrhistogram::Histogram;
use results::{PacketCounts, Sample};

use crate::error::{Error, Result};
use crate::hist::RttHist;
use crate::port::{RxInfo, TxStamp};

/// Rows added to the raw-row buffer at a time.
const ROW_STEP: usize = 1 << 16;

/// Largest RTT the histogram holds (60 s); larger ones are clamped to it.
pub const HIST_MAX_NS: u64 = 60_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Empty,
    InFlight,
    Answered,
    /// Timed out (released from the window); a late reply still counts as received.
    Expired,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    seq: u64,
    tx_ns: u64,
    state: State,
    sampled: bool,
}

/// What a reply turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// First reply of a measured probe, with its RTT.
    Measured(i64),
    /// First reply of a warm-up probe.
    Warmup,
    Duplicate,
    /// So old that its probe's slot was reused (counted in `late`; the probe counts as lost).
    Late,
    /// No probe of ours with that sequence number was sent.
    Unknown,
}

#[derive(Debug, Clone)]
pub struct Tally {
    ring: Vec<Slot>,
    mask: u64,
    /// Raw rows of sampled probes, row `i` for sequence number `i * every`, added as probes are
    /// sent (never all up front: a long run stopped early holds only what it sent).
    rows: Vec<Sample>,
    /// Rows the whole run keeps, for growing `rows` in steps.
    rows_total: usize,
    every: u64,
    until_sample: u64,
    warmup: u64,
    pub hist: RttHist,
    pub counts: PacketCounts,
    /// Distinct probes answered (warm-up included).
    pub answered: u64,
    /// Probes no longer in the window: answered or timed out.
    released: u64,
    /// Lowest sequence number not yet released.
    oldest: u64,
    sent: u64,
    /// One past the highest sequence number answered (0: none yet).
    rx_seq_end: u64,
    /// Replies too old to be matched (their slot was reused).
    pub late: u64,
    /// Measured replies by the forwarder's queue, where the forwarder wrote it.
    pub fwd_queues: std::collections::BTreeMap<wire::FwdQueue, u64>,
}

impl Tally {
    /// `total` probes (warm-up included), a row for every `every`th, and room for `ring`
    /// (rounded up to a power of two) probes in flight.
    pub fn new(total: u64, warmup: u64, every: u64, ring: usize) -> Result<Self> {
        if every == 0 {
            return Err(Error::config("--sample-every", every, "must be 1 or more"));
        }
        let size = ring.max(2).next_power_of_two();
        let rows_total = usize::try_from(total.div_ceil(every))
            .map_err(|_| Error::config("--count", total, "too many raw rows"))?;
        Ok(Tally {
            ring: vec![Slot::default(); size],
            mask: size as u64 - 1,
            rows: Vec::new(),
            rows_total,
            every,
            until_sample: 0,
            warmup,
            hist: RttHist::new(HIST_MAX_NS),
            counts: PacketCounts::default(),
            answered: 0,
            released: 0,
            oldest: 0,
            sent: 0,
            rx_seq_end: 0,
            late: 0,
            fwd_queues: std::collections::BTreeMap::new(),
        })
    }

    pub fn ring_size(&self) -> u64 {
        self.mask + 1
    }

    /// Probes sent and neither answered nor timed out.
    pub fn outstanding(&self) -> u64 {
        self.sent - self.released
    }

    /// How many more probes may be sent before a slot still in flight would be reused.
    pub fn room(&self) -> u64 {
        (self.oldest + self.ring_size()) - self.sent
    }

    fn row(&mut self, seq: u64) -> &mut Sample {
        &mut self.rows[(seq / self.every) as usize]
    }

    /// Probe `seq` (the next in order) was written with send stamp `tx_ns`.
    #[inline]
    pub fn sent(&mut self, seq: u64, tx_ns: u64, sched_ns: u64) {
        debug_assert_eq!(seq, self.sent, "probes are sent in order");
        let sampled = self.until_sample == 0;
        self.until_sample = if sampled {
            self.every - 1
        } else {
            self.until_sample - 1
        };
        self.ring[(seq & self.mask) as usize] = Slot {
            seq,
            tx_ns,
            state: State::InFlight,
            sampled,
        };
        self.sent = seq + 1;
        if sampled {
            if self.rows.len() == self.rows.capacity() {
                // grow by a bounded step: no doubling past what the run needs
                let left = self.rows_total.saturating_sub(self.rows.len()).max(1);
                self.rows.reserve_exact(left.min(ROW_STEP));
            }
            self.rows.push(Sample {
                seq,
                tx_ns: tx_ns as i64,
                sched_ns: Some(sched_ns as i64),
                ..Default::default()
            });
        }
    }

    /// The batch `first..first + n` was kicked; the kick returned at `kick_ns`.
    pub fn kicked(&mut self, first: u64, n: u64, kick_ns: u64) {
        let start = first.div_ceil(self.every) * self.every;
        let mut seq = start;
        while seq < first + n {
            self.row(seq).kick_ns = Some(kick_ns as i64);
            seq += self.every;
        }
    }

    /// Probe `seq`'s frame came back on the completion ring at `ns`, with the kernel's TX
    /// timestamp if it wrote one.
    pub fn completed(&mut self, seq: u64, ns: u64, stamp: Option<TxStamp>) {
        if seq.is_multiple_of(self.every) && seq < self.sent {
            let row = self.row(seq);
            row.tx_done_ns = Some(ns as i64);
            match stamp {
                Some(TxStamp::Software(t)) => row.tx_stack_ns = Some(t as i64),
                Some(TxStamp::Hardware(t)) => row.tx_hw_ns = Some(t as i64),
                None => {}
            }
        }
    }

    /// A reply to probe `seq` was read at `rx_ns`.
    #[inline]
    pub fn reply(&mut self, seq: u64, info: &RxInfo, stamps: Option<wire::FwdStamps>) -> Reply {
        let rx_ns = info.rx_ns;
        let slot = &mut self.ring[(seq & self.mask) as usize];
        if seq >= self.sent || slot.seq != seq || slot.state == State::Empty {
            if seq < self.sent {
                self.late += 1;
                return Reply::Late;
            }
            return Reply::Unknown;
        }
        let measured = seq >= self.warmup;
        match slot.state {
            State::Answered => {
                if measured {
                    self.counts.duplicates += 1;
                }
                return Reply::Duplicate;
            }
            State::InFlight => self.released += 1,
            State::Expired | State::Empty => {}
        }
        slot.state = State::Answered;
        let rtt = rx_ns as i64 - slot.tx_ns as i64;
        let sampled = slot.sampled;
        self.answered += 1;
        if measured {
            if seq + 1 < self.rx_seq_end {
                self.counts.reordered += 1;
            }
            self.counts.received += 1;
            if rtt >= 0 {
                self.hist.record(rtt as u64);
            }
        }
        self.rx_seq_end = self.rx_seq_end.max(seq + 1);
        if sampled {
            let row = self.row(seq);
            row.rx_ns = Some(rx_ns as i64);
            row.rtt_ns = Some(rtt);
            row.xdp_ns = info.xdp_ns.map(|v| v as i64);
            row.rx_hw_ns = info.hw_rx_ns.map(|v| v as i64);
            if let Some(s) = stamps.filter(|s| s.rx_ns != 0) {
                row.fwd_xdp_ns = (s.xdp_ns != 0).then_some(s.xdp_ns as i64);
                row.fwd_rx_ns = Some(s.rx_ns as i64);
                row.fwd_tx_ns = (s.tx_ns != 0).then_some(s.tx_ns as i64);
            }
        }
        if measured {
            Reply::Measured(rtt)
        } else {
            Reply::Warmup
        }
    }

    /// Releases from the window the probes sent before `now - timeout` that are still
    /// unanswered (they stay unanswered for the loss count unless a reply comes later).
    pub fn expire(&mut self, now: u64, timeout: u64) {
        while self.oldest < self.sent {
            let slot = &mut self.ring[(self.oldest & self.mask) as usize];
            if slot.state == State::InFlight {
                if now.saturating_sub(slot.tx_ns) < timeout {
                    break;
                }
                slot.state = State::Expired;
                self.released += 1;
            }
            self.oldest += 1;
        }
    }

    /// The rows of the measured probes that were sampled (warm-up dropped), in sequence order.
    pub fn into_parts(self, sent_total: u64) -> (Vec<Sample>, Histogram<u64>, PacketCounts) {
        let mut rows = self.rows;
        rows.truncate(sent_total.div_ceil(self.every) as usize);
        rows.retain(|r| r.seq >= self.warmup);
        let mut counts = self.counts;
        counts.sent = sent_total.saturating_sub(self.warmup);
        counts.lost = counts.sent - counts.received;
        (rows, self.hist.into_hdr(), counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rx(rx_ns: u64) -> RxInfo {
        RxInfo {
            rx_ns,
            ..Default::default()
        }
    }

    #[test]
    fn counts_loss_duplicates_reordering_and_samples_every_nth() {
        let mut t = Tally::new(10, 2, 3, 4).unwrap();
        for seq in 0..4 {
            t.sent(seq, 100 + seq, 100);
        }
        assert_eq!(t.room(), 0);
        assert_eq!(t.reply(1, &rx(150), None), Reply::Warmup);
        assert_eq!(t.reply(3, &rx(160), None), Reply::Measured(57));
        assert_eq!(t.reply(2, &rx(170), None), Reply::Measured(68));
        assert_eq!(t.reply(2, &rx(171), None), Reply::Duplicate);
        // probe 0 is never answered: it times out and frees the ring
        t.expire(1000, 500);
        assert_eq!(t.room(), 4);
        assert_eq!(t.outstanding(), 0);
        for seq in 4..10 {
            t.sent(seq, 2000 + seq, 2000);
            t.expire(2000, 500);
            assert_eq!(t.reply(seq, &rx(2100 + seq), None), Reply::Measured(100));
        }
        // a reply to probe 0 now finds its slot reused
        assert_eq!(t.reply(0, &rx(3000), None), Reply::Late);
        assert_eq!(t.reply(99, &rx(3000), None), Reply::Unknown);
        assert_eq!(t.late, 1);
        let (rows, hist, counts) = t.into_parts(10);
        assert_eq!(counts.sent, 8);
        assert_eq!(counts.received, 8);
        assert_eq!(counts.lost, 0);
        assert_eq!(counts.duplicates, 1);
        assert_eq!(counts.reordered, 1);
        assert_eq!(hist.len(), 8);
        // rows for seq 3, 6, 9 (0 is warm-up)
        let seqs: Vec<u64> = rows.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![3, 6, 9]);
        assert_eq!(rows[0].rtt_ns, Some(57));
        assert_eq!(rows[1].rtt_ns, Some(100));
    }

    #[test]
    fn a_late_reply_after_expiry_is_received_not_lost() {
        let mut t = Tally::new(2, 0, 1, 2).unwrap();
        t.sent(0, 10, 10);
        t.expire(1000, 100);
        assert_eq!(t.outstanding(), 0);
        assert_eq!(t.reply(0, &rx(1010), None), Reply::Measured(1000));
        let (rows, _, counts) = t.into_parts(1);
        assert_eq!((counts.sent, counts.received, counts.lost), (1, 1, 0));
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn kernel_and_nic_stamps_land_in_their_own_columns() {
        let mut t = Tally::new(3, 0, 1, 4).unwrap();
        for seq in 0..3 {
            t.sent(seq, 100, 100);
        }
        t.completed(0, 150, Some(TxStamp::Software(120)));
        t.completed(1, 150, Some(TxStamp::Hardware(9_000)));
        t.completed(2, 150, None);
        let nic = RxInfo {
            rx_ns: 300,
            xdp_ns: Some(290),
            hw_rx_ns: Some(9_180),
            payload_only: false,
            queue: None,
        };
        assert_eq!(t.reply(1, &nic, None), Reply::Measured(200));
        assert_eq!(t.reply(0, &rx(300), None), Reply::Measured(200));
        let (rows, _, _) = t.into_parts(3);
        assert_eq!((rows[0].tx_stack_ns, rows[0].tx_hw_ns), (Some(120), None));
        assert_eq!((rows[1].tx_stack_ns, rows[1].tx_hw_ns), (None, Some(9_000)));
        assert_eq!((rows[1].rx_hw_ns, rows[1].xdp_ns), (Some(9_180), Some(290)));
        assert_eq!(rows[0].rx_hw_ns, None);
        assert_eq!((rows[2].tx_done_ns, rows[2].tx_stack_ns), (Some(150), None));
    }
}
