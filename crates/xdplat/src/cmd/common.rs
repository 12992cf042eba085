//! Small things every role command needs: root check, durations, namespace entry, the stop flag.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::exit::bad_input;

/// Roles and the testbed change the host: without root they cannot work, so say so up front.
pub fn require_root(what: &str) -> anyhow::Result<()> {
    if !nix::unistd::geteuid().is_root() {
        return Err(bad_input(format!(
            "{what} needs root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF, CAP_IPC_LOCK, and CAP_SYS_ADMIN for namespaces): run it with sudo"
        )));
    }
    Ok(())
}

/// Parses a human duration (`30s`, `500ms`, `1m`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30s, 500ms, 1m)"))
}

/// A flag set by SIGINT or SIGTERM, so a run stops cleanly and keeps what it measured.
pub fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    Ok(stop)
}

/// Enters `netns` (when given) for the calling thread; the guard returns on drop.
pub fn enter_netns(netns: Option<&str>) -> anyhow::Result<Option<host::netns::NetnsGuard>> {
    netns
        .map(|n| host::netns::enter(n).map_err(crate::exit::classify))
        .transpose()
}

/// Facts of `iface` in the current namespace, or a bad-input error naming it.
pub fn iface(name: &str) -> anyhow::Result<host::iface::IfaceInfo> {
    host::iface::info(name).map_err(crate::exit::classify)
}

/// A run id that differs between runs, so stale replies of an earlier run are not matched.
pub fn run_id() -> u16 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (t ^ std::process::id().rotate_left(7)) as u16
}

/// `1234.5 µs` style for nanoseconds.
pub fn us(ns: f64) -> String {
    format!("{:.1} µs", ns / 1000.0)
}
