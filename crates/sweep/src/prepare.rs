//! What a sweep checks and fills in before its first run: the hosts' interfaces and addresses
//! from the embedded testbed, ssh hosts reachable with an xdplat binary, CPUs that exist here.

use std::path::Path;

use crate::Error;
use crate::experiment::{Exec, Experiment};
use crate::transport;

/// Fills interface, address and MAC of hosts that live in the embedded testbed, and the
/// forwarder's end of each pinger's link.
pub(crate) fn fill_from_testbed(exp: &mut Experiment, status: &host::testbed::Status) {
    let fwd_ns = exp.hosts[&exp.fwd_host].netns.clone();
    for p in exp.pingers.clone() {
        let Some(ns) = exp.hosts[&p].netns.clone() else {
            continue;
        };
        for l in &status.links {
            for (mine, other) in [(&l.a, &l.b), (&l.b, &l.a)] {
                if mine.netns == ns && Some(&other.netns) == fwd_ns.as_ref() {
                    exp.fwd_links.insert(
                        p.clone(),
                        (other.iface.clone(), other.ip(), Some(other.mac.clone())),
                    );
                }
            }
        }
    }
    for h in exp.hosts.values_mut() {
        let Some(ns) = &h.netns else { continue };
        // ssh hosts of a VM testbed's guest ([`crate::vmbed::attach`]) live in it too
        if h.exec != Exec::Local && status.vm.is_none() {
            continue;
        }
        for l in &status.links {
            for end in [&l.a, &l.b] {
                if &end.netns == ns {
                    h.iface.get_or_insert_with(|| end.iface.clone());
                    if h.ip.is_none() {
                        h.ip = end.ip();
                    }
                    h.mac.get_or_insert_with(|| end.mac.clone());
                }
            }
        }
    }
}

/// Checks the hosts before anything runs: interfaces known, the fwd address known, ssh hosts
/// reachable with an xdplat binary. Returns the facts to store with the results.
pub(crate) fn check_hosts(exp: &Experiment, local_bin: &Path) -> Result<String, Error> {
    let env = results::Environment::detect();
    let mut facts = format!(
        "xdplat {} (sweep), local: kernel {}, cpu {}, host {}\n",
        env.xdplat_version, env.kernel_release, env.cpu_model, env.hostname
    );
    for role in exp.pingers.iter().chain([&exp.fwd_host]) {
        let h = &exp.hosts[role];
        if h.iface.is_none() {
            return Err(Error::BadInput(format!(
                "host {:?} has no iface (give iface = \"...\" in [hosts.{}])",
                h.name, h.name
            )));
        }
    }
    for role in exp.pingers.iter().chain([&exp.fwd_host]) {
        let h = &exp.hosts[role];
        if h.exec == Exec::Local {
            local_iface(exp, h)?;
        }
    }
    if exp.hosts[&exp.fwd_host].ip.is_none() {
        return Err(Error::BadInput(format!(
            "host {:?} (fwd) has no address: give ip = \"A.B.C.D\" in [hosts.{}]",
            exp.fwd_host, exp.fwd_host
        )));
    }
    for h in exp.hosts.values() {
        if let Exec::Ssh { dest, .. } = &h.exec {
            let bin = transport::binary(h, local_bin);
            let v = transport::output(h, &[bin.clone(), "--version".into()]).map_err(|e| {
                Error::BadInput(format!(
                    "host {:?} ({dest}): cannot run {bin} --version over ssh ({e}); install xdplat there or set xdplat = \"/path\"",
                    h.name
                ))
            })?;
            let uname = transport::output(h, &["uname".into(), "-srm".into()]).unwrap_or_default();
            facts.push_str(&format!(
                "host {} ({dest}): {} {}\n",
                h.name,
                v.trim(),
                uname.trim()
            ));
        }
    }
    Ok(facts)
}

/// A local host's interface must exist (in its namespace) and have the host's queue.
fn local_iface(exp: &Experiment, h: &crate::experiment::HostSpec) -> Result<(), Error> {
    let iface = h.iface.clone().unwrap_or_default();
    let name = iface.clone();
    let info = match &h.netns {
        Some(ns) => host::netns::run_in(ns, move || host::iface::info(&name)).and_then(|r| r),
        None => host::iface::info(&name),
    };
    let line = crate::experiment::line_of(&exp.text, &format!("hosts.{}", h.name));
    let info = info.map_err(|e| {
        Error::BadInput(format!(
            "host {:?} (line {line}): {e}: fix iface or netns in [hosts.{}]",
            h.name, h.name
        ))
    })?;
    let have = info.num_rx_queues.min(info.num_tx_queues).max(1);
    if h.queue >= have {
        return Err(Error::BadInput(format!(
            "host {:?} (line {line}): queue = {} but {iface} has queues 0 to {}: give one of those in [hosts.{}]",
            h.name,
            h.queue,
            have - 1,
            h.name
        )));
    }
    Ok(())
}

/// A local host's `cpu` this process may not use (a machine with fewer CPUs than the file
/// assumes) is dropped with a note, so the roles float instead of failing every run.
pub(crate) fn drop_missing_cpus(exp: &mut Experiment) -> Vec<String> {
    let Ok(mask) = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    for h in exp.hosts.values_mut() {
        if let (Exec::Local, Some(c)) = (&h.exec, h.cpu)
            && !mask.is_set(c).unwrap_or(false)
        {
            notes.push(format!(
                "host {}: CPU {c} is not available here; its roles are not pinned",
                h.name
            ));
            h.cpu = None;
        }
    }
    notes
}
