//! What a run cost in CPU ([`results::Cpu`]): each role's user and system time and the softirq
//! time of the CPUs involved ([`crate::cpu`]), locally from RUSAGE_CHILDREN and /proc/stat, over
//! ssh from each role's wrapper.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use probe::knobs::Role;

use super::Member;
use crate::cpu::{self, ChildTimes};
use crate::experiment::{Exec, Experiment, HostSpec};
use crate::plan::Config;
use crate::roles::role_knobs;
use crate::transport::RoleProc;

/// Softirq ticks per CPU before and after the roles ran.
pub(super) type Ticks<'a> = (&'a [(usize, u64)], &'a [(usize, u64)]);

/// The cost of a member: its ping and the forwarders, and the softirq time of the CPUs involved.
/// Local roles of a group are counted together (RUSAGE_CHILDREN).
pub(super) fn cost(
    members: &[Member],
    cfg: &Config,
    ping: &RoleProc,
    fwds: &[RoleProc],
    (local_ping, local_fwd): (ChildTimes, ChildTimes),
    (s0, s1): Ticks,
) -> results::Cpu {
    let exp = &members[0].exp;
    let ping_host = &exp.hosts[&exp.ping_host];
    let fwd_host = &exp.hosts[&exp.fwd_host];
    let mut out = results::Cpu::default();
    let mut softirq = 0;
    let mut complete = true;
    for (role, hs, local, procs) in [
        (Role::Ping, ping_host, local_ping, vec![ping]),
        (Role::Fwd, fwd_host, local_fwd, fwds.iter().collect()),
    ] {
        if hs.exec == Exec::Local {
            put(&mut out, role, local);
            continue;
        }
        let cpus = role_cpu(exp, cfg, role, hs).map(|c| vec![c]);
        let mut sum = ChildTimes::default();
        for p in procs {
            match remote_cost(p, cpus.as_deref()) {
                Some((t, si)) => {
                    softirq += si;
                    sum.user += t.user;
                    sum.sys += t.sys;
                }
                None => complete = false,
            }
        }
        if complete {
            put(&mut out, role, sum);
        }
    }
    if ping_host.exec == Exec::Local || fwd_host.exec == Exec::Local {
        let cpus = involved_cpus(members, cfg);
        softirq += cpu::softirq_ns(s0, s1, cpus.as_deref());
        out.softirq_cpus = Some(cpus);
    }
    if complete {
        out.softirq_ns = Some(softirq);
    }
    out
}

fn put(out: &mut results::Cpu, role: Role, t: ChildTimes) {
    let (user, sys) = (t.user.as_nanos() as u64, t.sys.as_nanos() as u64);
    match role {
        Role::Ping => (out.ping_user_ns, out.ping_sys_ns) = (Some(user), Some(sys)),
        Role::Fwd => (out.fwd_user_ns, out.fwd_sys_ns) = (Some(user), Some(sys)),
    }
}

/// What an ssh role's wrapper reported (waiting briefly for its last line).
fn remote_cost(p: &RoleProc, cpus: Option<&[usize]>) -> Option<(ChildTimes, u64)> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let marks = p.marks.lock().map(|m| m.clone()).unwrap_or_default();
        if let Some(c) = cpu::remote_cost(&marks, cpus) {
            return Some(c);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The CPUs the roles are pinned to (local hosts), or None (all CPUs) when a role floats.
fn involved_cpus(members: &[Member], cfg: &Config) -> Option<Vec<usize>> {
    let mut set = BTreeSet::new();
    for m in members {
        let exp = &m.exp;
        for (role, h) in [(Role::Ping, &exp.ping_host), (Role::Fwd, &exp.fwd_host)] {
            let hs: &HostSpec = &exp.hosts[h];
            if hs.exec != Exec::Local {
                continue;
            }
            set.insert(role_cpu(exp, cfg, role, hs)?);
        }
    }
    Some(set.into_iter().collect())
}

/// The CPU `role` is pinned to in `cfg` (a cpu axis, else its host's `cpu`).
fn role_cpu(exp: &Experiment, cfg: &Config, role: Role, hs: &HostSpec) -> Option<usize> {
    role_knobs(exp, cfg, role, hs).cpu
}
