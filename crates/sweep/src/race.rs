//! Racing (`strategy = "race"`, F-Race: Birattari et al., GECCO 2002; the elimination of
//! successive halving, Jamieson and Talwalkar, AISTATS 2016, with a statistical test instead of
//! a fixed fraction): every surviving configuration is measured for a short slice per round,
//! in a fresh seeded random order each round; from `min-rounds` on, the configurations worse
//! than the best with confidence are eliminated after each round
//! ([`analysis::race::friedman_conover`] on each slice's `objective`, the median RTT by default
//! or its p99 / p99.9, Holm-corrected); with `max-cpu`, a configuration whose slices use more CPU
//! cores than that leaves the race after the round that shows it. The race
//! ends when one configuration is left, when the survivors are indistinguishable (the Friedman
//! test finds no difference in two rounds running), after `max-rounds`, or when the next round
//! would overspend `budget`; the survivors then get the full repetitions of a normal sweep.
//!
//! Slices are run directories under `DIR/race/<config>-k<round>/`, committed like runs; the
//! race's decisions are a function of the committed slices only, so a sweep killed at any
//! moment and resumed replays the same decisions and redoes only the missing slices.
//! `DIR/race/race.json` records every round and every elimination.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::experiment::{Objective, Race};
use crate::plan::{Plan, Run};
use crate::runner::Ctx;
use crate::schedule::SplitMix;
use crate::store::write_atomic;

/// The race's record file, in `DIR/race/`.
pub const RACE_FILE: &str = "race.json";

/// One configuration eliminated.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Elimination {
    pub config: String,
    pub label: String,
    pub round: u32,
    /// Conover's t against the best, its one-sided p-value, and Holm's adjusted p-value. A
    /// perfect separation makes t infinite, which JSON writes as null (read back as infinity).
    #[serde(deserialize_with = "null_is_infinite")]
    pub statistic: f64,
    pub p: f64,
    pub p_holm: f64,
    /// Median of this configuration's slice statistics (the race's objective), and the best's.
    pub median_ns: f64,
    pub best: String,
    pub best_median_ns: f64,
    /// Set when the configuration was dropped because a slice failed, not by the test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

fn null_is_infinite<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
}

/// One round of the race.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Round {
    pub round: u32,
    pub survivors_before: usize,
    pub friedman: Option<f64>,
    pub friedman_p: Option<f64>,
    pub eliminated: usize,
}

/// What the race decided (`DIR/race/race.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Outcome {
    pub schema: u32,
    pub seed: u64,
    pub slice_ns: u64,
    pub alpha: f64,
    pub rounds: Vec<Round>,
    pub eliminated: Vec<Elimination>,
    pub survivors: Vec<String>,
    /// Why the race stopped.
    pub stopped: String,
    /// Probe time spent on slices.
    pub slice_probe_ns: u64,
    /// The statistic compared ("median" in records written before it was a choice).
    #[serde(default)]
    pub objective: Objective,
    /// The CPU cap, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cpu: Option<f64>,
}

impl Outcome {
    /// Why configuration `id` gets no full runs, if it was eliminated.
    pub fn eliminated(&self, id: &str) -> Option<String> {
        self.eliminated.iter().find(|e| e.config == id).map(|e| {
            e.failed.clone().unwrap_or_else(|| {
                format!(
                    "eliminated in race round {}: {} {} vs best {} (t = {:.2}, p = {:.2e}, Holm {:.2e})",
                    e.round,
                    self.objective,
                    results::us(e.median_ns),
                    results::us(e.best_median_ns),
                    e.statistic,
                    e.p,
                    e.p_holm
                )
            })
        })
    }

    /// One line for the end of the sweep.
    pub fn summary_line(&self, measured: Duration) -> String {
        format!(
            "race: {} rounds, {} configurations eliminated, {} survived ({}); probe time {:.1}s, of which slices {:.1}s",
            self.rounds.len(),
            self.eliminated.len(),
            self.survivors.len(),
            self.stopped,
            measured.as_secs_f64(),
            self.slice_probe_ns as f64 / 1e9
        )
    }
}

/// The race's slice runs of round `k` for configurations `alive` (one pinger: the first).
fn slice_plan(plan: &Plan, slice: Duration, alive: &[usize], round: u32) -> Plan {
    let runs = alive
        .iter()
        .map(|c| Run {
            id: format!("{}-k{round}", plan.configs[*c].id),
            config: *c,
            rep: round,
            pinger: 0,
        })
        .collect();
    Plan {
        configs: plan.configs.clone(),
        excluded: Vec::new(),
        runs,
        measure_per_run: slice,
        wall_per_run: slice + crate::plan::OVERHEAD_PER_RUN,
        together: false,
    }
}

fn median(v: &mut [f64]) -> f64 {
    analysis::robust::median(v)
}

/// Runs (or, resumed, replays) the race of `plan`'s configurations.
pub(crate) fn run(ctx: &mut Ctx, plan: &Plan) -> Result<Outcome, Error> {
    let race = ctx.search.race.clone();
    let dir = ctx.store.race_dir();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
    let mut alive: Vec<usize> = (0..plan.configs.len()).collect();
    // per configuration, the objective of each round's slice
    let mut medians: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    // per configuration, the CPU cores of each slice that recorded its cost
    let mut cores: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    let mut out = Outcome {
        schema: 1,
        seed: ctx.seed,
        slice_ns: race.slice.as_nanos() as u64,
        alpha: race.alpha,
        rounds: Vec::new(),
        eliminated: Vec::new(),
        survivors: Vec::new(),
        stopped: String::new(),
        slice_probe_ns: 0,
        objective: race.objective,
        max_cpu: race.max_cpu,
    };
    let mut calm = 0;
    ctx.in_race = true;
    ctx.progress.set_racing(true);
    let mut round = 0;
    let stopped = loop {
        if alive.len() <= 1 {
            break "one configuration left".to_string();
        }
        if round >= race.max_rounds {
            break format!("max-rounds ({}) reached", race.max_rounds);
        }
        let next = race.slice.as_nanos() as u64 * alive.len() as u64;
        if let Some(b) = race.budget
            && out.slice_probe_ns + next > b.as_nanos() as u64
        {
            break format!(
                "the next round would overspend budget ({})",
                humantime::format_duration(b)
            );
        }
        round += 1;
        let mut order = alive.clone();
        SplitMix::new(ctx.seed ^ u64::from(round).wrapping_mul(0xd1b5_4a32_d192_ed03))
            .shuffle(&mut order);
        let sp = slice_plan(plan, race.slice, &order, round);
        for (i, run) in sp.runs.iter().enumerate() {
            let dst = dir.join(&run.id);
            let m = match slice_stats(&dst, &race) {
                Some(m) => Ok(m),
                None => {
                    let ended = ctx.run_group(&sp, &[i])?;
                    match ended.into_iter().next() {
                        Some(e) if e.status == "done" => slice_stats(&dst, &race)
                            .ok_or_else(|| "no reply in the slice".to_string()),
                        Some(e) => Err(e.why.unwrap_or_else(|| e.status.to_string())),
                        None => Err("no result".to_string()),
                    }
                }
            };
            out.slice_probe_ns += race.slice.as_nanos() as u64;
            match m {
                Ok((m, c)) => {
                    medians.entry(run.config).or_default().push(m);
                    if let Some(c) = c {
                        cores.entry(run.config).or_default().push(c);
                    }
                }
                Err(why) => {
                    drop_failed(
                        &mut out,
                        &mut alive,
                        plan,
                        run.config,
                        round,
                        format!("a race slice failed in round {round}: {why}"),
                    );
                }
            }
        }
        if let Some(max) = race.max_cpu {
            for c in alive.clone() {
                if let Some(used) = cores.get(&c).map(|v| median(&mut v.clone()))
                    && used > max
                {
                    drop_failed(
                        &mut out,
                        &mut alive,
                        plan,
                        c,
                        round,
                        format!(
                            "uses {used:.2} CPU cores (the median over its slices), over max-cpu {max}"
                        ),
                    );
                }
            }
        }
        let mut r = Round {
            round,
            survivors_before: alive.len(),
            friedman: None,
            friedman_p: None,
            eliminated: 0,
        };
        if round >= race.min_rounds && alive.len() > 1 {
            // blocks: the last `round` slices of every survivor (all of them, since round 1)
            let blocks: Vec<Vec<f64>> = (0..round as usize)
                .map(|k| alive.iter().map(|c| medians[c][k]).collect())
                .collect();
            if let Some(t) = analysis::race::friedman_conover(&blocks, race.alpha) {
                r.friedman = Some(t.friedman);
                r.friedman_p = Some(t.friedman_p);
                let best = alive[t.best];
                let best_median = median(&mut medians[&best].clone());
                for j in &t.worse {
                    let c = &plan.configs[alive[*j]];
                    out.eliminated.push(Elimination {
                        config: c.id.clone(),
                        label: c.label(),
                        round,
                        statistic: t.t[*j],
                        p: t.p[*j],
                        p_holm: t.p_holm[*j],
                        median_ns: median(&mut medians[&alive[*j]].clone()),
                        best: plan.configs[best].id.clone(),
                        best_median_ns: best_median,
                        failed: None,
                    });
                }
                r.eliminated = t.worse.len();
                let gone: Vec<usize> = t.worse.iter().map(|j| alive[*j]).collect();
                alive.retain(|a| !gone.contains(a));
                calm = if t.friedman_p >= race.alpha {
                    calm + 1
                } else {
                    0
                };
            }
        }
        ctx.progress.note(&format!(
            "race round {round}: {} configurations measured, {} eliminated{}",
            r.survivors_before,
            r.eliminated,
            r.friedman_p
                .map(|p| format!(" (Friedman p = {p:.2e})"))
                .unwrap_or_default()
        ));
        out.rounds.push(r);
        out.survivors = alive.iter().map(|c| plan.configs[*c].id.clone()).collect();
        write_record(&dir, &out)?;
        if calm >= 2 {
            break "the survivors are indistinguishable (Friedman p >= alpha in two rounds running)".to_string();
        }
    };
    ctx.in_race = false;
    ctx.progress.set_racing(false);
    out.survivors = alive.iter().map(|c| plan.configs[*c].id.clone()).collect();
    out.stopped = stopped;
    write_record(&dir, &out)?;
    Ok(out)
}

/// Drops configuration `c` from the race for a reason other than the test.
fn drop_failed(
    out: &mut Outcome,
    alive: &mut Vec<usize>,
    plan: &Plan,
    c: usize,
    round: u32,
    why: String,
) {
    let cfg = &plan.configs[c];
    out.eliminated.push(Elimination {
        config: cfg.id.clone(),
        label: cfg.label(),
        round,
        statistic: 0.0,
        p: 0.0,
        p_holm: 0.0,
        median_ns: 0.0,
        best: String::new(),
        best_median_ns: 0.0,
        failed: Some(why),
    });
    alive.retain(|a| *a != c);
}

/// A committed slice's objective, and the CPU cores it used when its cost was recorded.
fn slice_stats(dir: &std::path::Path, race: &Race) -> Option<(f64, Option<f64>)> {
    let s = results::read_summary(&dir.join(results::SUMMARY_FILE)).ok()?;
    let m = race.objective.of(&s.rtt_ns?);
    Some((m, cores(&s, race.slice)))
}

/// CPU cores a run used: every recorded CPU time (roles and softirq) over its probing time.
pub fn cores(s: &results::Summary, probing: Duration) -> Option<f64> {
    let c = s.cpu()?;
    let total: u64 = [
        c.ping_user_ns,
        c.ping_sys_ns,
        c.fwd_user_ns,
        c.fwd_sys_ns,
        c.softirq_ns,
    ]
    .iter()
    .flatten()
    .sum();
    (!probing.is_zero()).then(|| total as f64 / probing.as_nanos() as f64)
}

fn write_record(dir: &std::path::Path, out: &Outcome) -> Result<(), Error> {
    let path = dir.join(RACE_FILE);
    let mut body = serde_json::to_vec_pretty(out).map_err(|source| Error::Json {
        path: path.clone(),
        source,
    })?;
    body.push(b'\n');
    write_atomic(&path, &body)
}

/// The race record of the sweep in `dir`, if it was raced.
pub fn read(dir: &std::path::Path) -> Option<Outcome> {
    let b = std::fs::read(dir.join("race").join(RACE_FILE)).ok()?;
    serde_json::from_slice(&b).ok()
}
