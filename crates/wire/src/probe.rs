//! The probe header carried in the UDP payload, big-endian:
//!
//! ```text
//! off len field
//!   0   2 magic 0x5844 ("XD")
//!   2   1 version (1)
//!   3   1 flags: bit 0 STAMP_ROOM, bit 1 FWD_STAMPED, bit 2 FWD_QUEUE, others must be 0
//!   4   2 run_id
//!   6   8 seq
//!  14   8 tx_ns       sender's app send time, CLOCK_MONOTONIC ns
//! --- forwarder-stamp extension, present when STAMP_ROOM is set ---
//!  22   8 fwd_xdp_ns  forwarder's XDP-hook time
//!  30   8 fwd_rx_ns   forwarder's app receive time
//!  38   8 fwd_tx_ns   forwarder's app send time
//! --- forwarder-queue extension, present when FWD_QUEUE is set (only with STAMP_ROOM) ---
//!  46   2 fwd_queue   the forwarder's RX queue
//!  48   4 fwd_napi_id the NAPI id of that queue's socket (0: none)
//! ```
//!
//! The stamp extension is all zeros until a forwarder fills it and sets FWD_STAMPED. A
//! forwarder adds the queue extension where the probe has the room (the payload is the
//! sender's, so a sender that wants to know the queue sends probes of 94 bytes or more).

use crate::Error;

/// The probe magic, "XD".
pub const PROBE_MAGIC: u16 = 0x5844;
/// The probe format version this crate reads and writes.
pub const PROBE_VERSION: u8 = 1;
/// Length of the base probe header.
pub const PROBE_BASE_LEN: usize = 22;
/// Length of the forwarder-stamp extension.
pub const PROBE_STAMP_LEN: usize = 24;
/// Length of the forwarder-queue extension.
pub const PROBE_QUEUE_LEN: usize = 6;

/// Flag bits of the probe header.
pub mod flags {
    /// The sender reserved the forwarder-stamp extension.
    pub const STAMP_ROOM: u8 = 1 << 0;
    /// A forwarder filled the extension.
    pub const FWD_STAMPED: u8 = 1 << 1;
    /// A forwarder wrote its RX queue and NAPI id after the stamps.
    pub const FWD_QUEUE: u8 = 1 << 2;
    /// Every bit version 1 defines.
    pub const KNOWN: u8 = STAMP_ROOM | FWD_STAMPED | FWD_QUEUE;
}

mod field {
    pub const MAGIC: usize = 0;
    pub const VERSION: usize = 2;
    pub const FLAGS: usize = 3;
    pub const RUN_ID: usize = 4;
    pub const SEQ: usize = 6;
    pub const TX_NS: usize = 14;
    pub const FWD_XDP_NS: usize = 22;
    pub const FWD_RX_NS: usize = 30;
    pub const FWD_TX_NS: usize = 38;
    pub const FWD_QUEUE: usize = 46;
    pub const FWD_NAPI_ID: usize = 48;
}

/// Times a forwarder stamps into a probe (CLOCK_MONOTONIC ns of the forwarder's host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FwdStamps {
    /// When the probe passed the forwarder's XDP hook.
    pub xdp_ns: u64,
    /// When the forwarder's application read it from its RX ring.
    pub rx_ns: u64,
    /// When the forwarder's application put it on its TX ring.
    pub tx_ns: u64,
}

impl FwdStamps {
    /// Whether any stamp is non-zero (zeros mean "not stamped").
    pub fn is_set(&self) -> bool {
        *self != FwdStamps::default()
    }
}

/// Where the forwarder received a probe: its RX queue and that queue's NAPI id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FwdQueue {
    pub queue: u16,
    /// SO_INCOMING_NAPI_ID of the forwarder's socket on that queue (0: no NAPI context).
    pub napi_id: u32,
}

/// The probe header's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProbeRepr {
    /// Identifies the run, so stray probes of an earlier run are told apart.
    pub run_id: u16,
    /// Sequence number.
    pub seq: u64,
    /// Sender's app send time, CLOCK_MONOTONIC ns.
    pub tx_ns: u64,
    /// `Some` when the stamp extension is reserved; its values are zeros
    /// until a forwarder fills them.
    pub stamps: Option<FwdStamps>,
    /// `Some` when a forwarder wrote the queue extension (only with `stamps`).
    pub fwd_queue: Option<FwdQueue>,
}

impl ProbeRepr {
    /// Bytes this header takes: 22, 46 with the stamp extension, 52 with the queue's too.
    pub const fn header_len(&self) -> usize {
        match (self.stamps.is_some(), self.fwd_queue.is_some()) {
            (false, _) => PROBE_BASE_LEN,
            (true, false) => PROBE_BASE_LEN + PROBE_STAMP_LEN,
            (true, true) => PROBE_BASE_LEN + PROBE_STAMP_LEN + PROBE_QUEUE_LEN,
        }
    }

    /// The flags emitted for this repr: STAMP_ROOM with an extension, and
    /// FWD_STAMPED when its stamps are non-zero.
    pub fn flags(&self) -> u8 {
        match self.stamps {
            None => 0,
            Some(s) if s.is_set() => flags::STAMP_ROOM | flags::FWD_STAMPED | self.queue_flag(),
            Some(_) => flags::STAMP_ROOM | self.queue_flag(),
        }
    }

    const fn queue_flag(&self) -> u8 {
        if self.fwd_queue.is_some() {
            flags::FWD_QUEUE
        } else {
            0
        }
    }

    /// Reads a header, checking magic (`NotProbe`), version (`NotProbe`) and
    /// flags (`Corrupt`).
    pub fn parse<T: AsRef<[u8]>>(header: &ProbeHeader<T>) -> Result<ProbeRepr, Error> {
        if header.magic() != PROBE_MAGIC {
            return Err(Error::NotProbe {
                why: "probe magic mismatch",
            });
        }
        if header.version() != PROBE_VERSION {
            return Err(Error::NotProbe {
                why: "unsupported probe version",
            });
        }
        let f = header.flags();
        if f & !flags::KNOWN != 0 {
            return Err(Error::Corrupt {
                what: "reserved probe flag bits set",
            });
        }
        if f & flags::FWD_STAMPED != 0 && f & flags::STAMP_ROOM == 0 {
            return Err(Error::Corrupt {
                what: "probe FWD_STAMPED without STAMP_ROOM",
            });
        }
        if f & flags::FWD_QUEUE != 0 && f & flags::STAMP_ROOM == 0 {
            return Err(Error::Corrupt {
                what: "probe FWD_QUEUE without STAMP_ROOM",
            });
        }
        Ok(ProbeRepr {
            run_id: header.run_id(),
            seq: header.seq(),
            tx_ns: header.tx_ns(),
            stamps: header.stamps(),
            fwd_queue: header.fwd_queue(),
        })
    }

    /// Writes the header; the buffer must hold `header_len()` bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, header: &mut ProbeHeader<T>) {
        header.set_magic(PROBE_MAGIC);
        header.set_version(PROBE_VERSION);
        header.set_flags(self.flags());
        header.set_run_id(self.run_id);
        header.set_seq(self.seq);
        header.set_tx_ns(self.tx_ns);
        if let Some(stamps) = self.stamps {
            header.set_stamps(&stamps);
            if let Some(q) = self.fwd_queue {
                header.set_fwd_queue(&q);
            }
        }
    }
}

/// A probe header view. [`ProbeHeader::new_checked`] guarantees the base
/// header fits, and the extension too when STAMP_ROOM is set; the stamp
/// accessors panic if STAMP_ROOM is set afterwards on a buffer too short.
#[derive(Debug, Clone)]
pub struct ProbeHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ProbeHeader<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        ProbeHeader { buffer }
    }

    /// Wraps a buffer holding the base header, plus the extension if flagged.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let header = Self::new_unchecked(buffer);
        header.check_len()?;
        Ok(header)
    }

    /// Errs when an accessor could panic: see [`ProbeHeader::new_checked`].
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < PROBE_BASE_LEN {
            return Err(Error::Truncated {
                what: "probe header",
                len,
                need: PROBE_BASE_LEN,
            });
        }
        let need = self.header_len();
        if len < need {
            return Err(Error::Truncated {
                what: if self.flags() & flags::FWD_QUEUE != 0 {
                    "probe queue extension"
                } else {
                    "probe stamp extension"
                },
                len,
                need,
            });
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Bytes of header present per the flags: 22, 46 with STAMP_ROOM, 52 with FWD_QUEUE too.
    #[inline]
    pub fn header_len(&self) -> usize {
        let f = self.flags();
        if f & flags::STAMP_ROOM == 0 {
            PROBE_BASE_LEN
        } else if f & flags::FWD_QUEUE == 0 {
            PROBE_BASE_LEN + PROBE_STAMP_LEN
        } else {
            PROBE_BASE_LEN + PROBE_STAMP_LEN + PROBE_QUEUE_LEN
        }
    }

    /// Magic field.
    #[inline]
    pub fn magic(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::MAGIC], b[field::MAGIC + 1]])
    }

    /// Version field.
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION]
    }

    /// Flags field, see [`flags`].
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// Run id.
    #[inline]
    pub fn run_id(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::RUN_ID], b[field::RUN_ID + 1]])
    }

    /// Sequence number.
    #[inline]
    pub fn seq(&self) -> u64 {
        self.read_u64(field::SEQ)
    }

    /// Sender's send time.
    #[inline]
    pub fn tx_ns(&self) -> u64 {
        self.read_u64(field::TX_NS)
    }

    /// The extension's stamps when STAMP_ROOM is set (zeros if not filled yet).
    #[inline]
    pub fn stamps(&self) -> Option<FwdStamps> {
        (self.flags() & flags::STAMP_ROOM != 0).then(|| FwdStamps {
            xdp_ns: self.read_u64(field::FWD_XDP_NS),
            rx_ns: self.read_u64(field::FWD_RX_NS),
            tx_ns: self.read_u64(field::FWD_TX_NS),
        })
    }

    /// The forwarder's queue and NAPI id when FWD_QUEUE and STAMP_ROOM are set.
    #[inline]
    pub fn fwd_queue(&self) -> Option<FwdQueue> {
        let f = self.flags();
        let b = self.buffer.as_ref();
        (f & flags::FWD_QUEUE != 0 && f & flags::STAMP_ROOM != 0).then(|| FwdQueue {
            queue: u16::from_be_bytes([b[field::FWD_QUEUE], b[field::FWD_QUEUE + 1]]),
            napi_id: u32::from_be_bytes([
                b[field::FWD_NAPI_ID],
                b[field::FWD_NAPI_ID + 1],
                b[field::FWD_NAPI_ID + 2],
                b[field::FWD_NAPI_ID + 3],
            ]),
        })
    }

    #[inline]
    fn read_u64(&self, at: usize) -> u64 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.buffer.as_ref()[at..at + 8]);
        u64::from_be_bytes(word)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ProbeHeader<T> {
    /// Sets the magic.
    #[inline]
    pub fn set_magic(&mut self, magic: u16) {
        self.buffer.as_mut()[field::MAGIC..field::MAGIC + 2].copy_from_slice(&magic.to_be_bytes());
    }

    /// Sets the version.
    #[inline]
    pub fn set_version(&mut self, version: u8) {
        self.buffer.as_mut()[field::VERSION] = version;
    }

    /// Sets the flags.
    #[inline]
    pub fn set_flags(&mut self, flags: u8) {
        self.buffer.as_mut()[field::FLAGS] = flags;
    }

    /// Sets the run id.
    #[inline]
    pub fn set_run_id(&mut self, run_id: u16) {
        self.buffer.as_mut()[field::RUN_ID..field::RUN_ID + 2]
            .copy_from_slice(&run_id.to_be_bytes());
    }

    /// Sets the sequence number.
    #[inline]
    pub fn set_seq(&mut self, seq: u64) {
        self.write_u64(field::SEQ, seq);
    }

    /// Sets the send time.
    #[inline]
    pub fn set_tx_ns(&mut self, tx_ns: u64) {
        self.write_u64(field::TX_NS, tx_ns);
    }

    /// Writes the three stamps into the extension (flags untouched); the
    /// buffer must hold the extension.
    #[inline]
    pub fn set_stamps(&mut self, stamps: &FwdStamps) {
        self.write_u64(field::FWD_XDP_NS, stamps.xdp_ns);
        self.write_u64(field::FWD_RX_NS, stamps.rx_ns);
        self.write_u64(field::FWD_TX_NS, stamps.tx_ns);
    }

    /// Writes the queue extension (flags untouched); the buffer must hold it.
    #[inline]
    pub fn set_fwd_queue(&mut self, q: &FwdQueue) {
        let b = self.buffer.as_mut();
        b[field::FWD_QUEUE..field::FWD_QUEUE + 2].copy_from_slice(&q.queue.to_be_bytes());
        b[field::FWD_NAPI_ID..field::FWD_NAPI_ID + 4].copy_from_slice(&q.napi_id.to_be_bytes());
    }

    #[inline]
    fn write_u64(&mut self, at: usize, value: u64) {
        self.buffer.as_mut()[at..at + 8].copy_from_slice(&value.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static BASE: [u8; 22] = [
        0x58, 0x44, 0x01, 0x00, 0x12, 0x34, // magic, version, flags, run_id
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, // seq 0x0102
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // tx_ns 1 << 32
    ];

    #[test]
    fn deconstruct_base() {
        let header = ProbeHeader::new_checked(&BASE[..]).unwrap();
        let repr = ProbeRepr::parse(&header).unwrap();
        assert_eq!(
            repr,
            ProbeRepr {
                run_id: 0x1234,
                seq: 0x0102,
                tx_ns: 1 << 32,
                stamps: None,
                fwd_queue: None,
            }
        );
    }

    #[test]
    fn construct_base() {
        let mut bytes = [0xa5u8; 22];
        let repr = ProbeRepr {
            run_id: 0x1234,
            seq: 0x0102,
            tx_ns: 1 << 32,
            stamps: None,
            fwd_queue: None,
        };
        repr.emit(&mut ProbeHeader::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, BASE);
    }

    #[test]
    fn stamp_room_needs_the_extension() {
        let mut bytes = [0u8; 46];
        bytes[..22].copy_from_slice(&BASE);
        bytes[3] = flags::STAMP_ROOM;
        assert!(matches!(
            ProbeHeader::new_checked(&bytes[..45]),
            Err(Error::Truncated { need: 46, .. })
        ));
        let header = ProbeHeader::new_checked(&bytes[..]).unwrap();
        assert_eq!(header.stamps(), Some(FwdStamps::default()));
    }

    #[test]
    fn stamped_repr_round_trip_sets_both_flags() {
        let repr = ProbeRepr {
            run_id: 7,
            seq: u64::MAX,
            tx_ns: 42,
            stamps: Some(FwdStamps {
                xdp_ns: 1,
                rx_ns: 2,
                tx_ns: 3,
            }),
            fwd_queue: None,
        };
        let mut bytes = [0u8; 46];
        repr.emit(&mut ProbeHeader::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes[3], flags::STAMP_ROOM | flags::FWD_STAMPED);
        assert_eq!(bytes[22..30], 1u64.to_be_bytes());
        let header = ProbeHeader::new_checked(&bytes[..]).unwrap();
        assert_eq!(ProbeRepr::parse(&header), Ok(repr));
    }

    #[test]
    fn queue_extension_bytes_and_its_checks() {
        let mut bytes = [0u8; 52];
        bytes[..22].copy_from_slice(&BASE);
        bytes[3] = flags::STAMP_ROOM | flags::FWD_STAMPED | flags::FWD_QUEUE;
        bytes[29] = 1; // fwd_xdp_ns 1
        bytes[46..52].copy_from_slice(&[0x00, 0x03, 0x00, 0x00, 0x20, 0x01]);
        let header = ProbeHeader::new_checked(&bytes[..]).unwrap();
        let want = FwdQueue {
            queue: 3,
            napi_id: 0x2001,
        };
        assert_eq!(header.fwd_queue(), Some(want));
        let repr = ProbeRepr::parse(&header).unwrap();
        assert_eq!(repr.fwd_queue, Some(want));
        assert_eq!(repr.header_len(), 52);
        let mut again = [0u8; 52];
        repr.emit(&mut ProbeHeader::new_unchecked(&mut again[..]));
        assert_eq!(again, bytes);
        assert!(matches!(
            ProbeHeader::new_checked(&bytes[..51]),
            Err(Error::Truncated {
                what: "probe queue extension",
                need: 52,
                ..
            })
        ));
        bytes[3] = flags::FWD_QUEUE;
        let err = ProbeRepr::parse(&ProbeHeader::new_unchecked(&bytes[..]));
        assert!(matches!(err, Err(Error::Corrupt { .. })));
    }

    #[test]
    fn foreign_and_bad_headers_are_errors() {
        let mut bytes = BASE;
        bytes[0] = 0x00;
        let err = ProbeRepr::parse(&ProbeHeader::new_unchecked(&bytes[..]));
        assert!(matches!(err, Err(Error::NotProbe { .. })));
        let mut bytes = BASE;
        bytes[2] = 2;
        let err = ProbeRepr::parse(&ProbeHeader::new_unchecked(&bytes[..]));
        assert!(matches!(err, Err(Error::NotProbe { .. })));
        let mut bytes = BASE;
        bytes[3] = 0x80;
        let err = ProbeRepr::parse(&ProbeHeader::new_unchecked(&bytes[..]));
        assert!(matches!(err, Err(Error::Corrupt { .. })));
        let mut bytes = BASE;
        bytes[3] = flags::FWD_STAMPED;
        let err = ProbeRepr::parse(&ProbeHeader::new_unchecked(&bytes[..]));
        assert!(matches!(err, Err(Error::Corrupt { .. })));
    }
}
