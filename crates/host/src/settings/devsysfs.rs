//! Per-device NAPI values in sysfs: `napi_defer_hard_irqs`,
//! `gro_flush_timeout` and `threaded` under /sys/class/net/IF, read and
//! written through a sysfs mounted from the device's network namespace (see
//! `crate::sysfs`). veth takes `threaded` only while it has NAPI (up, with
//! GRO or XDP); otherwise the kernel refuses the write, even of the value in force, so a value
//! already in force is not written.

use super::{Held, Setting, iface, parse_uint, unsupported};
use crate::Error;
use crate::state::Target;
use crate::sysfs;

/// A per-device integer file in /sys/class/net/IF.
#[derive(Debug, Clone, Copy)]
pub struct DevSysfs {
    key: &'static str,
    file: &'static str,
    max: u64,
    accepts: &'static str,
}

impl DevSysfs {
    pub const NAPI_DEFER_HARD_IRQS: DevSysfs = DevSysfs {
        key: "napi-defer-hard-irqs",
        file: "napi_defer_hard_irqs",
        max: i32::MAX as u64,
        accepts: "a count, 0 to 2147483647 (0: off)",
    };
    pub const GRO_FLUSH_TIMEOUT: DevSysfs = DevSysfs {
        key: "gro-flush-timeout",
        file: "gro_flush_timeout",
        max: u32::MAX as u64,
        accepts: "nanoseconds, 0 to 4294967295 (0: off)",
    };
    pub const THREADED: DevSysfs = DevSysfs {
        key: "threaded-napi",
        file: "threaded",
        max: 1,
        accepts: "0 or 1 (also off/on): NAPI polling in a kernel thread",
    };

    fn path(&self, t: &Target) -> Result<String, Error> {
        Ok(format!(
            "/sys/class/net/{}/{}",
            iface(self.key, t)?,
            self.file
        ))
    }

    fn read_in(&self, t: &Target) -> Result<String, Error> {
        let path = self.path(t)?;
        sysfs::with_sysfs_of(t.netns.as_deref(), move || sysfs::read(&path))
    }
}

impl Setting for DevSysfs {
    fn key(&self) -> &'static str {
        self.key
    }
    fn accepts(&self) -> &'static str {
        self.accepts
    }
    fn per_device(&self) -> bool {
        true
    }
    fn parse(&self, value: &str) -> Result<String, Error> {
        let value = match (self.max, value) {
            (1, "on" | "true") => "1",
            (1, "off" | "false") => "0",
            _ => value,
        };
        parse_uint(self.key, value, self.max, self.accepts)
    }
    fn check_supported(&self, t: &Target) -> Result<(), Error> {
        let path = self.path(t)?;
        let exists = sysfs::with_sysfs_of(t.netns.as_deref(), {
            let path = path.clone();
            move || Ok(std::path::Path::new(&path).exists())
        })?;
        if exists {
            Ok(())
        } else {
            Err(unsupported(
                self.key,
                t,
                format!("has no {path} (no such interface there?)"),
            ))
        }
    }
    fn read(&self, t: &Target) -> Result<String, Error> {
        self.read_in(t)
    }
    fn snapshot(&self, t: &Target) -> Result<String, Error> {
        self.read_in(t)
    }
    fn apply(&self, t: &Target, value: &str) -> Result<Held, Error> {
        // writing the value in force changes nothing, and veth refuses even that without NAPI
        if self.read_in(t).is_ok_and(|v| v == value) {
            return Ok(None);
        }
        let (path, value) = (self.path(t)?, value.to_string());
        sysfs::with_sysfs_of(t.netns.as_deref(), move || sysfs::write(&path, &value))?;
        Ok(None)
    }
    fn restore(&self, t: &Target, old: &str) -> Result<(), Error> {
        self.apply(t, old).map(|_| ())
    }
}
