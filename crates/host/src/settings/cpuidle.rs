//! `cpuidle-disable`: per-state `disable` in cpuidle sysfs
//! (/sys/devices/system/cpu/cpuN/cpuidle/stateM/{name,disable,latency}),
//! the same on every CPU. The value is the exact set of states to disable:
//! `none`, names such as `C6,C8`, or `deeper-than:N` (every state whose
//! index is above N). The CPU tree is global (not per network namespace);
//! `XDPLAT_CPU_SYSFS` points it elsewhere (tests on machines without
//! cpuidle, such as VMs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Held, Setting, bad_value, unsupported};
use crate::Error;
use crate::state::Target;
use crate::sysfs;

const KEY: &str = "cpuidle-disable";
const ACCEPTS: &str = "none, state names as in cpuidle sysfs (e.g. C6,C8), or deeper-than:N (every state of index above N)";
/// Environment variable naming another CPU sysfs tree.
pub const CPU_SYSFS_ENV: &str = "XDPLAT_CPU_SYSFS";

/// `cpuidle-disable`.
#[derive(Debug, Clone)]
pub struct CpuidleDisable {
    root: PathBuf,
}

/// One idle state of one CPU.
#[derive(Debug, Clone)]
struct State {
    dir: PathBuf,
    index: u32,
    name: String,
}

impl Default for CpuidleDisable {
    fn default() -> Self {
        let root = std::env::var_os(CPU_SYSFS_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/sys/devices/system/cpu"));
        CpuidleDisable { root }
    }
}

fn numbered(dir: &Path, prefix: &str) -> Vec<(u32, PathBuf)> {
    let mut out: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name.strip_prefix(prefix)?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    out.sort();
    out
}

impl CpuidleDisable {
    /// On another CPU sysfs tree.
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        CpuidleDisable { root: root.into() }
    }

    /// Every state of every CPU, by CPU.
    fn states(&self) -> Vec<(u32, Vec<State>)> {
        numbered(&self.root, "cpu")
            .into_iter()
            .map(|(cpu, dir)| {
                let states = numbered(&dir.join("cpuidle"), "state")
                    .into_iter()
                    .map(|(index, dir)| State {
                        name: sysfs::read(&dir.join("name").to_string_lossy()).unwrap_or_default(),
                        dir,
                        index,
                    })
                    .collect();
                (cpu, states)
            })
            .filter(|(_, s): &(u32, Vec<State>)| !s.is_empty())
            .collect()
    }

    fn selected(value: &str, s: &State) -> bool {
        if value == "none" {
            false
        } else if let Some(n) = value.strip_prefix("deeper-than:") {
            n.parse::<u32>().is_ok_and(|n| s.index > n)
        } else {
            value.split(',').any(|v| v == s.name)
        }
    }

    fn disable_path(s: &State) -> String {
        s.dir.join("disable").to_string_lossy().into_owned()
    }

    /// The states and their exit latencies (µs), as `host show` lists them.
    pub fn describe_states(&self) -> Vec<(String, String)> {
        self.states()
            .into_iter()
            .next()
            .map(|(_, states)| {
                states
                    .iter()
                    .map(|s| {
                        let lat = sysfs::read(&s.dir.join("latency").to_string_lossy())
                            .unwrap_or_default();
                        (s.name.clone(), lat)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Setting for CpuidleDisable {
    fn key(&self) -> &'static str {
        KEY
    }
    fn accepts(&self) -> &'static str {
        ACCEPTS
    }
    fn per_device(&self) -> bool {
        false
    }
    fn parse(&self, value: &str) -> Result<String, Error> {
        let v = value.trim();
        let ok = if v == "none" {
            true
        } else if let Some(n) = v.strip_prefix("deeper-than:") {
            n.parse::<u32>().is_ok()
        } else {
            !v.is_empty()
                && v.split(',').all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
                })
        };
        if !ok {
            return Err(bad_value(KEY, value, ACCEPTS));
        }
        // Names must exist on this machine (when it has cpuidle at all).
        let known: Vec<String> = self
            .states()
            .into_iter()
            .flat_map(|(_, s)| s.into_iter().map(|s| s.name))
            .collect();
        if !known.is_empty() && v != "none" && !v.starts_with("deeper-than:") {
            for p in v.split(',') {
                if !known.iter().any(|k| k == p) {
                    let mut names = known.clone();
                    names.sort();
                    names.dedup();
                    return Err(bad_value(
                        KEY,
                        value,
                        &format!("{ACCEPTS}; this machine's states are {}", names.join(", ")),
                    ));
                }
            }
        }
        Ok(v.to_string())
    }
    fn check_supported(&self, t: &Target) -> Result<(), Error> {
        if self.states().is_empty() {
            let driver = sysfs::read(&self.root.join("cpuidle/current_driver").to_string_lossy())
                .unwrap_or_else(|_| "none".into());
            Err(unsupported(
                KEY,
                t,
                format!(
                    "has no cpuidle states under {} (cpuidle driver: {driver}; a VM often has none)",
                    self.root.display()
                ),
            ))
        } else {
            Ok(())
        }
    }
    /// The disabled states of the first CPU, `none`, or `mixed: ...` when
    /// CPUs differ.
    fn read(&self, _t: &Target) -> Result<String, Error> {
        let mut per_cpu = Vec::new();
        for (_, states) in self.states() {
            let mut off = Vec::new();
            for s in &states {
                if sysfs::read(&Self::disable_path(s))? == "1" {
                    off.push(s.name.clone());
                }
            }
            per_cpu.push(if off.is_empty() {
                "none".to_string()
            } else {
                off.join(",")
            });
        }
        per_cpu.dedup();
        Ok(match per_cpu.len() {
            0 => "none".into(),
            1 => per_cpu.remove(0),
            _ => format!("mixed: {}", per_cpu.join(" | ")),
        })
    }
    /// JSON map of every `disable` file to its value.
    fn snapshot(&self, _t: &Target) -> Result<String, Error> {
        let mut map = BTreeMap::new();
        for (_, states) in self.states() {
            for s in &states {
                let p = Self::disable_path(s);
                map.insert(p.clone(), sysfs::read(&p)?);
            }
        }
        serde_json::to_string(&map).map_err(|e| Error::Journal {
            path: KEY.into(),
            why: e.to_string(),
        })
    }
    fn apply(&self, _t: &Target, value: &str) -> Result<Held, Error> {
        for (_, states) in self.states() {
            for s in &states {
                let want = if Self::selected(value, s) { "1" } else { "0" };
                sysfs::write(&Self::disable_path(s), want)?;
            }
        }
        Ok(None)
    }
    fn restore(&self, _t: &Target, old: &str) -> Result<(), Error> {
        let map: BTreeMap<String, String> =
            serde_json::from_str(old).map_err(|e| Error::Journal {
                path: KEY.into(),
                why: format!("bad cpuidle snapshot: {e}"),
            })?;
        for (path, v) in map {
            sysfs::write(&path, &v)?;
        }
        Ok(())
    }
    fn confirms(&self, wanted: &str, read_back: &str) -> bool {
        if wanted.starts_with("deeper-than:") {
            // The names are machine specific; any uniform result is fine.
            !read_back.starts_with("mixed")
        } else {
            let set = |s: &str| {
                let mut v: Vec<String> = s.split(',').map(str::to_string).collect();
                v.sort();
                v
            };
            set(wanted) == set(read_back)
        }
    }
}
