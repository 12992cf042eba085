//! `xdplat tune --apply`: the winner's host settings put in force exactly as `xdplat host apply`
//! does (journaled and kept, so `xdplat host restore`, or the crash recovery of the next xdplat
//! process, undoes them), here or on each ssh host. A setting that lasts only while a process
//! holds it (the PM QoS request) cannot be kept: it is named, with the command that holds it.

use std::path::Path;

use serde_json::Value;

use super::Tuned;
use crate::Error;
use crate::experiment::{Exec, Experiment, Kind};
use crate::transport;

/// Applies the winner's host settings; one line per setting, saying what was done.
pub(super) fn apply(
    exp: &Experiment,
    t: &Tuned,
    state: &host::StateDir,
    local_bin: &Path,
) -> Result<Vec<String>, Error> {
    // per host, its items
    let mut by_host: Vec<(String, Vec<String>)> = Vec::new();
    let mut out = Vec::new();
    for a in exp.axes.iter().filter(|a| a.kind == Kind::HostSetting) {
        let Some(v) = t.winner.values.get(&a.key) else {
            continue;
        };
        let v = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let item = format!("{}={v}", a.name);
        for h in exp.setting_hosts(&a.scope) {
            if host::settings::by_key(&a.name)?.lives_with_process() {
                out.push(format!(
                    "host {h}: {item} not applied: it lasts only while a process holds it; hold it beside your application with `xdplat host apply{} --set {item} --hold`",
                    exp.hosts[&h].netns.as_ref().map(|n| format!(" --netns {n}")).unwrap_or_default()
                ));
                continue;
            }
            match by_host.iter_mut().find(|(x, _)| *x == h) {
                Some((_, items)) => items.push(item.clone()),
                None => by_host.push((h, vec![item.clone()])),
            }
        }
    }
    for (h, items) in by_host {
        let hs = &exp.hosts[&h];
        match &hs.exec {
            Exec::Local => {
                let mut hc = host::HostConfig::new(state)?;
                let target = host::Target::new(hs.netns.as_deref(), hs.iface.as_deref());
                let done = hc.apply(&target, &items, host::OnUnsupported::Error)?;
                let warnings = hc.keep()?;
                for o in done {
                    out.push(format!(
                        "host {h}: {} {} → {} on {} (kept: `xdplat host restore` undoes it)",
                        o.key,
                        o.before.as_deref().unwrap_or("?"),
                        o.effective.as_deref().unwrap_or(&o.value),
                        o.target.describe()
                    ));
                }
                out.extend(warnings.into_iter().map(|w| format!("host {h}: {w}")));
            }
            Exec::Ssh { dest, .. } => {
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
                transport::output(hs, &argv)?;
                out.push(format!(
                    "host {h} ({dest}): {} (kept there: `xdplat host restore` on {dest} undoes it)",
                    items.join(", ")
                ));
            }
        }
    }
    if out.is_empty() {
        out.push("the winner changes no host setting: nothing to apply".into());
    }
    Ok(out)
}
