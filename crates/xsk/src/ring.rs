//! Safe transactions over the four rings, in the style of xdpilone: a producer reserves slots,
//! writes them and commits (publishing them to the kernel in one release store); a consumer
//! peeks at what the kernel produced and releases the slots when the peek is dropped.
//!
//! Indices are cached so that the shared producer/consumer words are touched only when the
//! cached view runs out, as in the kernel's own `xsk_queue.h`.

use std::sync::atomic::Ordering;

use crate::sys::RingMap;
use crate::sys::abi::{XDP_RING_NEED_WAKEUP, XdpDesc};

/// A descriptor on the RX or TX ring: a UMEM address, a length and option bits.
pub type Desc = XdpDesc;

/// A ring user space produces into: the fill ring (frame addresses) or the TX ring (descriptors).
#[derive(Debug)]
pub struct ProducerRing<T: crate::sys::RingEntry> {
    map: RingMap<T>,
    cached_prod: u32,
    cached_cons: u32,
}

/// A ring user space consumes from: the RX ring (descriptors) or the completion ring (addresses).
#[derive(Debug)]
pub struct ConsumerRing<T: crate::sys::RingEntry> {
    map: RingMap<T>,
    cached_prod: u32,
    cached_cons: u32,
}

pub type FillRing = ProducerRing<u64>;
pub type TxRing = ProducerRing<Desc>;
pub type RxRing = ConsumerRing<Desc>;
pub type CompletionRing = ConsumerRing<u64>;

impl<T: crate::sys::RingEntry> ProducerRing<T> {
    pub(crate) fn new(map: RingMap<T>) -> Self {
        let cached_prod = map.producer(Ordering::Relaxed);
        let cached_cons = map.consumer(Ordering::Acquire).wrapping_add(map.size());
        ProducerRing {
            map,
            cached_prod,
            cached_cons,
        }
    }

    pub fn size(&self) -> u32 {
        self.map.size()
    }

    /// Free slots, refreshing the cached consumer index only when fewer than `want` are known.
    pub fn free(&mut self, want: u32) -> u32 {
        let free = self.cached_cons.wrapping_sub(self.cached_prod);
        if free >= want {
            return free;
        }
        self.cached_cons = self
            .map
            .consumer(Ordering::Acquire)
            .wrapping_add(self.map.size());
        self.cached_cons.wrapping_sub(self.cached_prod)
    }

    /// Reserves up to `n` slots (fewer when the ring is fuller). Nothing is visible to the
    /// kernel until [`Reservation::commit`]; dropping the reservation abandons it.
    pub fn reserve(&mut self, n: u32) -> Reservation<'_, T> {
        let len = self.free(n).min(n);
        Reservation {
            start: self.cached_prod,
            len,
            ring: self,
        }
    }

    /// True when the kernel asked to be woken (need_wakeup mode) before it looks at this ring.
    pub fn needs_wakeup(&self) -> bool {
        self.map.flags() & XDP_RING_NEED_WAKEUP != 0
    }

    /// Entries published but not yet consumed by the kernel.
    pub fn pending(&self) -> u32 {
        self.cached_prod
            .wrapping_sub(self.map.consumer(Ordering::Relaxed))
    }
}

/// Slots reserved on a producer ring.
#[derive(Debug)]
pub struct Reservation<'r, T: crate::sys::RingEntry> {
    ring: &'r mut ProducerRing<T>,
    start: u32,
    len: u32,
}

impl<T: crate::sys::RingEntry> Reservation<'_, T> {
    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes slot `i` of the reservation. Panics if `i` is outside it.
    pub fn set(&mut self, i: u32, value: T) {
        assert!(
            i < self.len,
            "slot {i} outside a reservation of {}",
            self.len
        );
        self.ring.map.write(self.start.wrapping_add(i), value);
    }

    /// Publishes the first `n` slots (all written by the caller) to the kernel.
    pub fn commit(self, n: u32) {
        assert!(
            n <= self.len,
            "committing {n} of {} reserved slots",
            self.len
        );
        let prod = self.start.wrapping_add(n);
        self.ring.cached_prod = prod;
        self.ring.map.set_producer(prod);
    }
}

impl<T: crate::sys::RingEntry> ConsumerRing<T> {
    pub(crate) fn new(map: RingMap<T>) -> Self {
        let cached_cons = map.consumer(Ordering::Relaxed);
        let cached_prod = map.producer(Ordering::Acquire);
        ConsumerRing {
            map,
            cached_prod,
            cached_cons,
        }
    }

    pub fn size(&self) -> u32 {
        self.map.size()
    }

    /// Entries ready to read, refreshing the cached producer index only when none are known.
    pub fn available(&mut self) -> u32 {
        let n = self.cached_prod.wrapping_sub(self.cached_cons);
        if n > 0 {
            return n;
        }
        self.cached_prod = self.map.producer(Ordering::Acquire);
        self.cached_prod.wrapping_sub(self.cached_cons)
    }

    /// Up to `max` entries the kernel produced. They are released when the peek is dropped.
    pub fn peek(&mut self, max: u32) -> Peek<'_, T> {
        let len = self.available().min(max);
        Peek {
            start: self.cached_cons,
            len,
            ring: self,
        }
    }

    /// True when the kernel asked to be woken (need_wakeup mode).
    pub fn needs_wakeup(&self) -> bool {
        self.map.flags() & XDP_RING_NEED_WAKEUP != 0
    }
}

/// Entries peeked from a consumer ring; released back to the kernel on drop.
#[derive(Debug)]
pub struct Peek<'r, T: crate::sys::RingEntry> {
    ring: &'r mut ConsumerRing<T>,
    start: u32,
    len: u32,
}

impl<T: crate::sys::RingEntry> Peek<'_, T> {
    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entry `i` of the peek. Panics if `i` is outside it.
    pub fn get(&self, i: u32) -> T {
        assert!(i < self.len, "entry {i} outside a peek of {}", self.len);
        self.ring.map.read(self.start.wrapping_add(i))
    }

    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        (0..self.len).map(|i| self.get(i))
    }
}

impl<T: crate::sys::RingEntry> Drop for Peek<'_, T> {
    fn drop(&mut self) {
        if self.len > 0 {
            let cons = self.start.wrapping_add(self.len);
            self.ring.cached_cons = cons;
            self.ring.map.set_consumer(cons);
        }
    }
}
