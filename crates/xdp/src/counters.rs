//! The program's per-CPU counters (`counters` map), summed over CPUs.
//! Indices mirror `enum xdplat_counter` in `bpf/probe.bpf.c`.

use libbpf_rs::{MapCore, MapFlags, MapHandle};

use crate::error::Cause;

const REDIRECTED: u32 = 0;
const PASSED: u32 = 1;
const META_FAILED: u32 = 2;
const NO_SOCKET: u32 = 3;
const HEAD: u32 = 4;
const UNSTAMPED: u32 = 5;

/// What the XDP program did, since it was loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgramCounters {
    /// Probe packets handed to `bpf_redirect_map`.
    pub redirected: u64,
    /// Other packets passed to the kernel (ARP, ICMP, SSH, ...).
    pub passed: u64,
    /// Probes on which `bpf_xdp_adjust_meta` failed at run time (the driver refused it); their
    /// stamp went at the head of the frame where it could.
    pub meta_failed: u64,
    /// Probes passed to the kernel because no socket was in the map for their queue.
    pub no_socket: u64,
    /// Probes whose stamp went at the head of the frame.
    pub head: u64,
    /// Probes redirected with no stamp at all.
    pub unstamped: u64,
}

pub(crate) fn read(map: &MapHandle) -> Result<ProgramCounters, Cause> {
    let sum = |idx: u32| -> Result<u64, Cause> {
        let per_cpu = map
            .lookup_percpu(&idx.to_ne_bytes(), MapFlags::ANY)
            .map_err(Cause)?
            .unwrap_or_default();
        Ok(per_cpu
            .iter()
            .filter_map(|v| v.get(..8).and_then(|b| b.try_into().ok()))
            .map(u64::from_ne_bytes)
            .sum())
    };
    Ok(ProgramCounters {
        redirected: sum(REDIRECTED)?,
        passed: sum(PASSED)?,
        meta_failed: sum(META_FAILED)?,
        no_socket: sum(NO_SOCKET)?,
        head: sum(HEAD)?,
        unstamped: sum(UNSTAMPED)?,
    })
}
