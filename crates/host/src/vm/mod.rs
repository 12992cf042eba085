//! The VM testbed: a QEMU guest whose NICs are emulated devices driven by real Linux drivers
//! (virtio-net with `iommu_platform=on` for AF_XDP zero-copy, NAPI ids and coalescing; igb on
//! QEMU >= 8.0), wired back to back, with the namespace testbed's topology inside: namespaces
//! NAME-a, NAME-b [, NAME-c] each owning a NIC named, addressed and MAC'd as
//! [`crate::testbed`] names them. So ping, fwd, host settings and sweeps run there unchanged,
//! reached with the system OpenSSH client (an sshd in the guest, port-forwarded to 127.0.0.1).
//!
//! The guest is booted by virtme-ng (the kernel community's launcher: the host's root
//! filesystem shared read-only with tmpfs overlays, so the guest runs the host's own xdplat,
//! ip, ethtool and sshd) with a kernel from [`install::find_kernel`]. KVM is used where it can
//! run a stock kernel; otherwise TCG, and every latency measured there is emulation's
//! ([`install::detect_accel`]). Ownership and reaping: [`owner`]. Host-side wiring: [`wire`].

pub mod guest;
pub mod install;
pub mod owner;
mod qemu;
pub mod wire;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::testbed::{self, Status};
use crate::{Error, netns};
use guest::GuestNic;
use install::{Accel, AccelChoice};
use owner::{ProcId, Record};
use qemu::{nics, qemu_opts};

/// The NIC model of the testbed's links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Nic {
    /// virtio-net-pci, modern only, with the DMA API (`iommu_platform=on`), multi-queue.
    #[default]
    VirtioNet,
    /// Intel 82576 (QEMU >= 8.0), each on its own PCIe root port.
    Igb,
}

impl Nic {
    pub fn name(self) -> &'static str {
        match self {
            Nic::VirtioNet => "virtio-net",
            Nic::Igb => "igb",
        }
    }

    fn module(self) -> &'static str {
        match self {
            Nic::VirtioNet => "virtio_net",
            Nic::Igb => "igb",
        }
    }
}

impl std::str::FromStr for Nic {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "virtio-net" => Ok(Nic::VirtioNet),
            "igb" => Ok(Nic::Igb),
            _ => Err(Error::BadInput {
                param: "--nic",
                value: s.into(),
                why: "expected virtio-net or igb".into(),
            }),
        }
    }
}

/// What to boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmSpec {
    pub name: String,
    /// Queue pairs of each NIC (all in use).
    pub queues: u32,
    pub with_c: bool,
    pub nic: Nic,
    /// `--kernel`; None: the host's own, else the cached one.
    pub kernel: Option<PathBuf>,
    pub accel: AccelChoice,
    pub cpus: u32,
    pub memory_mb: u32,
    /// The xdplat binary the guest runs (a host path: the guest shares the host's root).
    pub xdplat: PathBuf,
}

/// Who keeps the guest running once `up` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Until `testbed down` (`xdplat testbed up`).
    UntilDown,
    /// The calling process (a sweep, the demo, a test): when it dies without taking the
    /// guest down, the next `testbed up` or `down` does.
    Owned,
}

/// Most queue pairs accepted per NIC.
pub const MAX_QUEUES: u32 = 8;
/// How long a boot may take (TCG on a loaded 2-core machine takes minutes).
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(900);

/// The VM part of `testbed status --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmInfo {
    /// "tcg" or "kvm".
    pub accel: String,
    /// Why not KVM, under TCG.
    pub accel_note: Option<String>,
    /// True under TCG: absolute latencies measured there are emulation's, not a machine's.
    pub emulated: bool,
    pub qemu: String,
    pub kernel: String,
    pub kernel_release: String,
    pub nic: String,
    pub queues: u32,
    /// How to reach the hosts of the guest: `ssh OPTIONS DEST`.
    pub ssh_dest: String,
    pub ssh_options: Vec<String>,
    /// The xdplat binary to run there.
    pub xdplat: String,
    /// Seconds from start to sshd answering.
    pub boot_s: Option<f64>,
    pub owner_pid: Option<i32>,
    pub state_dir: String,
}

fn host_alias(name: &str) -> String {
    format!("xdplat-vm-{name}")
}

/// True when testbed `name` is a VM testbed (its state directory exists).
pub fn exists(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && owner::state_dir(name).is_dir()
}

fn free_port() -> Result<u16, Error> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Error::io("bind", "127.0.0.1:0", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::io("getsockname", "127.0.0.1:0", e))
}

/// Stops the guest and removes every trace of it unless disarmed.
struct Teardown<'a> {
    name: &'a str,
    armed: bool,
}

impl Drop for Teardown<'_> {
    fn drop(&mut self) {
        if self.armed
            && let Err(e) = down(self.name)
        {
            eprintln!(
                "testbed {}: cleaning up after a failed start: {e}",
                self.name
            );
        }
    }
}

fn check_spec(spec: &VmSpec) -> Result<(), Error> {
    testbed::validate_name(&spec.name)?;
    if spec.queues == 0 || spec.queues > MAX_QUEUES {
        return Err(Error::BadInput {
            param: "--queues",
            value: spec.queues.to_string(),
            why: format!("must be 1 to {MAX_QUEUES} for a VM testbed"),
        });
    }
    if netns::exists(&format!("{}-a", spec.name)) && !exists(&spec.name) {
        return Err(Error::BadInput {
            param: "--name",
            value: spec.name.clone(),
            why: "a namespace testbed of that name exists on this host: take it down first (`xdplat testbed down --name NAME`) or pick another name".into(),
        });
    }
    Ok(())
}

/// Boots testbed `spec` (a no-op when it runs already with the same shape). `stop` (Ctrl-C)
/// aborts the boot and removes the guest; `progress` gets one line per step.
pub fn up(
    spec: &VmSpec,
    lifetime: Lifetime,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(&str),
) -> Result<Status, Error> {
    check_spec(spec)?;
    let vng = install::vng()?;
    let (qmaj, qmin) = install::qemu_version()?;
    if spec.nic == Nic::Igb && qmaj < 8 {
        return Err(Error::BadInput {
            param: "--nic",
            value: "igb".into(),
            why: format!(
                "QEMU {qmaj}.{qmin} has no igb (it came in 8.0): {}, or use --nic virtio-net",
                install::SETUP_HINT
            ),
        });
    }
    let kernel = install::find_kernel(spec.kernel.as_deref())?;
    let accel = install::detect_accel(spec.accel)?;
    let free = install::free_mb(Path::new(owner::STATE_ROOT)).unwrap_or(u64::MAX);
    if free < install::MIN_FREE_MB {
        return Err(Error::BadInput {
            param: "--kind",
            value: "vm".into(),
            why: format!(
                "only {free} MB free for {} ({} MB needed): free some space there",
                owner::STATE_ROOT,
                install::MIN_FREE_MB
            ),
        });
    }
    if !spec.xdplat.is_file() {
        return Err(Error::BadInput {
            param: "xdplat",
            value: spec.xdplat.display().to_string(),
            why: "the binary the guest should run does not exist".into(),
        });
    }
    for n in reap_orphans() {
        progress(&n);
    }
    let dir = owner::state_dir(&spec.name);
    if let Some(rec) = Record::load(&spec.name)
        && !owner::processes(&dir).is_empty()
    {
        if rec.nic != spec.nic.name() || rec.queues != spec.queues || rec.with_c != spec.with_c {
            return Err(Error::BadInput {
                param: "--name",
                value: spec.name.clone(),
                why: format!(
                    "VM testbed {} runs already with {} x{} queues{}: take it down first",
                    spec.name,
                    rec.nic,
                    rec.queues,
                    if rec.with_c { " and C" } else { "" }
                ),
            });
        }
        return status(&spec.name);
    }
    // a stale state directory (guest gone) is cleared first
    down(&spec.name)?;

    if let Accel::Tcg { why } = &accel {
        progress(&format!(
            "notice: no KVM ({why}): the guest runs under TCG (software emulation); every latency measured in it is emulation's, not a machine's"
        ));
    }

    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", dir.display(), e))?;
    let mut teardown = Teardown {
        name: &spec.name,
        armed: true,
    };
    let port = free_port()?;
    let mut rec = Record {
        name: spec.name.clone(),
        owner: ProcId::me(),
        leader: None,
        nic: spec.nic.name().into(),
        queues: spec.queues,
        with_c: spec.with_c,
        accel: accel.name().into(),
        accel_note: match &accel {
            Accel::Tcg { why } => Some(why.clone()),
            Accel::Kvm => None,
        },
        qemu: format!("{qmaj}.{qmin}"),
        kernel: kernel.image.display().to_string(),
        kernel_release: kernel.release.clone(),
        ssh_port: port,
        xdplat: String::new(),
        boot_s: None,
    };
    // the record first: until it names its living owner, the directory looks like a dead
    // start's to another testbed's `up`, which reaps it
    rec.save()?;
    rec.xdplat = guest::ship_binary(&spec.xdplat, &dir).into();
    rec.save()?;
    let alias = host_alias(&spec.name);
    guest::make_keys(&dir, &alias)?;
    let links = nics(&spec.name, spec.with_c);
    let flat: Vec<GuestNic> = links
        .iter()
        .flat_map(|(a, b)| [a.clone(), b.clone()])
        .collect();
    // the management NIC is virtio-net whatever the links are
    let mut modules = vec![Nic::VirtioNet.module()];
    modules.push(spec.nic.module());
    modules.dedup();
    let script = guest::script(&dir, &flat, spec.queues, &modules, &spec.xdplat);
    let script_path = dir.join("guest.sh");
    std::fs::write(&script_path, script)
        .map_err(|e| Error::io("write", script_path.display(), e))?;

    progress(&format!(
        "booting Linux {} under {} ({} vCPUs, {} MiB, {} NICs x{} queues) ...",
        kernel.release,
        accel.name(),
        spec.cpus,
        spec.memory_mb,
        spec.nic.name(),
        spec.queues
    ));
    let t0 = Instant::now();
    let console = dir.join("console.log");
    let log =
        std::fs::File::create(&console).map_err(|e| Error::io("create", console.display(), e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| Error::io("dup", console.display(), e))?;
    let venv_bin = vng.parent().map(Path::to_path_buf).unwrap_or_default();
    let path = format!(
        "{}:{}",
        venv_bin.display(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into())
    );
    let mut cmd = Command::new(&vng);
    cmd.arg("--run")
        .arg(&kernel.image)
        .args(["--user", "root", "--name"])
        .arg(format!("xdplat-{}", spec.name))
        .arg("--cpus")
        .arg(spec.cpus.to_string())
        .arg("--memory")
        .arg(format!("{}M", spec.memory_mb))
        .arg("--disable-microvm")
        // the kernel's and the guest script's lines into console.log
        .arg("--verbose");
    if matches!(accel, Accel::Tcg { .. }) {
        cmd.arg("--disable-kvm");
    }
    cmd.arg("--exec")
        .arg(format!("sh {}", script_path.display()))
        // one argument: `--qemu-opts -pidfile ...` would be read as an option of vng
        .arg(format!("--qemu-opts={}", qemu_opts(&dir, spec, port)))
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    // its own process group: a Ctrl-C at the terminal reaches xdplat, which stops the guest
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd.spawn().map_err(|e| Error::Testbed {
        name: spec.name.clone(),
        why: format!("cannot start {}: {e}", vng.display()),
    })?;
    rec.leader = owner::start_of(child.id() as i32);
    rec.save()?;
    // reaped by whoever waits last: the child is a process group of its own
    drop(child);

    let pairs: Vec<(String, String)> = (0..links.len())
        .map(|l| {
            (
                wire::tap_name(&spec.name, l as u8 + 1, 0),
                wire::tap_name(&spec.name, l as u8 + 1, 1),
            )
        })
        .collect();
    wire::connect(&spec.name, &pairs, Duration::from_secs(120), &|| {
        !stop.load(Ordering::Relaxed) && !owner::processes(&dir).is_empty()
    })
    .map_err(|e| match e {
        Error::Testbed { name, why } => Error::Testbed {
            name,
            why: format!(
                "{why}; last console lines ({}):\n{}",
                console.display(),
                console_tail(&console)
            ),
        },
        e => e,
    })?;
    wait_ready(&spec.name, &dir, port, &console, t0, stop)?;
    let master = Command::new("ssh")
        .args(guest::master_args(&dir, port, &alias))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| Error::io("run", "ssh", e))?;
    if !master.status.success() {
        return Err(Error::Testbed {
            name: spec.name.clone(),
            why: format!(
                "ssh to the guest failed: {}",
                String::from_utf8_lossy(&master.stderr).trim()
            ),
        });
    }
    rec.boot_s = Some(t0.elapsed().as_secs_f64());
    if lifetime == Lifetime::UntilDown {
        rec.owner = None;
    }
    rec.save()?;
    progress(&format!(
        "guest up in {:.1} s (sshd on 127.0.0.1:{port})",
        t0.elapsed().as_secs_f64()
    ));
    let st = status(&spec.name)?;
    teardown.armed = false;
    Ok(st)
}

fn console_tail(console: &Path) -> String {
    let text = std::fs::read_to_string(console).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

/// Waits until the guest's sshd answers (the guest script starts it last); fails early when
/// the script reports an error, the guest ends, `stop` is set or [`BOOT_TIMEOUT`] passes.
fn wait_ready(
    name: &str,
    dir: &Path,
    port: u16,
    console: &Path,
    t0: Instant,
    stop: &AtomicBool,
) -> Result<(), Error> {
    let fail = |why: String| Error::Testbed {
        name: name.into(),
        why,
    };
    let alias = host_alias(name);
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(fail(
                "interrupted while the guest was booting; it was stopped".into(),
            ));
        }
        let text = std::fs::read_to_string(console).unwrap_or_default();
        if let Some(l) = text.lines().find(|l| l.contains("xdplat-guest: error")) {
            return Err(fail(format!(
                "{} (console: {})",
                l.trim(),
                console.display()
            )));
        }
        if owner::processes(dir).is_empty() {
            return Err(fail(format!(
                "the guest ended while booting; last console lines ({}):\n{}",
                console.display(),
                console_tail(console)
            )));
        }
        if t0.elapsed() > BOOT_TIMEOUT {
            return Err(fail(format!(
                "no ready guest after {BOOT_TIMEOUT:?}; last console lines ({}):\n{}",
                console.display(),
                console_tail(console)
            )));
        }
        if text.contains(guest::READY_LINE) || t0.elapsed() > Duration::from_secs(20) {
            let answered = Command::new("ssh")
                .args(guest::ssh_options(dir, port, &alias))
                .args([
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "ConnectTimeout=5",
                    "--",
                    guest::SSH_DEST,
                    "true",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if answered {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs `argv` in the guest of `rec` over ssh; its stdout.
pub fn guest_output(rec: &Record, argv: &[&str]) -> Result<String, Error> {
    let dir = owner::state_dir(&rec.name);
    let remote = argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
    let out = Command::new("ssh")
        .args(guest::ssh_options(
            &dir,
            rec.ssh_port,
            &host_alias(&rec.name),
        ))
        .arg("--")
        .arg(guest::SSH_DEST)
        .arg(&remote)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io("run", "ssh", e))?;
    if !out.status.success() {
        return Err(Error::Command {
            cmd: format!("ssh {} {remote}", guest::SSH_DEST),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The testbed as the guest sees it, plus how to reach it.
pub fn status(name: &str) -> Result<Status, Error> {
    testbed::validate_name(name)?;
    let dir = owner::state_dir(name);
    let Some(rec) = Record::load(name) else {
        return Err(Error::NoTestbed {
            name: name.into(),
            why: format!("no VM testbed state in {}", dir.display()),
        });
    };
    if owner::processes(&dir).is_empty() {
        return Err(Error::NoTestbed {
            name: name.into(),
            why: format!(
                "its guest is not running (see {}/console.log); `xdplat testbed down --name {name}` clears what is left",
                dir.display()
            ),
        });
    }
    if rec.boot_s.is_none() {
        return Err(Error::Testbed {
            name: name.into(),
            why: "its guest is still booting".into(),
        });
    }
    let out = guest_output(
        &rec,
        &[
            &rec.xdplat,
            "testbed",
            "status",
            "--kind",
            "netns",
            "--name",
            name,
            "--json",
        ],
    )?;
    let mut st: Status = serde_json::from_str(&out).map_err(|e| Error::Testbed {
        name: name.into(),
        why: format!("the guest's `testbed status --json` is not a status: {e}"),
    })?;
    st.kind = testbed::Kind::Vm;
    st.vm = Some(VmInfo {
        emulated: rec.accel == "tcg",
        accel: rec.accel.clone(),
        accel_note: rec.accel_note.clone(),
        qemu: rec.qemu.clone(),
        kernel: rec.kernel.clone(),
        kernel_release: rec.kernel_release.clone(),
        nic: rec.nic.clone(),
        queues: rec.queues,
        ssh_dest: guest::SSH_DEST.into(),
        ssh_options: guest::ssh_options(&dir, rec.ssh_port, &host_alias(name)),
        xdplat: rec.xdplat.clone(),
        boot_s: rec.boot_s,
        owner_pid: rec.owner.map(|o| o.pid),
        state_dir: dir.display().to_string(),
    });
    Ok(st)
}

/// Stops the guest of testbed `name` (every process naming its state directory), removes the
/// wire namespace and the state directory. Fine when nothing is left.
pub fn down(name: &str) -> Result<(), Error> {
    testbed::validate_name(name)?;
    let dir = owner::state_dir(name);
    if !owner::stop_all(&dir, Duration::from_secs(5)) {
        return Err(Error::Testbed {
            name: name.into(),
            why: format!(
                "processes of its guest survived SIGKILL: {:?}",
                owner::processes(&dir)
            ),
        });
    }
    wire::remove(name)?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| Error::io("remove", dir.display(), e))?;
    }
    Ok(())
}

/// How long a state directory without a record may be a start in progress.
const START_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Takes down every VM testbed whose owner died (and clears state whose guest is gone while
/// its owner is too); one line per testbed reaped.
pub fn reap_orphans() -> Vec<String> {
    let mut notes = Vec::new();
    for name in owner::all_names() {
        let dir = owner::state_dir(&name);
        let orphan = match Record::load(&name) {
            Some(r) => r.orphaned(),
            // no record: a start that died before writing one (a living start writes its
            // record right after making the directory, so a young one is left alone)
            None => owner::processes(&dir).is_empty() && owner::older_than(&dir, START_GRACE),
        };
        if orphan {
            match down(&name) {
                Ok(()) => notes.push(format!(
                    "VM testbed {name}: its owner is gone; guest stopped and removed"
                )),
                Err(e) => notes.push(format!("VM testbed {name}: reaping failed: {e}")),
            }
        }
    }
    notes
}
