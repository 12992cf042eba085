//! [`HostConfig`]: applies host settings and guarantees they are undone.
//!
//! Order of events: take the host lock; undo whatever a crashed process
//! left in the journal; for each setting, validate every value and check
//! support *before* changing anything; then per setting: snapshot the old
//! value, write it to the journal (durably), apply, read back. Dropping
//! the guard restores in reverse order and removes each entry from the
//! journal once undone. After a SIGKILL the journal remains, and the next
//! [`HostConfig::new`] or [`restore_journal`] undoes it.
//!
//! [`HostConfig::keep`] instead marks the entries *kept*: they stay in
//! force past the process (what `xdplat host apply` wants) and only
//! [`restore_journal`] (`xdplat host restore`) undoes them. Crash recovery
//! in [`HostConfig::new`] leaves kept entries alone; a later guard's own
//! changes are layered on top and restored back to the kept values.
//!
//! Signals are the caller's business: a Ctrl-C/SIGTERM handler should let
//! the guard drop (or call [`HostConfig::restore`]).

use crate::settings::{self, Held, Setting};
use crate::state::{Entry, HostLock, Journal, StateDir, Target};
use crate::{Error, iface, netns};

/// What to do with a setting the target cannot take (`host apply --skip-unsupported`, a sweep
/// axis's `on-unsupported`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnUnsupported {
    /// Fail before changing anything (a sweep stops).
    Error,
    /// Leave it out and report it in [`Outcome::skipped`] (a sweep skips the configuration).
    Skip,
}

/// What happened to one requested setting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    pub key: String,
    pub target: Target,
    /// The value asked for (normalised).
    pub value: String,
    /// The value before.
    pub before: Option<String>,
    /// The value the kernel reads back after applying (None when skipped).
    pub effective: Option<String>,
    /// Why it was not applied.
    pub skipped: Option<String>,
}

#[derive(Debug)]
struct Applied {
    entry: Entry,
    held: HeldBox,
}

/// Wrapper so that Applied is Debug.
struct HeldBox(Held);

impl std::fmt::Debug for HeldBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "held" } else { "none" })
    }
}

/// Settings in force; restored on drop.
#[derive(Debug)]
pub struct HostConfig {
    dir: StateDir,
    applied: Vec<Applied>,
    /// Entries of a crashed process that were undone when this guard was
    /// made.
    pub recovered: Vec<Entry>,
    /// Kept entries (from `xdplat host apply`) found in force when this
    /// guard was made; left alone.
    pub kept: Vec<Entry>,
    _lock: HostLock,
}

/// A setting with a checked value.
pub type Checked = (Box<dyn Setting>, String);

/// Parses `KEY=VALUE` items into checked (setting, value) pairs. A key given twice is refused:
/// one request sets each setting once (the journal records one value per setting).
pub fn parse_settings(items: &[String]) -> Result<Vec<Checked>, Error> {
    let mut out: Vec<(Checked, &String)> = Vec::new();
    for item in items {
        let (k, v) = settings::parse_assignment(item)?;
        let s = settings::by_key(&k)?;
        let v = s.parse(&v)?;
        if let Some((_, first)) = out.iter().find(|((o, _), _)| o.key() == s.key()) {
            return Err(Error::BadInput {
                param: "--set",
                value: item.clone(),
                why: format!(
                    "{} is already set by --set {first}: give each key once",
                    s.key()
                ),
            });
        }
        out.push(((s, v), item));
    }
    Ok(out.into_iter().map(|(c, _)| c).collect())
}

impl HostConfig {
    /// Takes the host lock and undoes any leftover journal.
    pub fn new(dir: &StateDir) -> Result<HostConfig, Error> {
        let lock = HostLock::acquire(dir)?;
        let recovered = restore_locked(dir, false)?;
        let kept = Journal::load(dir)?.entries;
        Ok(HostConfig {
            dir: dir.clone(),
            applied: Vec::new(),
            recovered,
            kept,
            _lock: lock,
        })
    }

    /// Applies `KEY=VALUE` items to `target`. Every item is validated (and,
    /// with [`OnUnsupported::Error`], checked for support) before the first
    /// change. A setting already applied by this guard may be set again;
    /// the first snapshot is the one restored.
    pub fn apply(
        &mut self,
        target: &Target,
        items: &[String],
        on_unsupported: OnUnsupported,
    ) -> Result<Vec<Outcome>, Error> {
        let (plan, mut outcomes) = plan(target, items, on_unsupported)?;
        for (s, v, target) in plan {
            outcomes.push(self.apply_one(s.as_ref(), &target, &v)?);
        }
        Ok(outcomes)
    }

    fn apply_one(
        &mut self,
        s: &dyn Setting,
        target: &Target,
        value: &str,
    ) -> Result<Outcome, Error> {
        let before = s.read(target)?;
        let already = self
            .applied
            .iter()
            .any(|a| a.entry.key == s.key() && a.entry.target == *target);
        if !already {
            let old = s.snapshot(target)?;
            let mut journal = Journal::load(&self.dir)?;
            let entry = Entry {
                id: journal.next_id(),
                pid: std::process::id(),
                key: s.key().into(),
                target: target.clone(),
                value: value.into(),
                old,
                kept: false,
            };
            journal.entries.push(entry.clone());
            journal.save(&self.dir)?;
            self.applied.push(Applied {
                entry,
                held: HeldBox(None),
            });
        }
        let held = s.apply(target, value)?;
        if let Some(a) = self
            .applied
            .iter_mut()
            .find(|a| a.entry.key == s.key() && a.entry.target == *target)
            && held.is_some()
        {
            a.held = HeldBox(held);
        }
        let effective = s.read(target)?;
        if !s.confirms(value, &effective) {
            return Err(Error::NotApplied {
                key: s.key().into(),
                device: target.describe(),
                wanted: value.into(),
                got: effective,
            });
        }
        Ok(Outcome {
            key: s.key().into(),
            target: target.clone(),
            value: value.into(),
            before: Some(before),
            effective: Some(effective),
            skipped: None,
        })
    }

    /// The changes in force (journaled), oldest first.
    pub fn entries(&self) -> Vec<Entry> {
        self.applied.iter().map(|a| a.entry.clone()).collect()
    }

    /// Leaves the changes in force for a later `xdplat host restore` (what
    /// a one-shot `xdplat host apply` wants): their journal entries are
    /// marked kept, so that the crash recovery of the next process leaves
    /// them alone, and the lock is released. A change that cannot outlive
    /// this process (the PM QoS request ends with its file) is undone now
    /// and named in the returned warnings.
    pub fn keep(mut self) -> Result<Vec<String>, Error> {
        let mut warnings = Vec::new();
        let mut ids = Vec::new();
        for a in std::mem::take(&mut self.applied) {
            if a.held.0.is_some() {
                drop(a.held);
                undo(&a.entry)?;
                forget(&self.dir, a.entry.id)?;
                warnings.push(format!(
                    "{}={} lasts only while the process that set it runs: it ended with this command",
                    a.entry.key, a.entry.value
                ));
            } else {
                ids.push(a.entry.id);
            }
        }
        let mut journal = Journal::load(&self.dir)?;
        for e in &mut journal.entries {
            if ids.contains(&e.id) {
                e.kept = true;
            }
        }
        journal.save(&self.dir)?;
        Ok(warnings)
    }

    /// Restores everything now, reporting failures (drop does the same
    /// and prints them).
    pub fn restore(mut self) -> Result<(), Error> {
        self.restore_all()
    }

    fn restore_all(&mut self) -> Result<(), Error> {
        let mut failures = Vec::new();
        while let Some(a) = self.applied.pop() {
            drop(a.held);
            match undo(&a.entry) {
                Ok(()) => {
                    if let Err(e) = forget(&self.dir, a.entry.id) {
                        failures.push(e.to_string());
                    }
                }
                Err(e) => failures.push(format!("{}: {e}", a.entry.key)),
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(Error::RestoreFailed {
                count: failures.len(),
                details: failures.join("; "),
            })
        }
    }
}

impl Drop for HostConfig {
    fn drop(&mut self) {
        if let Err(e) = self.restore_all() {
            eprintln!(
                "xdplat: restoring host settings: {e}; the journal keeps them for `xdplat host restore`"
            );
        }
    }
}

/// Whether the entry's device is gone (with its namespace or alone): its
/// settings went with it.
fn device_gone(t: &Target) -> bool {
    let Some(ifname) = t.iface.clone() else {
        return false;
    };
    let res = match &t.netns {
        Some(ns) if !netns::exists(ns) => return true,
        Some(ns) => netns::run_in(ns, move || iface::info(&ifname)).and_then(|r| r),
        None => iface::info(&ifname),
    };
    matches!(res, Err(Error::NoIface { .. }))
}

/// Undoes one journal entry; an entry whose device is gone is done.
fn undo(e: &Entry) -> Result<(), Error> {
    let s = settings::by_key(&e.key)?;
    if s.per_device() && device_gone(&e.target) {
        return Ok(());
    }
    s.restore(&e.target, &e.old)
}

fn forget(dir: &StateDir, id: u64) -> Result<(), Error> {
    let mut j = Journal::load(dir)?;
    j.entries.retain(|x| x.id != id);
    j.save(dir)
}

/// Undoes the entries of the journal (newest first; kept ones only when
/// `with_kept`) with the lock held; returns the entries undone.
fn restore_locked(dir: &StateDir, with_kept: bool) -> Result<Vec<Entry>, Error> {
    let journal = Journal::load(dir)?;
    let mut done = Vec::new();
    let mut failures = Vec::new();
    for e in journal.entries.iter().rev() {
        if e.kept && !with_kept {
            continue;
        }
        match undo(e) {
            Ok(()) => {
                forget(dir, e.id)?;
                done.push(e.clone());
            }
            Err(err) => failures.push(format!("{} on {}: {err}", e.key, e.target.describe())),
        }
    }
    if failures.is_empty() {
        Ok(done)
    } else {
        Err(Error::RestoreFailed {
            count: failures.len(),
            details: failures.join("; "),
        })
    }
}

/// Undoes whatever the journal holds (kept changes and what a crashed
/// process left): takes the host lock (failing if another xdplat process
/// holds it), restores, and returns the entries undone, newest first.
/// Harmless when there is nothing to undo.
pub fn restore_journal(dir: &StateDir) -> Result<Vec<Entry>, Error> {
    let _lock = HostLock::acquire(dir)?;
    restore_locked(dir, true)
}

/// The target a setting really applies to: a host-wide setting drops the
/// interface, so that messages and the journal do not name a device.
fn scope(s: &dyn Setting, t: &Target) -> Target {
    if s.per_device() {
        t.clone()
    } else {
        Target::new(t.netns.as_deref(), None)
    }
}

/// Fails when the target's namespace or interface does not exist.
pub fn check_target(t: &Target) -> Result<(), Error> {
    if let Some(ns) = &t.netns {
        netns::validate_name(ns)?;
    }
    if let Some(ns) = &t.netns
        && !netns::exists(ns)
    {
        return Err(Error::NoNetns { name: ns.clone() });
    }
    if let Some(ifname) = t.iface.clone() {
        match &t.netns {
            Some(ns) => netns::run_in(ns, move || iface::info(&ifname))??,
            None => iface::info(&ifname)?,
        };
    }
    Ok(())
}

/// Whether `host show` could read a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShowStatus {
    /// Read; `value` holds it.
    Supported,
    /// The device or machine lacks it; `why` says what.
    Unsupported,
    /// A per-device setting and no `--iface` given.
    NeedsIface,
    /// Reading failed for another reason; `why` holds the error.
    Unreadable,
}

/// One row of `xdplat host show`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShowRow {
    pub key: String,
    pub per_device: bool,
    pub accepts: String,
    pub status: ShowStatus,
    /// The current value, when supported.
    pub value: Option<String>,
    /// Why not, when not supported.
    pub why: Option<String>,
}

/// The checks [`HostConfig::apply`] makes before its first change, without the host lock or
/// its state directory: a refusal here leaves nothing behind, not even the lock file.
pub fn check(
    target: &Target,
    items: &[String],
    on_unsupported: OnUnsupported,
) -> Result<(), Error> {
    plan(target, items, on_unsupported).map(drop)
}

type Planned = (Box<dyn Setting>, String, Target);

/// Every item validated and, with [`OnUnsupported::Error`], checked for support: what to apply,
/// and the outcomes of the items skipped.
fn plan(
    target: &Target,
    items: &[String],
    on_unsupported: OnUnsupported,
) -> Result<(Vec<Planned>, Vec<Outcome>), Error> {
    let parsed = parse_settings(items)?;
    check_target(target)?;
    let mut plan = Vec::new();
    let mut outcomes = Vec::new();
    for (s, v) in parsed {
        if s.per_device() {
            settings::iface(s.key(), target)?;
        }
        let target = scope(s.as_ref(), target);
        match s.check_supported(&target) {
            Ok(()) => plan.push((s, v, target)),
            Err(e @ Error::Unsupported { .. }) => match on_unsupported {
                OnUnsupported::Error => return Err(e),
                OnUnsupported::Skip => outcomes.push(Outcome {
                    key: s.key().into(),
                    target,
                    value: v,
                    before: None,
                    effective: None,
                    skipped: Some(e.to_string()),
                }),
            },
            Err(e) => return Err(e),
        }
    }
    Ok((plan, outcomes))
}

/// Every setting with its current value on `target` (per-device ones are
/// marked as needing `--iface` when the target has none). Fails only when
/// the namespace or interface does not exist.
pub fn show(target: &Target) -> Result<Vec<ShowRow>, Error> {
    check_target(target)?;
    Ok(settings::all()
        .into_iter()
        .map(|s| {
            let mut row = ShowRow {
                key: s.key().into(),
                per_device: s.per_device(),
                accepts: s.accepts().into(),
                status: ShowStatus::Supported,
                value: None,
                why: None,
            };
            if s.per_device() && target.iface.is_none() {
                row.status = ShowStatus::NeedsIface;
                row.why = Some("per-device setting: pass --iface".into());
                return row;
            }
            let target = scope(s.as_ref(), target);
            match s.check_supported(&target).and_then(|_| s.read(&target)) {
                Ok(v) => row.value = Some(v),
                Err(e) => {
                    row.status = match e {
                        Error::Unsupported { .. } => ShowStatus::Unsupported,
                        _ => ShowStatus::Unreadable,
                    };
                    row.why = Some(e.to_string());
                }
            }
            row
        })
        .collect())
}

/// The cpuidle states of this machine and their exit latencies (µs), for
/// `host show`.
pub fn cpuidle_states() -> Vec<(String, String)> {
    settings::cpuidle_states()
}
