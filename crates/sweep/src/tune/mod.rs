//! `xdplat tune`: the lowest-latency configuration of a link, found within a probe-time budget,
//! with its evidence. The search space is the experiment's `[axes]`, or, when it has none, the
//! axes [`space::derive`] finds worth trying on the link (from doctor and `host show`). The
//! configurations are raced ([`crate::race`], F-Race) in iterated races ([`search`]): a sample
//! of the space first, then the elites and their neighbours; the elites and the default
//! configuration then get the experiment's full repetitions, and [`verdict`] picks the winner by
//! the objective (median, p99 or p99.9) within the CPU cap, with intervals, its gap to the
//! default, the knobs that mattered and the Pareto front of latency against CPU.
//!
//! Layout of `DIR`: `tune.toml` (the experiment with its space, written once), `race-K/` (each
//! race, an ordinary raced sweep with no full runs), `final/` (the full runs), `tune.json` (the
//! result, [`Tuned`]), `tune.md` (the report), `winner.toml` (the winner as an experiment
//! fragment) and `check-N/` ([`check`]). Every step is a sweep, committed run by run, and every
//! choice a function of the seed and of committed results: a tune killed at any moment and
//! resumed (`--resume`) redoes only what was not committed and chooses the same.

mod apply;
pub mod check;
pub mod link;
mod render;
pub mod search;
pub mod space;
pub mod verdict;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;
use crate::experiment::{Experiment, Objective, Strategy};
use crate::plan::{Plan, expand};
use crate::runner::{Made, run_plan};
use crate::store::write_atomic;
use host::owner::{Lease, Owned};

pub use render::{command_lines, fragment, report};

/// The experiment of a tune, with its space.
pub const SPACE_FILE: &str = "tune.toml";
/// The result.
pub const TUNE_FILE: &str = "tune.json";
/// The report.
pub const REPORT_FILE: &str = "tune.md";
/// The winner as an experiment-file fragment.
pub const FRAGMENT_FILE: &str = "winner.toml";
const SEED_LINE: &str = "# xdplat tune seed ";
const HOLDER: &str = "xdplat tune";

/// How to tune.
#[derive(Debug, Clone)]
pub struct Options {
    pub out: PathBuf,
    pub resume: bool,
    pub json: bool,
    pub local_bin: PathBuf,
    pub state: host::StateDir,
    /// Probe time the whole tune may spend (race slices and final runs).
    pub budget: Duration,
    pub objective: Objective,
    pub max_cpu: Option<f64>,
    pub seed: Option<u64>,
    /// Put the winner's host settings in force (journaled) at the end.
    pub apply: bool,
}

/// One race of the tune.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RaceRecord {
    pub dir: String,
    pub candidates: usize,
    pub survivors: Vec<String>,
    pub stopped: String,
    pub slice_probe_ns: u64,
}

/// A configuration of the result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pick {
    pub config: String,
    pub label: String,
    /// Axis key → value.
    pub values: BTreeMap<String, Value>,
    pub figures: verdict::Figures,
}

/// What a tune found (`DIR/tune.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tuned {
    pub schema: u32,
    pub objective: Objective,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cpu: Option<f64>,
    pub seed: u64,
    pub budget_ns: u64,
    /// Probe time spent: race slices and final runs.
    pub probe_ns: u64,
    /// Probe time the full sweep of the space would take (every configuration, every
    /// repetition).
    pub full_sweep_probe_ns: u64,
    pub space_configs: usize,
    pub tried: usize,
    pub races: Vec<RaceRecord>,
    pub winner: Pick,
    pub default: Pick,
    /// The other final configurations (elites that lost to the winner).
    pub finalists: Vec<Pick>,
    pub gap: Option<verdict::Gap>,
    pub effects: Vec<analysis::Effect>,
    pub pareto: Vec<verdict::Point>,
    /// Knobs and settings the derived space left out, and why.
    pub left_out: Vec<String>,
    /// The winner as `xdplat fwd` / `xdplat ping` / `xdplat host apply` command lines.
    pub commands: Vec<String>,
    /// What `--apply` put in force (and what it could not keep).
    #[serde(default)]
    pub applied: Vec<String>,
    /// Time tune spent on its own decisions (choosing candidates, reading results, the verdict).
    pub decision_ns: u64,
    pub wall_ns: u64,
}

/// The probe time of the final runs: the elites and the default, every repetition.
fn final_cost(exp: &Experiment, plan: &Plan) -> Duration {
    let n = (search::ELITES + 1) as u32 * exp.probe.repetitions * exp.pingers.len() as u32;
    plan.measure_per_run.saturating_mul(n)
}

/// The least race budget: two configurations through their first elimination test.
fn least_race(exp: &Experiment) -> Duration {
    let r = &exp.search.race;
    r.slice.saturating_mul(2 * 2 * r.min_rounds)
}

/// Every check of a tune before anything is made on the host.
pub fn check_input(exp: &Experiment, opts: &Options) -> Result<(), Error> {
    let plan = expand(exp)?;
    let need = final_cost(exp, &plan) + least_race(exp);
    if opts.budget < need {
        return Err(Error::BadInput(format!(
            "--budget {}: too small for this experiment: the final runs alone take {} ({} configurations × {} repetitions × {}) and the first race at least {}; give --budget {} or more, or fewer repetitions or a shorter duration",
            humantime::format_duration(opts.budget),
            humantime::format_duration(final_cost(exp, &plan)),
            search::ELITES + 1,
            exp.probe.repetitions,
            humantime::format_duration(plan.measure_per_run),
            humantime::format_duration(least_race(exp)),
            humantime::format_duration(Duration::from_secs(need.as_secs() + 1)),
        )));
    }
    if !exp.probe.auto_rate {
        let per_slice = exp.search.race.slice.as_nanos() / exp.probe.interval.as_nanos().max(1);
        let want = opts.objective.min_probes();
        if per_slice < u128::from(want) {
            return Err(Error::BadInput(format!(
                "--objective {}: a race slice of {} at one probe every {} holds {per_slice} probes; the {} needs {want} or more: give a longer --slice or a shorter interval",
                opts.objective,
                humantime::format_duration(exp.search.race.slice),
                humantime::format_duration(exp.probe.interval),
                opts.objective
            )));
        }
    }
    if !exp.axes.is_empty() && exp.replay.is_none() {
        crate::check::refuse(exp, &crate::check::configs(exp, &plan))?;
    }
    if opts.resume {
        if !opts.out.join(SPACE_FILE).is_file() {
            return Err(Error::BadInput(format!(
                "--resume: {} holds no tune ({} is missing); drop --resume to start one",
                opts.out.display(),
                SPACE_FILE
            )));
        }
    } else if opts.out.exists()
        && std::fs::read_dir(&opts.out).is_ok_and(|mut d| d.next().is_some())
    {
        return Err(Error::BadInput(format!(
            "--out {}: not empty; give a new directory, or --resume to go on with the tune there",
            opts.out.display()
        )));
    }
    Ok(())
}

/// Adds up the time of tune's own decisions.
#[derive(Default)]
struct Clock(Duration);

impl Clock {
    fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        self.0 += t.elapsed();
        out
    }
}

/// Runs the tune of `exp`; `stop` is set by SIGINT/SIGTERM.
pub fn run(exp: &Experiment, opts: &Options, stop: &AtomicBool) -> Result<Tuned, Error> {
    check_input(exp, opts)?;
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io("create", &opts.out, e))?;
    let mut lease = Lease::acquire(&opts.out, HOLDER)?;
    let mut made = Made::default();
    let result = run_leased(exp, opts, stop, &mut lease, &mut made);
    if let Some(guard) = made.testbed.take() {
        let name = guard.name().to_string();
        if opts.apply && result.is_ok() {
            // the settings applied live on the testbed's interfaces: it stays, now the user's
            guard.keep();
            let _ = lease.release(&Owned::Testbed(name));
        } else {
            drop(guard);
            if host::testbed::status(&name).is_err() {
                let _ = lease.release(&Owned::Testbed(name));
            }
        }
    }
    result
}

fn sweep_options(opts: &Options, out: PathBuf, strategy: Strategy, seed: u64) -> crate::Options {
    crate::Options {
        resume: out.exists(),
        out,
        json: opts.json,
        local_bin: opts.local_bin.clone(),
        state: opts.state.clone(),
        order: None,
        seed: Some(seed),
        strategy: Some(strategy),
    }
}

/// The space's experiment: written at the first session, read back at the next ones.
fn space_experiment(
    exp: &Experiment,
    opts: &Options,
    status: Option<&host::testbed::Status>,
    left_out: &mut Vec<String>,
) -> Result<(Experiment, u64), Error> {
    let path = opts.out.join(SPACE_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) if opts.resume => t,
        _ => {
            let seed = opts.seed.unwrap_or_else(crate::schedule::fresh_seed);
            let body = if exp.axes.is_empty() {
                let (text, notes) = link::derived_text(exp, &opts.local_bin, status)?;
                left_out.extend(notes);
                text
            } else {
                exp.text.clone()
            };
            let text = format!("{SEED_LINE}{seed}\n{body}");
            write_atomic(&path, text.as_bytes())?;
            text
        }
    };
    let seed = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix(SEED_LINE))
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| {
            Error::BadInput(format!(
                "{}: its first line is not `{SEED_LINE}N`; it was not written by xdplat tune",
                path.display()
            ))
        })?;
    if left_out.is_empty() {
        left_out.extend(
            text.lines()
                .filter_map(|l| l.strip_prefix(link::LEFT_OUT))
                .map(str::to_string),
        );
    }
    let mut e = Experiment::parse(&text, &path.display().to_string())?;
    e.probe.baseline = false;
    e.search.race.objective = opts.objective;
    e.search.race.max_cpu = opts.max_cpu;
    Ok((e, seed))
}

/// The objective and CPU cores of every committed slice of the race in `dir`, by configuration.
fn slices(dir: &Path, o: Objective, slice: Duration) -> BTreeMap<String, Vec<(f64, Option<f64>)>> {
    let mut out: BTreeMap<String, Vec<(f64, Option<f64>)>> = BTreeMap::new();
    for e in std::fs::read_dir(dir.join("race"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let Ok(s) = results::read_summary(&e.path().join(results::SUMMARY_FILE)) else {
            continue;
        };
        if let (Some(sw), Some(d)) = (s.sweep(), &s.rtt_ns) {
            out.entry(sw.config)
                .or_default()
                .push((o.of(d), crate::race::cores(&s, slice)));
        }
    }
    out
}

fn med(v: &[f64]) -> f64 {
    analysis::robust::median(&mut v.to_vec())
}

fn run_leased(
    exp: &Experiment,
    opts: &Options,
    stop: &AtomicBool,
    lease: &mut Lease,
    made: &mut Made,
) -> Result<Tuned, Error> {
    let t0 = Instant::now();
    let mut clock = Clock::default();
    let mut notes = Vec::new();
    let status = match &exp.replay {
        Some(_) => None,
        None => {
            let probe_opts = sweep_options(opts, opts.out.clone(), Strategy::Full, 0);
            crate::runner::testbed(exp, &probe_opts, stop, lease, made, &mut notes)?
        }
    };
    for n in &notes {
        eprintln!("{n}");
    }
    let mut left_out = Vec::new();
    let (texp, seed) = space_experiment(exp, opts, status.as_ref(), &mut left_out)?;
    // the hosts with their interfaces, for the command lines and --apply
    let mut filled = texp.clone();
    if let Some(st) = &status {
        crate::vmbed::attach(&mut filled, st)?;
        crate::prepare::fill_from_testbed(&mut filled, st);
    }
    let plan = expand(&texp)?;
    if texp.replay.is_none() {
        crate::check::refuse(&texp, &crate::check::configs(&texp, &plan))?;
    }
    let space = search::space(&plan);
    let default = search::default_config(&plan, &texp.axes)
        .ok_or_else(|| Error::BadInput("the space has no AF_XDP configuration to tune".into()))?;
    let index: BTreeMap<String, usize> = plan
        .configs
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.clone(), i))
        .collect();
    let race = texp.search.race.clone();
    let race_budget = opts.budget.saturating_sub(final_cost(&texp, &plan));
    let mut spent = Duration::ZERO;
    let mut tried: BTreeSet<usize> = BTreeSet::new();
    let mut elites: Vec<usize> = Vec::new();
    let mut records = Vec::new();
    let mut seen: BTreeMap<String, Vec<(f64, Option<f64>)>> = BTreeMap::new();
    for k in 1.. {
        let remaining = race_budget.saturating_sub(spent);
        let n = search::race_size(remaining, race.slice, race.min_rounds).min(space.len());
        let cands = clock.time(|| {
            if k == 1 {
                search::first(&plan, default, n, seed ^ k)
            } else {
                let measured: BTreeMap<usize, f64> = seen
                    .iter()
                    .filter_map(|(id, v)| {
                        Some((
                            *index.get(id)?,
                            med(&v.iter().map(|x| x.0).collect::<Vec<_>>()),
                        ))
                    })
                    .collect();
                let m = search::Marginals::new(&plan, &measured);
                search::next(&plan, &elites, &tried, &m, n, seed ^ k)
            }
        });
        if cands.len() < 2 {
            break;
        }
        let dir = opts.out.join(format!("race-{k}"));
        eprintln!(
            "tune: race {k}: {} configurations ({} of {} tried so far), {} of probe time left for races",
            cands.len(),
            tried.len(),
            space.len(),
            humantime::format_duration(Duration::from_secs(remaining.as_secs()))
        );
        let mut e = texp.clone();
        e.search.race.budget = Some(remaining);
        let sub = plan.subset(&cands, false);
        let sopts = sweep_options(opts, dir.clone(), Strategy::Race, seed ^ k);
        run_plan(&e, &sub, &sopts, stop)?;
        let outcome = crate::race::read(&dir).ok_or_else(|| Error::Command {
            what: format!("race {k}"),
            why: format!("{} has no race record", dir.display()),
        })?;
        spent += Duration::from_nanos(outcome.slice_probe_ns);
        tried.extend(cands.iter().copied());
        clock.time(|| {
            for (id, v) in slices(&dir, race.objective, race.slice) {
                seen.entry(id).or_default().extend(v);
            }
            let mut surv: Vec<(f64, usize)> = outcome
                .survivors
                .iter()
                .filter_map(|id| {
                    let m = seen.get(id)?.iter().map(|x| x.0).collect::<Vec<_>>();
                    Some((med(&m), index[id]))
                })
                .collect();
            surv.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            elites = surv.into_iter().take(search::ELITES).map(|x| x.1).collect();
        });
        records.push(RaceRecord {
            dir: format!("race-{k}"),
            candidates: cands.len(),
            survivors: outcome.survivors.clone(),
            stopped: outcome.stopped.clone(),
            slice_probe_ns: outcome.slice_probe_ns,
        });
        if elites.is_empty() {
            return Err(Error::Command {
                what: format!("race {k}"),
                why: format!(
                    "no configuration survived: every slice failed ({}); see {}",
                    outcome
                        .eliminated
                        .iter()
                        .filter_map(|e| e.failed.clone())
                        .next()
                        .unwrap_or_default(),
                    dir.join("race").display()
                ),
            });
        }
        if tried.len() >= space.len() {
            break;
        }
    }
    let mut finals = elites.clone();
    if !finals.contains(&default) {
        finals.push(default);
    }
    let fplan = plan.subset(&finals, true);
    let fdir = opts.out.join("final");
    eprintln!(
        "tune: final runs of {} configurations (the elites and the default), {} repetitions each",
        finals.len(),
        texp.probe.repetitions
    );
    let fout = run_plan(
        &texp,
        &fplan,
        &sweep_options(opts, fdir.clone(), Strategy::Full, seed),
        stop,
    )?;
    let mut tuned = clock.time(|| {
        verdict_of(
            &filled, &plan, &fplan, &fdir, &finals, default, &seen, &index, opts, seed,
        )
    })?;
    tuned.races = records;
    tuned.left_out = left_out;
    tuned.tried = tried.len();
    tuned.space_configs = space.len();
    // the final runs' planned probing (a replayed run takes no time to measure)
    let final_probe = fplan
        .measure_per_run
        .saturating_mul(fplan.runs.len() as u32)
        .max(fout.measured);
    tuned.probe_ns = (spent + final_probe).as_nanos() as u64;
    tuned.full_sweep_probe_ns = plan
        .measure_per_run
        .saturating_mul((space.len() as u32) * texp.probe.repetitions * texp.pingers.len() as u32)
        .as_nanos() as u64;
    if opts.apply {
        tuned.applied = apply::apply(&filled, &tuned, &opts.state, &opts.local_bin)?;
    }
    tuned.decision_ns = clock.0.as_nanos() as u64;
    tuned.wall_ns = t0.elapsed().as_nanos() as u64;
    write(&opts.out, &tuned)?;
    Ok(tuned)
}

/// Writes `tune.json`, `tune.md` and `winner.toml`.
pub fn write(dir: &Path, t: &Tuned) -> Result<(), Error> {
    let path = dir.join(TUNE_FILE);
    let mut body = serde_json::to_vec_pretty(t).map_err(|source| Error::Json {
        path: path.clone(),
        source,
    })?;
    body.push(b'\n');
    write_atomic(&path, &body)?;
    write_atomic(&dir.join(REPORT_FILE), report(t).as_bytes())?;
    write_atomic(&dir.join(FRAGMENT_FILE), fragment(t).as_bytes())
}

/// Reads `DIR/tune.json`.
pub fn read(dir: &Path) -> Result<Tuned, Error> {
    let path = dir.join(TUNE_FILE);
    let b = std::fs::read(&path).map_err(|e| {
        Error::BadInput(format!(
            "{}: {e}: give the directory of a finished `xdplat tune`",
            path.display()
        ))
    })?;
    serde_json::from_slice(&b).map_err(|source| Error::Json { path, source })
}

/// The RTTs, losses and CPU cores of configuration `c`'s runs in the sweep `dir` of `plan`.
pub(crate) fn measured(dir: &Path, plan: &Plan, c: usize) -> verdict::Measured {
    let mut m = verdict::Measured::default();
    let id = &plan.configs[c].id;
    for r in plan
        .runs
        .iter()
        .filter(|r| &plan.configs[r.config].id == id)
    {
        let d = dir.join("runs").join(&r.id);
        let Ok(s) = results::read_summary(&d.join(results::SUMMARY_FILE)) else {
            continue;
        };
        m.lost += s.packets.lost;
        if let Some(c) = crate::race::cores(&s, plan.measure_per_run) {
            m.cores.push(c);
        }
        if let Ok(r) = results::read_rtts(&d.join(results::SAMPLES_FILE)) {
            m.rtts.push(r);
        }
    }
    m
}

pub(crate) fn pick(plan: &Plan, c: usize, figures: verdict::Figures) -> Pick {
    let cfg = &plan.configs[c];
    Pick {
        config: cfg.id.clone(),
        label: cfg.label(),
        values: cfg
            .values
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect(),
        figures,
    }
}

#[allow(clippy::too_many_arguments)]
fn verdict_of(
    exp: &Experiment,
    plan: &Plan,
    fplan: &Plan,
    fdir: &Path,
    finals: &[usize],
    default: usize,
    seen: &BTreeMap<String, Vec<(f64, Option<f64>)>>,
    index: &BTreeMap<String, usize>,
    opts: &Options,
    seed: u64,
) -> Result<Tuned, Error> {
    let o = opts.objective;
    let local = |c: usize| {
        fplan
            .configs
            .iter()
            .position(|x| x.id == plan.configs[c].id)
            .expect("a final configuration is in the final plan")
    };
    let mut figs: BTreeMap<usize, (verdict::Figures, Vec<i64>)> = BTreeMap::new();
    for (k, c) in finals.iter().enumerate() {
        let m = measured(fdir, fplan, local(*c));
        if let Some(f) = verdict::figures(&m, o, seed ^ (k as u64 + 11)) {
            figs.insert(*c, (f, m.rtts.concat()));
        }
    }
    let within = |f: &verdict::Figures| match (opts.max_cpu, f.cores) {
        (Some(max), Some(c)) => c <= max,
        _ => true,
    };
    let winner = figs
        .iter()
        .filter(|(_, (f, _))| within(f))
        .min_by(|a, b| {
            a.1.0
                .objective(o)
                .ns
                .total_cmp(&b.1.0.objective(o).ns)
                .then(a.0.cmp(b.0))
        })
        .map(|(c, _)| *c)
        .ok_or_else(|| Error::Command {
            what: "the final runs".into(),
            why: match opts.max_cpu {
                Some(m) => format!(
                    "no final configuration got a reply within max-cpu {m}; see {}",
                    fdir.display()
                ),
                None => format!("no final configuration got a reply; see {}", fdir.display()),
            },
        })?;
    let dfig = figs.get(&default).ok_or_else(|| Error::Command {
        what: "the default configuration's final runs".into(),
        why: format!("no reply; see {}", fdir.display()),
    })?;
    let gap = verdict::gap(&figs[&winner].1, &dfig.1, o, seed ^ 5);
    let mut params = Vec::new();
    let mut latency = Vec::new();
    let mut points = Vec::new();
    for (id, v) in seen {
        let Some(&c) = index.get(id) else { continue };
        let p = pick(plan, c, dfig.0.clone());
        let m = med(&v.iter().map(|x| x.0).collect::<Vec<_>>());
        params.push(p.values.clone());
        latency.push(m);
        let cores: Vec<f64> = v.iter().filter_map(|x| x.1).collect();
        let (cores, objective_ns) = match figs.get(&c) {
            Some((f, _)) if f.cores.is_some() => (f.cores, f.objective(o).ns),
            _ => ((!cores.is_empty()).then(|| med(&cores)), m),
        };
        if let Some(cores) = cores {
            points.push(verdict::Point {
                config: id.clone(),
                label: p.label,
                cores,
                objective_ns,
            });
        }
    }
    let finalists = finals
        .iter()
        .filter(|c| **c != winner && **c != default)
        .filter_map(|c| Some(pick(plan, *c, figs.get(c)?.0.clone())))
        .collect();
    let winner_pick = pick(plan, winner, figs[&winner].0.clone());
    let mut t = Tuned {
        schema: 1,
        objective: o,
        max_cpu: opts.max_cpu,
        seed,
        budget_ns: opts.budget.as_nanos() as u64,
        probe_ns: 0,
        full_sweep_probe_ns: 0,
        space_configs: 0,
        tried: 0,
        races: Vec::new(),
        commands: Vec::new(),
        winner: winner_pick,
        default: pick(plan, default, dfig.0.clone()),
        finalists,
        gap,
        effects: verdict::effects(&params, &latency, seed ^ 9),
        pareto: verdict::pareto(&points),
        left_out: Vec::new(),
        applied: Vec::new(),
        decision_ns: 0,
        wall_ns: 0,
    };
    t.commands = command_lines(exp, &t.winner);
    Ok(t)
}
