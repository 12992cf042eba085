//! `xdplat demo`: the whole pipeline on the local namespace testbed: testbed up, the sweep of
//! `examples/quick.toml` (8 AF_XDP configurations and the kernel baseline, about two minutes),
//! the analysis, the path of `report.html`, testbed down (also on error or Ctrl-C). Everything is
//! checked before anything is made; the testbed belongs to the sweep (recorded in its lease).

use std::path::PathBuf;

use crate::cmd::common::require_root;
use crate::cmd::sweep;
use crate::exit::{bad_input, classify};

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
    let kind: host::testbed::Kind = args.testbed.parse().map_err(classify)?;
    require_root("xdplat demo")?;
    // every check before anything is made: the experiment (with what its roles would refuse),
    // then --out
    let (exp, quick) = match &args.file {
        Some(f) => (sweep::sweep_file(f)?, None),
        None => {
            let text = match kind {
                host::testbed::Kind::Netns => fit_cpus(QUICK),
                host::testbed::Kind::Vm => {
                    QUICK.replacen("[testbed]\n", "[testbed]\nkind = \"vm\"\n", 1)
                }
            };
            let exp = ::sweep::Experiment::parse(&text, "examples/quick.toml").map_err(classify)?;
            (exp, Some(text))
        }
    };
    if args.file.is_some() && exp.testbed_kind != kind && args.testbed != "netns" {
        return Err(bad_input(format!(
            "--testbed {}: the file's [testbed] is of kind {}; say kind = \"{}\" in it",
            kind.name(),
            exp.testbed_kind.name(),
            kind.name()
        )));
    }
    let plan = ::sweep::expand(&exp).map_err(classify)?;
    ::sweep::check::refuse(&exp, &::sweep::check::configs(&exp, &plan)).map_err(classify)?;
    host::owner::check_out_dir("--out", &args.out).map_err(bad_input)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let dir = (0..)
        .map(|n| match n {
            0 => args.out.join(stamp.to_string()),
            n => args.out.join(format!("{stamp}-{n}")),
        })
        .find(|d| !d.exists())
        .unwrap_or_default();
    std::fs::create_dir_all(&dir)?;
    let out = dir.join("sweep");
    let result = demo_in(&args, quick.as_deref(), &exp, &dir, &out);
    // refused before the sweep began: nothing of this demo stays
    if let Err(e) = &result
        && e.chain().any(|c| c.is::<crate::exit::BadInput>())
        && !::sweep::store::Store::holds_sweep(&out)
    {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

/// The built-in experiment pins each role to its own CPU (`cpu = N` under `[hosts.*]`); on a
/// machine (or in a cpuset) without those CPUs the roles float instead, and the demo says so.
/// A file given with --file is taken as it is: a CPU it names that this machine lacks is refused.
fn fit_cpus(text: &str) -> String {
    let allowed = probe::knobs::allowed_cpus().unwrap_or_default();
    let lacking = |line: &str| {
        line.trim_start()
            .strip_prefix("cpu = ")
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|c| !allowed.contains(&c))
    };
    if !text.lines().any(lacking) {
        return text.to_string();
    }
    println!(
        "this process may use CPUs {allowed:?} only: a role examples/quick.toml pins to another CPU floats instead"
    );
    text.lines()
        .filter(|l| !lacking(l))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn demo_in(
    args: &Args,
    quick: Option<&str>,
    exp: &::sweep::Experiment,
    dir: &std::path::Path,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let file = match (&args.file, quick) {
        (Some(f), _) => f.clone(),
        (None, text) => {
            let f = dir.join("quick.toml");
            std::fs::write(&f, text.unwrap_or(QUICK))?;
            f
        }
    };
    if let Some(name) = &exp.testbed {
        let what = match exp.testbed_kind {
            host::testbed::Kind::Vm => {
                "a QEMU guest with virtio-net NICs (under TCG the latencies are emulation's)"
            }
            host::testbed::Kind::Netns => "namespaces and veth pairs",
        };
        println!(
            "testbed {name}: {what}, made by the sweep (unless already up) and removed at its end"
        );
    }
    println!("sweep of {} into {}", file.display(), out.display());
    let outcome = sweep::run_sweep(&file, out, false, false)?;
    if outcome.done == 0 || outcome.every_afxdp_run_failed() {
        // exit 3: the grouped causes were printed at the sweep's end
        return sweep::failed_check(&outcome)
            .and(Err(anyhow::anyhow!("no run completed: nothing to analyse")));
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
    sweep::analyze_into(out, &report, opts)?;
    // `analyze` prints the path of report.html (or of the index of a split report); a demo with
    // failed runs still has its report, and exits 1
    sweep::failed_check(&outcome)
}
