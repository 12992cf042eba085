//! The `[axes]` of an experiment file and its `[[exclude]]`/`[[include]]` rules: each axis's
//! scope (both roles, one role, one host), whether it sets a knob (checked against the table
//! `probe::knobs::KNOBS`) or a host setting (checked by `host`), and its values.

use std::collections::BTreeMap;

use probe::knobs::Knob;

use super::{HostSpec, line_of};
use crate::value::Val;

/// Whom an axis changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Both roles (a knob) or every role's host (a host setting).
    All,
    Ping,
    Fwd,
    Host(String),
}

/// What an axis sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A knob of the roles (`probe::knobs::KNOBS`).
    Knob(&'static Knob),
    HostSetting,
}

/// What to do when a value cannot be applied: `Skip` skips the configuration (recorded as such
/// in the index), `Error` (`on-unsupported = "fail"`, the default) stops the sweep.
pub use host::OnUnsupported;

/// One axis: a key (as written, e.g. `fwd.poll`) and its values.
#[derive(Debug, Clone)]
pub struct Axis {
    pub key: String,
    pub scope: Scope,
    /// The knob or host-setting key without its scope (`poll`).
    pub name: String,
    pub kind: Kind,
    pub values: Vec<Val>,
    pub on_unsupported: OnUnsupported,
    pub line: usize,
}

/// An `[[exclude]]` or `[[include]]` entry: per axis key, the values it matches.
#[derive(Debug, Clone)]
pub struct Rule {
    pub conds: Vec<(String, Vec<Val>)>,
    pub why: Option<String>,
    pub line: usize,
}

/// `fwd = { poll = [...] }` and `fwd.poll = [...]` are the same TOML; both become `fwd.poll`.
/// A table holding `values` is an axis with options, not a scope.
pub(super) fn flatten(t: &toml::Table, prefix: &str) -> Vec<(String, toml::Value)> {
    let mut out = Vec::new();
    for (k, v) in t {
        let key = format!("{prefix}{k}");
        match v {
            toml::Value::Table(inner) if !inner.contains_key("values") => {
                out.extend(flatten(inner, &format!("{key}.")));
            }
            _ => out.push((key, v.clone())),
        }
    }
    out
}

pub(super) fn axis(
    key: &str,
    v: toml::Value,
    hosts: &BTreeMap<String, HostSpec>,
    text: &str,
) -> Result<Axis, String> {
    let (scope, name) = match key.split_once('.') {
        None => (Scope::All, key.to_string()),
        Some(("ping", n)) => (Scope::Ping, n.to_string()),
        Some(("fwd", n)) => (Scope::Fwd, n.to_string()),
        Some((h, n)) if hosts.contains_key(h) => (Scope::Host(h.to_string()), n.to_string()),
        Some((h, _)) => {
            return Err(format!(
                "unknown scope {h:?}: expected ping, fwd or a host ({:?})",
                hosts.keys()
            ));
        }
    };
    // busy-poll is both a socket knob and a sysctl: scoped to a host, it is the sysctl
    let host_scoped = matches!(scope, Scope::Host(_));
    let kind = match probe::knobs::axis(&name) {
        _ if host_scoped && host::settings::by_key(&name).is_ok() => Kind::HostSetting,
        Some(k) => Kind::Knob(k),
        None if host::settings::by_key(&name).is_ok() => Kind::HostSetting,
        None => {
            return Err(format!(
                "unknown axis {name:?}: expected a knob ({}) or a host setting ({})",
                probe::knobs::axis_names().join(", "),
                host::settings::keys().join(", ")
            ));
        }
    };
    match (&kind, &scope) {
        (Kind::Knob(_), Scope::Host(h)) => {
            return Err(format!(
                "{name} is a socket knob: scope it to a role (ping.{name}, fwd.{name}), not host {h:?}"
            ));
        }
        (Kind::HostSetting, _) | (Kind::Knob(_), _) => {}
    }
    let (list, on_unsupported) = match v {
        toml::Value::Array(a) => (a, OnUnsupported::Error),
        toml::Value::Table(mut t) => {
            let on = match t.remove("on-unsupported") {
                None => OnUnsupported::Error,
                Some(toml::Value::String(s)) if s == "skip" => OnUnsupported::Skip,
                Some(toml::Value::String(s)) if s == "fail" => OnUnsupported::Error,
                Some(other) => {
                    return Err(format!(
                        "on-unsupported = {other}: expected \"skip\" or \"fail\""
                    ));
                }
            };
            let values = match t.remove("values") {
                Some(toml::Value::Array(a)) => a,
                _ => return Err("`values` must be a list".into()),
            };
            if let Some(k) = t.keys().next() {
                return Err(format!(
                    "unknown key {k:?} in the axis table (expected values, on-unsupported)"
                ));
            }
            (values, on)
        }
        other => (vec![other], OnUnsupported::Error),
    };
    if list.is_empty() {
        return Err("an axis needs at least one value".into());
    }
    let values = list
        .iter()
        .map(|v| check_value(&name, kind, v))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Axis {
        key: key.to_string(),
        line: line_of(text, key),
        scope,
        name,
        kind,
        values,
        on_unsupported,
    })
}

/// Checks one value of axis `name`.
pub fn check_value(name: &str, kind: Kind, v: &toml::Value) -> Result<Val, String> {
    let val = Val::from_toml(v)
        .ok_or_else(|| format!("{v}: expected a boolean, an integer or a string"))?;
    match kind {
        Kind::Knob(k) => {
            k.parse(val.raw())
                .map_err(|m| format!("{name} = {v}: {m}"))?;
        }
        Kind::HostSetting => {
            host::hostconfig::parse_settings(&[format!("{name}={}", val.arg())])
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(val)
}

pub(super) fn rule(
    t: &toml::Table,
    axes: &[Axis],
    text: &str,
    what: &str,
    i: usize,
) -> Result<Rule, String> {
    let mut why = None;
    let mut conds = Vec::new();
    let n = i + 1;
    let mut line = 0;
    for (key, v) in flatten(t, "") {
        if key == "why" {
            why = v.as_str().map(str::to_string);
            continue;
        }
        let Some(a) = axes.iter().find(|a| a.key == key) else {
            return Err(format!(
                "line {}: [[{what}]] #{n}: `{key}` is not an axis (axes: {})",
                line_of(text, &key),
                axes.iter()
                    .map(|a| a.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        line = line.max(a.line);
        let list = match &v {
            toml::Value::Array(l) if what == "exclude" => l.clone(),
            _ => vec![v.clone()],
        };
        let vals = list
            .iter()
            .map(|x| check_value(&a.name, a.kind, x))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| format!("[[{what}]] #{n}: {m}"))?;
        conds.push((key, vals));
    }
    if conds.is_empty() {
        return Err(format!("[[{what}]] #{n} names no axis"));
    }
    Ok(Rule { conds, why, line })
}
