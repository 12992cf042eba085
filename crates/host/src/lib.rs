//! host: everything xdplat does to the machine it runs on.
//!
//! - [`netns`]: move a thread into a named network namespace and back.
//! - [`iface`]: facts of an interface (index, MAC, IPv4, MTU, queues, driver)
//!   and neighbour (ARP) resolution, read from the kernel over rtnetlink in
//!   the calling thread's namespace.
//! - [`testbed`]: the namespaces + veth pairs testbed (`xdplat testbed up`).
//! - [`test_support`]: a self-cleaning testbed and a root check for tests.
//!
//! Every failure is an [`Error`] whose message names the syscall, path,
//! command or parameter involved.

mod cmd;
mod error;
pub mod iface;
pub mod netns;
mod nl;
pub mod test_support;
pub mod testbed;

pub use error::Error;
