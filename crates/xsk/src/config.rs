//! What a UMEM and a socket are made of, with the validation the kernel would otherwise do
//! behind a bare EINVAL.

use crate::error::{Error, Result};

/// How to bind: copy mode, zero-copy, or zero-copy with a fallback to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindMode {
    Copy,
    ZeroCopy,
    Auto,
}

impl std::str::FromStr for BindMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "copy" => Ok(BindMode::Copy),
            "zero-copy" | "zerocopy" | "zc" => Ok(BindMode::ZeroCopy),
            "auto" => Ok(BindMode::Auto),
            other => Err(Error::config(
                "--bind",
                other,
                "expected copy, zero-copy or auto",
            )),
        }
    }
}

impl BindMode {
    /// Every mode, in the order help texts list them.
    pub const ALL: [BindMode; 3] = [BindMode::Copy, BindMode::ZeroCopy, BindMode::Auto];

    /// The spelling used on the command line and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            BindMode::Copy => "copy",
            BindMode::ZeroCopy => "zero-copy",
            BindMode::Auto => "auto",
        }
    }
}

impl std::fmt::Display for BindMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The packet buffer area shared with the kernel and its two rings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UmemConfig {
    /// Bytes per frame (chunk). A power of two in aligned mode, 2048 up to the page size.
    pub frame_size: u32,
    /// Number of frames.
    pub frame_count: u32,
    /// Bytes the kernel leaves free at the start of each frame, before XDP_PACKET_HEADROOM.
    pub headroom: u32,
    pub fill_size: u32,
    pub completion_size: u32,
    /// Unaligned chunk mode: descriptors may point anywhere in the UMEM.
    pub unaligned: bool,
    /// Bytes of AF_XDP TX metadata before each TX packet (0: none; kernel 6.8+).
    pub tx_metadata_len: u32,
    /// Back the UMEM with huge pages (needs reserved hugepages).
    pub huge_pages: bool,
}

impl Default for UmemConfig {
    fn default() -> Self {
        UmemConfig {
            frame_size: 4096,
            frame_count: 4096,
            headroom: 0,
            fill_size: 2048,
            completion_size: 2048,
            unaligned: false,
            tx_metadata_len: 0,
            huge_pages: false,
        }
    }
}

/// Minimum chunk size the kernel accepts (XDP_UMEM_MIN_CHUNK_SIZE).
pub const MIN_FRAME_SIZE: u32 = 2048;

/// Bytes the kernel reserves at the start of every frame for XDP (XDP_PACKET_HEADROOM).
pub const XDP_PACKET_HEADROOM: u32 = 256;

impl UmemConfig {
    pub fn validate(&self) -> Result<()> {
        let page = crate::sys::page_size() as u32;
        if self.frame_size < MIN_FRAME_SIZE || (self.frame_size > page && !self.huge_pages) {
            return Err(Error::config(
                "--frame-size",
                self.frame_size,
                format!("must be between {MIN_FRAME_SIZE} and the page size ({page})"),
            ));
        }
        if !self.unaligned && !self.frame_size.is_power_of_two() {
            return Err(Error::config(
                "--frame-size",
                self.frame_size,
                "must be a power of two in aligned mode (2048 or 4096), or use unaligned chunks",
            ));
        }
        if self.frame_count == 0 {
            return Err(Error::config(
                "--frames",
                self.frame_count,
                "must be at least 1",
            ));
        }
        self.frame_size
            .checked_mul(self.frame_count)
            .ok_or_else(|| Error::config("--frames", self.frame_count, "UMEM size overflows"))?;
        ring_size("fill ring size", self.fill_size)?;
        ring_size("completion ring size", self.completion_size)?;
        if self.headroom + XDP_PACKET_HEADROOM + self.tx_metadata_len + 64 > self.frame_size {
            return Err(Error::config(
                "headroom",
                self.headroom,
                "leaves no room for a packet in the frame",
            ));
        }
        if !self.tx_metadata_len.is_multiple_of(8) {
            return Err(Error::config(
                "tx_metadata_len",
                self.tx_metadata_len,
                "must be a multiple of 8",
            ));
        }
        Ok(())
    }

    /// Total bytes of the UMEM.
    pub fn len(&self) -> usize {
        self.frame_size as usize * self.frame_count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The largest packet a frame can hold for TX (after headroom and TX metadata).
    pub fn max_packet(&self) -> u32 {
        self.frame_size - self.headroom - self.tx_metadata_len
    }
}

/// Busy-polling socket options (SO_PREFER_BUSY_POLL, SO_BUSY_POLL, SO_BUSY_POLL_BUDGET).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyPoll {
    /// SO_PREFER_BUSY_POLL: the NAPI context stays with the busy-polling socket (the kernel
    /// defers its interrupts), and a zero-copy socket's sendto() then skips the driver's TX
    /// wake-up ([`crate::Control::tx_wakeup_skipped`]).
    pub prefer: bool,
    pub usecs: u32,
    pub budget: u32,
}

impl Default for BusyPoll {
    fn default() -> Self {
        BusyPoll {
            prefer: true,
            usecs: 20,
            budget: 64,
        }
    }
}

/// One AF_XDP socket: where it binds and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketConfig {
    pub ifindex: u32,
    pub queue_id: u32,
    pub rx_size: u32,
    pub tx_size: u32,
    pub bind: BindMode,
    pub need_wakeup: bool,
    /// XDP_USE_SG: multi-buffer packets (frames chained with XDP_PKT_CONTD).
    pub use_sg: bool,
    pub busy_poll: Option<BusyPoll>,
    /// UMEM frames `0..prefill` put on the fill ring before the bind (at most the fill ring's
    /// size and the UMEM's frames). A zero-copy driver fills its RX queue from the fill ring
    /// when the bind enables it; an empty ring there leaves the refill to the driver's own
    /// retry (virtio-net 6.x: `refill_work`, a kernel worker that raced XDP attach and XSK bind;
    /// 7.x: a NAPI that repolls until the ring fills), so buffers handed over after the bind
    /// arrive late, or, where that retry is lost, never.
    pub prefill: u32,
}

impl SocketConfig {
    pub fn new(ifindex: u32, queue_id: u32) -> Self {
        SocketConfig {
            ifindex,
            queue_id,
            rx_size: 2048,
            tx_size: 2048,
            bind: BindMode::Copy,
            need_wakeup: true,
            use_sg: false,
            busy_poll: None,
            prefill: 0,
        }
    }

    pub fn validate(&self) -> Result<()> {
        ring_size("--ring-size (rx)", self.rx_size)?;
        ring_size("--ring-size (tx)", self.tx_size)?;
        if let Some(bp) = self.busy_poll
            && (bp.budget == 0 || bp.budget > u16::MAX as u32)
        {
            return Err(Error::config(
                "--busy-poll-budget",
                bp.budget,
                "must be 1..=65535",
            ));
        }
        Ok(())
    }
}

fn ring_size(param: &'static str, n: u32) -> Result<()> {
    if !n.is_power_of_two() || !(2..=1 << 20).contains(&n) {
        return Err(Error::config(
            param,
            n,
            "must be a power of two between 2 and 1048576",
        ));
    }
    Ok(())
}
