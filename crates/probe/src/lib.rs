//! probe: the two roles of a latency measurement, the backends they run on, and everything a
//! command needs to run them.
//!
//! - [`ping`]: the generator/receiver loop (host A): sends batches of probes on a schedule,
//!   matches replies by sequence number, timestamps both ends and records one
//!   [`results::Sample`] per probe; [`measure`] runs a whole ping (interface, port, run
//!   directory).
//! - [`fwd`]: the MAC-swap forwarder loop (host B), like the paper's xdpsock l2fwd, optionally
//!   stamping its own receive and send times into the probe; [`serve`] runs a whole forwarder,
//!   one queue or several.
//! - [`knobs`]: the one table of knobs (flags, experiment keys, checks, summary params).
//! - [`check`]: the one validation pass of a ping or a forwarder, before anything is touched.
//! - [`preflight`]: what the roles need from the process (root, capabilities); [`doctor`]:
//!   what the machine and its interfaces can do, as typed findings.
//! - [`protocol`]: the written protocol between xdplat and the processes it starts
//!   (announcement lines, exit codes); [`warning`]: a run's typed warnings; [`stall`]: work that
//!   waited too long, seen by either role, with the rings' state at that moment.
//!
//! Both loops run over a [`Port`]: [`afxdp::AfXdpPort`] (an AF_XDP socket plus our XDP program)
//! or [`udp::UdpPort`] (ordinary kernel UDP sockets, the kernel-stack baseline). The clock is
//! passed in ([`clock::Clock`]), never read deep inside, so a fake port and clock drive both
//! loops in plain unit tests (`src/fake.rs`).

pub mod afxdp;
pub mod check;
pub mod clock;
pub mod cost;
pub mod doctor;
mod error;
#[cfg(test)]
mod fake;
pub mod fwd;
mod hist;
pub mod knobs;
pub mod measure;
mod payload;
pub mod ping;
mod port;
pub mod preflight;
pub mod protocol;
pub mod record;
pub mod serve;
pub mod sources;
pub mod stall;
pub mod tally;
pub mod trace;
pub mod udp;
pub mod warning;

pub use clock::{Clock, MonotonicClock};
pub use error::{Error, Result};
pub use knobs::{Backend, Knobs, Role};
pub use port::{Port, RxInfo, TxStamp};

/// The default UDP port of probe traffic (both source and destination, so that a forwarder that
/// swaps only MAC addresses still returns packets our XDP program recognises).
pub const DEFAULT_PROBE_PORT: u16 = 9099;
