//! The host settings of a run: applied on this machine under the host lock (journaled, restored
//! at the end, and by the next start after a SIGKILL), and on each ssh host by a remote
//! `xdplat host apply --hold`, stopped (and so restored) at the end.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use probe::protocol::{Event, Exit};

use super::procs::{self, stop_role};
use super::{Member, RunEnd};
use crate::Error;
use crate::experiment::{Exec, HostSpec, Kind, OnUnsupported};
use crate::plan::Config;
use crate::runner::Options;
use crate::store::Store;
use crate::transport::{self, RoleProc};

/// Host settings for an ssh host (keyed by host and interface): the host, its items, and
/// whether any of their axes says `on-unsupported = "skip"`.
type RemoteItems = (HostSpec, Vec<String>, bool);

/// The settings in force for a run, restored by [`Applied::restore`] (or on drop).
pub(super) struct Applied {
    hc: host::HostConfig,
    /// What was applied, here and (as each ssh host's holder announced it) there, for the
    /// summary.
    pub applied: Vec<results::HostSetting>,
    holders: Holders,
}

impl Applied {
    /// Undoes the local settings, then stops the remote holders (they restore theirs).
    pub fn restore(self, store: &Store) -> Result<(), Error> {
        self.hc.restore()?;
        drop(self.holders);
        store.set_remote(&[])
    }
}

/// Applies the host-setting axes of `cfg` on each member's hosts (the forwarder once per
/// interface it serves). Ok(Err(end)) when a setting cannot be applied and the configuration is
/// skipped or failed.
pub(super) fn apply(
    cfg: &Config,
    members: &[Member],
    store: &Store,
    opts: &Options,
    stop: &AtomicBool,
) -> Result<Result<Applied, RunEnd>, Error> {
    let exp = &members[0].exp;
    let mut hc = host::HostConfig::new(&opts.state)?;
    let mut applied: Vec<results::HostSetting> = Vec::new();
    let mut remote: BTreeMap<(String, Option<String>), RemoteItems> = BTreeMap::new();
    for (key, v) in &cfg.values {
        let Some(a) = exp.axes.iter().find(|a| &a.key == key) else {
            continue;
        };
        if a.kind != Kind::HostSetting {
            continue;
        }
        let mut targets: Vec<HostSpec> = Vec::new();
        for m in members {
            for h in m.exp.setting_hosts(&a.scope) {
                let hs = &m.exp.hosts[&h];
                if !targets
                    .iter()
                    .any(|t| t.name == hs.name && t.iface == hs.iface)
                {
                    targets.push(hs.clone());
                }
            }
        }
        for hs in targets {
            let item = format!("{}={}", a.name, v.arg());
            if hs.exec != Exec::Local {
                let e = remote
                    .entry((hs.name.clone(), hs.iface.clone()))
                    .or_insert_with(|| (hs.clone(), Vec::new(), false));
                e.1.push(item);
                e.2 |= a.on_unsupported == OnUnsupported::Skip;
                continue;
            }
            let target = host::Target::new(hs.netns.as_deref(), hs.iface.as_deref());
            match hc.apply(&target, &[item], host::OnUnsupported::Error) {
                Ok(o) => applied.extend(o.iter().map(probe::protocol::host_setting)),
                Err(e @ host::Error::Unsupported { .. }) => {
                    return match a.on_unsupported {
                        OnUnsupported::Skip => Ok(Err(RunEnd::Skipped(format!("{key}: {e}")))),
                        OnUnsupported::Error => Err(Error::BadInput(format!(
                            "{key} = {v} (line {}): {e} (on-unsupported = \"skip\" would skip such configurations)",
                            a.line
                        ))),
                    };
                }
                Err(e) => return Ok(Err(RunEnd::Failed(format!("{key} = {v}: {e}")))),
            }
        }
    }
    let mut holders = Holders(Vec::new());
    for ((h, _), (hs, items, skip)) in &remote {
        match hold_remote(hs, items, &opts.local_bin, stop) {
            Ok((p, there)) => {
                applied.extend(there.into_iter().map(|mut s| {
                    s.target.host = Some(h.clone());
                    s
                }));
                holders.0.push((h.clone(), p));
                let pids: Vec<(String, u32)> = holders
                    .0
                    .iter()
                    .filter_map(|(h, p)| Some((h.clone(), p.remote_pid?)))
                    .collect();
                store.set_remote(&pids)?;
            }
            Err((code, why)) if code.and_then(Exit::of) == Some(Exit::BadInput) => {
                if *skip {
                    return Ok(Err(RunEnd::Skipped(format!("host {h}: {why}"))));
                }
                return Err(Error::BadInput(format!(
                    "host {h}: {why} (on-unsupported = \"skip\" would skip such configurations)"
                )));
            }
            Err((_, why)) => return Ok(Err(RunEnd::Failed(format!("host {h}: {why}")))),
        }
    }
    Ok(Ok(Applied {
        hc,
        applied,
        holders,
    }))
}

/// Remote `xdplat host apply --hold` processes of a run, stopped (and so restored) on drop.
struct Holders(Vec<(String, RoleProc)>);

impl Drop for Holders {
    fn drop(&mut self) {
        for (_, p) in self.0.iter_mut().rev() {
            stop_role(p);
        }
    }
}

/// Applies `items` on ssh host `hs` with `xdplat host apply --hold`, waiting for its
/// [`Event::Holding`], with what it applied; Err(exit code, messages) when it ends first.
fn hold_remote(
    hs: &HostSpec,
    items: &[String],
    local_bin: &Path,
    stop: &AtomicBool,
) -> Result<(RoleProc, Vec<results::HostSetting>), (Option<i32>, String)> {
    let mut argv = vec![
        transport::binary(hs, local_bin),
        "host".into(),
        "apply".into(),
    ];
    if let Some(ns) = &hs.netns {
        argv.push(format!("--netns={ns}"));
    }
    if let Some(i) = &hs.iface {
        argv.push(format!("--iface={i}"));
    }
    argv.extend(items.iter().map(|i| format!("--set={i}")));
    argv.push("--hold".into());
    let mut p = transport::spawn(hs, &argv).map_err(|e| (None, e.to_string()))?;
    match procs::wait_for(&mut p, stop, |e| matches!(e, Event::Holding(_))) {
        Ok(Event::Holding(h)) => Ok((p, h.applied)),
        Ok(_) => Ok((p, Vec::new())),
        Err((st, why)) => {
            let ended = stop_role(&mut p).or(st);
            let code = ended.or_else(|| p.child.wait().ok()).and_then(|s| s.code());
            Err((code, why))
        }
    }
}
