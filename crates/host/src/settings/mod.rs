//! Host settings: one [`Setting`] per key of DESIGN.md, each read, applied
//! and restored through the kernel's own interfaces (procfs, sysfs, the
//! ethtool and netdev generic-netlink families, /dev/cpu_dma_latency).
//!
//! Values are strings as the user writes them (`--set KEY=VALUE`); a
//! setting's snapshot (what the journal keeps to restore) is its own
//! string encoding.

mod channels;
mod coalesce;
mod cpuidle;
mod devsysfs;
mod irq;
mod napi;
mod ntuple;
mod pmqos;
mod sysctl;

use crate::Error;
use crate::state::Target;

/// Something a setting keeps alive while applied (the PM QoS file).
pub type Held = Option<Box<dyn std::any::Any + Send>>;

/// One host setting.
pub trait Setting: Send + Sync + std::fmt::Debug {
    /// The key, as in `--set KEY=VALUE` and experiment files.
    fn key(&self) -> &'static str;
    /// The accepted values, in words.
    fn accepts(&self) -> &'static str;
    /// Whether it applies to an interface (`--iface` needed).
    fn per_device(&self) -> bool;
    /// Checks and normalises a value; [`Error::BadInput`] names the key and
    /// the accepted values.
    fn parse(&self, value: &str) -> Result<String, Error>;
    /// Ok when the target can take this setting, else
    /// [`Error::Unsupported`] naming the device and what it lacks.
    fn check_supported(&self, t: &Target) -> Result<(), Error>;
    /// The value in force, written as `parse` accepts it.
    fn read(&self, t: &Target) -> Result<String, Error>;
    /// What must be journaled to undo a change.
    fn snapshot(&self, t: &Target) -> Result<String, Error>;
    /// Applies a parsed value.
    fn apply(&self, t: &Target, value: &str) -> Result<Held, Error>;
    /// Puts back what `snapshot` saw.
    fn restore(&self, t: &Target, old: &str) -> Result<(), Error>;
    /// Whether the value read back after `apply` confirms it (most
    /// settings: equal; PM QoS: the aggregate is at most the request).
    fn confirms(&self, wanted: &str, read_back: &str) -> bool {
        wanted == read_back
    }
    /// Whether the setting lasts only while the process that applied it
    /// runs (the PM QoS request), so that it cannot be kept.
    fn lives_with_process(&self) -> bool {
        false
    }
}

/// Every setting, in the order `host show` lists them.
pub fn all() -> Vec<Box<dyn Setting>> {
    let mut v: Vec<Box<dyn Setting>> = vec![
        Box::new(devsysfs::DevSysfs::NAPI_DEFER_HARD_IRQS),
        Box::new(devsysfs::DevSysfs::GRO_FLUSH_TIMEOUT),
        Box::new(devsysfs::DevSysfs::THREADED),
    ];
    for n in napi::PerNapi::ALL {
        v.push(Box::new(n));
    }
    v.push(Box::new(sysctl::Sysctl::BUSY_POLL));
    v.push(Box::new(sysctl::Sysctl::BUSY_READ));
    for c in coalesce::Coalesce::ALL {
        v.push(Box::new(c));
    }
    for c in channels::Channels::ALL {
        v.push(Box::new(c));
    }
    v.push(Box::new(pmqos::CpuDmaLatency));
    v.push(Box::new(cpuidle::CpuidleDisable::default()));
    v.push(Box::new(ntuple::NtupleUdpDport));
    v.push(Box::new(irq::IrqAffinity));
    v
}

/// Every key, in order.
pub fn keys() -> Vec<&'static str> {
    all().iter().map(|s| s.key()).collect()
}

/// The setting of `key`, or bad input listing the keys.
pub fn by_key(key: &str) -> Result<Box<dyn Setting>, Error> {
    all()
        .into_iter()
        .find(|s| s.key() == key)
        .ok_or_else(|| Error::BadInput {
            param: "--set",
            value: key.into(),
            why: format!("no such host setting; the keys are: {}", keys().join(", ")),
        })
}

/// Splits `KEY=VALUE`.
pub fn parse_assignment(s: &str) -> Result<(String, String), Error> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().into(), v.trim().into())),
        _ => Err(Error::BadInput {
            param: "--set",
            value: s.into(),
            why: "expected KEY=VALUE".into(),
        }),
    }
}

pub(crate) fn bad_value(key: &'static str, value: &str, accepts: &str) -> Error {
    Error::BadInput {
        param: "--set",
        value: format!("{key}={value}"),
        why: format!("{key} takes {accepts}"),
    }
}

/// Parses an unsigned integer in `0..=max`.
pub(crate) fn parse_uint(
    key: &'static str,
    value: &str,
    max: u64,
    accepts: &str,
) -> Result<String, Error> {
    match value.parse::<u64>() {
        Ok(n) if n <= max => Ok(n.to_string()),
        _ => Err(bad_value(key, value, accepts)),
    }
}

/// The interface of a per-device target, or bad input.
pub(crate) fn iface<'a>(key: &'static str, t: &'a Target) -> Result<&'a str, Error> {
    t.iface.as_deref().ok_or_else(|| Error::BadInput {
        param: "--iface",
        value: String::new(),
        why: format!("{key} is a per-device setting: name the interface"),
    })
}

pub(crate) fn unsupported(key: &str, t: &Target, lacks: impl Into<String>) -> Error {
    Error::Unsupported {
        key: key.into(),
        device: t.describe(),
        lacks: lacks.into(),
    }
}

/// Runs `f` in the target's network namespace (on a fresh thread), or on
/// the calling thread when the target names none.
pub(crate) fn in_netns<T: Send + 'static>(
    t: &Target,
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    match &t.netns {
        Some(ns) => crate::netns::run_in(ns, f)?,
        None => f(),
    }
}

/// The cpuidle states (name, exit latency in µs) of the first CPU.
pub fn cpuidle_states() -> Vec<(String, String)> {
    cpuidle::CpuidleDisable::default().describe_states()
}

/// The cpuidle setting on another CPU sysfs tree (tests).
pub fn cpuidle_with_root(root: impl Into<std::path::PathBuf>) -> Box<dyn Setting> {
    Box::new(cpuidle::CpuidleDisable::with_root(root))
}
