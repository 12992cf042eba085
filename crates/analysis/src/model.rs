//! The data the analysis works on, whatever its source: configurations (a set
//! of parameter values) each measured in one or more repetitions (runs).

use std::collections::BTreeMap;

use results::Describe;
use serde_json::Value;

/// Parameter name → value (JSON boolean, number, string, or null when missing).
pub type Params = BTreeMap<String, Value>;

/// Latency samples kept per run for plots; statistics always use every sample.
pub const KEEP_SAMPLES: usize = 20_000;

/// One repetition of one configuration.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub rep: u32,
    /// Statistics of every received packet's RTT; `None` when none came back.
    pub rtt: Option<Describe>,
    pub sent: u64,
    pub lost: u64,
    /// CPU time the run consumed, when recorded.
    pub cpu_ns: Option<f64>,
    /// An evenly strided subset of the RTTs (at most [`KEEP_SAMPLES`]), for plots.
    pub sample: Vec<i64>,
    /// Where the run came from (run directory or table), for messages.
    pub source: String,
    /// Median of each measured stage interval (ns), by stage name (summary.json `stages`).
    pub stages: BTreeMap<String, f64>,
    /// How each stage was measured: "software", "hardware", "not measured: why"
    /// (summary.json `stage_sources`).
    pub stage_sources: BTreeMap<String, String>,
    /// The send interval a sweep derived for this run (`rate = "auto"`: summary.json
    /// `rate.interval_ns`), where the configuration's `interval_ns` reads "auto".
    pub auto_interval_ns: Option<f64>,
}

impl Run {
    /// Describes `rtts` (reordered in place) and keeps a strided subset for plots.
    pub fn from_rtts(rep: u32, rtts: &mut [i64], sent: u64, lost: u64, source: String) -> Self {
        let step = rtts.len().div_ceil(KEEP_SAMPLES).max(1);
        let sample = rtts.iter().step_by(step).copied().collect();
        Run {
            rep,
            rtt: results::describe(rtts),
            sent,
            lost,
            cpu_ns: None,
            sample,
            source,
            stages: BTreeMap::new(),
            stage_sources: BTreeMap::new(),
            auto_interval_ns: None,
        }
    }
}

/// A configuration: the runs that share every parameter value.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub id: String,
    pub params: Params,
    pub runs: Vec<Run>,
    /// What the reader must know about how the configuration was measured (a racing sweep's
    /// eliminated configuration has only its race slices: fewer, shorter runs).
    pub note: Option<String>,
}

/// Everything loaded from one input.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// The input's name (directory or file), for reports.
    pub source: String,
    pub configs: Vec<Config>,
}

impl Dataset {
    /// Splits by the value of one parameter (`--by`), in order of first appearance;
    /// the parameter is removed from the parts' configurations.
    pub fn split_by(&self, param: &str) -> Result<Vec<(String, Dataset)>, crate::Error> {
        let mut parts: Vec<(String, Dataset)> = Vec::new();
        for c in &self.configs {
            let v = c.params.get(param).ok_or_else(|| {
                crate::Error::input(
                    &self.source,
                    None,
                    Some(param),
                    format!("--by: configuration {} has no parameter {param}", c.id),
                )
            })?;
            let key = render_value(v);
            let idx = match parts.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    parts.push((
                        key.clone(),
                        Dataset {
                            source: format!("{} ({param}={key})", self.source),
                            configs: Vec::new(),
                        },
                    ));
                    parts.len() - 1
                }
            };
            let mut c = c.clone();
            c.params.remove(param);
            parts[idx].1.configs.push(c);
        }
        Ok(parts)
    }
}

/// A parameter value as text: strings bare, everything else as JSON.
pub fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_string(),
        other => other.to_string(),
    }
}

/// A readable id for each parameter set: the parameters that vary across
/// `all`, as `name=value` joined by spaces (all of them when none varies).
pub fn config_ids(all: &[Params]) -> Vec<String> {
    let varying: Vec<&String> = all
        .first()
        .map(|first| {
            let mut keys: std::collections::BTreeSet<&String> =
                all.iter().flat_map(|p| p.keys()).collect();
            keys.retain(|k| all.iter().any(|p| p.get(*k) != first.get(*k)));
            keys.into_iter().collect()
        })
        .unwrap_or_default();
    all.iter()
        .map(|p| {
            let keys: Vec<&String> = if varying.is_empty() {
                p.keys().collect()
            } else {
                varying.clone()
            };
            let s = keys
                .iter()
                .map(|k| {
                    format!(
                        "{k}={}",
                        p.get(*k).map(render_value).unwrap_or_else(|| "-".into())
                    )
                })
                .collect::<Vec<_>>()
                .join(" ");
            if s.is_empty() {
                "config".to_string()
            } else {
                s
            }
        })
        .collect()
}
