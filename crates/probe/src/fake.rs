//! Fakes that drive the ping and fwd engines in plain unit tests (no root, no sockets): a clock
//! that moves only when read or waited on, a [`Link`] that plays the forwarder and the wire for
//! a ping (each probe's fate: its replies' delays, none when lost, several when duplicated; a
//! TX that stalls), and a [`FwdPort`] that hands a forwarder scripted frames. The real thing is
//! tested through the binary on namespaces and veths; these make the loops' rules testable
//! one by one.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use crate::clock::Clock;
use crate::error::Result;
use crate::fwd::Forward;
use crate::port::{Port, RxInfo, TxStamp};
use crate::stall::{Ring, Rings, TxWork};

/// The rings of a fake port: `on_ring` descriptors on a TX ring of 64 that wants a wake-up.
fn rings(on_ring: u64) -> Rings {
    Rings {
        tx: Ring {
            entries: on_ring as u32,
            size: 64,
            needs_wakeup: Some(true),
        },
        ..Rings::default()
    }
}

/// Time that passes only when read (1 ns a read, so loops move) or waited out.
#[derive(Debug, Clone, Default)]
pub struct FakeClock(Rc<Cell<u64>>);

impl FakeClock {
    pub fn at(ns: u64) -> FakeClock {
        FakeClock(Rc::new(Cell::new(ns)))
    }

    pub fn now(&self) -> u64 {
        self.0.get()
    }

    /// Moves time forward to `ns` (never back).
    pub fn advance_to(&self, ns: u64) {
        self.0.set(self.0.get().max(ns));
    }
}

impl Clock for FakeClock {
    fn now_ns(&self) -> u64 {
        let t = self.0.get() + 1;
        self.0.set(t);
        t
    }
}

/// Moves `clock` to the first arrival of `inbound` (kept in arrival order) or `timeout` from
/// now, whichever is first: what a wait in poll() or on a spinning ring amounts to.
fn sleep(clock: &FakeClock, inbound: &[(u64, Vec<u8>)], timeout: Duration) {
    let now = clock.now();
    let until = now + timeout.as_nanos() as u64;
    let next = inbound.first().map_or(until, |(at, _)| *at);
    clock.advance_to(until.min(next).max(now + 1));
}

/// The flow of the fakes' probes: A (10.0.0.1) to B (10.0.0.2), port 9099 both ways.
pub fn flow() -> wire::FlowRepr {
    wire::FlowRepr {
        src_mac: wire::MacAddr([2, 0, 0, 0, 0, 1]),
        dst_mac: wire::MacAddr([2, 0, 0, 0, 0, 2]),
        src_ip: std::net::Ipv4Addr::new(10, 0, 0, 1),
        dst_ip: std::net::Ipv4Addr::new(10, 0, 0, 2),
        src_port: 9099,
        dst_port: 9099,
    }
}

/// How long one idle round of a spinning port takes.
pub const SPIN_NS: u64 = 1_000;

/// What happens to the probe with a sequence number: the delay of each of its replies.
pub type Fate = Box<dyn FnMut(u64) -> Vec<Duration>>;

/// The forwarder and the wire as a ping sees them, through its [`Port`].
pub struct Link {
    clock: FakeClock,
    fate: Fate,
    /// Replies on their way back: arrival time and frame.
    inbound: Vec<(u64, Vec<u8>)>,
    done: Vec<u64>,
    /// Sends take nothing before this time (a TX ring that stays full).
    pub stall_until: u64,
    /// From this time on, sends are published on the TX ring and the kernel never takes them
    /// (no reply, no completion), as a missed kick or an undriven zero-copy TX would leave them.
    pub tx_stuck_from: Option<u64>,
    /// Replies due in `[.0, .1)` arrive at `.1` (a receive path that stops for a while).
    pub hold: Option<(u64, u64)>,
    /// (seq, when) of every probe that left.
    pub sent: Vec<(u64, u64)>,
    /// Descriptors published, stuck on the ring, completed.
    tx: TxWork,
    /// Calls of [`Port::wait`], whatever their timeout.
    pub waits: u64,
    /// Calls of [`Port::wait`] with a zero timeout (a blocking port's spin).
    pub zero_waits: u64,
    /// The port blocks in [`Port::wait`] (poll()) instead of spinning.
    pub blocks: bool,
}

impl Link {
    pub fn new(clock: &FakeClock, fate: Fate) -> Link {
        Link {
            clock: clock.clone(),
            fate,
            inbound: Vec::new(),
            done: Vec::new(),
            stall_until: 0,
            tx_stuck_from: None,
            hold: None,
            sent: Vec::new(),
            tx: TxWork::default(),
            waits: 0,
            zero_waits: 0,
            blocks: false,
        }
    }

    /// Every reply after `rtt`.
    pub fn steady(clock: &FakeClock, rtt: Duration) -> Link {
        Link::new(clock, Box::new(move |_| vec![rtt]))
    }
}

impl Port for Link {
    fn max_frame(&self) -> usize {
        2048
    }

    fn send(
        &mut self,
        tags: &[u64],
        write: &mut dyn FnMut(usize, &mut [u8]) -> usize,
    ) -> Result<(usize, Option<u64>)> {
        let now = self.clock.now_ns();
        if now < self.stall_until {
            return Ok((0, None));
        }
        self.tx.published += tags.len() as u64;
        if self.tx_stuck_from.is_some_and(|t| now >= t) {
            for (i, _) in tags.iter().enumerate() {
                write(i, &mut vec![0; self.max_frame()]);
            }
            self.tx.on_ring += tags.len() as u64;
            return Ok((tags.len(), Some(self.clock.now_ns())));
        }
        for (i, &tag) in tags.iter().enumerate() {
            let mut frame = vec![0; self.max_frame()];
            let len = write(i, &mut frame);
            frame.truncate(len);
            let (_, probe) = wire::parse_probe(&frame).expect("the ping sends probes");
            wire::reflect_in_place(&mut frame, true).expect("a probe reflects");
            for delay in (self.fate)(probe.seq) {
                let mut at = now + delay.as_nanos() as u64;
                if let Some((from, until)) = self.hold
                    && (from..until).contains(&at)
                {
                    at = until;
                }
                self.inbound.push((at, frame.clone()));
            }
            self.sent.push((probe.seq, now));
            self.done.push(tag);
        }
        self.inbound.sort_by_key(|(at, _)| *at);
        Ok((tags.len(), Some(self.clock.now_ns())))
    }

    fn completions(&mut self, done: &mut dyn FnMut(u64, Option<TxStamp>)) -> Result<()> {
        for tag in self.done.drain(..) {
            self.tx.completed += 1;
            done(tag, None);
        }
        Ok(())
    }

    fn tx_work(&self) -> Option<TxWork> {
        Some(self.tx)
    }

    fn rings(&mut self) -> Option<Rings> {
        Some(rings(self.tx.on_ring))
    }

    /// Hands over the replies due; when none is, the round of the spin that found nothing
    /// took [`SPIN_NS`] (or until the next reply).
    fn recv(&mut self, max: u32, f: &mut dyn FnMut(&mut [u8], RxInfo)) -> Result<u32> {
        let now = self.clock.now_ns();
        let due = self
            .inbound
            .iter()
            .take(max as usize)
            .take_while(|(at, _)| *at <= now)
            .count();
        if due == 0 {
            sleep(&self.clock, &self.inbound, Duration::from_nanos(SPIN_NS));
        }
        for (_, mut frame) in self.inbound.drain(..due) {
            let info = RxInfo {
                rx_ns: now,
                ..RxInfo::default()
            };
            f(&mut frame, info);
        }
        Ok(due as u32)
    }

    /// Sleeps until the next reply arrives or `timeout` passes, whichever is first.
    fn wait(&mut self, timeout: Duration) -> Result<()> {
        self.waits += 1;
        self.zero_waits += u64::from(timeout.is_zero());
        sleep(&self.clock, &self.inbound, timeout);
        Ok(())
    }

    fn blocks(&self) -> bool {
        self.blocks
    }
}

/// A forwarder's port with scripted arrivals; what it sends back is kept.
pub struct FwdPort {
    clock: FakeClock,
    /// Frames to receive: arrival time and bytes.
    pub inbound: Vec<(u64, Vec<u8>)>,
    /// Frames sent back, in order.
    pub sent: Vec<Vec<u8>>,
    pub batch: u32,
    pub blocks: bool,
    /// What is sent back is published on a TX ring the kernel never takes from.
    pub tx_stuck: bool,
    tx: TxWork,
}

impl FwdPort {
    pub fn new(clock: &FakeClock, inbound: Vec<(u64, Vec<u8>)>) -> FwdPort {
        FwdPort {
            clock: clock.clone(),
            inbound,
            sent: Vec::new(),
            batch: 4,
            blocks: false,
            tx_stuck: false,
            tx: TxWork::default(),
        }
    }
}

impl Port for FwdPort {
    fn max_frame(&self) -> usize {
        2048
    }

    fn send(
        &mut self,
        _: &[u64],
        _: &mut dyn FnMut(usize, &mut [u8]) -> usize,
    ) -> Result<(usize, Option<u64>)> {
        unreachable!("a forwarder sends only what it received")
    }

    fn completions(&mut self, _: &mut dyn FnMut(u64, Option<TxStamp>)) -> Result<()> {
        Ok(())
    }

    fn recv(&mut self, _: u32, _: &mut dyn FnMut(&mut [u8], RxInfo)) -> Result<u32> {
        unreachable!("a forwarder receives through forward")
    }

    /// Blocking (poll()): sleeps until the next arrival or the timeout. Spinning: returns
    /// after one round of the spin, [`SPIN_NS`].
    fn wait(&mut self, timeout: Duration) -> Result<()> {
        let timeout = if self.blocks {
            timeout
        } else {
            timeout.min(Duration::from_nanos(SPIN_NS))
        };
        sleep(&self.clock, &self.inbound, timeout);
        Ok(())
    }

    fn blocks(&self) -> bool {
        self.blocks
    }

    fn tx_work(&self) -> Option<TxWork> {
        Some(self.tx)
    }

    fn rings(&mut self) -> Option<Rings> {
        Some(rings(self.tx.on_ring))
    }
}

impl Forward for FwdPort {
    fn forward(&mut self, f: &mut dyn FnMut(&mut [u8], RxInfo) -> bool) -> Result<u32> {
        let now = self.clock.now_ns();
        let due = self
            .inbound
            .iter()
            .take(self.batch as usize)
            .take_while(|(at, _)| *at <= now)
            .count();
        let mut n = 0;
        for (at, mut frame) in self.inbound.drain(..due).collect::<Vec<_>>() {
            let info = RxInfo {
                rx_ns: now,
                xdp_ns: Some(at),
                ..RxInfo::default()
            };
            if f(&mut frame, info) {
                self.tx.published += 1;
                if self.tx_stuck {
                    self.tx.on_ring += 1;
                } else {
                    self.tx.completed += 1;
                    self.sent.push(frame);
                }
                n += 1;
            }
        }
        Ok(n)
    }
}
