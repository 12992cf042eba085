//! The argv of each role process of a run (`xdplat fwd ...`, `xdplat ping ...`), built from the
//! experiment, the configuration and the hosts' facts; and the parameters a sweep adds to the
//! ping's `summary.json` so that runs differing only on the forwarder or a host setting are
//! told apart by the analysis.

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::experiment::{Experiment, HostSpec, Kind, Scope};
use crate::plan::Config;
use crate::transport::binary;
use crate::value::Val;

/// Which role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Ping,
    Fwd,
}

fn applies(scope: &Scope, role: Role) -> bool {
    matches!(
        (scope, role),
        (Scope::All, _) | (Scope::Ping, Role::Ping) | (Scope::Fwd, Role::Fwd)
    )
}

fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// Knob flags (`--poll=true`) of `role` in `cfg`, plus the host's `cpu` unless an axis sets it.
fn knob_args(exp: &Experiment, cfg: &Config, role: Role, host: &HostSpec) -> Vec<String> {
    let mut out = Vec::new();
    let mut cpu_set = false;
    for (key, v) in &cfg.values {
        let Some(a) = exp.axes.iter().find(|a| &a.key == key) else {
            continue;
        };
        if matches!(a.kind, Kind::Knob(_)) && applies(&a.scope, role) {
            cpu_set |= a.name == "cpu";
            out.push(format!("--{}={}", a.name, v.arg()));
        }
    }
    if let (false, Some(cpu)) = (cpu_set, host.cpu) {
        out.push(format!("--cpu={cpu}"));
    }
    out
}

/// The batch size the ping of `cfg` sends.
pub fn batch(exp: &Experiment, cfg: &Config) -> u64 {
    cfg.values
        .iter()
        .find(|(k, _)| {
            exp.axes
                .iter()
                .any(|a| &a.key == k && a.name == "batch" && applies(&a.scope, Role::Ping))
        })
        .and_then(|(_, v)| match v {
            Val::Int(i) => Some(*i as u64),
            _ => None,
        })
        .unwrap_or(1)
}

fn common(host: &HostSpec, local_bin: &Path, sub: &str, backend: &str) -> Vec<String> {
    let mut v = vec![binary(host, local_bin), sub.to_string()];
    if let Some(ns) = &host.netns {
        v.push(format!("--netns={ns}"));
    }
    v.push(format!(
        "--iface={}",
        host.iface.clone().unwrap_or_default()
    ));
    v.push(format!("--queue={}", host.queue));
    v.push(format!("--backend={backend}"));
    v
}

/// `xdplat fwd ...` for `cfg`; it stops by itself after `safety` should the sweep vanish.
pub fn fwd_argv(
    exp: &Experiment,
    cfg: &Config,
    host: &HostSpec,
    local_bin: &Path,
    safety: Duration,
) -> Vec<String> {
    let backend = if cfg.baseline { "udp" } else { "afxdp" };
    let mut v = common(host, local_bin, "fwd", backend);
    v.push(format!("--duration={}s", safety.as_secs().max(1)));
    if let Some(p) = exp.probe.port {
        v.push(format!("--port={p}"));
    }
    if exp.probe.stamp && !cfg.baseline {
        v.push("--stamp".into());
    }
    if cfg.baseline {
        v.extend(host.cpu.map(|c| format!("--cpu={c}")));
    } else {
        v.extend(knob_args(exp, cfg, Role::Fwd, host));
    }
    v
}

/// `xdplat ping ...` for `cfg`, repetition `rep`, writing into `out` (a path on the ping host).
#[allow(clippy::too_many_arguments)]
pub fn ping_argv(
    exp: &Experiment,
    cfg: &Config,
    rep: u32,
    host: &HostSpec,
    fwd: &HostSpec,
    local_bin: &Path,
    out: &str,
) -> Vec<String> {
    let backend = if cfg.baseline { "udp" } else { "afxdp" };
    let mut v = common(host, local_bin, "ping", backend);
    let dst_ip = fwd.ip.map_or_else(String::new, |ip| ip.to_string());
    v.push(format!("--dst-ip={dst_ip}"));
    v.push(format!(
        "--dst-mac={}",
        fwd.mac.clone().unwrap_or_else(|| "auto".into())
    ));
    let p = &exp.probe;
    v.push(format!("--size={}", p.size));
    v.push(format!("--interval={}ns", p.interval.as_nanos()));
    v.push(format!("--count={}", exp.count(batch(exp, cfg))));
    v.push(format!("--warmup={}", p.warmup));
    v.push(format!("--linger={}", ms(p.linger)));
    v.push(format!("--repetition={rep}"));
    v.push("--quiet".into());
    if let Some(port) = p.port {
        v.push(format!("--port={port}"));
    }
    if let Some(n) = p.sample_every {
        v.push(format!("--sample-every={n}"));
    }
    if p.stamp && !cfg.baseline {
        v.push("--stamp-room".into());
    }
    if cfg.baseline {
        v.extend(host.cpu.map(|c| format!("--cpu={c}")));
    } else {
        v.extend(knob_args(exp, cfg, Role::Ping, host));
    }
    v.push(format!("--out={out}"));
    v
}

/// Parameters the ping cannot know: forwarder knobs (`fwd_poll`) and host settings
/// (`b_gro_flush_timeout`, or `gro_flush_timeout` when set on every host).
pub fn extra_params(exp: &Experiment, cfg: &Config) -> Map<String, Value> {
    let mut m = Map::new();
    for (key, v) in &cfg.values {
        let Some(a) = exp.axes.iter().find(|a| &a.key == key) else {
            continue;
        };
        let name = a.name.replace('-', "_");
        let param = match (&a.kind, &a.scope) {
            (Kind::Knob(_), Scope::Fwd) => format!("fwd_{name}"),
            (Kind::Knob(_), _) => continue,
            (Kind::HostSetting, Scope::All) => name,
            (Kind::HostSetting, Scope::Ping) => format!("ping_{name}"),
            (Kind::HostSetting, Scope::Fwd) => format!("fwd_{name}"),
            (Kind::HostSetting, Scope::Host(h)) => format!("{}_{name}", h.replace('-', "_")),
        };
        m.insert(param, v.to_json());
    }
    m
}
