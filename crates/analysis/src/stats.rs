//! Per-configuration statistics. The paper's: each run's statistics, then their average over
//! the configuration's repetitions, with the spread of the run means between repetitions. The
//! robust ones beside them ([`ConfigSummary`]): medians and quartiles, the median over
//! repetitions, the spread of the run medians. Clustering features come from the runs
//! themselves ([`feature_row`]), combined over repetitions as the method says.

use serde::{Deserialize, Serialize};

use crate::model::{Config, Run};
use crate::options::{Aggregate, Feature};
use crate::robust::{ConfigSummary, RunSummary, aggregate};

/// Averages over the repetitions that received at least one packet (ns), and the robust summary.
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
    /// Median over repetitions of the runs' medians and quartiles, and their agreement.
    pub robust: ConfigSummary,
}

impl ConfigStats {
    /// The configuration's latency as the method sees it: the robust median, or the mean.
    pub fn location(&self, over_reps: Aggregate) -> f64 {
        match over_reps {
            Aggregate::Median => self.robust.median,
            Aggregate::Mean => self.mean,
        }
    }

    /// The configuration's median latency: the median over repetitions of the runs' medians,
    /// or (paper) their average.
    pub fn median_of(&self, over_reps: Aggregate) -> f64 {
        match over_reps {
            Aggregate::Median => self.robust.median,
            Aggregate::Mean => self.median,
        }
    }

    /// How much the repetitions disagree, relative to [`ConfigStats::location`].
    pub fn rep_disagreement(&self, over_reps: Aggregate) -> f64 {
        match over_reps {
            Aggregate::Median => self.robust.rep_cv,
            Aggregate::Mean => self.rep_cv,
        }
    }
}

/// The runs of `c` that received a packet.
pub fn with_data(c: &Config) -> Vec<&Run> {
    c.runs.iter().filter(|r| r.rtt.is_some()).collect()
}

/// True when every run of `c` with data has the median of every chain stage.
pub fn has_stages(c: &Config) -> bool {
    let runs = with_data(c);
    !runs.is_empty()
        && runs.iter().all(|r| {
            results::CHAIN_STAGES
                .iter()
                .all(|s| r.stages.contains_key(*s))
        })
}

/// The clustering features of one configuration from its runs with data (a run without a
/// stage counts it as 0: check [`has_stages`] first).
pub fn feature_row(runs: &[&Run], features: &[Feature], how: Aggregate) -> Vec<f64> {
    let mut row = Vec::new();
    for f in features {
        match f {
            Feature::Stages => {
                for s in results::CHAIN_STAGES {
                    let mut v: Vec<f64> = runs
                        .iter()
                        .map(|r| r.stages.get(s).copied().unwrap_or(0.0))
                        .collect();
                    row.push(aggregate(&mut v, how));
                }
            }
            f => {
                let mut v: Vec<f64> = runs.iter().filter_map(|r| f.of(r.rtt.as_ref()?)).collect();
                row.push(aggregate(&mut v, how));
            }
        }
    }
    row
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
    let means: Vec<f64> = with.iter().map(|d| d.mean).collect();
    let rep_spread_ns = crate::robust::sample_sd(&means);
    let sent: u64 = c.runs.iter().map(|r| r.sent).sum();
    let lost: u64 = c.runs.iter().map(|r| r.lost).sum();
    let cpus: Vec<f64> = c.runs.iter().filter_map(|r| r.cpu_ns).collect();
    let runs: Vec<RunSummary> = with.iter().map(|d| RunSummary::of(d)).collect();
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
        robust: ConfigSummary::of(&runs).expect("at least one run"),
    })
}
