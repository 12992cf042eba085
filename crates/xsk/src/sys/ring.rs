//! A ring shared with the kernel: producer and consumer indices, flags and the descriptor array,
//! located in an mmapped region at the offsets the kernel reported (XDP_MMAP_OFFSETS).
//!
//! Memory ordering follows the kernel's `xsk_queue.h` and libxdp: the producer publishes entries
//! with a release store of its index after writing them; the consumer reads the producer index
//! with an acquire load before reading entries, and hands slots back with a release store.

use std::io;
use std::marker::PhantomData;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicU32, Ordering};

use super::Mmap;
use super::abi::XdpRingOffset;

/// The entry types a ring can carry: u64 frame addresses (fill, completion) or descriptors.
pub trait RingEntry: Copy + Default {}
impl RingEntry for u64 {}
impl RingEntry for super::abi::XdpDesc {}

#[derive(Debug)]
pub struct RingMap<T: RingEntry> {
    map: Mmap,
    producer: usize,
    consumer: usize,
    flags: usize,
    desc: usize,
    size: u32,
    _entry: PhantomData<T>,
}

impl<T: RingEntry> RingMap<T> {
    /// Maps the ring of `size` entries (a power of two, already set with setsockopt) at page
    /// offset `pgoff` of `fd`, with the kernel-reported field offsets `off`.
    pub fn map(fd: BorrowedFd<'_>, off: &XdpRingOffset, size: u32, pgoff: i64) -> io::Result<Self> {
        assert!(size.is_power_of_two(), "ring size must be a power of two");
        let len = off.desc as usize + size as usize * std::mem::size_of::<T>();
        let map = Mmap::ring(fd, len, pgoff)?;
        let fits = |o: u64, n: usize| (o as usize).checked_add(n).is_some_and(|e| e <= len);
        let aligned = |o: u64| o.is_multiple_of(4);
        if ![off.producer, off.consumer, off.flags]
            .iter()
            .all(|&o| fits(o, 4) && aligned(o))
            || !off.desc.is_multiple_of(std::mem::align_of::<T>() as u64)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "kernel ring offsets out of bounds",
            ));
        }
        Ok(RingMap {
            producer: off.producer as usize,
            consumer: off.consumer as usize,
            flags: off.flags as usize,
            desc: off.desc as usize,
            map,
            size,
            _entry: PhantomData,
        })
    }

    pub fn size(&self) -> u32 {
        self.size
    }

    fn atomic(&self, offset: usize) -> &AtomicU32 {
        // SAFETY: `map` checked that offset+4 lies inside the mapping and is 4-aligned; the kernel
        // accesses these words atomically as well, so viewing them as AtomicU32 is the contract.
        unsafe { &*self.map.base().add(offset).cast::<AtomicU32>() }
    }

    pub fn producer(&self, order: Ordering) -> u32 {
        self.atomic(self.producer).load(order)
    }

    pub fn consumer(&self, order: Ordering) -> u32 {
        self.atomic(self.consumer).load(order)
    }

    pub fn set_producer(&self, value: u32) {
        self.atomic(self.producer).store(value, Ordering::Release)
    }

    pub fn set_consumer(&self, value: u32) {
        self.atomic(self.consumer).store(value, Ordering::Release)
    }

    pub fn flags(&self) -> u32 {
        self.atomic(self.flags).load(Ordering::Relaxed)
    }

    /// The entry at ring index `idx` (wrapped with the mask).
    pub fn read(&self, idx: u32) -> T {
        let slot = (idx & (self.size - 1)) as usize;
        // SAFETY: slot < size, and `map` sized the mapping to hold `size` entries at `desc`,
        // aligned for T. The kernel does not write a slot the consumer has not released.
        unsafe {
            self.map
                .base()
                .add(self.desc)
                .cast::<T>()
                .add(slot)
                .read_volatile()
        }
    }

    /// Writes the entry at ring index `idx` (wrapped with the mask).
    pub fn write(&self, idx: u32, value: T) {
        let slot = (idx & (self.size - 1)) as usize;
        // SAFETY: as in `read`; the producer owns the slot until it publishes it.
        unsafe {
            self.map
                .base()
                .add(self.desc)
                .cast::<T>()
                .add(slot)
                .write_volatile(value)
        }
    }
}
