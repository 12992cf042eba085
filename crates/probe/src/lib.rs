//! probe: the two roles of a latency measurement and the backends they run on.
//!
//! - [`ping`]: the generator/receiver (host A): sends batches of probes on a schedule, matches
//!   replies by sequence number, timestamps both ends and records one [`results::Sample`] per
//!   probe.
//! - [`fwd`]: the MAC-swap forwarder (host B), like the paper's xdpsock l2fwd, optionally
//!   stamping its own receive and send times into the probe.
//!
//! Both run over a [`Port`]: [`afxdp::AfXdpPort`] (an AF_XDP socket plus our XDP program) or
//! [`udp::UdpPort`] (ordinary kernel UDP sockets, the kernel-stack baseline). The clock is passed
//! in ([`clock::Clock`]), never read deep inside, so the engines are testable.

pub mod afxdp;
pub mod clock;
pub mod cost;
mod error;
pub mod fwd;
pub mod knobs;
mod payload;
pub mod ping;
mod port;
pub mod record;
pub mod sources;
pub mod tally;
pub mod trace;
pub mod udp;

pub use clock::{Clock, MonotonicClock};
pub use error::{Error, Result};
pub use knobs::Knobs;
pub use port::{Port, RxInfo, TxStamp};

/// The default UDP port of probe traffic (both source and destination, so that a forwarder that
/// swaps only MAC addresses still returns packets our XDP program recognises).
pub const DEFAULT_PROBE_PORT: u16 = 9099;
