//! `summary.json`: what the user asked for, what was really in effect, the
//! warnings, packet counts and RTT statistics of one run (one config × one
//! repetition), and the facts needed to reproduce it. Written atomically
//! (temporary file, fsync, rename) so a reader never sees half a summary.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Describe, Error, SCHEMA};

/// File name of the summary inside a run directory.
pub const SUMMARY_FILE: &str = "summary.json";

/// Keys in `Summary::stages` of the consecutive stages of a round trip, in path order, present
/// when A and B stamp with one clock: per probe they add up exactly to its RTT.
pub const CHAIN_STAGES: [&str; 5] = [
    "chain_a_to_b_xdp",
    "chain_b_xdp_to_user",
    "chain_b_processing",
    "chain_b_to_a_xdp",
    "chain_a_xdp_to_user",
];
const TMP_FILE: &str = ".summary.json.tmp";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub schema: u32,
    /// What the user asked for, knob names with `_` (`xdp_mode`, `bind`, `need_wakeup`, ...).
    pub params: Map<String, Value>,
    /// What the kernel confirmed was in effect.
    pub effective: Map<String, Value>,
    pub warnings: Vec<String>,
    pub packets: PacketCounts,
    /// `None` when no packet came back.
    pub rtt_ns: Option<Describe>,
    pub repetition: u32,
    /// Packets sent first and discarded.
    #[serde(default)]
    pub warmup_packets: u64,
    /// Per-stage statistics, by stage name.
    #[serde(default)]
    pub stages: Map<String, Value>,
    #[serde(default)]
    pub environment: Environment,
    /// Measured replies by the forwarder queue and NAPI that turned them around (present when
    /// the forwarder stamped probes with room for its queue).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fwd_queues: Vec<FwdQueueCount>,
    /// Fields this version does not know, kept for forward compatibility.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for Summary {
    fn default() -> Self {
        Self {
            schema: SCHEMA,
            params: Map::new(),
            effective: Map::new(),
            warnings: Vec::new(),
            packets: PacketCounts::default(),
            rtt_ns: None,
            repetition: 0,
            warmup_packets: 0,
            stages: Map::new(),
            environment: Environment::default(),
            fwd_queues: Vec::new(),
            extra: Map::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PacketCounts {
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub reordered: u64,
    /// Probe replies whose payload failed validation.
    #[serde(default)]
    pub corrupt: u64,
    /// Frames on the probe port that belonged to no probe of this run.
    #[serde(default)]
    pub foreign: u64,
}

/// How many measured replies one forwarder queue turned around.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FwdQueueCount {
    pub queue: u16,
    /// The NAPI id of the forwarder's socket on that queue (0: none).
    pub napi_id: u32,
    pub probes: u64,
}

/// The machine a run was measured on.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Environment {
    #[serde(default)]
    pub xdplat_version: String,
    #[serde(default)]
    pub kernel_release: String,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub cpu_model: String,
    /// Set when the CPU is emulated in software (a QEMU TCG guest): absolute latencies measured
    /// there are emulation's, not a machine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emulation: Option<String>,
}

/// "QEMU TCG" when this system runs under QEMU's software emulation: its CPU model says TCG
/// (QEMU's own models under TCG are named "QEMU TCG CPU ..."), or DMI says QEMU while the kernel
/// has no kvm-clock (every KVM guest has one).
fn detect_emulation(cpu_model: &str, sys_vendor: &str, clocksources: &str) -> Option<String> {
    let tcg = cpu_model.contains("TCG")
        || (sys_vendor.trim() == "QEMU" && !clocksources.contains("kvm-clock"));
    tcg.then(|| "QEMU TCG".to_string())
}

impl Environment {
    /// Reads the running system (procfs); a fact that cannot be read stays empty.
    pub fn detect() -> Self {
        let read = |p: &str| {
            std::fs::read_to_string(p)
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| matches!(k.trim(), "model name" | "Model" | "cpu model"))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_default();
        let emulation = detect_emulation(
            &cpu_model,
            &read("/sys/class/dmi/id/sys_vendor"),
            &read("/sys/devices/system/clocksource/clocksource0/available_clocksource"),
        );
        Self {
            xdplat_version: env!("CARGO_PKG_VERSION").to_string(),
            kernel_release: read("/proc/sys/kernel/osrelease"),
            hostname: read("/proc/sys/kernel/hostname"),
            cpu_model,
            emulation,
        }
    }
}

/// Writes `DIR/summary.json` atomically: temporary file, fsync, rename, fsync of DIR.
pub fn write_summary(dir: &Path, s: &Summary) -> Result<(), Error> {
    let tmp = dir.join(TMP_FILE);
    let dst = dir.join(SUMMARY_FILE);
    let mut body = serde_json::to_vec_pretty(s).map_err(|source| Error::Json {
        path: dst.clone(),
        source,
    })?;
    body.push(b'\n');
    let written = File::create(&tmp)
        .map_err(|e| Error::io("create", &tmp, e))
        .and_then(|mut f| {
            f.write_all(&body)
                .map_err(|e| Error::io("write", &tmp, e))?;
            f.sync_all().map_err(|e| Error::io("fsync", &tmp, e))
        })
        .and_then(|()| std::fs::rename(&tmp, &dst).map_err(|e| Error::io("rename", &dst, e)));
    if written.is_err() {
        // a full disk leaves no stray temporary file behind
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    sync_dir(dir)
}

/// Reads a summary file; refuses a schema newer than [`SCHEMA`].
pub fn read_summary(path: &Path) -> Result<Summary, Error> {
    let body = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    let s: Summary = serde_json::from_slice(&body).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })?;
    if s.schema > SCHEMA {
        return Err(Error::Schema {
            path: path.to_path_buf(),
            found: s.schema,
            supported: SCHEMA,
        });
    }
    Ok(s)
}

/// Makes a rename in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcg_is_told_from_kvm_and_metal() {
        assert_eq!(
            detect_emulation("QEMU TCG CPU version 2.5+", "QEMU", "tsc hpet acpi_pm").as_deref(),
            Some("QEMU TCG")
        );
        assert_eq!(
            detect_emulation("Intel Xeon", "QEMU", "tsc hpet acpi_pm").as_deref(),
            Some("QEMU TCG")
        );
        assert_eq!(
            detect_emulation("Intel Xeon", "QEMU", "kvm-clock tsc hpet acpi_pm"),
            None
        );
        assert_eq!(detect_emulation("AMD EPYC", "Dell Inc.", "tsc hpet"), None);
    }
}
