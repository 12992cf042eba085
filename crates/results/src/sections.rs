//! The sections of `summary.json` beside DESIGN.md's core keys, typed: `cpu` (what a sweep's run
//! cost), `sweep` (which configuration and run it was), `rate` (`rate = "auto"`) and
//! `stage_sources` (what measured each stage). They are stored in [`Summary::extra`], so the file
//! format is unchanged and readers of the raw keys keep working; [`Summary::cpu`],
//! [`Summary::set_cpu`] and their siblings read and write them through these types.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Summary;

/// The keys of the sections in `summary.json`.
pub const CPU: &str = "cpu";
pub const SWEEP: &str = "sweep";
pub const RATE: &str = "rate";
pub const STAGE_SOURCES: &str = "stage_sources";

/// CPU time of a sweep's run: each role's user and system time (absent when an ssh role's
/// wrapper did not report), and the softirq time of the CPUs involved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_user_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_sys_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwd_user_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwd_sys_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub softirq_ns: Option<u64>,
    /// The CPUs whose softirq time was counted, present when a role ran on this machine; null
    /// when a role floated (every CPU counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub softirq_cpus: Option<Option<Vec<usize>>>,
    /// The pingers of a group run together (their times are the group's totals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub together: Option<Vec<String>>,
}

/// Which run of which sweep this is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// The configuration id.
    pub config: String,
    /// The run id.
    pub run: String,
    /// The configuration's values, as `key=value` words.
    pub label: String,
    /// The host settings applied for the run.
    #[serde(default)]
    pub host_settings: Vec<HostSetting>,
    /// The pingers of a group run together; null for a run alone.
    #[serde(default)]
    pub together: Option<Vec<String>>,
}

/// One host setting a sweep applied (as `xdplat host apply` reports it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostSetting {
    pub key: String,
    pub target: SettingTarget,
    /// The value asked for.
    pub value: String,
    pub before: Option<String>,
    /// Read back after applying; None when skipped.
    pub effective: Option<String>,
    /// Why it was not applied.
    pub skipped: Option<String>,
}

/// Where a host setting applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingTarget {
    /// The experiment's host, for a setting applied on an ssh host (absent: this machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub netns: Option<String>,
    pub iface: Option<String>,
}

/// A run's interval and how it was chosen: derived by the paper's equation (1), pps =
/// B × l_min / (8 × P) (`auto` true, every field), or fixed (`auto` false, `interval_ns` only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    pub auto: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pps: Option<f64>,
    pub interval_ns: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b_bps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l_min_ns: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<usize>,
    /// Where l_min came from: `calibration`, `run <id>`, `cluster 0 mean`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// What measured a stage: written as `software`, `hardware`, `hardware and software`, or
/// `not measured: why`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageSource {
    Software,
    Hardware,
    HardwareAndSoftware,
    NotMeasured(String),
}

/// Every stage a summary can report, by name.
pub type StageSources = BTreeMap<String, StageSource>;

const NOT_MEASURED: &str = "not measured: ";

impl fmt::Display for StageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StageSource::Software => f.write_str("software"),
            StageSource::Hardware => f.write_str("hardware"),
            StageSource::HardwareAndSoftware => f.write_str("hardware and software"),
            StageSource::NotMeasured(why) => write!(f, "{NOT_MEASURED}{why}"),
        }
    }
}

impl StageSource {
    pub fn parse(text: &str) -> StageSource {
        match text {
            "software" => StageSource::Software,
            "hardware" => StageSource::Hardware,
            "hardware and software" => StageSource::HardwareAndSoftware,
            other => StageSource::NotMeasured(
                other
                    .strip_prefix(NOT_MEASURED)
                    .unwrap_or(other)
                    .to_string(),
            ),
        }
    }
}

impl Serialize for StageSource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StageSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(StageSource::parse(&String::deserialize(d)?))
    }
}

impl Summary {
    fn section<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        serde_json::from_value(self.extra.get(key)?.clone()).ok()
    }

    fn set_section<T: Serialize>(&mut self, key: &str, v: &T) {
        let v = serde_json::to_value(v).expect("plain data serialises");
        self.extra.insert(key.into(), v);
    }

    /// `cpu`, when a sweep recorded it.
    pub fn cpu(&self) -> Option<Cpu> {
        self.section(CPU)
    }

    pub fn set_cpu(&mut self, cpu: &Cpu) {
        self.set_section(CPU, cpu)
    }

    /// `sweep`, when a sweep ran it.
    pub fn sweep(&self) -> Option<Sweep> {
        self.section(SWEEP)
    }

    pub fn set_sweep(&mut self, sweep: &Sweep) {
        self.set_section(SWEEP, sweep)
    }

    /// `rate`, with `rate = "auto"`.
    pub fn rate(&self) -> Option<Rate> {
        self.section(RATE)
    }

    pub fn set_rate(&mut self, rate: &Rate) {
        self.set_section(RATE, rate)
    }

    /// `stage_sources` (empty for summaries written before it existed).
    pub fn stage_sources(&self) -> StageSources {
        self.section(STAGE_SOURCES).unwrap_or_default()
    }

    pub fn set_stage_sources(&mut self, sources: &StageSources) {
        self.set_section(STAGE_SOURCES, sources)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sections_keep_the_file_format() {
        let mut s = Summary::default();
        s.set_cpu(&Cpu {
            ping_user_ns: Some(1),
            ping_sys_ns: Some(2),
            softirq_cpus: Some(None),
            ..Cpu::default()
        });
        assert_eq!(
            s.extra["cpu"],
            json!({ "ping_user_ns": 1, "ping_sys_ns": 2, "softirq_cpus": null })
        );
        s.set_sweep(&Sweep {
            config: "c1".into(),
            run: "c1-r0".into(),
            label: "poll=true".into(),
            ..Sweep::default()
        });
        assert_eq!(s.extra["sweep"]["together"], json!(null));
        assert_eq!(s.sweep().unwrap().config, "c1");
        let mut src = StageSources::new();
        src.insert("rtt".into(), StageSource::Software);
        src.insert(
            "a_nic_rtt".into(),
            StageSource::NotMeasured("not asked".into()),
        );
        s.set_stage_sources(&src);
        assert_eq!(
            s.extra["stage_sources"]["a_nic_rtt"],
            "not measured: not asked"
        );
        assert_eq!(s.stage_sources(), src);
        s.set_rate(&Rate {
            auto: false,
            interval_ns: 5,
            ..Rate::default()
        });
        assert_eq!(s.extra["rate"], json!({ "auto": false, "interval_ns": 5 }));
        assert_eq!(s.rate().unwrap().interval_ns, 5);
    }
}
