//! `xdplat tune`: the lowest-latency configuration of a link within a probe-time budget, with
//! its evidence, optionally put in force (`--apply`) and re-measured later (`--check DIR`)
//! (crates/sweep/src/tune).

use std::path::PathBuf;
use std::time::Duration;

use crate::cmd::common::{parse_duration, require_root, stop_flag};
use crate::exit::{bad_input, classify};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// An experiment file: the link (its testbed or hosts) and the probing; its [axes], when it
    /// has any, are the space. Without it: the local testbed --testbed, and the axes its
    /// interfaces support.
    pub file: Option<PathBuf>,
    /// The tune's directory (tune.toml, race-K/, final/, tune.json, tune.md, winner.toml).
    #[arg(long, required_unless_present = "check")]
    pub out: Option<PathBuf>,
    /// Probe time the whole tune may spend: race slices and the final runs.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub budget: Duration,
    /// What to minimise: the median RTT, its p99 or its p99.9.
    #[arg(long, default_value = "median")]
    pub objective: String,
    /// CPU cores the configuration may use (the roles' and the softirq time per second of
    /// probing); those above it leave the race.
    #[arg(long, value_name = "CORES")]
    pub max_cpu: Option<f64>,
    /// Without a file: the embedded testbed to tune (made if missing, removed at the end).
    #[arg(long, default_value = "xdptune")]
    pub testbed: String,
    /// Without a file: netns (namespaces and veth on this host) or vm (a QEMU guest with
    /// virtio-net: `scripts/setup.sh --with-vm`; under TCG its latencies are emulation's).
    #[arg(long, default_value = "netns")]
    pub kind: String,
    /// Without a file: the load to hold, one probe every INTERVAL, or `auto` for the paper's
    /// equation (1) (default: 1ms on netns, 50ms on vm).
    #[arg(long)]
    pub interval: Option<String>,
    /// Without a file: probing time of one final run (default: 3s on netns, 10s on vm).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Without a file: repetitions of each final configuration (default: 3 on netns, 2 on vm).
    #[arg(long)]
    pub repetitions: Option<u32>,
    /// Probing time of one race slice (default: the file's [search] slice; 1s on netns, 5s on
    /// vm).
    #[arg(long, value_parser = parse_duration)]
    pub slice: Option<Duration>,
    /// The seed of every choice (default: drawn, and recorded in DIR/tune.toml).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Put the winner's host settings in force at the end, journaled (`xdplat host restore`
    /// undoes them); a testbed the tune made then stays up.
    #[arg(long)]
    pub apply: bool,
    /// Continue an interrupted tune in --out.
    #[arg(long)]
    pub resume: bool,
    /// Progress as JSON lines, and the result as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
    /// Re-measure the tune in DIR: does its winner still hold? (exit 1 when it does not)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["file", "out", "apply", "resume"])]
    pub check: Option<PathBuf>,
}

fn objective(s: &str) -> anyhow::Result<sweep::experiment::Objective> {
    s.parse()
        .map_err(|m: String| bad_input(format!("--objective {m}")))
}

/// The experiment of the tune: the file, or the embedded testbed's link.
fn experiment(a: &Args) -> anyhow::Result<sweep::Experiment> {
    let derived = [
        a.interval.is_some(),
        a.duration.is_some(),
        a.repetitions.is_some(),
    ];
    let mut exp = match &a.file {
        Some(f) => {
            if derived.iter().any(|x| *x) {
                return Err(bad_input(
                    "--interval, --duration and --repetitions describe the testbed's link: with an experiment file, set them in its [probe]",
                ));
            }
            sweep::Experiment::load(f).map_err(classify)?
        }
        None => {
            let kind: host::testbed::Kind = a.kind.parse().map_err(classify)?;
            host::testbed::validate_name(&a.testbed)
                .map_err(|e| bad_input(format!("--testbed {}: {e}", a.testbed)))?;
            let vm = kind == host::testbed::Kind::Vm;
            let interval = match a.interval.as_deref() {
                Some("auto") => None,
                Some(s) => Some(
                    parse_duration(s)
                        .map_err(|e| bad_input(format!("--interval {s}: {e}, or auto")))?,
                ),
                None => Some(Duration::from_millis(if vm { 50 } else { 1 })),
            };
            let link = sweep::tune::link::Link {
                name: a.testbed.clone(),
                kind,
                interval,
                duration: a
                    .duration
                    .unwrap_or(Duration::from_secs(if vm { 10 } else { 3 })),
                repetitions: a.repetitions.unwrap_or(if vm { 2 } else { 3 }),
                slice: a
                    .slice
                    .unwrap_or(Duration::from_secs(if vm { 5 } else { 1 })),
            };
            let cpus = probe::knobs::allowed_cpus().unwrap_or_default();
            let text = sweep::tune::link::base_text(&link, &cpus);
            sweep::Experiment::parse(&text, &format!("the link of testbed {}", a.testbed))
                .map_err(classify)?
        }
    };
    if let Some(s) = a.slice {
        exp.search.race.slice = s;
    }
    Ok(exp)
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if let Some(dir) = &a.check {
        return check(dir, a.json);
    }
    let objective = objective(&a.objective)?;
    if let Some(c) = a.max_cpu
        && !(c > 0.0 && c.is_finite())
    {
        return Err(bad_input(format!(
            "--max-cpu {c}: CPU cores, more than 0 (e.g. 1.0)"
        )));
    }
    let exp = experiment(&a)?;
    let out = a.out.clone().expect("clap requires --out without --check");
    let opts = sweep::tune::Options {
        out,
        resume: a.resume,
        json: a.json,
        local_bin: std::env::current_exe()?,
        state: host::StateDir::from_env(),
        budget: a.budget,
        objective,
        max_cpu: a.max_cpu,
        seed: a.seed,
        apply: a.apply,
    };
    sweep::tune::check_input(&exp, &opts).map_err(classify)?;
    if exp.replay.is_none() {
        require_root("xdplat tune")?;
    }
    let stop = stop_flag()?;
    let t = sweep::tune::run(&exp, &opts, &stop).map_err(classify)?;
    if a.json {
        println!("{}", serde_json::to_string(&t)?);
    } else {
        println!("{}", sweep::tune::report(&t));
        println!(
            "tune results: {} (report {})",
            opts.out.join(sweep::tune::TUNE_FILE).display(),
            opts.out.join(sweep::tune::REPORT_FILE).display()
        );
    }
    Ok(())
}

fn check(dir: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let t = sweep::tune::read(dir).map_err(classify)?;
    let text = std::fs::read_to_string(dir.join(sweep::tune::SPACE_FILE))?;
    if !text.contains("kind = \"replay\"") {
        require_root("xdplat tune --check")?;
    }
    let stop = stop_flag()?;
    let opts = sweep::tune::check::Options {
        json,
        local_bin: std::env::current_exe()?,
        state: host::StateDir::from_env(),
    };
    let c = sweep::tune::check::check(dir, &opts, &stop).map_err(classify)?;
    if json {
        println!("{}", serde_json::to_string(&c)?);
    } else {
        println!("tune --check ({}): {}", t.winner.label, c.verdict);
        println!(
            "check results: {}",
            c.dir.join(sweep::tune::check::CHECK_FILE).display()
        );
    }
    if !c.holds {
        anyhow::bail!("the tuning in {} no longer holds", dir.display());
    }
    Ok(())
}
