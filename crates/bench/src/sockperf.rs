//! `udp_vs_sockperf`: the kernel baseline (xdplat's udp backend) against sockperf's ping-pong,
//! placed alike (ping / client on CPU A in A's namespace, forwarder / server on CPU B in B's,
//! one message every 200 µs, the same UDP payload size), in each way the kernel path can wait:
//!
//! | mode | xdplat | sockperf |
//! |---|---|---|
//! | `sleeping` | `--poll true --pace spin` (ping: ppoll(); fwd: blocking recvfrom()) | blocking recvfrom() both ends (its default) |
//! | `spinning` | `--poll false` (non-blocking reads in a loop) | `--nonblocked` both ends |
//! | `busy_poll` | `sleeping` + `--busy-poll true --busy-poll-usecs 50` (SO_BUSY_POLL) | `--lls 50` both ends |
//!
//! sockperf's client spins on the clock between messages, so the ping paces the same way
//! (`--pace spin`); with `--pace sleep` the CPU idles between probes and the wake-up for a reply
//! costs more (measured 1.08x here). The figure is the sleeping mode's median over sockperf's;
//! each mode's ratio is beside it. The two alternate, repetition by repetition. sockperf's RTTs
//! come from its `--full-log` CSV (one row per message), never from its printed summary.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use probe::{Backend, Knobs, Role};
use serde_json::json;

use crate::bed::{Bed, cpus};
use crate::error::{Error, Result};
use crate::net::{BSide, ping_through, plans};
use crate::{Figure, median};

const MEANING: &str = "udp backend median RTT / sockperf ping-pong median RTT, placed alike, sleeping receives (target 0.9-1.1)";
const PORT: u16 = 11_111;
const INTERVAL_US: u64 = 200;
const BUSY_POLL_USECS: u32 = 50;

struct Mode {
    name: &'static str,
    sockperf: &'static [&'static str],
    poll: bool,
    busy_poll: bool,
}

const MODES: [Mode; 3] = [
    Mode {
        name: "sleeping",
        sockperf: &[],
        poll: true,
        busy_poll: false,
    },
    Mode {
        name: "spinning",
        sockperf: &["--nonblocked"],
        poll: false,
        busy_poll: false,
    },
    Mode {
        name: "busy_poll",
        sockperf: &["--lls", "50"],
        poll: true,
        busy_poll: true,
    },
];

/// Kills a sockperf server however the benchmark ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn in_netns(ns: &str, cpu: Option<usize>) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]);
    if let Some(cpu) = cpu {
        c.args(["taskset", "-c", &cpu.to_string()]);
    }
    c.arg("sockperf");
    c
}

/// The median RTT (ns) of one sockperf ping-pong run of `secs` seconds.
fn sockperf(
    bed: &Bed,
    mode: &Mode,
    cpus: (Option<usize>, Option<usize>),
    secs: u64,
) -> Result<f64> {
    let link = bed.link();
    let ip = link
        .b
        .ip()
        .ok_or_else(|| Error::Failed("testbed B end has no address".into()))?
        .to_string();
    let port = PORT.to_string();
    let _server = Server(
        in_netns(&link.b.netns, cpus.1)
            .args(["sr", "-i", &ip, "-p", &port])
            .args(mode.sockperf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::io("sockperf sr", e))?,
    );
    std::thread::sleep(Duration::from_millis(500));
    let log = bed.run_dir("sockperf").with_extension("csv");
    let size = (wire::MIN_PROBE_SIZE - wire::PROBE_OFFSET)
        .max(14)
        .to_string();
    let out = in_netns(&link.a.netns, cpus.0)
        .args(["pp", "-i", &ip, "-p", &port, "-t", &secs.to_string()])
        .args([
            "--mps",
            &(1_000_000 / INTERVAL_US).to_string(),
            "-m",
            &size,
            "--full-rtt",
        ])
        .arg("--full-log")
        .arg(&log)
        .args(mode.sockperf)
        .output()
        .map_err(|e| Error::io("sockperf pp", e))?;
    if !out.status.success() {
        return Err(Error::Failed(format!(
            "sockperf pp ({}) failed: {}",
            mode.name,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let rtts = full_log_rtts(&log)?;
    if rtts.is_empty() {
        return Err(Error::Failed(format!(
            "sockperf pp ({}): no message came back",
            mode.name
        )));
    }
    Ok(median(rtts))
}

/// The `rtt(usec)` column of sockperf's `--full-log` CSV, in ns.
fn full_log_rtts(path: &Path) -> Result<Vec<f64>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("read {}", path.display()), e))?;
    Ok(text
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .filter_map(|l| l.split(',').nth(3)?.trim().parse::<f64>().ok())
        .map(|us| us * 1000.0)
        .collect())
}

/// The median RTT (ns) of one udp-backend ping of `secs` seconds through the udp forwarder.
fn ours(
    bed: &Bed,
    mode: &Mode,
    cpus: (Option<usize>, Option<usize>),
    secs: u64,
    stop: &AtomicBool,
) -> Result<f64> {
    let knobs = |role| Knobs {
        backend: Backend::Udp,
        poll: mode.poll,
        busy_poll: mode.busy_poll,
        busy_poll_usecs: BUSY_POLL_USECS,
        pace: probe::knobs::Pace::Spin,
        ..Knobs::defaults(role)
    };
    let (fwd, mut ping) = plans(bed, (knobs(Role::Ping), knobs(Role::Fwd)), cpus)?;
    ping.count = secs * 1_000_000 / INTERVAL_US;
    ping.interval = Duration::from_micros(INTERVAL_US);
    let (s, _) = ping_through(bed, BSide::Forwarder(fwd), ping, cpus.1, stop)?;
    let r = s
        .rtt_ns
        .ok_or_else(|| Error::Failed(format!("udp backend ({}): no reply came back", mode.name)))?;
    Ok(r.median)
}

pub fn udp_vs_sockperf(
    bed: &Bed,
    quick: bool,
    asked: Option<(usize, usize)>,
    stop: &AtomicBool,
) -> Result<Figure> {
    if Command::new("sockperf").arg("--version").output().is_err() {
        return Ok(Figure::skipped(
            "ns",
            MEANING,
            "sockperf is not installed (scripts/setup.sh --with-test-deps installs it)",
        ));
    }
    let cpus = cpus(asked);
    // five alternations: with three, one slow run in a mode moved its median by 15 % here
    let (secs, reps) = if quick { (1, 1) } else { (3, 5) };
    let mut per_mode = serde_json::Map::new();
    let mut main = None;
    for mode in &MODES {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            a.push(ours(bed, mode, cpus, secs, stop)?);
            b.push(sockperf(bed, mode, cpus, secs)?);
        }
        let (ma, mb) = (median(a.clone()), median(b.clone()));
        per_mode.insert(
            mode.name.into(),
            json!({ "value": ma, "baseline": mb, "ratio": ma / mb, "runs_ns": { "udp": a, "sockperf": b } }),
        );
        main.get_or_insert((ma, mb));
    }
    let (ma, mb) = main.expect("three modes");
    let mut f = Figure::new(ma, mb, "ns", MEANING);
    f.extra
        .insert("modes".into(), serde_json::Value::Object(per_mode));
    f.extra.insert(
        "placement".into(),
        json!({ "cpus": [cpus.0, cpus.1], "interval_us": INTERVAL_US, "seconds": secs, "repetitions": reps,
                "busy_poll": "no NAPI id on veth: both busy polls are no-ops there" }),
    );
    Ok(f)
}
