//! What defines a cluster, in the paper's words. A parameter constant across
//! every analysed configuration is *fixed* (true of every cluster, so no
//! finding). For each cluster:
//!
//! - `relevant`: the other parameters with one value in every configuration of
//!   the cluster (the paper's "always present");
//! - `rules`: statements a constant misses, each true of the whole cluster but
//!   not of the whole sweep: for two boolean parameters that vary inside the
//!   cluster, "exactly one of X or Y enabled", else "either one of X or Y
//!   enabled" or "X and Y not both enabled"; for a parameter with three or more
//!   values, "X is one of a, b". A cluster of fewer than three configurations
//!   gets no rules: any two of its configurations satisfy some rule by chance,
//!   and its constants already say everything.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::model::{Params, render_value};

/// The parameters with one value across all of `configs` (and present in all).
pub fn constant(configs: &[&Params]) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(first) = configs.first() else {
        return out;
    };
    for (k, v) in first.iter() {
        if configs.iter().all(|p| p.get(k) == Some(v)) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

fn bool_of(p: &Params, k: &str) -> Option<bool> {
    p.get(k).and_then(Value::as_bool)
}

fn all<F: Fn(&Params) -> bool>(ps: &[&Params], f: F) -> bool {
    ps.iter().all(|p| f(p))
}

/// The rules of one cluster (`members`) against the whole sweep (`everyone`).
pub fn rules(
    members: &[&Params],
    everyone: &[&Params],
    constant_in_cluster: &Map<String, Value>,
) -> Vec<String> {
    let mut out = Vec::new();
    if members.len() < 3 {
        return out;
    }
    let keys: BTreeSet<&String> = everyone.iter().flat_map(|p| p.keys()).collect();
    let free: Vec<&String> = keys
        .into_iter()
        .filter(|k| !constant_in_cluster.contains_key(*k))
        .collect();
    let bools: Vec<&String> = free
        .iter()
        .copied()
        .filter(|k| everyone.iter().all(|p| bool_of(p, k).is_some()))
        .collect();
    for (i, x) in bools.iter().enumerate() {
        for y in &bools[i + 1..] {
            let xor = |p: &Params| bool_of(p, x) != bool_of(p, y);
            let or = |p: &Params| bool_of(p, x) == Some(true) || bool_of(p, y) == Some(true);
            let nand = |p: &Params| !(bool_of(p, x) == Some(true) && bool_of(p, y) == Some(true));
            if all(members, xor) && !all(everyone, xor) {
                out.push(format!("exactly one of {x} or {y} enabled"));
            } else if all(members, or) && !all(everyone, or) {
                out.push(format!("either one of {x} or {y} enabled"));
            } else if all(members, nand) && !all(everyone, nand) {
                out.push(format!("{x} and {y} not both enabled"));
            }
        }
    }
    for k in free {
        let sweep: BTreeSet<String> = everyone
            .iter()
            .filter_map(|p| p.get(k))
            .map(render_value)
            .collect();
        let here: BTreeSet<String> = members
            .iter()
            .filter_map(|p| p.get(k))
            .map(render_value)
            .collect();
        if sweep.len() >= 3 && here.len() >= 2 && here.len() < sweep.len() {
            out.push(format!(
                "{k} is one of {}",
                here.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    out
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        _ => format!(
            "{} and {}",
            items[..items.len() - 1].join(", "),
            items[items.len() - 1]
        ),
    }
}

/// One line in the style of the paper's tables: "busy_poll enabled, need_wakeup
/// and poll disabled, batch = 64, either one of X or Y enabled".
pub fn describe(relevant: &Map<String, Value>, rules: &[String]) -> String {
    let mut on = Vec::new();
    let mut off = Vec::new();
    let mut other = Vec::new();
    for (k, v) in relevant {
        match v {
            Value::Bool(true) => on.push(k.clone()),
            Value::Bool(false) => off.push(k.clone()),
            v => other.push(format!("{k} = {}", render_value(v))),
        }
    }
    let mut parts = Vec::new();
    if !on.is_empty() {
        parts.push(format!("{} enabled", join_and(&on)));
    }
    if !off.is_empty() {
        parts.push(format!("{} disabled", join_and(&off)));
    }
    parts.extend(other);
    parts.extend(rules.iter().cloned());
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(", ")
    }
}
