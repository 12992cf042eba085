//! Small things every role command needs: root and capability checks, durations, namespace
//! entry, the stop flag.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::cmd::knobs::KnobArgs;
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

/// Capabilities the roles may need, and what for (RELIABILITY.md: least privilege).
pub const ROLE_CAPS: &[(u32, &str)] = &[
    (
        host::doctor::CAP_NET_ADMIN,
        "attach the XDP program through bpf_link",
    ),
    (host::doctor::CAP_NET_RAW, "create the AF_XDP socket"),
    (
        host::doctor::CAP_BPF,
        "load the XDP program and create its maps",
    ),
    (
        host::doctor::CAP_IPC_LOCK,
        "pin a UMEM larger than RLIMIT_MEMLOCK",
    ),
    (
        host::doctor::CAP_SYS_ADMIN,
        "enter the network namespace given with --netns (setns)",
    ),
];

/// The capabilities a role needs: the AF_XDP ones unless `backend` is udp, CAP_IPC_LOCK only
/// when the UMEM exceeds RLIMIT_MEMLOCK, CAP_SYS_ADMIN only with a namespace to enter.
pub fn role_caps(netns: Option<&str>, backend: &str, knobs: &KnobArgs) -> Vec<(u32, &'static str)> {
    let umem = u64::from(knobs.frames) * u64::from(knobs.frame_size);
    let memlock = host::doctor::memlock_limit().map_or(Some(0), |(soft, _)| soft);
    ROLE_CAPS
        .iter()
        .copied()
        .filter(|(cap, _)| match *cap {
            host::doctor::CAP_SYS_ADMIN => netns.is_some(),
            host::doctor::CAP_IPC_LOCK => backend != "udp" && memlock.is_some_and(|m| umem > m),
            _ => backend != "udp",
        })
        .collect()
}

/// Fails (bad input, exit 2) naming every capability `needed` that the effective set lacks, and
/// what it is for.
pub fn require_caps(what: &str, needed: &[(u32, &str)]) -> anyhow::Result<()> {
    let caps = host::doctor::Capabilities::of_self().map_err(crate::exit::classify)?;
    let missing: Vec<String> = needed
        .iter()
        .filter(|(cap, _)| !caps.has(*cap))
        .map(|(cap, why)| format!("{} (to {why})", host::doctor::cap_name(*cap)))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(bad_input(format!(
        "{what} lacks {}: run it as root, or with these capabilities (capsh, setpriv --ambient-caps or setcap); `xdplat doctor` lists what this process has",
        missing.join(", ")
    )))
}

/// The role check of ping and fwd: [`role_caps`] through [`require_caps`].
pub fn require_role_caps(
    what: &str,
    netns: Option<&str>,
    backend: &str,
    knobs: &KnobArgs,
) -> anyhow::Result<()> {
    require_caps(what, &role_caps(netns, backend, knobs))
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
