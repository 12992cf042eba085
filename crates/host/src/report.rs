//! What `xdplat host show`, `apply` and `restore` report, typed: one [`ShowReport`] serialized for
//! `--json` (schema 1, documented in crates/host/README.md) and rendered for people
//! ([`std::fmt::Display`]), each applied setting's line, and the lines saying what a restore
//! undid.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::Error;
use crate::hostconfig::{self, ShowRow, ShowStatus};
use crate::state::{Entry, HostLock, Journal, StateDir, Target};

/// Every setting of a target, the cpuidle states, and the journaled changes in force.
#[derive(Debug, Clone, Serialize)]
pub struct ShowReport {
    pub schema: u32,
    pub target: Target,
    pub settings: Vec<ShowRow>,
    pub cpuidle_states: Vec<CpuidleState>,
    pub journal: JournalReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct CpuidleState {
    pub name: String,
    pub exit_latency_us: Option<u64>,
    /// The exit latency as sysfs has it.
    #[serde(skip)]
    pub latency: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct JournalReport {
    pub path: PathBuf,
    pub entries: Vec<JournalEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JournalEntry {
    pub key: String,
    pub target: Target,
    pub value: String,
    pub pid: u32,
    pub state: EntryState,
}

/// Whose a journaled change is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryState {
    /// Left in force by `host apply` until `host restore`.
    Kept,
    /// Held by a running xdplat process (it holds the host lock).
    Held,
    /// Left by a process that died: the next restore undoes it.
    Crashed,
}

/// `xdplat host show` of `target`.
pub fn show(dir: &StateDir, target: &Target) -> Result<ShowReport, Error> {
    let settings = hostconfig::show(target)?;
    let journal = Journal::load(dir)?;
    // entries that are not kept belong to a live process when the lock is taken
    let alive = journal.entries.iter().any(|e| !e.kept)
        && matches!(HostLock::acquire(dir), Err(Error::Locked { .. }));
    let entries = journal
        .entries
        .iter()
        .map(|e| JournalEntry {
            key: e.key.clone(),
            target: e.target.clone(),
            value: e.value.clone(),
            pid: e.pid,
            state: match (e.kept, alive) {
                (true, _) => EntryState::Kept,
                (false, true) => EntryState::Held,
                (false, false) => EntryState::Crashed,
            },
        })
        .collect();
    Ok(ShowReport {
        schema: 1,
        target: target.clone(),
        settings,
        cpuidle_states: hostconfig::cpuidle_states()
            .into_iter()
            .map(|(name, latency)| CpuidleState {
                name,
                exit_latency_us: latency.parse().ok(),
                latency,
            })
            .collect(),
        journal: JournalReport {
            path: dir.journal_path(),
            entries,
        },
    })
}

impl fmt::Display for ShowReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "host settings of {}:", self.target.describe())?;
        let width = self.settings.iter().map(|r| r.key.len()).max().unwrap_or(0);
        for r in &self.settings {
            // the reasons start with the key, already in the first column
            let prefix = format!("{}: ", r.key);
            let why = r.why.as_deref().unwrap_or("");
            let why = why.strip_prefix(&prefix).unwrap_or(why);
            let text = match r.status {
                ShowStatus::Supported => r.value.clone().unwrap_or_default(),
                ShowStatus::NeedsIface => "(per-device: pass --iface)".into(),
                ShowStatus::Unsupported => format!("unsupported: {why}"),
                ShowStatus::Unreadable => format!("unreadable: {why}"),
            };
            writeln!(f, "  {:width$}  {text}", r.key)?;
        }
        if self.cpuidle_states.is_empty() {
            writeln!(
                f,
                "cpuidle states: none (no cpuidle driver states on this machine)"
            )?;
        } else {
            let list: Vec<String> = self
                .cpuidle_states
                .iter()
                .map(|s| format!("{} {} µs", s.name, s.latency))
                .collect();
            writeln!(f, "cpuidle states (exit latency): {}", list.join(", "))?;
        }
        if self.journal.entries.is_empty() {
            return writeln!(f, "journaled changes in force: none");
        }
        writeln!(
            f,
            "journaled changes in force ({}):",
            self.journal.path.display()
        )?;
        for e in &self.journal.entries {
            let why = match e.state {
                EntryState::Kept => {
                    "kept by `xdplat host apply` until `xdplat host restore`".to_string()
                }
                EntryState::Held => format!("held by the running xdplat process {}", e.pid),
                EntryState::Crashed => format!(
                    "left by xdplat process {} that died: `xdplat host restore` undoes it",
                    e.pid
                ),
            };
            writeln!(
                f,
                "  {}={} on {}: {why}",
                e.key,
                e.value,
                e.target.describe()
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for crate::Outcome {
    /// `set KEY on TARGET: BEFORE -> AFTER`, or `skipped KEY: why`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.skipped {
            Some(why) => write!(f, "skipped {}: {why}", self.key),
            None => write!(
                f,
                "set {} on {}: {} -> {}",
                self.key,
                self.target.describe(),
                self.before.as_deref().unwrap_or("?"),
                self.effective.as_deref().unwrap_or("?")
            ),
        }
    }
}

/// One line per undone entry (newest first), then each setting's value now, read back from
/// the kernel.
pub fn restored(undone: &[Entry]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut seen: Vec<(&str, &Target)> = Vec::new();
    for e in undone {
        let how = if e.kept {
            "kept by `xdplat host apply`".to_string()
        } else {
            format!("made by xdplat process {}", e.pid)
        };
        lines.push(format!(
            "undid {}={} on {} ({how})",
            e.key,
            e.value,
            e.target.describe()
        ));
        if !seen.contains(&(e.key.as_str(), &e.target)) {
            seen.push((&e.key, &e.target));
        }
    }
    for (key, target) in seen {
        let now = crate::settings::by_key(key).and_then(|s| s.read(target));
        lines.push(match now {
            Ok(v) => format!("restored {key} on {}: {v}", target.describe()),
            Err(_) => format!(
                "restored {key} on {} (no longer readable)",
                target.describe()
            ),
        });
    }
    lines
}
