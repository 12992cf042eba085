//! What a role needs from a backend: send a batch of frames, learn which sends completed, receive
//! a batch, and wait for traffic in the way the knobs ask (spin, poll(), busy poll).

use crate::error::Result;

/// Facts about one received packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct RxInfo {
    /// When user space read it off the ring / out of the socket (CLOCK_MONOTONIC ns).
    pub rx_ns: u64,
    /// When it met the XDP hook (from the XDP program's metadata), if known.
    pub xdp_ns: Option<u64>,
    /// The NIC's RX timestamp (NIC clock), when the device-bound program got one.
    pub hw_rx_ns: Option<u64>,
    /// The bytes are a UDP payload (kernel backend), not a whole Ethernet frame.
    pub payload_only: bool,
    /// The queue it came in on and that queue's NAPI id (AF_XDP forwarders).
    pub queue: Option<wire::FwdQueue>,
}

/// The kernel's answer to a TX timestamp request (AF_XDP TX metadata), read when the frame
/// came back on the completion ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStamp {
    /// Copy mode: the kernel's software stamp, taken when the driver freed the frame's skb after
    /// sending it, already converted to CLOCK_MONOTONIC ns.
    Software(u64),
    /// Zero-copy: the NIC's TX timestamp, in the NIC's clock.
    Hardware(u64),
}

pub trait Port {
    /// Largest frame the port can send.
    fn max_frame(&self) -> usize;

    /// Sends up to `tags.len()` frames; `write(i, buf)` fills frame `i` (buf is `max_frame` long)
    /// and returns its length. `tags[i]` comes back through [`Port::completions`] once the frame
    /// has left. Returns the number sent and when the kick returned (if one was made).
    fn send(
        &mut self,
        tags: &[u64],
        write: &mut dyn FnMut(usize, &mut [u8]) -> usize,
    ) -> Result<(usize, Option<u64>)>;

    /// Reports the tags of sent frames the kernel is done with, each with the TX timestamp the
    /// kernel wrote for it, if one was asked for and given.
    fn completions(&mut self, done: &mut dyn FnMut(u64, Option<TxStamp>)) -> Result<()>;

    /// Receives up to `max` packets, calling `f` for each with its bytes.
    fn recv(&mut self, max: u32, f: &mut dyn FnMut(&mut [u8], RxInfo)) -> Result<u32>;

    /// Waits for incoming packets for at most `timeout` (spinning ports return at once after
    /// any wake-up the kernel asked for).
    fn wait(&mut self, timeout: std::time::Duration) -> Result<()>;

    /// What the port has published on its TX ring and read back from its completion ring, for
    /// the stall watch ([`crate::stall`]); None where the backend has no rings.
    fn tx_work(&self) -> Option<crate::stall::TxWork> {
        None
    }

    /// The state of the port's rings now, with the kernel's XDP_STATISTICS.
    fn rings(&mut self) -> Option<crate::stall::Rings> {
        None
    }

    /// True when [`Port::wait`] blocks (poll()), false when the port spins.
    fn blocks(&self) -> bool {
        false
    }
}
