//! The process: who it runs as, its capabilities against what the roles need
//! ([`crate::preflight`]), and its memlock limit.

use serde::{Serialize, Serializer};

use host::doctor::{self as hd, Capabilities};

use super::{Findings, Level};
use crate::preflight::{ROLE_NEEDS, unmet};

#[derive(Debug, Clone, Serialize)]
pub struct Process {
    pub euid: u32,
    pub capabilities: Option<Vec<String>>,
    /// CapEff in hex.
    pub cap_eff: Option<String>,
    pub missing_for_roles: Vec<MissingCap>,
    pub memlock_soft: Option<Memlock>,
    pub memlock_hard: Option<Memlock>,
}

/// A capability the roles need and this process lacks.
#[derive(Debug, Clone, Serialize)]
pub struct MissingCap {
    pub capability: String,
    /// Capabilities that would do instead.
    pub or: Vec<String>,
    pub needed_to: &'static str,
    pub when: &'static str,
}

/// RLIMIT_MEMLOCK: bytes, or `"unlimited"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memlock(pub Option<u64>);

impl Serialize for Memlock {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(v) => s.serialize_u64(v),
            None => s.serialize_str("unlimited"),
        }
    }
}

impl std::fmt::Display for Memlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(v) => write!(f, "{v}"),
            None => f.write_str("unlimited"),
        }
    }
}

pub(super) fn process(f: &mut Findings) -> Process {
    let caps = Capabilities::of_self().ok();
    let memlock = hd::memlock_limit().ok();
    let unmet = unmet(&ROLE_NEEDS).unwrap_or_else(|_| ROLE_NEEDS.to_vec());
    for n in &unmet {
        f.add_fix(
            Level::Missing,
            "process",
            format!("no {} in the effective set", n.capability()),
            &format!(
                "xdplat ping/fwd with {} will refuse to start: needed to {}",
                n.when.as_str(),
                n.why
            ),
            format!("run as root, or grant {}", n.capability()),
        );
    }
    let soft = memlock.and_then(|m| m.0);
    if let Some(limit) = soft
        && !caps.is_some_and(|k| k.has(hd::CAP_IPC_LOCK))
    {
        f.add_fix(
            Level::Warn,
            "process",
            format!("RLIMIT_MEMLOCK {limit} bytes and no CAP_IPC_LOCK"),
            &format!("a UMEM above {limit} bytes fails with ENOBUFS"),
            "keep --frames x --frame-size below it",
        );
    }
    Process {
        euid: nix::unistd::geteuid().as_raw(),
        capabilities: caps.map(|c| c.effective_names()),
        cap_eff: caps.map(|c| format!("{:016x}", c.effective)),
        missing_for_roles: unmet
            .iter()
            .map(|n| MissingCap {
                capability: n.capability(),
                or: n.alternatives(),
                needed_to: n.why,
                when: n.when.as_str(),
            })
            .collect(),
        memlock_soft: memlock.map(|m| Memlock(m.0)),
        memlock_hard: memlock.map(|m| Memlock(m.1)),
    }
}
