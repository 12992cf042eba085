//! `xdplat demo`: the whole pipeline on the local namespace testbed: testbed up, the sweep of
//! `examples/quick.toml` (8 AF_XDP configurations and the kernel baseline, about two minutes),
//! the analysis, the path of `report.html`, testbed down (also on error or Ctrl-C).

use std::path::PathBuf;

use crate::cmd::common::require_root;
use crate::cmd::sweep;

/// The demo's experiment, built in so that the demo runs from any directory.
const QUICK: &str = include_str!("../../../../examples/quick.toml");

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the sweep (a fresh subdirectory per demo).
    #[arg(long, default_value = "xdplat-out/demo")]
    pub out: PathBuf,
    /// Another experiment file instead of the built-in examples/quick.toml.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// netns: namespaces and veth pairs on this host; vm: the same inside a QEMU guest with real
    /// NIC drivers (`scripts/setup.sh --with-vm` installs it; under TCG the latencies are
    /// emulation's). With --file, the file's [testbed] says the kind.
    #[arg(long, default_value = "netns")]
    pub testbed: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let kind: host::testbed::Kind = args.testbed.parse().map_err(crate::exit::classify)?;
    require_root("xdplat demo")?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let dir = args.out.join(stamp.to_string());
    std::fs::create_dir_all(&dir)?;
    let file = match &args.file {
        Some(f) => f.clone(),
        None => {
            let f = dir.join("quick.toml");
            let text = match kind {
                host::testbed::Kind::Netns => QUICK.to_string(),
                host::testbed::Kind::Vm => {
                    QUICK.replacen("[testbed]\n", "[testbed]\nkind = \"vm\"\n", 1)
                }
            };
            std::fs::write(&f, text)?;
            f
        }
    };
    let exp = sweep::sweep_file(&file)?;
    if args.file.is_some() && exp.testbed_kind != kind {
        return Err(crate::exit::bad_input(format!(
            "--testbed {}: the file's [testbed] is of kind {}; say kind = \"{}\" in it",
            kind.name(),
            exp.testbed_kind.name(),
            kind.name()
        )));
    }
    // removed however the demo ends
    let _down = match &exp.testbed {
        Some(name) if kind == host::testbed::Kind::Vm => {
            let spec = host::vm::VmSpec {
                name: name.clone(),
                queues: 1,
                with_c: false,
                nic: host::vm::Nic::VirtioNet,
                kernel: None,
                accel: host::vm::install::AccelChoice::Auto,
                cpus: 2,
                memory_mb: 2048,
                xdplat: std::env::current_exe()?,
            };
            let stop = crate::cmd::common::stop_flag()?;
            let status = host::vm::up(&spec, host::vm::Lifetime::Owned, &stop, &mut |l| {
                println!("testbed {name}: {l}")
            })
            .map_err(crate::exit::classify)?;
            let l = &status.links[0];
            println!(
                "testbed {} (VM): {} ({}, {}) <-> {} ({}, {})",
                status.name,
                l.a.netns,
                l.a.ipv4,
                l.a.driver.as_deref().unwrap_or("?"),
                l.b.netns,
                l.b.ipv4,
                l.b.driver.as_deref().unwrap_or("?")
            );
            Some(host::testbed::Guard {
                status,
                say_removed: true,
            })
        }
        Some(name) => {
            let mut guard = host::testbed::Guard::up(&host::testbed::TestbedSpec {
                name: name.clone(),
                queues: 1,
                with_c: false,
            })
            .map_err(crate::exit::classify)?;
            guard.say_removed = true;
            let l = &guard.status.links[0];
            println!(
                "testbed {}: {} ({}) <-> {} ({})",
                guard.name(),
                l.a.netns,
                l.a.ipv4,
                l.b.netns,
                l.b.ipv4
            );
            Some(guard)
        }
        None => None,
    };
    let out = dir.join("sweep");
    println!("sweep of {} into {}", file.display(), out.display());
    let outcome = sweep::run_sweep(&file, &out, false, false)?;
    if outcome.done == 0 {
        anyhow::bail!("no run completed: nothing to analyse");
    }
    let report = dir.join("report");
    // The paper drops every configuration slower than the kernel's own path, which on real NICs
    // is far slower than AF_XDP. On veth the kernel path has no NIC to go through and is about
    // as fast as AF_XDP's copy mode, so that ceiling would leave almost nothing to cluster: the
    // demo keeps the kernel baseline as the reference instead (not clustered: it has no stages
    // to cluster on, and it is no poll configuration).
    println!(
        "analysis: the kernel baseline is the reference, not clustered and not used as a ceiling (veth); `xdplat analyze {}` applies the paper's ceiling",
        out.display()
    );
    let opts = analysis::Options {
        baseline: analysis::Baseline::Reference,
        ..Default::default()
    };
    sweep::analyze_into(&out, &report, opts)?;
    // `analyze` prints the path of report.html (or of the index of a split report)
    Ok(())
}
