//! Turns a finished ping into a run directory: `samples.parquet` (one row per probe) and
//! `summary.json` (DESIGN.md's contract), with the statistics of the RTT and of every stage
//! interval that was measured on a single clock.

use std::path::Path;

use hdrhistogram::Histogram;
use results::{Describe, Environment, Sample, Summary, describe};
use serde_json::{Map, Value, json};

use crate::error::Result;
use crate::ping::PingOutcome;
use crate::sources::Asked;
use crate::warning::Warning;

/// Stage intervals computable from one host's stamps (so valid with or without a shared clock),
/// as (name, start stamp, end stamp). Each is reported only where both stamps exist.
type Stamp = fn(&Sample) -> Option<i64>;
pub const STAGES: &[(&str, Stamp, Stamp)] = &[
    ("schedule_lateness", |s| s.sched_ns, |s| Some(s.tx_ns)),
    ("a_tx_kick", |s| Some(s.tx_ns), |s| s.kick_ns),
    ("a_tx_completion", |s| Some(s.tx_ns), |s| s.tx_done_ns),
    ("b_xdp_to_user", |s| s.fwd_xdp_ns, |s| s.fwd_rx_ns),
    ("b_processing", |s| s.fwd_rx_ns, |s| s.fwd_tx_ns),
    ("a_xdp_to_user", |s| s.xdp_ns, |s| s.rx_ns),
    ("a_tx_to_stack", |s| Some(s.tx_ns), |s| s.tx_stack_ns),
];

type Interval = fn(&Sample) -> Option<i64>;

/// Intervals from NIC stamps (`--hw-timestamps` on a device that timestamps both ways): A's
/// NIC-to-NIC round trip on the NIC's clock, and the part of the RTT spent in A's host (the RTT
/// minus the NIC-to-NIC time; each a difference of two stamps of one clock).
pub const NIC_STAGES: &[(&str, Interval)] = &[
    ("a_nic_rtt", |s| Some(s.rx_hw_ns? - s.tx_hw_ns?)),
    ("a_host_part", |s| {
        Some(s.rtt_ns? - (s.rx_hw_ns? - s.tx_hw_ns?))
    }),
];

/// The round trip cut into consecutive stages, valid only where A and B stamp with one clock
/// (the namespace testbed: one host's CLOCK_MONOTONIC). Per packet they add up exactly to the RTT.
pub const CHAIN: &[(&str, Stamp, Stamp)] = &[
    ("a_to_b_xdp", |s| Some(s.tx_ns), |s| s.fwd_xdp_ns),
    ("b_xdp_to_user", |s| s.fwd_xdp_ns, |s| s.fwd_rx_ns),
    ("b_processing", |s| s.fwd_rx_ns, |s| s.fwd_tx_ns),
    ("b_to_a_xdp", |s| s.fwd_tx_ns, |s| s.xdp_ns),
    ("a_xdp_to_user", |s| s.xdp_ns, |s| s.rx_ns),
];

/// Whether A's and B's stamps can be compared: `Shared` when every packet carrying all stamps
/// has them in causal order, `Separate` when any does not (two hosts, two clocks), `Unknown`
/// when no packet carried them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockRelation {
    Shared,
    Separate,
    Unknown,
}

impl ClockRelation {
    pub fn of(samples: &[Sample]) -> ClockRelation {
        let mut seen = false;
        for s in samples {
            let Some(chain) = chain_stamps(s) else {
                continue;
            };
            seen = true;
            if chain.windows(2).any(|w| w[0] > w[1]) {
                return ClockRelation::Separate;
            }
        }
        if seen {
            ClockRelation::Shared
        } else {
            ClockRelation::Unknown
        }
    }

    fn name(self) -> &'static str {
        match self {
            ClockRelation::Shared => "shared",
            ClockRelation::Separate => "separate",
            ClockRelation::Unknown => "unknown",
        }
    }
}

/// The stamps of the chain, when a packet carries them all.
pub fn chain_stamps(s: &Sample) -> Option<[i64; 6]> {
    Some([
        s.tx_ns,
        s.fwd_xdp_ns?,
        s.fwd_rx_ns?,
        s.fwd_tx_ns?,
        s.xdp_ns?,
        s.rx_ns?,
    ])
}

/// Everything a summary needs besides the outcome.
#[derive(Debug, Clone, Default)]
pub struct RunFacts {
    pub params: Map<String, Value>,
    pub effective: Map<String, Value>,
    pub warnings: Vec<Warning>,
    pub repetition: u32,
    /// What the run asked for and got, for `stage_sources`.
    pub asked: Asked,
}

/// Writes the run directory and returns its summary. Samples are written first, the summary
/// last: a directory with a summary.json is complete.
pub fn write_run(dir: &Path, outcome: &PingOutcome, facts: RunFacts) -> Result<Summary> {
    std::fs::create_dir_all(dir)
        .map_err(|e| crate::Error::io(format!("mkdir {}", dir.display()), e))?;
    let mut writer = results::SamplesWriter::create(dir)?;
    for s in &outcome.samples {
        writer.push(s)?;
    }
    writer.finish()?;
    let summary = summarize(outcome, facts);
    results::write_summary(dir, &summary)?;
    Ok(summary)
}

pub fn summarize(outcome: &PingOutcome, facts: RunFacts) -> Summary {
    // with every row kept the statistics are exact; with a subsample they come from the
    // histogram of every packet (3 significant digits)
    let rtt_ns = if outcome.sample_every > 1 {
        describe_hist(&outcome.rtt_hist)
    } else {
        let mut rtts: Vec<i64> = outcome.samples.iter().filter_map(|s| s.rtt_ns).collect();
        describe(&mut rtts)
    };
    let mut stages = Map::new();
    let mut buf = Vec::with_capacity(outcome.samples.len());
    for (name, start, end) in STAGES {
        buf.clear();
        buf.extend(
            outcome
                .samples
                .iter()
                .filter_map(|s| Some(end(s)? - start(s)?)),
        );
        if let Some(d) = describe(&mut buf) {
            stages.insert(name.to_string(), json!(d));
        }
    }
    for (name, interval) in NIC_STAGES {
        buf.clear();
        buf.extend(outcome.samples.iter().filter_map(interval));
        if let Some(d) = describe(&mut buf) {
            stages.insert(name.to_string(), json!(d));
        }
    }
    let mut warnings = facts.warnings;
    let clock = ClockRelation::of(&outcome.samples);
    match clock {
        ClockRelation::Shared => {
            for (name, start, end) in CHAIN {
                buf.clear();
                buf.extend(
                    outcome
                        .samples
                        .iter()
                        .filter(|s| chain_stamps(s).is_some())
                        .filter_map(|s| Some(end(s)? - start(s)?)),
                );
                if let Some(d) = describe(&mut buf) {
                    stages.insert(format!("chain_{name}"), json!(d));
                }
            }
        }
        ClockRelation::Separate => {
            buf.clear();
            buf.extend(
                outcome
                    .samples
                    .iter()
                    .filter_map(|s| Some(s.rtt_ns? - (s.fwd_tx_ns? - s.fwd_rx_ns?))),
            );
            if let Some(d) = describe(&mut buf) {
                stages.insert("rtt_minus_b_residence".into(), json!(d));
            }
            warnings.push(Warning::TwoClocks);
        }
        ClockRelation::Unknown => {}
    }
    warnings.extend(
        outcome
            .stalls
            .iter()
            .map(|s| Warning::Stall(Box::new(s.clone()))),
    );
    if outcome.stalled {
        warnings.push(Warning::Stalled);
    } else if outcome.interrupted {
        warnings.push(Warning::Interrupted);
    }
    if let Some(late) = stages
        .get("schedule_lateness")
        .and_then(|v| v.get("p99"))
        .and_then(Value::as_f64)
        && late > 1_000_000.0
    {
        warnings.push(Warning::LateSender { p99_ns: late });
    }
    let environment = Environment::detect();
    if let Some(engine) = &environment.emulation {
        warnings.push(Warning::Emulated {
            engine: engine.clone(),
        });
    }
    let mut extra = Map::new();
    extra.insert(
        "elapsed_ns".into(),
        json!(outcome.elapsed.as_nanos() as u64),
    );
    extra.insert("clock".into(), json!(clock.name()));
    extra.insert("sample_every".into(), json!(outcome.sample_every));
    extra.insert(
        "rtt_source".into(),
        json!(if outcome.sample_every > 1 {
            "histogram of every packet (3 significant digits)"
        } else {
            "raw rows"
        }),
    );
    extra.insert("late_replies".into(), json!(outcome.late));
    extra.insert(
        "stalls".into(),
        json!({ "seen": outcome.stalls_seen, "kept": outcome.stalls }),
    );
    let secs = outcome.elapsed.as_secs_f64();
    if secs > 0.0 {
        extra.insert(
            "received_pps".into(),
            json!(outcome.counts.received as f64 / secs),
        );
    }
    let complete = outcome
        .samples
        .iter()
        .filter(|s| chain_stamps(s).is_some())
        .count();
    let received = outcome
        .samples
        .iter()
        .filter(|s| s.rtt_ns.is_some())
        .count();
    extra.insert(
        "stage_coverage".into(),
        json!({ "complete": complete, "received": received }),
    );
    let sources = crate::sources::stage_sources(&outcome.samples, &facts.asked, clock);
    let mut summary = Summary {
        params: facts.params,
        effective: facts.effective,
        warnings: warnings.iter().map(ToString::to_string).collect(),
        packets: outcome.counts,
        rtt_ns,
        repetition: facts.repetition,
        warmup_packets: outcome.warmup,
        stages,
        environment,
        fwd_queues: outcome.fwd_queues.clone(),
        extra,
        ..Summary::default()
    };
    summary.set_stage_sources(&sources);
    summary
}

/// The statistics of a histogram, in [`Describe`]'s shape (quantiles to 3 significant digits).
pub fn describe_hist(h: &Histogram<u64>) -> Option<Describe> {
    if h.is_empty() {
        return None;
    }
    let q = |p: f64| h.value_at_quantile(p) as f64;
    Some(Describe {
        mean: h.mean(),
        median: q(0.5),
        std: h.stdev(),
        q1: q(0.25),
        q3: q(0.75),
        min: h.min() as f64,
        max: h.max() as f64,
        p99: q(0.99),
        p999: q(0.999),
        count: h.len(),
    })
}
