//! `xdplat testbed up|down|status`: the local namespace testbed shaped like the paper's Fig. 2,
//! or (`--kind vm`) the same topology inside a QEMU guest with real NIC drivers.

use std::path::PathBuf;

use crate::cmd::common::{require_root, stop_flag};
use crate::exit::classify;

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Create (or complete) the testbed: namespaces NAME-a, NAME-b [, NAME-c] joined by veth
    /// pairs, or with --kind vm the same inside a QEMU guest whose NICs are wired back to back.
    Up(Up),
    /// Remove the testbed: every namespace (and so every veth), or the VM testbed's guest.
    Down(Name),
    /// Show the interfaces, MACs and addresses of the testbed (and, for a VM, how to reach it).
    Status(Status),
}

#[derive(Debug, clap::Args)]
pub struct Name {
    #[arg(long, default_value = "lab")]
    pub name: String,
}

#[derive(Debug, clap::Args)]
pub struct Up {
    #[arg(long, default_value = "lab")]
    pub name: String,
    /// netns: namespaces and veth pairs on this host; vm: the same inside a QEMU guest with
    /// real NIC drivers (needs `scripts/setup.sh --with-vm`).
    #[arg(long, default_value = "netns")]
    pub kind: String,
    /// RX/TX queues per veth, or queue pairs per NIC of a VM (all in use).
    #[arg(long, default_value_t = 1)]
    pub queues: u32,
    /// Add the third host C (a second generator linked to B), as in the paper.
    #[arg(long)]
    pub with_c: bool,
    /// VM: the NIC model, virtio-net or igb (QEMU >= 8.0).
    #[arg(long, default_value = "virtio-net")]
    pub nic: String,
    /// VM: the guest kernel: an image's path, or a series of the kernel matrix the cache holds
    /// (5.10, 6.1, 6.12, 7.3: `XDPLAT_VM_KERNELS="6.1" scripts/setup-vm.sh` fetches one)
    /// (default: the host's own with its modules, else the one `scripts/setup.sh --with-vm`
    /// cached).
    #[arg(long)]
    pub kernel: Option<PathBuf>,
    /// VM: auto (KVM where it can boot a stock kernel, else TCG), kvm or tcg.
    #[arg(long, default_value = "auto")]
    pub accel: String,
    /// VM: virtual CPUs.
    #[arg(long, default_value_t = 2)]
    pub cpus: u32,
    /// VM: memory in MiB.
    #[arg(long, default_value_t = 2048)]
    pub memory: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct Status {
    #[arg(long, default_value = "lab")]
    pub name: String,
    /// auto: whichever kind exists under that name; netns: this host's (or, inside a VM
    /// testbed's guest, the guest's) namespaces only.
    #[arg(long, default_value = "auto")]
    pub kind: String,
    #[arg(long)]
    pub json: bool,
}

/// The VM testbed `a` asks for, all values checked before anything starts.
pub fn vm_spec(a: &Up) -> anyhow::Result<host::vm::VmSpec> {
    Ok(host::vm::VmSpec {
        name: a.name.clone(),
        queues: a.queues,
        with_c: a.with_c,
        nic: a.nic.parse().map_err(classify)?,
        kernel: a.kernel.clone(),
        accel: a.accel.parse().map_err(classify)?,
        cpus: a.cpus.clamp(1, 64),
        memory_mb: a.memory.max(256),
        xdplat: std::env::current_exe()?,
    })
}

pub fn run(cmd: Cmd) -> anyhow::Result<()> {
    require_root("xdplat testbed")?;
    match cmd {
        Cmd::Up(a) => {
            let kind: host::testbed::Kind = a.kind.parse().map_err(classify)?;
            let status = match kind {
                host::testbed::Kind::Netns => {
                    let spec = host::testbed::TestbedSpec {
                        name: a.name.clone(),
                        queues: a.queues,
                        with_c: a.with_c,
                    };
                    host::testbed::up(&spec).map_err(classify)?
                }
                host::testbed::Kind::Vm => {
                    let spec = vm_spec(&a)?;
                    let stop = stop_flag()?;
                    host::vm::up(&spec, host::vm::Lifetime::UntilDown, &stop, &mut |l| {
                        eprintln!("testbed {}: {l}", a.name)
                    })
                    .map_err(classify)?
                }
            };
            print_status(&status, a.json)
        }
        Cmd::Down(a) => {
            host::testbed::validate_name(&a.name).map_err(classify)?;
            let vm = host::vm::exists(&a.name);
            for n in host::vm::reap_orphans() {
                eprintln!("{n}");
            }
            host::testbed::down(&a.name).map_err(classify)?;
            println!(
                "testbed {} removed{}",
                a.name,
                if vm { " (guest stopped)" } else { "" }
            );
            Ok(())
        }
        Cmd::Status(a) => {
            let status = match a.kind.as_str() {
                "auto" => host::testbed::status(&a.name),
                "netns" => host::testbed::netns_status(&a.name),
                "vm" => host::vm::status(&a.name),
                other => Err(host::Error::BadInput {
                    param: "--kind",
                    value: other.into(),
                    why: "expected auto, netns or vm".into(),
                }),
            }
            .map_err(classify)?;
            print_status(&status, a.json)
        }
    }
}

fn print_status(status: &host::testbed::Status, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(status)?);
        return Ok(());
    }
    println!("testbed {} ({})", status.name, status.kind.name());
    for l in &status.links {
        let d = |e: &host::testbed::End| {
            e.driver
                .as_deref()
                .map(|d| format!(" [{d}]"))
                .unwrap_or_default()
        };
        println!(
            "  {}:{} {} {}{}  <->  {}:{} {} {}{}",
            l.a.netns,
            l.a.iface,
            l.a.mac,
            l.a.ipv4,
            d(&l.a),
            l.b.netns,
            l.b.iface,
            l.b.mac,
            l.b.ipv4,
            d(&l.b)
        );
    }
    if let Some(vm) = &status.vm {
        println!(
            "  guest: Linux {} on QEMU {} with {}{}, {} x{} queues, booted in {}",
            vm.kernel_release,
            vm.qemu,
            vm.accel,
            vm.accel_note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            vm.nic,
            vm.queues,
            vm.boot_s.map_or("?".into(), |s| format!("{s:.1} s"))
        );
        if vm.emulated {
            println!("  latencies measured in this guest are emulation's (TCG), not a machine's");
        }
        println!(
            "  reach it: ssh {} {}",
            vm.ssh_options.join(" "),
            vm.ssh_dest
        );
    }
    Ok(())
}
