//! `xdplat bench [--quick] [--json]`: the tool's performance, each figure as a ratio against a
//! baseline measured in the same run on the same testbed (issue 8, BENCHMARKS.md):
//!
//! | key | value | baseline |
//! |---|---|---|
//! | `rtt_vs_udp` | AF_XDP median RTT (p99 beside it) | the udp backend (kernel stack) |
//! | `fwd_vs_xdp_tx` | forwarder Mpps at 64 B | the in-kernel XDP_TX reflector on the same veth |
//! | `timestamp_cost` | stamp + record per packet | one clock_gettime |
//! | `analysis_vs_numpy` | run statistics from Parquet, samples/s | numpy + pyarrow on the same file |
//! | `sweep_efficiency` | time inside ping runs / wall time | 1 (no overhead) |
//!
//! `--quick` is the CI smoke form (seconds): small counts, and the numpy comparison skipped.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use crate::cmd::common::{require_root, stop_flag};

mod analysis;
mod net;
mod sweep;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The smoke form: seconds instead of about a minute; figures are rougher.
    #[arg(long)]
    pub quick: bool,
    /// Print one JSON object keyed by benchmark name instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Python with numpy and pyarrow (default: the venv scripts/bench-setup.sh makes under the
    /// target dir, or $XDPLAT_BENCH_PYTHON).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// CPUs for the two sides (ping/generator, forwarder), e.g. `0,1`.
    #[arg(long, value_delimiter = ',', num_args = 2)]
    pub cpus: Option<Vec<usize>>,
}

/// One benchmark's outcome: `value` against `baseline`, or why it was skipped.
#[derive(Debug, Clone)]
pub struct Figure {
    pub value: Option<f64>,
    pub baseline: Option<f64>,
    pub unit: &'static str,
    /// What the ratio means in words (human output only).
    pub meaning: &'static str,
    pub skipped: Option<String>,
    pub extra: Map<String, Value>,
}

impl Figure {
    pub fn new(value: f64, baseline: f64, unit: &'static str, meaning: &'static str) -> Figure {
        Figure {
            value: Some(value),
            baseline: Some(baseline),
            unit,
            meaning,
            skipped: None,
            extra: Map::new(),
        }
    }

    pub fn skipped(unit: &'static str, meaning: &'static str, why: impl Into<String>) -> Figure {
        Figure {
            value: None,
            baseline: None,
            unit,
            meaning,
            skipped: Some(why.into()),
            extra: Map::new(),
        }
    }

    pub fn ratio(&self) -> Option<f64> {
        match (self.value, self.baseline) {
            (Some(v), Some(b)) if b != 0.0 => Some(v / b),
            _ => None,
        }
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("value".into(), json!(self.value));
        m.insert("baseline".into(), json!(self.baseline));
        m.insert("ratio".into(), json!(self.ratio()));
        m.insert("unit".into(), json!(self.unit));
        if let Some(why) = &self.skipped {
            m.insert("skipped".into(), json!(why));
        }
        m.extend(self.extra.clone());
        Value::Object(m)
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    require_root("xdplat bench")?;
    // Ctrl-C / SIGTERM: the running ping stops early, the bench ends with an error, and the
    // testbed and scratch directory are removed on the way out
    let stop = stop_flag()?;
    let _ = net::STOP.set(std::sync::Arc::clone(&stop));
    let interrupted = || {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            Err(anyhow::anyhow!("interrupted"))
        } else {
            Ok(())
        }
    };
    let quick = args.quick;
    let cpus = args.cpus.clone().map(|c| (c[0], c[1]));
    let note = |s: &str| {
        if !args.json {
            eprintln!("bench: {s}");
        }
    };
    let mut out: Vec<(&str, Figure)> = Vec::new();
    {
        let tb = net::Bed::up()?;
        note("rtt_vs_udp: AF_XDP and udp pings through the forwarder");
        out.push(("rtt_vs_udp", net::rtt_vs_udp(&tb, quick, cpus)?));
        interrupted()?;
        note("fwd_vs_xdp_tx: maximum-rate ping through the forwarder, then the XDP_TX reflector");
        out.push(("fwd_vs_xdp_tx", net::fwd_vs_xdp_tx(&tb, quick, cpus)?));
        interrupted()?;
        note("timestamp_cost");
        out.push(("timestamp_cost", timestamp_cost(quick)?));
        interrupted()?;
        note("analysis_vs_numpy");
        out.push((
            "analysis_vs_numpy",
            analysis::vs_numpy(quick, args.python.as_deref(), &tb.scratch)?,
        ));
        note("sweep_efficiency: a small `xdplat sweep run` on the same testbed");
        out.push(("sweep_efficiency", sweep::efficiency(&tb, quick)?));
        interrupted()?;
    }
    if args.json {
        let m: Map<String, Value> = out
            .iter()
            .map(|(k, f)| (k.to_string(), f.to_json()))
            .collect();
        println!("{}", serde_json::to_string_pretty(&Value::Object(m))?);
    } else {
        print_table(&out);
    }
    Ok(())
}

fn timestamp_cost(quick: bool) -> anyhow::Result<Figure> {
    let packets = if quick { 50_000 } else { 2_000_000 };
    // the maximum-rate configuration (batch 64, a row every 1000) is the figure; batch 1 beside it
    let max = probe::cost::timestamp_cost(packets, 64, 1000)?;
    let one = probe::cost::timestamp_cost(packets, 1, 1)?;
    let mut f = Figure::new(
        max.per_packet_ns,
        max.clock_ns,
        "ns/packet",
        "stamp+record per packet / one clock_gettime (below 1: cheaper than one clock read)",
    );
    f.extra.insert("batch".into(), json!(max.batch));
    f.extra.insert(
        "batch1".into(),
        json!({ "value": one.per_packet_ns, "baseline": one.clock_ns, "ratio": one.per_packet_ns / one.clock_ns }),
    );
    Ok(f)
}

fn print_table(out: &[(&str, Figure)]) {
    println!(
        "{:<18} {:>14} {:>14} {:>8}  {:<10} meaning",
        "benchmark", "value", "baseline", "ratio", "unit"
    );
    let num = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    for (k, f) in out {
        println!(
            "{:<18} {:>14} {:>14} {:>8}  {:<10} {}",
            k,
            num(f.value),
            num(f.baseline),
            f.ratio().map_or("-".into(), |r| format!("{r:.3}")),
            f.unit,
            f.meaning
        );
        if let Some(why) = &f.skipped {
            println!("{:<18} skipped: {why}", "");
        }
        for (key, v) in &f.extra {
            println!("{:<18} {key}: {v}", "");
        }
    }
}
