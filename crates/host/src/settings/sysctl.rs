//! The sysctls `net.core.busy_poll` and `net.core.busy_read` (µs).
//!
//! Both are global: the kernel registers them for the initial network
//! namespace only, so they are read and written in /proc/sys of the calling
//! thread, and whatever `--netns` says does not change them. From a
//! process that itself runs in another namespace the files are absent,
//! which is reported as unsupported.

use super::{Held, Setting, parse_uint, unsupported};
use crate::Error;
use crate::state::Target;
use crate::sysfs;

/// A global integer sysctl.
#[derive(Debug, Clone, Copy)]
pub struct Sysctl {
    key: &'static str,
    path: &'static str,
}

impl Sysctl {
    pub const BUSY_POLL: Sysctl = Sysctl {
        key: "busy-poll",
        path: "/proc/sys/net/core/busy_poll",
    };
    pub const BUSY_READ: Sysctl = Sysctl {
        key: "busy-read",
        path: "/proc/sys/net/core/busy_read",
    };
}

impl Setting for Sysctl {
    fn key(&self) -> &'static str {
        self.key
    }
    fn accepts(&self) -> &'static str {
        "microseconds, 0 to 2147483647 (0: off); global, not per namespace"
    }
    fn per_device(&self) -> bool {
        false
    }
    fn parse(&self, value: &str) -> Result<String, Error> {
        parse_uint(self.key, value, i32::MAX as u64, self.accepts())
    }
    fn check_supported(&self, t: &Target) -> Result<(), Error> {
        if std::path::Path::new(self.path).exists() {
            Ok(())
        } else {
            Err(unsupported(
                self.key,
                t,
                format!(
                    "has no {} here (it exists only in the initial network namespace; kernel without CONFIG_NET_RX_BUSY_POLL?)",
                    self.path
                ),
            ))
        }
    }
    fn read(&self, _t: &Target) -> Result<String, Error> {
        sysfs::read(self.path)
    }
    fn snapshot(&self, t: &Target) -> Result<String, Error> {
        self.read(t)
    }
    fn apply(&self, _t: &Target, value: &str) -> Result<Held, Error> {
        sysfs::write(self.path, value)?;
        Ok(None)
    }
    fn restore(&self, _t: &Target, old: &str) -> Result<(), Error> {
        sysfs::write(self.path, old)
    }
}
