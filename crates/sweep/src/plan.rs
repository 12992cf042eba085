//! Expansion of an experiment into configurations and runs: the cartesian product of the axes,
//! minus `[[exclude]]` matches, plus `[[include]]` entries, plus the kernel baseline. Ids are
//! derived from the configuration's values only (a hash) and the repetition, so that the same
//! file always names the same runs and `--resume` is exact.

use std::time::Duration;

use crate::Error;
use crate::experiment::{Experiment, Pingers, Rule};
use crate::value::Val;

/// One configuration: a value for every axis (or the kernel baseline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Short stable id (hex hash of the values).
    pub id: String,
    /// (axis key, value) in axis order; empty for the baseline.
    pub values: Vec<(String, Val)>,
    /// The kernel-UDP baseline (backend udp on both roles, knobs at their defaults).
    pub baseline: bool,
}

impl Config {
    /// `xdp-mode="drv" fwd.poll=true`, or `backend="udp"` for the baseline.
    pub fn label(&self) -> String {
        if self.baseline {
            return "backend=\"udp\" (kernel baseline)".into();
        }
        if self.values.is_empty() {
            return "(defaults)".into();
        }
        self.values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The value of axis `key` in this configuration.
    pub fn get(&self, key: &str) -> Option<&Val> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// A configuration left out, and why.
#[derive(Debug, Clone)]
pub struct Excluded {
    pub config: Config,
    pub why: String,
}

/// One run: a configuration and a repetition.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: String,
    /// Index into [`Plan::configs`].
    pub config: usize,
    pub rep: u32,
    /// Index into [`Experiment::pingers`].
    pub pinger: usize,
}

/// What a sweep will do.
#[derive(Debug, Clone)]
pub struct Plan {
    pub configs: Vec<Config>,
    pub excluded: Vec<Excluded>,
    pub runs: Vec<Run>,
    /// Probing time of one run (measured probes only).
    pub measure_per_run: Duration,
    /// Estimated wall time of one run (warm-up, linger and start-up included).
    pub wall_per_run: Duration,
    /// The pingers of a configuration and repetition run at the same time.
    pub together: bool,
}

/// Start-up and tear-down per run measured on the namespace testbed (process start, XDP attach,
/// socket bind, readiness, results commit), with a margin.
pub const OVERHEAD_PER_RUN: Duration = Duration::from_millis(300);

/// FNV-1a, 64 bits: stable across versions and platforms, unlike std's hasher.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn make(values: Vec<(String, Val)>, baseline: bool) -> Config {
    let mut canon: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
    canon.sort();
    if baseline {
        canon = vec!["backend=\"udp\"".into()];
    }
    let h = fnv1a(canon.join("\n").as_bytes());
    Config {
        id: format!("{:010x}", h >> 24),
        values,
        baseline,
    }
}

fn matches(rule: &Rule, c: &Config) -> bool {
    rule.conds
        .iter()
        .all(|(k, vals)| c.get(k).is_some_and(|v| vals.contains(v)))
}

fn describe(rule: &Rule, what: &str, n: usize) -> String {
    let conds = rule
        .conds
        .iter()
        .map(|(k, v)| {
            let v: Vec<String> = v.iter().map(Val::to_string).collect();
            format!("{k} in [{}]", v.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ");
    match &rule.why {
        Some(w) => format!("[[{what}]] #{n} (line {}): {w} ({conds})", rule.line),
        None => format!("[[{what}]] #{n} (line {}): {conds}", rule.line),
    }
}

/// Expands `exp` into its configurations and runs. The combinations are enumerated one at a
/// time (only the configurations kept are held), within the bounds of [`crate::check`]: too
/// many combinations or runs are refused (bad input), never allocated.
pub fn expand(exp: &Experiment) -> Result<Plan, Error> {
    crate::check::product(exp).map_err(|msg| Error::File {
        path: exp.path.clone(),
        msg,
    })?;
    let mut configs = Vec::new();
    let mut excluded = Vec::new();
    // an odometer over the axes' values, the last axis turning fastest
    let mut at = vec![0usize; exp.axes.len()];
    let mut more = exp.axes.iter().all(|a| !a.values.is_empty());
    while more {
        let values = exp
            .axes
            .iter()
            .zip(&at)
            .map(|(a, &i)| (a.key.clone(), a.values[i].clone()))
            .collect();
        let c = make(values, false);
        match exp.exclude.iter().position(|r| matches(r, &c)) {
            Some(i) => excluded.push(Excluded {
                why: describe(&exp.exclude[i], "exclude", i + 1),
                config: c,
            }),
            None => configs.push(c),
        }
        more = false;
        for k in (0..at.len()).rev() {
            at[k] += 1;
            if at[k] < exp.axes[k].values.len() {
                more = true;
                break;
            }
            at[k] = 0;
        }
    }
    for inc in &exp.include {
        let values = exp
            .axes
            .iter()
            .map(|a| {
                let v = inc
                    .conds
                    .iter()
                    .find(|(k, _)| *k == a.key)
                    .map_or_else(|| a.values[0].clone(), |(_, v)| v[0].clone());
                (a.key.clone(), v)
            })
            .collect();
        let c = make(values, false);
        if !configs.iter().any(|x: &Config| x.id == c.id) {
            excluded.retain(|e| e.config.id != c.id);
            configs.push(c);
        }
    }
    if exp.probe.baseline {
        configs.push(make(Vec::new(), true));
    }
    crate::check::runs(exp, configs.len())?;
    let mut runs = Vec::new();
    let id = |c: &Config, p: &str, rep: u32| {
        if exp.pingers.len() == 1 {
            format!("{}-r{rep}", c.id)
        } else {
            format!("{}-{p}-r{rep}", c.id)
        }
    };
    for (i, c) in configs.iter().enumerate() {
        // together, the pingers of one repetition are adjacent: they run as one group
        let order: Vec<(usize, u32)> = match exp.pinger_mode {
            Pingers::InTurn => (0..exp.pingers.len())
                .flat_map(|k| (0..exp.probe.repetitions).map(move |r| (k, r)))
                .collect(),
            Pingers::Together => (0..exp.probe.repetitions)
                .flat_map(|r| (0..exp.pingers.len()).map(move |k| (k, r)))
                .collect(),
        };
        for (k, rep) in order {
            runs.push(Run {
                id: id(c, &exp.pingers[k], rep),
                config: i,
                rep,
                pinger: k,
            });
        }
    }
    let batch = 1;
    let count = exp.count(batch);
    let times = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    let measure_per_run = exp.probe.interval.saturating_mul(times(count / batch));
    let wall_per_run = measure_per_run
        .saturating_add(exp.probe.interval.saturating_mul(times(exp.probe.warmup)))
        .saturating_add(exp.probe.linger)
        .saturating_add(OVERHEAD_PER_RUN);
    Ok(Plan {
        configs,
        excluded,
        runs,
        measure_per_run,
        wall_per_run,
        together: exp.pinger_mode == Pingers::Together,
    })
}

impl Plan {
    /// The plan of configurations `keep` (indices, in that order) alone: with `runs`, their
    /// runs (ids unchanged); without, none (a race, whose slices are its own).
    pub fn subset(&self, keep: &[usize], runs: bool) -> Plan {
        let configs: Vec<Config> = keep.iter().map(|c| self.configs[*c].clone()).collect();
        let runs = if runs {
            self.runs
                .iter()
                .filter_map(|r| {
                    let at = keep.iter().position(|c| *c == r.config)?;
                    Some(Run {
                        config: at,
                        ..r.clone()
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        Plan {
            configs,
            excluded: Vec::new(),
            runs,
            ..self.clone()
        }
    }

    /// Estimated wall time of the whole sweep.
    pub fn estimate(&self) -> Duration {
        let groups = u32::try_from(self.groups().len()).unwrap_or(u32::MAX);
        self.wall_per_run.saturating_mul(groups)
    }

    /// The runs that run at the same time (indices into [`Plan::runs`]): the pingers of one
    /// configuration and repetition with `pingers = "together"`, else each run alone.
    pub fn groups(&self) -> Vec<Vec<usize>> {
        let mut out: Vec<Vec<usize>> = Vec::new();
        for (i, r) in self.runs.iter().enumerate() {
            match out.last_mut() {
                Some(g)
                    if self.together && {
                        let f = &self.runs[g[0]];
                        f.config == r.config && f.rep == r.rep
                    } =>
                {
                    g.push(i)
                }
                _ => out.push(vec![i]),
            }
        }
        out
    }
}
