//! Access to the packet bytes in the UMEM, limited to the frames this socket owns.
//!
//! The kernel writes received packets into frames handed to it on the fill ring, and reads frames
//! handed to it on the TX ring. Which frames user space may touch at a given moment is the AF_XDP
//! ownership protocol; this type enforces the part Rust can see: every access is bounds-checked
//! against this socket's share of the UMEM, writes need `&mut self`, and sockets that share a
//! UMEM own disjoint frame ranges (see [`crate::Socket::share`]).

use std::ops::Range;
use std::sync::Arc;

use super::Mmap;
use super::abi::{XSK_UNALIGNED_BUF_ADDR_MASK, XSK_UNALIGNED_BUF_OFFSET_SHIFT};
use crate::config::UmemConfig;
use crate::ring::Desc;

#[derive(Debug)]
pub struct Frames {
    map: Arc<Mmap>,
    /// Byte range of the UMEM this socket may touch.
    range: Range<u64>,
    frame_size: u32,
    headroom: u32,
    tx_metadata_len: u32,
    unaligned: bool,
}

impl Frames {
    pub(crate) fn new(map: Arc<Mmap>, cfg: &UmemConfig) -> Frames {
        let len = map.len() as u64;
        Frames {
            map,
            range: 0..len,
            frame_size: cfg.frame_size,
            headroom: cfg.headroom,
            tx_metadata_len: cfg.tx_metadata_len,
            unaligned: cfg.unaligned,
        }
    }

    /// Gives the frames `first..first + count` (indices into the UMEM) to a new owner; they must
    /// be the tail of this socket's range.
    pub(crate) fn split_off(&mut self, first: u32, count: u32) -> Option<Frames> {
        let start = first as u64 * self.frame_size as u64;
        let end = start + count as u64 * self.frame_size as u64;
        if count == 0 || start < self.range.start || end != self.range.end {
            return None;
        }
        self.range.end = start;
        Some(Frames {
            map: Arc::clone(&self.map),
            range: start..end,
            ..*self
        })
    }

    pub fn frame_size(&self) -> u32 {
        self.frame_size
    }

    /// The frame indices this socket owns.
    pub fn frame_indices(&self) -> Range<u32> {
        (self.range.start / self.frame_size as u64) as u32
            ..(self.range.end / self.frame_size as u64) as u32
    }

    /// UMEM address of frame `index` (its start).
    pub fn frame_addr(&self, index: u32) -> u64 {
        index as u64 * self.frame_size as u64
    }

    /// The address where a packet written for TX into frame `index` starts: after the headroom
    /// and the AF_XDP TX metadata area, which the kernel finds right before the packet.
    pub fn tx_addr(&self, index: u32) -> u64 {
        self.frame_addr(index) + self.headroom as u64 + self.tx_metadata_len as u64
    }

    /// Bytes of TX metadata before each TX packet (the UMEM's `tx_metadata_len`).
    pub fn tx_metadata_len(&self) -> u32 {
        self.tx_metadata_len
    }

    /// The frame that contains a descriptor address, as the start address of that frame: what
    /// goes back on the fill ring.
    pub fn frame_of(&self, addr: u64) -> u64 {
        let flat = self.flatten(addr);
        flat - flat % self.frame_size as u64
    }

    /// Unaligned mode carries an offset in the top 16 bits of an address; fold it in.
    fn flatten(&self, addr: u64) -> u64 {
        if self.unaligned {
            (addr & XSK_UNALIGNED_BUF_ADDR_MASK) + (addr >> XSK_UNALIGNED_BUF_OFFSET_SHIFT)
        } else {
            addr
        }
    }

    fn check(&self, addr: u64, len: usize) -> Option<usize> {
        let end = addr.checked_add(len as u64)?;
        (addr >= self.range.start && end <= self.range.end).then_some(addr as usize)
    }

    /// `len` bytes at UMEM address `addr`.
    pub fn get(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let addr = self.flatten(addr);
        self.check(addr, len).and_then(|a| self.map.slice(a, len))
    }

    /// `len` bytes at UMEM address `addr`, writable.
    pub fn get_mut(&mut self, addr: u64, len: usize) -> Option<&mut [u8]> {
        let addr = self.flatten(addr);
        let a = self.check(addr, len)?;
        if a + len > self.map.len() {
            return None;
        }
        // SAFETY: [a, a+len) lies inside the mapping (checked above) and inside this owner's
        // range. Owners of one UMEM hold disjoint ranges (`split_off` only hands out the tail of
        // the splitter's range and shrinks it), and `&mut self` excludes any other slice of this
        // owner, so no other Rust reference to these bytes exists while the slice lives. The
        // kernel touches only frames handed to it on the fill and TX rings (the AF_XDP ownership
        // protocol); it accesses them as foreign shared memory, outside Rust's aliasing model.
        Some(unsafe { std::slice::from_raw_parts_mut(self.map.base().add(a), len) })
    }

    /// The packet bytes of a descriptor.
    pub fn packet(&self, desc: &Desc) -> Option<&[u8]> {
        self.get(desc.addr, desc.len as usize)
    }

    /// The packet bytes of a descriptor, writable (a forwarder rewrites in place).
    pub fn packet_mut(&mut self, desc: &Desc) -> Option<&mut [u8]> {
        self.get_mut(desc.addr, desc.len as usize)
    }

    /// The `n` bytes right before a descriptor's packet: the XDP metadata area.
    pub fn before(&self, desc: &Desc, n: usize) -> Option<&[u8]> {
        let addr = self.flatten(desc.addr).checked_sub(n as u64)?;
        if addr < self.frame_of(desc.addr) {
            return None;
        }
        self.get(addr, n)
    }
}
