//! The argv of each role process of a run (`xdplat fwd ...`, `xdplat ping ...`), built from the
//! experiment, the configuration and the hosts' facts; and the parameters a sweep adds to the
//! ping's `summary.json` so that runs differing only on the forwarder or a host setting are
//! told apart by the analysis.

use std::path::Path;
use std::time::Duration;

use probe::knobs::{self, Backend, Knob, Knobs, Role, Value};
use serde_json::Map;

use crate::experiment::{Experiment, HostSpec, Kind, Scope};
use crate::plan::Config;
use crate::transport::binary;

fn applies(scope: &Scope, role: Role) -> bool {
    matches!(
        (scope, role),
        (Scope::All, _) | (Scope::Ping, Role::Ping) | (Scope::Fwd, Role::Fwd)
    )
}

fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// The knobs the sweep sets on `role` in `cfg`, each passed as its flag: the knob axes that
/// apply to it (none for the baseline), then its host's `cpu` unless an axis sets it.
pub fn role_settings(
    exp: &Experiment,
    cfg: &Config,
    role: Role,
    host: &HostSpec,
) -> Vec<(&'static Knob, Value)> {
    let mut out: Vec<(&'static Knob, Value)> = Vec::new();
    for (key, v) in cfg.values.iter().filter(|_| !cfg.baseline) {
        let Some(a) = exp.axes.iter().find(|a| &a.key == key) else {
            continue;
        };
        if let Kind::Knob(k) = a.kind
            && applies(&a.scope, role)
            && k.takes(role)
            && let Ok(v) = k.parse(v.raw())
        {
            out.push((k, v));
        }
    }
    if let (Some(cpu), Some(k)) = (host.cpu, knobs::by_name("cpu"))
        && !out.iter().any(|(x, _)| *x == k)
    {
        out.push((k, Value::Int(cpu as u64)));
    }
    out
}

/// The knobs `role` runs with in `cfg`: its defaults, the backend (udp for the baseline) and
/// [`role_settings`].
pub fn role_knobs(exp: &Experiment, cfg: &Config, role: Role, host: &HostSpec) -> Knobs {
    let mut k = Knobs::defaults(role);
    if cfg.baseline {
        k.backend = Backend::Udp;
    }
    for (knob, v) in role_settings(exp, cfg, role, host) {
        // values were checked when the experiment was read
        let _ = knob.set(&mut k, Some(v));
    }
    k
}

fn knob_args(exp: &Experiment, cfg: &Config, role: Role, host: &HostSpec) -> Vec<String> {
    role_settings(exp, cfg, role, host)
        .into_iter()
        .map(|(k, v)| format!("{}={}", k.flag(), v.arg()))
        .collect()
}

/// The batch size the ping of `cfg` sends.
pub fn batch(exp: &Experiment, cfg: &Config) -> u64 {
    let host = &exp.hosts[&exp.ping_host];
    u64::from(role_knobs(exp, cfg, Role::Ping, host).batch)
}

fn common(host: &HostSpec, local_bin: &Path, role: Role, backend: Backend) -> Vec<String> {
    let mut v = vec![binary(host, local_bin), role.as_str().to_string()];
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
    let backend = role_knobs(exp, cfg, Role::Fwd, host).backend;
    let mut v = common(host, local_bin, Role::Fwd, backend);
    v.push(format!("--duration={}s", safety.as_secs().max(1)));
    if let Some(p) = exp.probe.port {
        v.push(format!("--port={p}"));
    }
    if exp.probe.stamp && !cfg.baseline {
        v.push("--stamp".into());
    }
    if let Some(h) = exp.fwd_hold {
        v.push(format!("--hold={}ns", h.as_nanos()));
    }
    v.extend(knob_args(exp, cfg, Role::Fwd, host));
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
    let backend = role_knobs(exp, cfg, Role::Ping, host).backend;
    let mut v = common(host, local_bin, Role::Ping, backend);
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
    v.extend(knob_args(exp, cfg, Role::Ping, host));
    v.push(format!("--out={out}"));
    v
}

/// Parameters the ping cannot know: forwarder knobs (`fwd_poll`) and host settings
/// (`b_gro_flush_timeout`, or `gro_flush_timeout` when set on every host).
pub fn extra_params(exp: &Experiment, cfg: &Config) -> Map<String, serde_json::Value> {
    let mut m = Map::new();
    for (key, v) in &cfg.values {
        let Some(a) = exp.axes.iter().find(|a| &a.key == key) else {
            continue;
        };
        let name = a.name.replace('-', "_");
        let param = match (&a.kind, &a.scope) {
            (Kind::Knob(k), Scope::Fwd) => format!("fwd_{}", k.param),
            (Kind::Knob(_), _) => continue,
            (Kind::HostSetting, Scope::All) => name,
            (Kind::HostSetting, Scope::Ping) => format!("ping_{name}"),
            (Kind::HostSetting, Scope::Fwd) => format!("fwd_{name}"),
            (Kind::HostSetting, Scope::Host(h)) => format!("{}_{name}", h.replace('-', "_")),
        };
        m.insert(param, v.to_json());
    }
    if let Some(h) = exp.fwd_hold.filter(|_| !cfg.baseline) {
        m.insert("fwd_hold_ns".into(), serde_json::json!(h.as_nanos() as u64));
    }
    m
}
