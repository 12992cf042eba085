//! The AF_XDP backend: our XDP program redirects probe traffic of one queue into an AF_XDP
//! socket; frames go round fill → RX → (user) → TX → completion → fill/free.
//!
//! UMEM layout: frames `0..rx_frames` cycle through the fill ring; the rest are TX frames kept on
//! a free list. The forwarder sends received frames back in place (like xdpsock l2fwd), so its
//! completions return to the fill ring instead.
//!
//! Device timestamps (`hw_timestamps`): the device-bound XDP program asks the NIC for each
//! probe's RX timestamp, and each TX descriptor carries an AF_XDP TX-metadata timestamp request.
//! Both are used only where the device offers them (the netdev family's
//! `xdp-rx-metadata-features` and `xsk-features`). In copy mode the kernel answers the TX request
//! itself, with a software CLOCK_TAI stamp, which is put on CLOCK_MONOTONIC and kept apart from
//! hardware stamps ([`TxStamp`]).

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::knobs::Knobs;
use crate::port::{Port, RxInfo, TxStamp};
use crate::stall::{Ring, Rings, TxWork, XdpStats};

mod report;

/// Most sendto() calls one kick makes while the kernel reports frames left on the TX ring.
const MAX_KICKS: u32 = 8;

#[derive(Debug, Clone)]
pub struct AfXdpConfig {
    pub ifindex: u32,
    pub iface: String,
    pub queue: u32,
    pub probe_port: u16,
    pub knobs: Knobs,
}

/// Counters of what the port did, for the run summary.
#[derive(Debug, Clone, Copy, Default)]
pub struct PortCounters {
    pub tx_kicks: u64,
    pub tx_kicks_busy: u64,
    pub rx_wakeups: u64,
    pub polls: u64,
    pub fill_needed_wakeup: u64,
    pub tx_needed_wakeup: u64,
    /// poll() calls that woke TX after a sendto() that could not ([`AfXdpPort::open_with`]).
    pub tx_poll_wakeups: u64,
    pub tx_ring_full: u64,
    /// Packets received (by ping or fwd).
    pub rx_packets: u64,
    /// Received packets that carried a NIC RX timestamp.
    pub hw_rx_stamps: u64,
    /// Completed frames that carried a TX timestamp.
    pub tx_stamps: u64,
    /// Descriptors published on the TX ring.
    pub tx_published: u64,
    /// Frames read back from the completion ring.
    pub tx_completed: u64,
}

/// Where a port's TX timestamps come from, when asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStampSource {
    /// Copy mode: the kernel's software stamp (CLOCK_TAI, converted).
    Kernel,
    /// Zero-copy on a device with `tx-timestamp` in its xsk-features: the NIC's clock.
    Nic,
    /// Not requested, and why.
    Off(String),
}

/// What `hw_timestamps` obtained on a port.
#[derive(Debug, Clone)]
struct HwStamps {
    tx: TxStampSource,
    iface: String,
    /// CLOCK_TAI − CLOCK_MONOTONIC when the port opened.
    tai_offset: i64,
}

#[derive(Debug)]
pub struct AfXdpPort<C: Clock> {
    sock: xsk::Socket,
    /// Shared by the ports of one interface (one attachment, one XSKMAP for all queues).
    prog: Arc<xdp::ProbeProgram>,
    /// Set when device timestamps were asked for.
    hw: Option<HwStamps>,
    knobs: Knobs,
    clock: C,
    /// TX frame indices not in flight.
    free_tx: Vec<u32>,
    /// Tag of the frame in flight, by frame index.
    tags: Vec<u64>,
    /// Frames waiting for room on the fill ring.
    refill: Vec<u64>,
    /// The program may stamp at the head of the frame ([`xdp::Stamp::may_head`]).
    heads: bool,
    /// When [`Port::wait`] last checked that the socket is still bound.
    alive_checked_ns: u64,
    /// sendto() skips the driver's TX wake-up here (zero-copy + prefer-busy-poll with a NAPI
    /// id), so each kick also calls poll(), which always wakes it.
    tx_wake_by_poll: bool,
    /// The queue and its NAPI id, as a forwarder writes them into probes; the NAPI id is read
    /// when the first packet has arrived (the kernel marks the socket's NAPI on receive).
    rx_queue: Option<wire::FwdQueue>,
    pub counters: PortCounters,
}

/// How often an idle port checks that its interface still exists.
const ALIVE_CHECK_NS: u64 = 100_000_000;

impl<C: Clock> AfXdpPort<C> {
    /// Attaches the XDP program, creates and binds the socket, registers it in the XSKMAP and
    /// gives the kernel its RX frames. For a forwarder (`tx_frames == 0`) every frame is an RX
    /// frame.
    pub fn open(cfg: &AfXdpConfig, clock: C, forwarder: bool) -> Result<Self> {
        let prog = Self::attach_program(cfg)?;
        Self::open_with(cfg, clock, forwarder, prog)
    }

    /// Attaches the XDP program that ports of `cfg.ifindex` share ([`AfXdpPort::open_with`]).
    pub fn attach_program(cfg: &AfXdpConfig) -> Result<Arc<xdp::ProbeProgram>> {
        cfg.knobs.validate()?;
        if cfg.knobs.hw_timestamps
            && let xdp::Verdict::Refused { why } =
                xdp::caps::probe().verdict("bpf_xdp_metadata_rx_timestamp")
        {
            return Err(Error::config(
                "--hw-timestamps",
                true,
                format!(
                    "Linux {} gives XDP programs no RX timestamps ({why}; the kfunc came in 6.3): drop --hw-timestamps",
                    xsk::kernel_release()
                ),
            ));
        }
        if cfg.knobs.hw_timestamps {
            let features = device_features(cfg.ifindex);
            if let Some(rx) = features
                .as_ref()
                .and_then(|f| f.xdp_rx_metadata_features.as_ref())
                && !rx.iter().any(|f| f == "timestamp")
            {
                return Err(Error::config(
                    "--hw-timestamps",
                    true,
                    format!(
                        "device {} gives XDP programs no RX timestamp (netdev xdp-rx-metadata-features: {}): drop --hw-timestamps",
                        cfg.iface,
                        feature_list(rx)
                    ),
                ));
            }
        }
        Ok(Arc::new(xdp::ProbeProgram::attach(
            &xdp::ProbeProgramConfig {
                ifindex: cfg.ifindex,
                mode: cfg.knobs.xdp_mode,
                probe_port: cfg.probe_port,
                hw_rx_timestamp: cfg.knobs.hw_timestamps,
                stamp: xdp::forced_from_env().map_err(|e| Error::config(xdp::STAMP_ENV, "", e))?,
                probe_ports: cfg.knobs.flows as u16,
            },
        )?))
    }

    /// As [`AfXdpPort::open`], with an XDP program already attached (one per interface, so
    /// that several queues can each have a port).
    pub fn open_with(
        cfg: &AfXdpConfig,
        clock: C,
        forwarder: bool,
        prog: Arc<xdp::ProbeProgram>,
    ) -> Result<Self> {
        cfg.knobs.validate()?;
        let knobs = cfg.knobs.clone();
        let umem = knobs.umem();
        let rx_frames = if forwarder {
            umem.frame_count
        } else {
            umem.frame_count / 2
        };
        // the receive frames go on the fill ring before the bind: a zero-copy driver takes its
        // RX buffers when the bind enables the queue ([`xsk::SocketConfig::prefill`])
        let sock = xsk::Socket::new(
            &umem,
            &xsk::SocketConfig {
                prefill: rx_frames.min(umem.fill_size),
                ..knobs.socket(cfg.ifindex, cfg.queue)
            },
        )?;
        prog.insert_socket(cfg.queue, sock.ctl.fd())?;
        let frames = sock.frames.frame_indices();
        debug_assert_eq!(frames.end, umem.frame_count);
        let free_tx: Vec<u32> = (rx_frames..frames.end).rev().collect();
        let tags = vec![0; frames.end as usize];
        let refill = Vec::with_capacity(frames.end as usize);
        let hw = knobs.hw_timestamps.then(|| HwStamps {
            tx: if forwarder {
                TxStampSource::Off(
                    "the forwarder sends its received frames back in place and takes no TX stamps"
                        .into(),
                )
            } else {
                tx_stamp_source(&sock, cfg.ifindex)
            },
            iface: cfg.iface.clone(),
            tai_offset: crate::clock::tai_minus_monotonic(),
        });
        // net/xdp/xsk.c: `__xsk_sendmsg` busy-polls the socket's NAPI (the RX queue's, marked
        // at bind) and then `if (xs->zc && xsk_no_wakeup(sk)) return 0;` without calling the
        // driver's ndo_xsk_wakeup; virtio-net (virtnet_poll_tx) and igb with separate vectors
        // send XSK frames only from the TX queue's NAPI, which then nobody schedules: every
        // probe stays on the TX ring. `xsk_poll` calls `xsk_wakeup(xs,
        // pool->cached_need_wakeup)` with no busy-poll test, so a poll() after the sendto()
        // keeps both the busy poll and the wake-up.
        let tx_wake_by_poll = knobs.busy_poll && sock.ctl.tx_wakeup_skipped().unwrap_or(false);
        let heads = prog.stamp().stamp.may_head();
        Ok(AfXdpPort {
            sock,
            prog,
            hw,
            knobs,
            clock,
            free_tx,
            tags,
            refill,
            heads,
            alive_checked_ns: 0,
            tx_wake_by_poll,
            rx_queue: None,
            counters: PortCounters::default(),
        })
    }

    pub fn socket(&self) -> &xsk::Socket {
        &self.sock
    }

    fn kick(&mut self) -> Result<Option<u64>> {
        let needed = self.sock.tx.needs_wakeup();
        if needed {
            self.counters.tx_needed_wakeup += 1;
        }
        if !self.knobs.need_wakeup || needed || self.knobs.busy_poll {
            // copy mode sends at most the kernel's TX budget (32 frames) per sendto and says
            // EAGAIN while more wait: kick again while frames remain, a bounded number of times
            for _ in 0..MAX_KICKS {
                self.counters.tx_kicks += 1;
                if self.sock.ctl.kick_tx()? {
                    break;
                }
                self.counters.tx_kicks_busy += 1;
                if self.sock.tx.pending() == 0 {
                    break;
                }
            }
            if self.tx_wake_by_poll {
                self.counters.tx_poll_wakeups += 1;
                self.sock.ctl.poll_tx(Some(Duration::ZERO))?;
            }
            return Ok(Some(self.clock.now_ns()));
        }
        Ok(None)
    }

    fn recycle(&mut self) {
        if self.refill.is_empty() {
            return;
        }
        let mut fill = self.sock.fill.reserve(self.refill.len() as u32);
        let n = fill.len();
        for (i, addr) in self.refill.drain(..n as usize).enumerate() {
            fill.set(i as u32, addr);
        }
        fill.commit(n);
    }

    /// The forwarder's inner step: receive up to `batch`, let `f` rewrite each packet in place
    /// (returning false to drop it), and send the rewritten frames back out. Returns packets
    /// forwarded.
    pub fn forward(&mut self, f: &mut dyn FnMut(&mut [u8], RxInfo) -> bool) -> Result<u32> {
        // frames sent earlier are back: give them to the fill ring
        {
            let frames = &self.sock.frames;
            let done = self.sock.completion.peek(self.knobs.ring_size);
            for addr in done.iter() {
                self.refill.push(frames.frame_of(addr));
            }
            self.counters.tx_completed += u64::from(done.len());
        }
        self.recycle();
        let batch = self.knobs.batch;
        let rx = self.sock.rx.peek(batch);
        if rx.is_empty() {
            return Ok(0);
        }
        let rx_ns = self.clock.now_ns();
        let ctl = &self.sock.ctl;
        let queue = *self.rx_queue.get_or_insert_with(|| wire::FwdQueue {
            queue: ctl.queue_id() as u16,
            napi_id: ctl.napi_id().unwrap_or(0),
        });
        let mut tx = self.sock.tx.reserve(rx.len());
        let mut sent = 0;
        for i in 0..rx.len() {
            let mut desc = rx.get(i);
            let meta = rx_meta(&self.sock.frames, self.heads, &mut self.counters, &mut desc);
            let keep = match self.sock.frames.packet_mut(&desc) {
                Some(pkt) => f(
                    pkt,
                    RxInfo {
                        rx_ns,
                        xdp_ns: meta.xdp_ns,
                        hw_rx_ns: meta.hw_rx_ns,
                        payload_only: false,
                        queue: Some(queue),
                    },
                ),
                None => false,
            };
            if keep && sent < tx.len() {
                tx.set(sent, desc);
                sent += 1;
            } else {
                self.refill.push(self.sock.frames.frame_of(desc.addr));
            }
        }
        if sent < rx.len() && sent == tx.len() {
            self.counters.tx_ring_full += 1;
        }
        tx.commit(sent);
        self.counters.tx_published += u64::from(sent);
        drop(rx);
        if sent > 0 {
            self.kick()?;
        }
        self.recycle();
        Ok(sent)
    }
}

impl<C: Clock> Port for AfXdpPort<C> {
    fn max_frame(&self) -> usize {
        self.sock.umem_config().max_packet() as usize
    }

    fn send(
        &mut self,
        tags: &[u64],
        write: &mut dyn FnMut(usize, &mut [u8]) -> usize,
    ) -> Result<(usize, Option<u64>)> {
        let want = tags.len().min(self.free_tx.len()) as u32;
        let max = self.max_frame();
        let mut tx = self.sock.tx.reserve(want);
        let n = tx.len();
        if n < want {
            self.counters.tx_ring_full += 1;
        }
        for i in 0..n {
            let Some(idx) = self.free_tx.pop() else { break };
            let addr = self.sock.frames.tx_addr(idx);
            let buf = self
                .sock
                .frames
                .get_mut(addr, max)
                .expect("TX frames lie inside the UMEM");
            let len = write(i as usize, buf);
            self.tags[idx as usize] = tags[i as usize];
            let mut desc = xsk::Desc {
                addr,
                len: len as u32,
                options: 0,
            };
            if self
                .hw
                .as_ref()
                .is_some_and(|h| !matches!(h.tx, TxStampSource::Off(_)))
            {
                xsk::txmeta::request_timestamp(&mut self.sock.frames, &mut desc);
            }
            tx.set(i, desc);
        }
        tx.commit(n);
        self.counters.tx_published += u64::from(n);
        let kick = if n > 0 { self.kick()? } else { None };
        Ok((n as usize, kick))
    }

    fn completions(&mut self, done: &mut dyn FnMut(u64, Option<TxStamp>)) -> Result<()> {
        let frame_size = self.sock.frames.frame_size() as u64;
        let c = self.sock.completion.peek(self.knobs.ring_size);
        self.counters.tx_completed += u64::from(c.len());
        for addr in c.iter() {
            let idx = (self.sock.frames.frame_of(addr) / frame_size) as u32;
            let stamp = self.hw.as_ref().and_then(|hw| {
                let ts = xsk::txmeta::completion_timestamp(&self.sock.frames, addr)?;
                match hw.tx {
                    TxStampSource::Kernel => {
                        Some(TxStamp::Software((ts as i64 - hw.tai_offset).max(0) as u64))
                    }
                    TxStampSource::Nic => Some(TxStamp::Hardware(ts)),
                    TxStampSource::Off(_) => None,
                }
            });
            self.counters.tx_stamps += stamp.is_some() as u64;
            done(self.tags[idx as usize], stamp);
            self.free_tx.push(idx);
        }
        Ok(())
    }

    fn recv(&mut self, max: u32, f: &mut dyn FnMut(&mut [u8], RxInfo)) -> Result<u32> {
        let rx = self.sock.rx.peek(max);
        let n = rx.len();
        if n == 0 {
            return Ok(0);
        }
        let rx_ns = self.clock.now_ns();
        for i in 0..n {
            let mut desc = rx.get(i);
            let meta = rx_meta(&self.sock.frames, self.heads, &mut self.counters, &mut desc);
            if let Some(pkt) = self.sock.frames.packet_mut(&desc) {
                f(
                    pkt,
                    RxInfo {
                        rx_ns,
                        xdp_ns: meta.xdp_ns,
                        hw_rx_ns: meta.hw_rx_ns,
                        payload_only: false,
                        queue: None,
                    },
                );
            }
            self.refill.push(self.sock.frames.frame_of(desc.addr));
        }
        drop(rx);
        self.recycle();
        Ok(n)
    }

    fn blocks(&self) -> bool {
        self.knobs.poll
    }

    fn tx_work(&self) -> Option<TxWork> {
        Some(TxWork {
            published: self.counters.tx_published,
            on_ring: u64::from(self.sock.tx.pending()),
            completed: self.counters.tx_completed,
        })
    }

    fn rings(&mut self) -> Option<Rings> {
        let s = &mut self.sock;
        let stats = s.ctl.statistics().ok().map(|x| XdpStats {
            rx_dropped: x.rx_dropped,
            rx_invalid_descs: x.rx_invalid_descs,
            tx_invalid_descs: x.tx_invalid_descs,
            rx_ring_full: x.rx_ring_full,
            rx_fill_ring_empty_descs: x.rx_fill_ring_empty_descs,
            tx_ring_empty_descs: x.tx_ring_empty_descs,
        });
        Some(Rings {
            tx: Ring {
                entries: s.tx.pending(),
                size: s.tx.size(),
                needs_wakeup: Some(s.tx.needs_wakeup()),
            },
            completion: Ring {
                entries: s.completion.available(),
                size: s.completion.size(),
                needs_wakeup: None,
            },
            fill: Ring {
                entries: s.fill.pending(),
                size: s.fill.size(),
                needs_wakeup: Some(s.fill.needs_wakeup()),
            },
            rx: Ring {
                entries: s.rx.available(),
                size: s.rx.size(),
                needs_wakeup: None,
            },
            xdp_statistics: stats,
        })
    }

    fn wait(&mut self, timeout: Duration) -> Result<()> {
        // An idle socket never learns that its interface was deleted (the kernel unbinds it and
        // poll() stays silent), so now and then a TX kick asks: it fails with ENXIO once unbound.
        let now = self.clock.now_ns();
        if now.saturating_sub(self.alive_checked_ns) >= ALIVE_CHECK_NS {
            self.alive_checked_ns = now;
            self.sock.ctl.kick_tx()?;
        }
        if self.knobs.poll {
            self.counters.polls += 1;
            self.sock.ctl.poll_rx(Some(timeout))?;
            return Ok(());
        }
        let fill_wants = self.knobs.need_wakeup && self.sock.fill.needs_wakeup();
        if fill_wants {
            self.counters.fill_needed_wakeup += 1;
        }
        if self.knobs.busy_poll || fill_wants {
            self.counters.rx_wakeups += 1;
            self.sock.ctl.wakeup_rx()?;
        }
        Ok(())
    }
}

/// The XDP program's stamps of one received packet.
#[derive(Debug, Clone, Copy)]
struct RxMeta {
    xdp_ns: Option<u64>,
    hw_rx_ns: Option<u64>,
}

/// The XDP program's stamps of a received packet: in its metadata area, or (`heads`) at the head
/// of the frame, which is then cut off `desc` so that the packet is what was sent (a forwarder
/// sends it back); counts received packets and NIC RX stamps.
fn rx_meta(
    frames: &xsk::Frames,
    heads: bool,
    counters: &mut PortCounters,
    desc: &mut xsk::Desc,
) -> RxMeta {
    let mut m = frames
        .before(desc, xdp::META_LEN)
        .and_then(xdp::XdpMeta::from_bytes);
    if m.is_none()
        && heads
        && let Some(h) = frames.packet(desc).and_then(xdp::XdpMeta::from_head)
    {
        m = Some(h);
        desc.addr += xdp::META_LEN as u64;
        desc.len -= xdp::META_LEN as u32;
    }
    let hw_rx_ns = m.and_then(|m| m.hw_rx_ns());
    counters.rx_packets += 1;
    counters.hw_rx_stamps += hw_rx_ns.is_some() as u64;
    RxMeta {
        xdp_ns: m.and_then(|m| m.xdp_ns()),
        hw_rx_ns,
    }
}

/// The netdev family's view of the device, None where the kernel cannot tell (then timestamps
/// are tried and their absence reported per packet).
fn device_features(ifindex: u32) -> Option<host::doctor::DevFeatures> {
    host::doctor::dev_features(ifindex).ok()?.ok()
}

/// A netdev feature set as the kernel's tools print it ("none" when empty).
fn feature_list(f: &[String]) -> String {
    if f.is_empty() {
        "none".into()
    } else {
        f.join(",")
    }
}

/// Where TX timestamps of a bound socket would come from.
fn tx_stamp_source(sock: &xsk::Socket, ifindex: u32) -> TxStampSource {
    let info = sock.ctl.info();
    let zero_copy = sock.ctl.is_zero_copy().unwrap_or(info.zero_copy);
    if sock.frames.tx_metadata_len() < xsk::txmeta::TIMESTAMP_METADATA_LEN {
        return TxStampSource::Off("the UMEM has no TX metadata room".into());
    }
    if !zero_copy {
        return TxStampSource::Kernel;
    }
    match device_features(ifindex).and_then(|f| f.xsk_features) {
        Some(f) if f.iter().any(|n| n == "tx-timestamp") => TxStampSource::Nic,
        Some(f) => TxStampSource::Off(format!(
            "the device has no AF_XDP TX timestamps (netdev xsk-features: {})",
            feature_list(&f)
        )),
        None => TxStampSource::Nic,
    }
}
