//! The validation of an experiment beyond its syntax, in one place: what [`file`] checks when
//! the file is read (the probe's values, values listed twice, two axes setting one thing, the
//! size of the product), and what [`configs`] checks of every configuration of a plan before
//! the first run: the values each role would get, through the roles' own checks
//! (`probe::check`), so `sweep plan` shows what `sweep run` would refuse and `sweep run` refuses
//! it before anything is touched. Each message names the key and its line, and the fix.
//!
//! New kinds of experiment (strategies, budgets, replayed testbeds) add their checks here.

use std::collections::BTreeSet;
use std::time::Duration;

use probe::knobs::Role;

use crate::Error;
use crate::experiment::{Axis, Exec, Experiment, Kind, Probe, Scope, line_of};
use crate::plan::{Config, Plan};
use crate::roles::role_knobs;

/// Most combinations the axes may multiply into (each is enumerated, one at a time).
pub const MAX_PRODUCT: u64 = 1_000_000;
/// Most runs one sweep may plan (configurations × repetitions × pingers).
pub const MAX_RUNS: u64 = 200_000;

/// `key` at its line in the file, for messages.
fn at(exp_text: &str, key: &str) -> String {
    match line_of(exp_text, key) {
        0 => format!("`{key}`, not in the file: its default"),
        n => format!("line {n}: `{key}`"),
    }
}

/// The checks made when the file is read: [`probe`], [`duplicates`], [`product`].
pub fn file(exp: &Experiment) -> Result<(), Error> {
    let bad = |msg: String| Error::File {
        path: exp.path.clone(),
        msg,
    };
    probe(&exp.probe, &exp.text).map_err(bad)?;
    duplicates(exp).map_err(bad)?;
    product(exp).map_err(bad)
}

fn wait(text: &str, key: &str, d: Duration, max: Duration) -> Result<(), String> {
    if d > max {
        return Err(format!(
            "{}: {} is above {}: give a shorter one",
            at(text, key),
            humantime::format_duration(d),
            humantime::format_duration(max)
        ));
    }
    Ok(())
}

/// The `[probe]` values every run shares.
pub fn probe(p: &Probe, text: &str) -> Result<(), String> {
    if p.count == Some(0) {
        return Err(format!("{}: 0 probes: give 1 or more", at(text, "count")));
    }
    if p.count.is_none() && p.duration.is_zero() {
        return Err(format!(
            "{}: 0s sends nothing: give a duration above 0 (30s), or `count`",
            at(text, "duration")
        ));
    }
    if p.port == Some(0) {
        return Err(format!(
            "{}: port 0 is not a port one can send to: give 1 to 65535, or leave it out (9099)",
            at(text, "port")
        ));
    }
    if p.sample_every == Some(0) {
        return Err(format!(
            "{}: 0: give 1 or more (1 keeps a row for every probe)",
            at(text, "sample-every")
        ));
    }
    if !p.auto_rate {
        wait(text, "interval", p.interval, probe::check::MAX_WAIT)?;
    }
    wait(text, "linger", p.linger, probe::check::MAX_WAIT)?;
    if p.count.is_none() {
        wait(text, "duration", p.duration, probe::check::MAX_DURATION)?;
    }
    if p.repetitions as u64 > MAX_RUNS {
        return Err(format!(
            "{}: {} repetitions: a sweep plans at most {MAX_RUNS} runs",
            at(text, "repetitions"),
            p.repetitions
        ));
    }
    Ok(())
}

/// A value as the role or the host reads it, to tell `[1, "1"]` for the same value.
fn canonical(a: &Axis, v: &crate::Val) -> String {
    match a.kind {
        Kind::Knob(k) => k.parse(v.raw()).map_or_else(|_| v.to_string(), |x| x.arg()),
        Kind::HostSetting => host::hostconfig::parse_settings(&[format!("{}={}", a.name, v.arg())])
            .ok()
            .and_then(|mut p| p.pop())
            .map_or_else(|| v.to_string(), |(_, x)| x),
    }
}

/// The roles (knobs) or hosts (host settings) an axis changes.
fn reach(exp: &Experiment, a: &Axis) -> BTreeSet<String> {
    let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect();
    match (a.kind, &a.scope) {
        (Kind::Knob(_), Scope::All) => roles(&["ping", "fwd"]),
        (Kind::Knob(_), Scope::Ping) => roles(&["ping"]),
        (Kind::Knob(_), Scope::Fwd) => roles(&["fwd"]),
        (Kind::Knob(_), Scope::Host(h)) => [h.clone()].into(),
        (Kind::HostSetting, Scope::All) => exp
            .pingers
            .iter()
            .cloned()
            .chain([exp.fwd_host.clone()])
            .collect(),
        (Kind::HostSetting, Scope::Ping) => exp.pingers.iter().cloned().collect(),
        (Kind::HostSetting, Scope::Fwd) => [exp.fwd_host.clone()].into(),
        (Kind::HostSetting, Scope::Host(h)) => [h.clone()].into(),
    }
}

/// A value listed twice on one axis (two configurations with one id), and two axes that set the
/// same knob of one role or the same host setting on one host.
pub fn duplicates(exp: &Experiment) -> Result<(), String> {
    for a in &exp.axes {
        let mut seen = std::collections::HashSet::with_capacity(a.values.len());
        for v in &a.values {
            if !seen.insert(canonical(a, v)) {
                return Err(format!(
                    "line {}: `{}`: the value {v} is listed twice: give each value once",
                    a.line, a.key
                ));
            }
        }
    }
    for (i, a) in exp.axes.iter().enumerate() {
        for b in &exp.axes[i + 1..] {
            let same = match (a.kind, b.kind) {
                (Kind::Knob(x), Kind::Knob(y)) => x == y,
                (Kind::HostSetting, Kind::HostSetting) => a.name == b.name,
                _ => false,
            };
            let both: Vec<String> = reach(exp, a)
                .intersection(&reach(exp, b))
                .cloned()
                .collect();
            if same && !both.is_empty() {
                return Err(format!(
                    "line {}: `{}` and line {}: `{}` both set {} on {}: keep one axis, or scope each to its own role or host",
                    a.line,
                    a.key,
                    b.line,
                    b.key,
                    a.name,
                    both.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// The combinations of the axes, bounded: each is enumerated when the plan is made.
pub fn product(exp: &Experiment) -> Result<(), String> {
    let mut n: u64 = 1;
    for a in &exp.axes {
        n = n.saturating_mul(a.values.len() as u64);
    }
    if n > MAX_PRODUCT {
        let sizes: Vec<String> = exp
            .axes
            .iter()
            .map(|a| format!("{} ({})", a.key, a.values.len()))
            .collect();
        return Err(format!(
            "the axes multiply into {n} combinations, above the {MAX_PRODUCT} a sweep may enumerate: {}; give fewer values, or split the sweep into several files",
            sizes.join(" × ")
        ));
    }
    Ok(())
}

/// The runs a plan of `configs` configurations makes, refused above [`MAX_RUNS`].
pub fn runs(exp: &Experiment, configs: usize) -> Result<u64, Error> {
    let n = (configs as u64)
        .saturating_mul(u64::from(exp.probe.repetitions))
        .saturating_mul(exp.pingers.len() as u64);
    if n > MAX_RUNS {
        return Err(Error::File {
            path: exp.path.clone(),
            msg: format!(
                "{configs} configurations × {} repetitions × {} pinger(s) = {n} runs, above the {MAX_RUNS} one sweep may plan: give fewer values or repetitions (at {}), exclude combinations, or split the sweep",
                exp.probe.repetitions,
                exp.pingers.len(),
                at(&exp.text, "repetitions")
            ),
        });
    }
    Ok(n)
}

/// A configuration a role would refuse, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Refusal {
    pub config: String,
    pub label: String,
    /// `ping` or `fwd`.
    pub role: String,
    /// The role's message, with the key of the file and its line that set the value.
    pub why: String,
}

/// The file's key that gives a role's parameter (`--size` is `size` in `[probe]`), or the axis
/// that sets a knob in this configuration.
fn source(exp: &Experiment, cfg: &Config, role: Role, msg: &str) -> Option<String> {
    const PROBE_KEYS: [(&str, &str); 9] = [
        ("--size", "size"),
        ("--count", "count"),
        ("--duration", "duration"),
        ("--interval", "interval"),
        ("--linger", "linger"),
        ("--warmup", "warmup"),
        ("--sample-every", "sample-every"),
        ("--port", "port"),
        ("--stamp-room", "stamp"),
    ];
    let named = |flag: &str| msg.starts_with(&format!("invalid {flag} ="));
    let mentioned = |flag: &str| msg.contains(&format!("{flag} "));
    let knob = probe::knobs::KNOBS
        .iter()
        .find(|k| named(&k.flag()))
        .or_else(|| probe::knobs::KNOBS.iter().find(|k| mentioned(&k.flag())));
    let key = PROBE_KEYS
        .iter()
        .find(|(flag, _)| named(flag))
        .or_else(|| PROBE_KEYS.iter().find(|(flag, _)| mentioned(flag)));
    let probe_key = |key: &str| format!("[probe] {}", at(&exp.text, key));
    if let Some((_, key)) = key.filter(|(flag, _)| named(flag)) {
        return Some(probe_key(key));
    }
    let Some(k) = knob else {
        return key.map(|(_, key)| probe_key(key));
    };
    let axis = exp.axes.iter().find(|a| {
        a.kind == Kind::Knob(k)
            && cfg.get(&a.key).is_some()
            && matches!(
                (&a.scope, role),
                (Scope::All, _) | (Scope::Ping, Role::Ping) | (Scope::Fwd, Role::Fwd)
            )
    });
    let host = match role {
        Role::Ping => &exp.ping_host,
        Role::Fwd => &exp.fwd_host,
    };
    Some(match axis {
        Some(a) => format!("axis `{}`, line {}", a.key, a.line),
        None if k.name == "cpu" && exp.hosts.get(host).is_some_and(|h| h.cpu.is_some()) => {
            format!("[hosts.{host}] cpu: name a CPU this machine has, or leave it out")
        }
        None => format!(
            "{}'s default; set it with an axis `{}`",
            role.as_str(),
            k.name
        ),
    })
}

/// Every configuration of `plan` against the checks of the roles it would start, with the
/// values the sweep would give them: what `sweep run` refuses before its first run. Host facts
/// a testbed fills in later (interfaces, addresses) are checked when known.
pub fn configs(exp: &Experiment, plan: &Plan) -> Vec<Refusal> {
    let mut out = Vec::new();
    // a local host's CPU this process may not use is refused as the role refuses it
    let e = exp;
    for cfg in &plan.configs {
        for p in 0..e.pingers.len().max(1) {
            let m = e.for_pinger(p);
            for role in Role::ALL {
                if let Err(why) = config_role(&m, cfg, role) {
                    let src = source(&m, cfg, role, &why);
                    out.push(Refusal {
                        config: cfg.id.clone(),
                        label: cfg.label(),
                        role: role.as_str().into(),
                        why: match src {
                            Some(s) => format!("{why} ({s})"),
                            None => why,
                        },
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| (&a.config, &a.role).cmp(&(&b.config, &b.role)));
    out.dedup_by(|a, b| a.config == b.config && a.role == b.role && a.why == b.why);
    out
}

/// One role of one configuration, checked as the role checks its values.
fn config_role(exp: &Experiment, cfg: &Config, role: Role) -> Result<(), String> {
    let host_name = match role {
        Role::Ping => &exp.ping_host,
        Role::Fwd => &exp.fwd_host,
    };
    let host = &exp.hosts[host_name];
    let mut knobs = role_knobs(exp, cfg, role, host);
    if host.exec != Exec::Local {
        // another machine's CPUs are its own business
        knobs.cpu = None;
    }
    let p = &exp.probe;
    let port = p.port.unwrap_or(probe::DEFAULT_PROBE_PORT);
    let stamp = p.stamp && !cfg.baseline;
    match role {
        Role::Ping => {
            let fwd = &exp.hosts[&exp.fwd_host];
            let count = exp.count(u64::from(knobs.batch));
            let plan = probe::measure::PingPlan {
                iface: host.iface.clone().unwrap_or_default(),
                queue: host.queue,
                // documentation address (TEST-NET-1) where the testbed fills it in later
                dst_ip: fwd.ip.unwrap_or(std::net::Ipv4Addr::new(192, 0, 2, 1)),
                dst_mac: fwd
                    .mac
                    .as_deref()
                    .filter(|m| *m != "auto")
                    .and_then(|m| host::iface::parse_mac("mac", m).ok()),
                port,
                size: p.size,
                interval: p.interval,
                count,
                warmup: p.warmup,
                linger: p.linger,
                stamp_room: stamp,
                repetition: 0,
                window: probe::measure::default_window(p.interval),
                sample_every: p.sample_every.unwrap_or(1),
                knobs,
            };
            probe::check::ping(&plan).map_err(|e| e.to_string())
        }
        Role::Fwd => {
            let plan = probe::serve::FwdPlan {
                iface: host.iface.clone().unwrap_or_default(),
                queue: host.queue,
                queues: 1,
                port,
                knobs,
                cfg: probe::fwd::FwdConfig {
                    stamp,
                    swap_l3: true,
                    duration: None,
                    hold: Duration::ZERO,
                },
            };
            probe::check::fwd(&plan.with_batch_within_ring()).map_err(|e| e.to_string())
        }
    }
}

/// [`configs`] as an error: every refused configuration, grouped by reason.
pub fn refuse(exp: &Experiment, refusals: &[Refusal]) -> Result<(), Error> {
    if refusals.is_empty() {
        return Ok(());
    }
    let mut reasons: Vec<(String, Vec<String>)> = Vec::new();
    for r in refusals {
        let why = format!("{} refuses {}", r.role, r.why);
        match reasons.iter_mut().find(|(w, _)| *w == why) {
            Some((_, labels)) => labels.push(r.label.clone()),
            None => reasons.push((why, vec![r.label.clone()])),
        }
    }
    let lines: Vec<String> = reasons
        .iter()
        .map(|(why, labels)| {
            let which = match labels.as_slice() {
                [one] => format!("configuration {one}"),
                [first, ..] => format!("{} configurations (the first: {first})", labels.len()),
                [] => String::new(),
            };
            format!("{which}: {why}")
        })
        .collect();
    Err(Error::File {
        path: exp.path.clone(),
        msg: format!(
            "{} of the configurations would be refused by the roles, so nothing was run: {}; change those values or exclude them ([[exclude]])",
            refusals
                .iter()
                .map(|r| &r.config)
                .collect::<BTreeSet<_>>()
                .len(),
            lines.join("; ")
        ),
    })
}
