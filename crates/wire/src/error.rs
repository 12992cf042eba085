//! The crate's one error type. Parse errors come in kinds a receiver can count
//! separately: foreign traffic (`NotProbe`), damaged probes (`Corrupt`,
//! `Truncated`), and bad input from the caller (`BadSize`, `BadMac`).

/// Everything that can go wrong when emitting, parsing or rewriting a packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The probe size (the buffer length handed to `emit_probe`) is out of range.
    #[error("probe size {size} bytes is out of range {min}..={max} (parameter size)")]
    BadSize {
        /// The requested size.
        size: usize,
        /// The minimum for this probe (64, or 88 with forwarder stamps).
        min: usize,
        /// The maximum, `MAX_PROBE_SIZE`.
        max: usize,
    },
    /// The buffer ends before a header or a length field says it should.
    #[error("truncated packet: {what} needs {need} bytes, the buffer has {len}")]
    Truncated {
        /// The header or field that did not fit.
        what: &'static str,
        /// The bytes available.
        len: usize,
        /// The bytes needed.
        need: usize,
    },
    /// Well-formed traffic that is not a probe (ARP, IPv6, TCP, other UDP, ...).
    #[error("not a probe packet: {why}")]
    NotProbe {
        /// What told it apart.
        why: &'static str,
    },
    /// A packet that claims to be IPv4/UDP/probe but fails a consistency check.
    #[error("corrupt packet: {what}")]
    Corrupt {
        /// The check that failed.
        what: &'static str,
    },
    /// A MAC address string that does not parse.
    #[error("invalid MAC address {input:?}: {why} (expected the form aa:bb:cc:dd:ee:ff)")]
    BadMac {
        /// The string given.
        input: String,
        /// What is wrong with it.
        why: &'static str,
    },
}
