//! The kernel baseline: the same probes over ordinary UDP sockets, through the whole kernel
//! network stack, as the paper's reference measurement (it used the system `ping`).
//!
//! Frames handed to [`Port::send`] are whole Ethernet frames (the roles build them the same way
//! for every backend); this port sends their UDP payload and hands received payloads back with
//! [`RxInfo`]'s `payload_only` set, so the roles parse the probe header alone.

use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsFd;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::time::TimeSpec;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::port::{Port, RxInfo, TxStamp};

/// Largest UDP payload we receive.
const MAX_DATAGRAM: usize = 9216;

/// How long a blocking forwarder's recvfrom() waits before it looks at its stop flag.
const BLOCKING_WAIT: Duration = Duration::from_millis(50);

/// The largest probe frame the udp backend sends (its datagram plus the headers it stands for).
pub const MAX_FRAME: usize = MAX_DATAGRAM + wire::PROBE_OFFSET;

#[derive(Debug)]
pub struct UdpPort<C: Clock> {
    sock: UdpSocket,
    /// Where ping sends; None for a forwarder, which answers each sender.
    peer: Option<SocketAddrV4>,
    poll: bool,
    /// SO_BUSY_POLL µs, when busy polling was asked for.
    busy_poll: Option<u32>,
    batch: u32,
    clock: C,
    buf: Vec<u8>,
    done: Vec<u64>,
    last_from: Option<SocketAddr>,
}

impl<C: Clock> UdpPort<C> {
    /// Binds `local` (the interface address and the probe port). `poll` chooses sleeping waits
    /// over spinning on non-blocking reads, as the knob does for AF_XDP: a forwarder (no `peer`)
    /// then blocks in recvfrom() itself, as sockperf's server does (one syscall per probe in,
    /// one out, where poll() and a read finding nothing made three; the RTT measured the same
    /// either way: the gap to sockperf was the ping's pacing, see `--pace`); a ping, which must
    /// also wake for its next send, sleeps in ppoll() (SO_RCVTIMEO counts in jiffies, too
    /// coarse for a send schedule).
    pub fn bind(
        local: SocketAddrV4,
        peer: Option<SocketAddrV4>,
        poll: bool,
        busy_poll: Option<u32>,
        batch: u32,
        clock: C,
    ) -> Result<Self> {
        let sock =
            UdpSocket::bind(local).map_err(|e| Error::io(format!("bind(udp {local})"), e))?;
        let blocking = poll && peer.is_none();
        sock.set_nonblocking(!blocking)
            .map_err(|e| Error::io("fcntl(O_NONBLOCK)", e))?;
        if let Some(usecs) = busy_poll {
            xsk::set_socket_busy_poll(sock.as_fd(), usecs)
                .map_err(|e| Error::io("setsockopt(SO_BUSY_POLL)", e))?;
        }
        if blocking {
            // the forwarder looks at its stop flag each time recvfrom() gives up
            sock.set_read_timeout(Some(BLOCKING_WAIT))
                .map_err(|e| Error::io("setsockopt(SO_RCVTIMEO)", e))?;
        }
        Ok(UdpPort {
            sock,
            peer,
            poll,
            busy_poll,
            batch,
            clock,
            buf: vec![0; MAX_DATAGRAM + wire::PROBE_OFFSET],
            done: Vec::new(),
            last_from: None,
        })
    }

    /// The forwarder's step: receive up to a batch, rewrite each payload with `f` and send it
    /// back to its sender.
    pub fn forward(&mut self, f: &mut dyn FnMut(&mut [u8], RxInfo) -> bool) -> Result<u32> {
        let mut n = 0;
        // blocking: one datagram per call (the next call finds any that queued meanwhile at once)
        let batch = if self.blocking() { 1 } else { self.batch };
        while n < batch {
            let (len, from) = match self.sock.recv_from(&mut self.buf) {
                Ok(r) => r,
                Err(e) if would_block(&e) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("recvfrom(udp)", e)),
            };
            let info = RxInfo {
                rx_ns: self.clock.now_ns(),
                xdp_ns: None,
                hw_rx_ns: None,
                payload_only: true,
                queue: None,
            };
            if f(&mut self.buf[..len], info) {
                match self.sock.send_to(&self.buf[..len], from) {
                    Ok(_) => n += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(Error::io(format!("sendto(udp {from})"), e)),
                }
            }
        }
        Ok(n)
    }

    /// A forwarder that sleeps in recvfrom() itself.
    fn blocking(&self) -> bool {
        self.poll && self.peer.is_none()
    }

    /// How this port waits for datagrams, for the summary: `spin` (non-blocking reads),
    /// `recvfrom` (blocking reads) or `ppoll`.
    pub fn wait_mode(&self) -> &'static str {
        match (self.poll, self.blocking()) {
            (false, _) => "spin",
            (true, true) => "recvfrom",
            (true, false) => "ppoll",
        }
    }

    /// What the summary says of this port: how it waited, and whether a busy poll could run
    /// (the socket's NAPI id, taken from the last packet it received; 0 on veth).
    pub fn effective(
        &self,
    ) -> (
        serde_json::Map<String, serde_json::Value>,
        Vec<crate::warning::Warning>,
    ) {
        let napi_id = xsk::incoming_napi_id(self.sock.as_fd()).unwrap_or(0);
        let mut m = serde_json::Map::new();
        m.insert("backend".into(), "udp".into());
        m.insert("poll".into(), self.poll.into());
        m.insert("udp_wait".into(), self.wait_mode().into());
        m.insert("napi_id".into(), napi_id.into());
        m.insert(
            "busy_poll_active".into(),
            (self.busy_poll.is_some() && napi_id != 0).into(),
        );
        let mut warnings = Vec::new();
        if self.busy_poll.is_some() && napi_id == 0 {
            warnings.push(crate::warning::Warning::BusyPollNoNapi);
        }
        (m, warnings)
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.sock.local_addr().ok()
    }

    /// The last sender a forwarder answered.
    pub fn last_sender(&self) -> Option<SocketAddr> {
        self.last_from
    }
}

impl<C: Clock> Port for UdpPort<C> {
    fn max_frame(&self) -> usize {
        MAX_FRAME
    }

    fn send(
        &mut self,
        tags: &[u64],
        write: &mut dyn FnMut(usize, &mut [u8]) -> usize,
    ) -> Result<(usize, Option<u64>)> {
        let peer = self
            .peer
            .ok_or_else(|| Error::config("--dst-ip", "none", "a sender needs a destination"))?;
        let mut sent = 0;
        for (i, &tag) in tags.iter().enumerate() {
            let len = write(i, &mut self.buf);
            match self.sock.send_to(&self.buf[wire::PROBE_OFFSET..len], peer) {
                Ok(_) => {
                    sent += 1;
                    self.done.push(tag);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(Error::io(format!("sendto(udp {peer})"), e)),
            }
        }
        // the send call is the kick: it returns once the kernel has taken the datagram
        Ok((sent, (sent > 0).then(|| self.clock.now_ns())))
    }

    fn completions(&mut self, done: &mut dyn FnMut(u64, Option<TxStamp>)) -> Result<()> {
        for tag in self.done.drain(..) {
            done(tag, None);
        }
        Ok(())
    }

    fn recv(&mut self, max: u32, f: &mut dyn FnMut(&mut [u8], RxInfo)) -> Result<u32> {
        let mut n = 0;
        while n < max {
            match self.sock.recv_from(&mut self.buf) {
                Ok((len, from)) => {
                    self.last_from = Some(from);
                    let info = RxInfo {
                        rx_ns: self.clock.now_ns(),
                        xdp_ns: None,
                        hw_rx_ns: None,
                        payload_only: true,
                        queue: None,
                    };
                    f(&mut self.buf[..len], info);
                    n += 1;
                }
                Err(e) if would_block(&e) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("recvfrom(udp)", e)),
            }
        }
        Ok(n)
    }

    fn blocks(&self) -> bool {
        self.poll
    }

    fn wait(&mut self, timeout: Duration) -> Result<()> {
        // a blocking forwarder has waited in recvfrom() already
        if !self.poll || self.blocking() {
            return Ok(());
        }
        let mut fds = [PollFd::new(self.sock.as_fd(), PollFlags::POLLIN)];
        match ppoll(&mut fds, Some(TimeSpec::from_duration(timeout)), None) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(Error::io("ppoll(udp)", e.into())),
        }
    }
}

/// Nothing to read: EAGAIN from a non-blocking read, or a blocking read's SO_RCVTIMEO.
fn would_block(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}
