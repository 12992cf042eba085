//! A sweep on the VM testbed (`[testbed] kind = "vm"`): the sweep boots the guest when it is not
//! up (and owns it: a sweep killed before taking it down leaves it to the next `testbed up` or
//! `down` to reap), and the hosts that live in the testbed's namespaces become ssh hosts into the
//! guest, so every role, host setting and result goes through the ssh transport unchanged.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use host::testbed::{Kind, Status};

use crate::Error;
use crate::experiment::{Exec, Experiment};

/// Boots the VM testbed `name` for `exp`, owned by this process.
pub fn up(
    exp: &Experiment,
    name: &str,
    local_bin: &Path,
    stop: &AtomicBool,
) -> Result<Status, Error> {
    let c = format!("{name}-c");
    let with_c = exp
        .pingers
        .iter()
        .any(|p| exp.hosts[p].netns.as_deref() == Some(c.as_str()));
    let spec = host::vm::VmSpec {
        name: name.to_string(),
        queues: 1,
        with_c,
        nic: host::vm::Nic::VirtioNet,
        kernel: None,
        accel: host::vm::install::AccelChoice::Auto,
        cpus: 2,
        memory_mb: 2048,
        xdplat: local_bin.to_path_buf(),
    };
    Ok(host::vm::up(
        &spec,
        host::vm::Lifetime::Owned,
        stop,
        &mut |l| eprintln!("sweep: testbed {name}: {l}"),
    )?)
}

/// Checks that the testbed is of the kind the file names, and turns the hosts living in a VM
/// testbed's namespaces into ssh hosts of its guest running the guest's copy of xdplat.
pub fn attach(exp: &mut Experiment, status: &Status) -> Result<(), Error> {
    if status.kind != exp.testbed_kind {
        return Err(Error::BadInput(format!(
            "testbed {} is up as kind {}, the experiment file says kind = \"{}\": take it down (`xdplat testbed down --name {}`) or change the file",
            status.name,
            status.kind.name(),
            exp.testbed_kind.name(),
            status.name
        )));
    }
    let Some(vm) = &status.vm else {
        return Ok(());
    };
    let inside: Vec<&str> = status
        .links
        .iter()
        .flat_map(|l| [l.a.netns.as_str(), l.b.netns.as_str()])
        .collect();
    for h in exp.hosts.values_mut() {
        if h.exec == Exec::Local && h.netns.as_deref().is_some_and(|n| inside.contains(&n)) {
            h.exec = Exec::Ssh {
                dest: vm.ssh_dest.clone(),
                options: vm.ssh_options.clone(),
            };
            // the guest's own copy (tmpfs), which starts in a fraction of the time
            h.xdplat.get_or_insert_with(|| vm.xdplat.clone());
        }
    }
    debug_assert_eq!(status.kind, Kind::Vm);
    Ok(())
}
