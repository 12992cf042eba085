//! What `xdplat sweep plan` shows of an experiment before anything runs: the configurations and
//! runs, the ones excluded and why, the rate and the estimated duration. One typed
//! [`PlanReport`], serialized for `--json` and rendered for people.

use std::fmt;

use serde::Serialize;

use crate::Experiment;
use crate::plan::Plan;
use crate::rate;

#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    /// The experiment file, as given.
    #[serde(skip)]
    pub file: String,
    pub configs: Vec<PlannedConfig>,
    pub excluded: Vec<ExcludedConfig>,
    pub runs: usize,
    pub repetitions: u32,
    pub together: bool,
    pub rate: Option<AssumedRate>,
    pub estimate_s: f64,
    pub measure_per_run_s: f64,
    /// Start-up, warm-up and linger per run.
    #[serde(skip)]
    pub overhead_per_run_s: f64,
    #[serde(skip)]
    pub pingers: Vec<String>,
    #[serde(skip)]
    pub groups: usize,
    #[serde(skip)]
    pub size: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedConfig {
    pub config: String,
    pub label: String,
    pub baseline: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExcludedConfig {
    pub config: String,
    pub label: String,
    pub why: String,
}

/// What the estimate assumes with `rate = "auto"`.
#[derive(Debug, Clone, Serialize)]
pub struct AssumedRate {
    pub auto: bool,
    pub assumed_b_bps: f64,
    pub assumed_l_min_ns: f64,
    pub assumed_interval_ns: u64,
}

impl PlanReport {
    pub fn new(file: &str, exp: &Experiment, plan: &Plan) -> PlanReport {
        PlanReport {
            file: file.into(),
            configs: plan
                .configs
                .iter()
                .map(|c| PlannedConfig {
                    config: c.id.clone(),
                    label: c.label(),
                    baseline: c.baseline,
                })
                .collect(),
            excluded: plan
                .excluded
                .iter()
                .map(|e| ExcludedConfig {
                    config: e.config.id.clone(),
                    label: e.config.label(),
                    why: e.why.clone(),
                })
                .collect(),
            runs: plan.runs.len(),
            repetitions: exp.probe.repetitions,
            together: plan.together,
            rate: exp.probe.auto_rate.then_some(AssumedRate {
                auto: true,
                assumed_b_bps: rate::DEFAULT_BPS,
                assumed_l_min_ns: rate::ASSUMED_L_MIN_NS,
                assumed_interval_ns: exp.probe.interval.as_nanos() as u64,
            }),
            estimate_s: plan.estimate().as_secs_f64(),
            measure_per_run_s: plan.measure_per_run.as_secs_f64(),
            overhead_per_run_s: (plan.wall_per_run - plan.measure_per_run).as_secs_f64(),
            pingers: exp.pingers.clone(),
            groups: plan.groups().len(),
            size: exp.probe.size,
        }
    }
}

impl fmt::Display for PlanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pingers = match self.pingers.len() {
            1 => String::new(),
            n => format!(" × {n} pingers"),
        };
        writeln!(
            f,
            "{}: {} configurations × {} repetitions{pingers} = {} runs, {} excluded",
            self.file,
            self.configs.len(),
            self.repetitions,
            self.runs,
            self.excluded.len()
        )?;
        for c in &self.configs {
            writeln!(f, "  {}  {}", c.config, c.label)?;
        }
        for e in &self.excluded {
            writeln!(f, "  excluded {}  {}: {}", e.config, e.label, e.why)?;
        }
        if self.together {
            writeln!(
                f,
                "pingers {} probe together: {} groups of {} runs",
                self.pingers.join(" and "),
                self.groups,
                self.pingers.len()
            )?;
        }
        if let Some(r) = &self.rate {
            writeln!(
                f,
                "rate = auto: each run's interval from the paper's equation (1), pps = B × l_min / (8 × {} B), \
                 B the ping interface's link speed, l_min the lowest median RTT of the runs done so far \
                 (before the first, of a {}-probe calibration run at 1 ms); the estimate assumes \
                 B = {:.0} Gb/s and l_min = {:.0} µs: interval {:.2} ms",
                self.size,
                rate::CALIBRATION_PROBES,
                r.assumed_b_bps / 1e9,
                r.assumed_l_min_ns / 1e3,
                r.assumed_interval_ns as f64 / 1e6
            )?;
        }
        writeln!(
            f,
            "estimated {:.0} s ({:.1} s probing + ~{:.1} s start-up, warm-up and linger per run)",
            self.estimate_s, self.measure_per_run_s, self.overhead_per_run_s
        )
    }
}
