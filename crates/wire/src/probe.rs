//! The probe header carried in the UDP payload, big-endian:
//!
//! ```text
//! off len field
//!   0   2 magic 0x5844 ("XD")
//!   2   1 version (1)
//!   3   1 flags: bit 0 STAMP_ROOM, bit 1 FWD_STAMPED, others must be 0
//!   4   2 run_id
//!   6   8 seq
//!  14   8 tx_ns       sender's app send time, CLOCK_MONOTONIC ns
//! --- forwarder-stamp extension, present when STAMP_ROOM is set ---
//!  22   8 fwd_xdp_ns  forwarder's XDP-hook time
//!  30   8 fwd_rx_ns   forwarder's app receive time
//!  38   8 fwd_tx_ns   forwarder's app send time
//! ```
//!
//! The extension is all zeros until a forwarder fills it and sets FWD_STAMPED.

use crate::Error;

/// The probe magic, "XD".
pub const PROBE_MAGIC: u16 = 0x5844;
/// The probe format version this crate reads and writes.
pub const PROBE_VERSION: u8 = 1;
/// Length of the base probe header.
pub const PROBE_BASE_LEN: usize = 22;
/// Length of the forwarder-stamp extension.
pub const PROBE_STAMP_LEN: usize = 24;

/// Flag bits of the probe header.
pub mod flags {
    /// The sender reserved the forwarder-stamp extension.
    pub const STAMP_ROOM: u8 = 1 << 0;
    /// A forwarder filled the extension.
    pub const FWD_STAMPED: u8 = 1 << 1;
    /// Every bit version 1 defines.
    pub const KNOWN: u8 = STAMP_ROOM | FWD_STAMPED;
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
}

impl ProbeRepr {
    /// Bytes this header takes: 22, or 46 with the stamp extension.
    pub const fn header_len(&self) -> usize {
        if self.stamps.is_some() {
            PROBE_BASE_LEN + PROBE_STAMP_LEN
        } else {
            PROBE_BASE_LEN
        }
    }

    /// The flags emitted for this repr: STAMP_ROOM with an extension, and
    /// FWD_STAMPED when its stamps are non-zero.
    pub fn flags(&self) -> u8 {
        match self.stamps {
            None => 0,
            Some(s) if s.is_set() => flags::STAMP_ROOM | flags::FWD_STAMPED,
            Some(_) => flags::STAMP_ROOM,
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
        Ok(ProbeRepr {
            run_id: header.run_id(),
            seq: header.seq(),
            tx_ns: header.tx_ns(),
            stamps: header.stamps(),
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
                what: "probe stamp extension",
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

    /// Bytes of header present per the flags: 22, or 46 with STAMP_ROOM.
    #[inline]
    pub fn header_len(&self) -> usize {
        if self.flags() & flags::STAMP_ROOM != 0 {
            PROBE_BASE_LEN + PROBE_STAMP_LEN
        } else {
            PROBE_BASE_LEN
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
                stamps: None
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
        };
        let mut bytes = [0u8; 46];
        repr.emit(&mut ProbeHeader::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes[3], flags::STAMP_ROOM | flags::FWD_STAMPED);
        assert_eq!(bytes[22..30], 1u64.to_be_bytes());
        let header = ProbeHeader::new_checked(&bytes[..]).unwrap();
        assert_eq!(ProbeRepr::parse(&header), Ok(repr));
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
