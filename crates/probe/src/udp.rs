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

/// The largest probe frame the udp backend sends (its datagram plus the headers it stands for).
pub const MAX_FRAME: usize = MAX_DATAGRAM + wire::PROBE_OFFSET;

#[derive(Debug)]
pub struct UdpPort<C: Clock> {
    sock: UdpSocket,
    /// Where ping sends; None for a forwarder, which answers each sender.
    peer: Option<SocketAddrV4>,
    poll: bool,
    batch: u32,
    clock: C,
    buf: Vec<u8>,
    done: Vec<u64>,
    last_from: Option<SocketAddr>,
}

impl<C: Clock> UdpPort<C> {
    /// Binds `local` (the interface address and the probe port). `poll` chooses blocking waits
    /// in poll() over spinning on non-blocking reads, as the knob does for AF_XDP.
    pub fn bind(
        local: SocketAddrV4,
        peer: Option<SocketAddrV4>,
        poll: bool,
        batch: u32,
        clock: C,
    ) -> Result<Self> {
        let sock =
            UdpSocket::bind(local).map_err(|e| Error::io(format!("bind(udp {local})"), e))?;
        sock.set_nonblocking(true)
            .map_err(|e| Error::io("fcntl(O_NONBLOCK)", e))?;
        Ok(UdpPort {
            sock,
            peer,
            poll,
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
        while n < self.batch {
            let (len, from) = match self.sock.recv_from(&mut self.buf) {
                Ok(r) => r,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("recvfrom(udp)", e)),
            };
            let info = RxInfo {
                rx_ns: self.clock.now_ns(),
                xdp_ns: None,
                hw_rx_ns: None,
                payload_only: true,
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
                    };
                    f(&mut self.buf[..len], info);
                    n += 1;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
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
        if !self.poll {
            return Ok(());
        }
        let mut fds = [PollFd::new(self.sock.as_fd(), PollFlags::POLLIN)];
        match ppoll(&mut fds, Some(TimeSpec::from_duration(timeout)), None) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(Error::io("ppoll(udp)", e.into())),
        }
    }
}
