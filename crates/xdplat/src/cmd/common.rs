//! Small things every role command needs: root and capability checks, durations, namespace
//! entry, the stop flag.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use host::doctor::{CAP_BPF, CAP_IPC_LOCK, CAP_NET_ADMIN, CAP_NET_RAW, CAP_PERFMON, CAP_SYS_ADMIN};

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

/// Something a role does that needs a capability; any one of `caps` will do (the kernel accepts
/// CAP_SYS_ADMIN in place of CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN for loading BPF programs).
#[derive(Debug, Clone, Copy)]
pub struct Need {
    pub caps: &'static [u32],
    pub why: &'static str,
    pub when: When,
}

/// The runs that have a [`Need`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Afxdp,
    UmemAboveMemlock,
    BusyPoll,
    Netns,
}

impl When {
    pub fn as_str(self) -> &'static str {
        match self {
            When::Afxdp => "--backend afxdp",
            When::UmemAboveMemlock => {
                "--backend afxdp with --frames x --frame-size above RLIMIT_MEMLOCK"
            }
            When::BusyPoll => "--backend afxdp --busy-poll true",
            When::Netns => "--netns",
        }
    }
}

/// Every capability need of the roles, measured on Linux 6.18 (RELIABILITY.md: least privilege).
pub const ROLE_NEEDS: [Need; 7] = [
    Need {
        caps: &[CAP_BPF, CAP_SYS_ADMIN],
        why: "load the XDP program and create its maps",
        when: When::Afxdp,
    },
    Need {
        caps: &[CAP_NET_ADMIN, CAP_SYS_ADMIN],
        why: "load and attach an XDP program (a networking program type)",
        when: When::Afxdp,
    },
    Need {
        caps: &[CAP_PERFMON, CAP_SYS_ADMIN],
        why: "have the verifier accept the program's variable packet offsets (pointer arithmetic is root-only without it)",
        when: When::Afxdp,
    },
    Need {
        caps: &[CAP_NET_RAW],
        why: "create the AF_XDP socket",
        when: When::Afxdp,
    },
    Need {
        caps: &[CAP_IPC_LOCK],
        why: "pin a UMEM larger than RLIMIT_MEMLOCK",
        when: When::UmemAboveMemlock,
    },
    Need {
        caps: &[CAP_NET_ADMIN],
        why: "set SO_PREFER_BUSY_POLL and SO_BUSY_POLL_BUDGET",
        when: When::BusyPoll,
    },
    Need {
        caps: &[CAP_SYS_ADMIN],
        why: "enter the network namespace given with --netns (setns)",
        when: When::Netns,
    },
];

/// What a role needs here: the AF_XDP needs unless `backend` is udp (CAP_IPC_LOCK only when the
/// UMEM exceeds RLIMIT_MEMLOCK, CAP_NET_ADMIN for busy polling only with it), setns only with a
/// namespace to enter.
pub fn role_needs(netns: Option<&str>, backend: &str, knobs: &KnobArgs) -> Vec<Need> {
    let afxdp = backend != "udp";
    let umem = u64::from(knobs.frames) * u64::from(knobs.frame_size);
    let memlock = host::doctor::memlock_limit().map_or(Some(0), |(soft, _)| soft);
    ROLE_NEEDS
        .iter()
        .copied()
        .filter(|n| match n.when {
            When::Netns => netns.is_some(),
            When::Afxdp => afxdp,
            When::UmemAboveMemlock => afxdp && memlock.is_some_and(|m| umem > m),
            When::BusyPoll => afxdp && knobs.busy_poll,
        })
        .collect()
}

/// `CAP_PERFMON (to ...; CAP_SYS_ADMIN also does)` for an unmet need.
fn describe(n: &Need) -> String {
    let mut s = format!("{} (to {}", host::doctor::cap_name(n.caps[0]), n.why);
    if n.caps.len() > 1 {
        let others: Vec<String> = n.caps[1..]
            .iter()
            .map(|c| host::doctor::cap_name(*c))
            .collect();
        s.push_str(&format!("; {} also does", others.join(" or ")));
    }
    s.push(')');
    s
}

/// The needs the calling process's effective set does not meet.
pub fn unmet(needs: &[Need]) -> anyhow::Result<Vec<Need>> {
    let caps = host::doctor::Capabilities::of_self().map_err(crate::exit::classify)?;
    Ok(needs
        .iter()
        .copied()
        .filter(|n| !n.caps.iter().any(|c| caps.has(*c)))
        .collect())
}

/// Fails (bad input, exit 2) naming the capability of every unmet need and what it is for.
pub fn require_caps(what: &str, needs: &[Need]) -> anyhow::Result<()> {
    let missing = unmet(needs)?;
    if missing.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = missing.iter().map(describe).collect();
    Err(bad_input(format!(
        "{what} lacks {}: run it as root, or with these capabilities (capsh, setpriv --ambient-caps or setcap); `xdplat doctor` lists what this process has",
        list.join(", ")
    )))
}

/// The role check of ping and fwd: [`role_needs`] through [`require_caps`].
pub fn require_role_caps(
    what: &str,
    netns: Option<&str>,
    backend: &str,
    knobs: &KnobArgs,
) -> anyhow::Result<()> {
    require_caps(what, &role_needs(netns, backend, knobs))
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
