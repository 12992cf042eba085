//! What the roles need from the process before they touch anything: root for the commands that
//! change the host, and the capabilities each role needs for what it is asked to do (measured on
//! Linux 6.18, RELIABILITY.md: least privilege). `xdplat doctor` lists the same needs.

use host::doctor::{
    CAP_BPF, CAP_IPC_LOCK, CAP_NET_ADMIN, CAP_NET_RAW, CAP_PERFMON, CAP_SYS_ADMIN, Capabilities,
    cap_name,
};

use crate::error::{Error, Result};
use crate::knobs::{Backend, Knobs};

/// Commands that change the host need root: say so before anything else.
pub fn require_root(what: &str) -> Result<()> {
    if nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    Err(Error::Input(format!(
        "{what} needs root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF, CAP_IPC_LOCK, and CAP_SYS_ADMIN for namespaces): run it with sudo"
    )))
}

/// Something a role does that needs a capability; any one of `caps` will do (the kernel accepts
/// CAP_SYS_ADMIN in place of CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN for loading BPF programs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Every capability need of the roles.
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

impl Need {
    /// The capability that meets it, then the others that also do.
    pub fn capability(&self) -> String {
        cap_name(self.caps[0])
    }

    pub fn alternatives(&self) -> Vec<String> {
        self.caps[1..].iter().map(|c| cap_name(*c)).collect()
    }

    /// `CAP_PERFMON (to ...; CAP_SYS_ADMIN also does)`.
    fn describe(&self) -> String {
        let mut s = format!("{} (to {}", self.capability(), self.why);
        let others = self.alternatives();
        if !others.is_empty() {
            s.push_str(&format!("; {} also does", others.join(" or ")));
        }
        s.push(')');
        s
    }
}

/// What a role needs here: the AF_XDP needs unless its backend is udp (CAP_IPC_LOCK only when
/// the UMEM exceeds RLIMIT_MEMLOCK, CAP_NET_ADMIN only with busy polling), setns only with a
/// namespace to enter.
pub fn role_needs(netns: bool, knobs: &Knobs) -> Vec<Need> {
    let afxdp = knobs.backend == Backend::Afxdp;
    let umem = u64::from(knobs.frames) * u64::from(knobs.frame_size);
    let memlock = host::doctor::memlock_limit().map_or(Some(0), |(soft, _)| soft);
    ROLE_NEEDS
        .iter()
        .copied()
        .filter(|n| match n.when {
            When::Netns => netns,
            When::Afxdp => afxdp,
            When::UmemAboveMemlock => afxdp && memlock.is_some_and(|m| umem > m),
            When::BusyPoll => afxdp && knobs.busy_poll,
        })
        .collect()
}

/// The needs the calling process's effective set does not meet.
pub fn unmet(needs: &[Need]) -> Result<Vec<Need>> {
    let caps = Capabilities::of_self()?;
    Ok(needs
        .iter()
        .copied()
        .filter(|n| !n.caps.iter().any(|c| caps.has(*c)))
        .collect())
}

/// Fails (bad input) naming the capability of every unmet need and what it is for.
pub fn require_caps(what: &str, needs: &[Need]) -> Result<()> {
    let missing = unmet(needs)?;
    if missing.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = missing.iter().map(Need::describe).collect();
    Err(Error::Input(format!(
        "{what} lacks {}: run it as root, or with these capabilities (capsh, setpriv --ambient-caps or setcap); `xdplat doctor` lists what this process has",
        list.join(", ")
    )))
}

/// The check of `ping` and `fwd` before anything else: [`role_needs`] through [`require_caps`].
pub fn require_role_caps(what: &str, netns: bool, knobs: &Knobs) -> Result<()> {
    require_caps(what, &role_needs(netns, knobs))
}
