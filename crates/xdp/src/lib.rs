//! xdp: the XDP program that steers probe packets (IPv4/UDP to the probe
//! port) into AF_XDP sockets through an XSKMAP and stamps them (in the
//! metadata area, or at the head of the frame where the kernel or driver refuses that:
//! [`Stamp`]), what the kernel gives XDP programs ([`caps`]), and the loader
//! and attach guard (bpf_link, skb/drv mode, optionally device-bound for NIC
//! RX timestamps). Everything that is not a
//! probe passes to the kernel. Also the XDP_TX reflector ([`ReflectProgram`]), the in-kernel
//! baseline of the forwarder benchmark.

pub mod caps;
mod counters;
mod error;
mod link;
mod log;
mod meta;
mod mode;
mod program;
mod reflect;
mod skel;
mod stamp;
mod testrun;

pub use caps::{Caps, Verdict};
pub use counters::ProgramCounters;
pub use error::{Cause, Error};
pub use log::LoadLog;
pub use meta::{META_F_DEV_BOUND, META_F_HW_RX, META_F_XDP_NS, META_LEN, META_MAGIC, XdpMeta};
pub use mode::XdpMode;
pub use program::{ProbeProgram, ProbeProgramConfig, XSKMAP_ENTRIES};
pub use reflect::ReflectProgram;
pub use stamp::{STAMP_ENV, Stamp, StampChoice, Why, choose, forced_from_env};
pub use testrun::{RunOut, StampCost, TestRun, XDP_REDIRECT, stamp_cost};
