//! `xdplat host show|apply|restore`: host settings with a journal that
//! guarantees they can be undone.
//!
//! Lifetimes of a change (the choice, and why):
//! - `host apply` is an explicit request to change the host, so its changes
//!   stay in force after the command ends, marked *kept* in the journal,
//!   until `host restore`. Other xdplat commands leave kept changes alone
//!   (a sweep layers its own settings on top and goes back to the kept
//!   values), so an `apply` is not silently undone by the next command.
//! - `host apply --hold` keeps the process (and the host lock) until
//!   SIGINT/SIGTERM, then restores. If that process is SIGKILLed, its
//!   changes are crash leftovers: `host restore`, or the start of any
//!   command that takes the host lock (`host apply`, a sweep), undoes them.
//! - A PM QoS request (`cpu-dma-latency-us`) lasts only while its process
//!   holds /dev/cpu_dma_latency open, so it is accepted only with `--hold`.
//!
//! `host show --json` prints one object (schema 1, crates/host/README.md).

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use host::hostconfig;
use host::state::Entry;
use host::{HostConfig, OnUnsupported, StateDir, Target};
use probe::protocol::{Event, Holding};

use crate::cmd::common::{require_root, stop_flag};
use crate::exit::{bad_input, classify};

const AFTER_HELP: &str = "Changes are journaled (in $XDPLAT_STATE_DIR, default /var/lib/xdplat) before they are made. \
`host apply` leaves them in force until `xdplat host restore`; with --hold it waits for Ctrl-C/SIGTERM and restores. \
Changes of a process that was killed are undone by `xdplat host restore` or the next command that takes the host lock.";

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Every host setting with its current value and whether the device supports it, the cpuidle
    /// states with their exit latencies, and the journaled changes in force.
    Show(ShowArgs),
    /// Apply settings (all validated first) and leave them in force until `xdplat host restore`.
    #[command(after_help = AFTER_HELP)]
    Apply(ApplyArgs),
    /// Undo every journaled host change not yet undone (idempotent).
    Restore,
}

/// Where settings apply.
#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// Network namespace of the interface (`ip netns` name); default: the current one.
    #[arg(long)]
    netns: Option<String>,
    /// Interface, for per-device settings.
    #[arg(long)]
    iface: Option<String>,
}

impl TargetArgs {
    fn target(&self) -> Target {
        Target::new(self.netns.as_deref(), self.iface.as_deref())
    }
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Print one JSON object (schema 1, documented in crates/host/README.md).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// KEY=VALUE; repeat for several (`xdplat host show` lists the keys).
    #[arg(long = "set", value_name = "KEY=VALUE", required = true)]
    set: Vec<String>,
    /// Skip settings the device or machine lacks (each named) instead of failing.
    #[arg(long)]
    skip_unsupported: bool,
    /// Keep running until Ctrl-C or SIGTERM, then restore (needed for cpu-dma-latency-us).
    #[arg(long)]
    hold: bool,
}

pub fn run(cmd: Cmd) -> anyhow::Result<()> {
    let dir = StateDir::from_env();
    match cmd {
        Cmd::Show(a) => show(&a, &dir),
        Cmd::Apply(a) => apply(&a, &dir),
        Cmd::Restore => restore(&dir),
    }
}

fn show(a: &ShowArgs, dir: &StateDir) -> anyhow::Result<()> {
    require_root("xdplat host show")?;
    let report = host::report::show(dir, &a.target.target()).map_err(classify)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

fn print_recovered(hc: &HostConfig) {
    if !hc.recovered.is_empty() {
        println!("undoing what a killed xdplat process left in force:");
        print_restored(&hc.recovered);
    }
}

/// A setting the device or kernel lacks is bad input that says nothing was applied.
fn unsupported(e: host::Error) -> anyhow::Error {
    match e {
        host::Error::Unsupported { .. } => bad_input(format!(
            "{e}; no setting was applied (--skip-unsupported leaves such settings out)"
        )),
        e => classify(e),
    }
}

fn apply(a: &ApplyArgs, dir: &StateDir) -> anyhow::Result<()> {
    require_root("xdplat host apply")?;
    let parsed = hostconfig::parse_settings(&a.set).map_err(classify)?;
    if !a.hold
        && let Some((s, _)) = parsed.iter().find(|(s, _)| s.lives_with_process())
    {
        return Err(bad_input(format!(
            "{} is a PM QoS request: it lasts only while the process that made it keeps /dev/cpu_dma_latency open, \
             so `xdplat host apply` cannot leave it in force; add --hold to keep it until Ctrl-C",
            s.key()
        )));
    }
    // every check before the lock and the crash recovery it triggers: the values (above), the
    // namespace and the interface
    let target = a.target.target();
    hostconfig::check_target(&target).map_err(classify)?;
    let on_unsupported = if a.skip_unsupported {
        OnUnsupported::Skip
    } else {
        OnUnsupported::Error
    };
    // and each setting's support, before the lock file or the state directory is made
    hostconfig::check(&target, &a.set, on_unsupported).map_err(unsupported)?;
    // Registered before the first change, so a signal during apply is not lost.
    let stop = if a.hold { Some(stop_flag()?) } else { None };
    let mut hc = HostConfig::new(dir).map_err(classify)?;
    print_recovered(&hc);
    // On failure the guard drops here and undoes whatever this call changed.
    let outcomes = hc
        .apply(&target, &a.set, on_unsupported)
        .map_err(unsupported)?;
    outcomes.iter().for_each(|o| println!("{o}"));
    let changed = outcomes.iter().filter(|o| o.skipped.is_none()).count();
    let Some(stop) = stop else {
        for w in hc.keep().map_err(classify)? {
            println!("warning: {w}");
        }
        if changed > 0 {
            println!(
                "kept in force until `xdplat host restore` (journal {}); other xdplat commands leave it alone",
                dir.journal_path().display()
            );
        }
        return Ok(());
    };
    let pid = std::process::id();
    println!(
        "holding {changed} change(s) until Ctrl-C or SIGTERM (pid {pid}); then they are restored"
    );
    flush();
    Event::Holding(Holding {
        changes: changed,
        pid,
        applied: outcomes.iter().map(probe::protocol::host_setting).collect(),
    })
    .announce();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let entries = hc.entries();
    hc.restore()
        .map_err(classify)
        .context("restoring the held settings")?;
    print_restored(&entries);
    Ok(())
}

fn print_restored(undone: &[Entry]) {
    for line in host::report::restored(undone) {
        println!("{line}");
    }
}

fn flush() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

fn restore(dir: &StateDir) -> anyhow::Result<()> {
    require_root("xdplat host restore")?;
    let undone = host::restore_journal(dir).map_err(classify)?;
    if undone.is_empty() {
        println!("nothing to restore (the journal is empty)");
    }
    print_restored(&undone);
    Ok(())
}
