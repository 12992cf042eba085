//! bench: the engine of `xdplat bench` (BENCHMARKS.md): the tool's performance, each figure as a
//! ratio against a baseline measured in the same run on the same testbed:
//!
//! | key | value | baseline |
//! |---|---|---|
//! | `rtt_vs_udp` | AF_XDP median RTT (p99 beside it) | the udp backend (kernel stack) |
//! | `fwd_batch_rtt` | median RTT at 1 probe / 200 µs, forwarder batch 64 | the same, forwarder batch 1 |
//! | `fwd_vs_xdp_tx` | forwarder Mpps at 64 B, generator batch 64 | the in-kernel XDP_TX reflector on the same veth |
//! | `udp_vs_sockperf` | the udp backend's median RTT, sleeping receives (each wait mode beside it) | sockperf ping-pong placed alike |
//! | `timestamp_cost` | stamp + record per packet (TSC stamps where the kernel's clock is the TSC) | one clock_gettime |
//! | `xdp_stamp_cost` | the XDP program's run with its stamp (metadata, else the head) | the same program stamping nothing |
//! | `analysis_vs_numpy` | run statistics from Parquet, samples/s | numpy + pyarrow on the same file |
//! | `sweep_efficiency` | time inside ping runs / wall time | 1 (no overhead) |
//! | `tune_overhead` | a tune's own decisions / its wall time | 0.03 (the target) |
//!
//! `quick` is the CI smoke form (seconds): small counts, and the numpy comparison skipped. The
//! network figures drive the roles' engines (`probe::measure`, `probe::serve`) in threads that
//! entered the testbed's namespaces.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

mod bed;
mod error;
mod figure;
mod net;
mod numpy;
mod sockperf;
mod stamp;
mod sweep;
mod tune;

pub use bed::Bed;
pub use error::{Error, Result};
pub use figure::{Figure, Table};

/// What to run, and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The smoke form: seconds instead of about a minute; figures are rougher.
    pub quick: bool,
    /// Python with numpy and pyarrow (None: the venv of scripts/bench-setup.sh, or
    /// `$XDPLAT_BENCH_PYTHON`).
    pub python: Option<PathBuf>,
    /// CPUs for the two sides (ping/generator, forwarder).
    pub cpus: Option<(usize, usize)>,
    /// The xdplat binary, for the sweep benchmark.
    pub xdplat: PathBuf,
}

impl Options {
    /// Checks every option before the testbed is made: the CPUs are ones this process may use,
    /// the Python (when given) is a file.
    pub fn validate(&self) -> Result<()> {
        if let Some((a, b)) = self.cpus {
            let allowed = probe::knobs::allowed_cpus()?;
            if let Some(c) = [a, b].into_iter().find(|c| !allowed.contains(c)) {
                return Err(Error::Input(format!(
                    "--cpus {a},{b}: CPU {c} is not one this process may use ({allowed:?}): give two of those"
                )));
            }
        }
        if let Some(p) = &self.python
            && !p.is_file()
        {
            return Err(Error::Input(format!(
                "--python {}: no such file: give a Python with numpy and pyarrow (scripts/bench-setup.sh makes one)",
                p.display()
            )));
        }
        Ok(())
    }
}

/// Runs every benchmark in order, telling `note` which one starts. `stop` (SIGINT/SIGTERM)
/// stops the running ping early and ends with [`Error::Interrupted`]; the testbed and the
/// scratch directory are removed however it ends.
pub fn run(
    opts: &Options,
    stop: &AtomicBool,
    note: &mut dyn FnMut(&str),
) -> Result<Vec<(&'static str, Figure)>> {
    let interrupted = || {
        if stop.load(Ordering::Relaxed) {
            Err(Error::Interrupted)
        } else {
            Ok(())
        }
    };
    opts.validate()?;
    let quick = opts.quick;
    let mut out = Vec::new();
    let bed = Bed::up()?;
    note("rtt_vs_udp: AF_XDP and udp pings through the forwarder");
    out.push(("rtt_vs_udp", net::rtt_vs_udp(&bed, quick, opts.cpus, stop)?));
    interrupted()?;
    note("fwd_batch_rtt: one probe per 200 µs through the forwarder at batch 64 and at batch 1");
    out.push((
        "fwd_batch_rtt",
        net::fwd_batch_rtt(&bed, quick, opts.cpus, stop)?,
    ));
    interrupted()?;
    note(
        "fwd_vs_xdp_tx: maximum-rate ping (batches of 64) through the forwarder (batch 64, then 1) and the XDP_TX reflector",
    );
    out.push((
        "fwd_vs_xdp_tx",
        net::fwd_vs_xdp_tx(&bed, quick, opts.cpus, stop)?,
    ));
    interrupted()?;
    note(
        "udp_vs_sockperf: the udp backend and sockperf ping-pong, placed alike, in each wait mode",
    );
    out.push((
        "udp_vs_sockperf",
        sockperf::udp_vs_sockperf(&bed, quick, opts.cpus, stop)?,
    ));
    interrupted()?;
    note("timestamp_cost");
    out.push(("timestamp_cost", timestamp_cost(quick)?));
    interrupted()?;
    note("xdp_stamp_cost: the probe program with each stamp, timed by the kernel");
    out.push(("xdp_stamp_cost", stamp::xdp_stamp_cost(&bed, quick)?));
    interrupted()?;
    note("analysis_vs_numpy");
    out.push((
        "analysis_vs_numpy",
        numpy::vs_numpy(quick, opts.python.as_deref(), &bed.scratch)?,
    ));
    note("sweep_efficiency: a small `xdplat sweep run` on the same testbed");
    out.push((
        "sweep_efficiency",
        sweep::efficiency(&bed, quick, &opts.xdplat)?,
    ));
    interrupted()?;
    note("tune_overhead: a small `xdplat tune` on the same testbed");
    out.push(("tune_overhead", tune::overhead(&bed, quick, &opts.xdplat)?));
    interrupted()?;
    Ok(out)
}

fn timestamp_cost(quick: bool) -> Result<Figure> {
    let packets = if quick { 50_000 } else { 2_000_000 };
    // the maximum-rate configuration (batch 64, a row every 1000) is the figure; batch 1 with the
    // same sampling beside it (two stamps per probe), and batch 1 keeping a row for every probe
    // (an interval-paced run: the 208-byte rows and their first-touch page faults dominate)
    let max = probe::cost::timestamp_cost(packets, 64, 1000)?;
    let one = probe::cost::timestamp_cost(packets, 1, 1000)?;
    let rows = probe::cost::timestamp_cost(packets, 1, 1)?;
    let mut f = Figure::new(
        max.per_packet_ns,
        max.clock_ns,
        "ns/packet",
        "stamp+record per packet / one clock_gettime (below 1: cheaper than one clock read)",
    );
    // `stamps_floor`: the same loop's two stamps per batch alone, what no bookkeeping goes under
    // (at batch 1 two TSC reads: 22.7 ns on an AMD EPYC VM whose RDTSC costs 11.4 ns)
    let side = |c: &probe::cost::TimestampCost| {
        serde_json::json!({
            "value": c.per_packet_ns,
            "baseline": c.clock_ns,
            "ratio": c.per_packet_ns / c.clock_ns,
            "stamps_floor": c.stamps_ns,
            "recording": c.per_packet_ns - c.stamps_ns,
        })
    };
    f.extra.insert("batch".into(), serde_json::json!(max.batch));
    f.extra.insert("batch1".into(), side(&one));
    f.extra.insert("batch1_every_row".into(), side(&rows));
    f.extra.insert(
        "stamp".into(),
        serde_json::json!({ "ns": max.stamp_ns, "source": probe::clock::source().describe() }),
    );
    Ok(f)
}

/// Median of a few values.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
