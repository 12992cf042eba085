//! Small things every command needs: durations, namespace entry, the stop flag.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Commands that change the host need root: say so up front (exit 2).
pub fn require_root(what: &str) -> anyhow::Result<()> {
    probe::preflight::require_root(what).map_err(crate::exit::classify)
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
