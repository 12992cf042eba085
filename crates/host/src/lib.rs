//! host: everything xdplat does to the machine it runs on.
//!
//! - [`netns`]: move a thread into a named network namespace and back.
//! - [`iface`]: facts of an interface (index, MAC, IPv4, MTU, queues, driver)
//!   and neighbour (ARP) resolution, read from the kernel over rtnetlink in
//!   the calling thread's namespace.
//! - [`testbed`]: the namespaces + veth pairs testbed (`xdplat testbed up`).
//! - [`vm`]: the VM testbed: the same topology inside a QEMU guest with real NIC drivers.
//! - [`hostconfig`]: host settings (busy poll, coalescing, channels,
//!   C-states, IRQ affinity; [`settings`]) applied under a lock with an
//!   on-disk journal ([`state`]) and restored on drop or after a crash.
//! - [`doctor`]: read-only probes of XDP/AF_XDP device features, attached
//!   programs, NAPI ids and coalescing support, for `xdplat doctor`.
//! - [`owner`]: what a command creates, recorded on disk under a lease (a
//!   resumed command cleans what its earlier session made; a live one's
//!   things are never touched), and output directories checked first.
//! - [`report`]: what `host show` and `host restore` report, typed.
//! - [`test_support`]: a self-cleaning testbed, and the one way a test
//!   skips (counted by scripts/test.sh).
//!
//! Every failure is an [`Error`] whose message names the syscall, path,
//! command or parameter involved.

mod cmd;
pub mod doctor;
mod error;
mod genl;
pub mod hostconfig;
pub mod iface;
mod netdev;
pub mod netns;
mod nl;
pub mod owner;
pub mod report;
mod rxnfc;
pub mod settings;
pub mod state;
mod sysfs;
pub mod test_support;
pub mod testbed;
pub mod vm;

pub use error::Error;
pub use hostconfig::{HostConfig, OnUnsupported, Outcome, restore_journal};
pub use state::{StateDir, Target};
