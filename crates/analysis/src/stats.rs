//! Per-configuration statistics, as the paper computes them: each run's
//! statistics, then their average over the configuration's repetitions. The
//! spread of the run means between repetitions says whether a configuration
//! is reproducible.

use serde::{Deserialize, Serialize};

use crate::model::Config;

/// The statistics a configuration can be clustered on.
pub const FEATURES: [&str; 9] = [
    "mean", "median", "std", "q1", "q3", "min", "max", "p99", "p999",
];

/// Averages over the repetitions that received at least one packet (ns).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct ConfigStats {
    pub mean: f64,
    pub median: f64,
    pub std: f64,
    pub q1: f64,
    pub q3: f64,
    pub min: f64,
    pub max: f64,
    pub p99: f64,
    pub p999: f64,
    /// Repetitions in total and with latency data.
    pub reps: u32,
    pub reps_with_data: u32,
    /// Received packets over all repetitions.
    pub samples: u64,
    /// Lost / sent over all repetitions (0 when nothing was sent).
    pub loss_rate: f64,
    /// Sample standard deviation of the run means between repetitions (0 for one repetition).
    pub rep_spread_ns: f64,
    /// `rep_spread_ns / mean`.
    pub rep_cv: f64,
    /// Mean CPU time per repetition, when recorded.
    pub cpu_ns: Option<f64>,
}

impl ConfigStats {
    /// The named feature (one of [`FEATURES`]).
    pub fn feature(&self, name: &str) -> Option<f64> {
        Some(match name {
            "mean" => self.mean,
            "median" => self.median,
            "std" => self.std,
            "q1" => self.q1,
            "q3" => self.q3,
            "min" => self.min,
            "max" => self.max,
            "p99" => self.p99,
            "p999" => self.p999,
            _ => return None,
        })
    }
}

/// `None` when no repetition of the configuration received a packet.
pub fn config_stats(c: &Config) -> Option<ConfigStats> {
    let with: Vec<&results::Describe> = c.runs.iter().filter_map(|r| r.rtt.as_ref()).collect();
    if with.is_empty() {
        return None;
    }
    let n = with.len() as f64;
    let avg = |f: fn(&results::Describe) -> f64| with.iter().map(|d| f(d)).sum::<f64>() / n;
    let mean = avg(|d| d.mean);
    let rep_spread_ns = if with.len() > 1 {
        (with.iter().map(|d| (d.mean - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    let sent: u64 = c.runs.iter().map(|r| r.sent).sum();
    let lost: u64 = c.runs.iter().map(|r| r.lost).sum();
    let cpus: Vec<f64> = c.runs.iter().filter_map(|r| r.cpu_ns).collect();
    Some(ConfigStats {
        mean,
        median: avg(|d| d.median),
        std: avg(|d| d.std),
        q1: avg(|d| d.q1),
        q3: avg(|d| d.q3),
        min: avg(|d| d.min),
        max: avg(|d| d.max),
        p99: avg(|d| d.p99),
        p999: avg(|d| d.p999),
        reps: c.runs.len() as u32,
        reps_with_data: with.len() as u32,
        samples: with.iter().map(|d| d.count).sum(),
        loss_rate: if sent > 0 {
            lost as f64 / sent as f64
        } else {
            0.0
        },
        rep_spread_ns,
        rep_cv: if mean != 0.0 {
            rep_spread_ns / mean
        } else {
            0.0
        },
        cpu_ns: (!cpus.is_empty()).then(|| cpus.iter().sum::<f64>() / cpus.len() as f64),
    })
}
