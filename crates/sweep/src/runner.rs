//! `xdplat sweep run`: one run at a time (or one group of runs, with `pingers = "together"`),
//! each executed by [`crate::execute`]; with `rate = "auto"` each run's interval comes from the
//! paper's equation (1), l_min being the lowest median RTT of the runs completed so far, or of
//! a calibration run before the first. Progress and the index are updated after every run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde_json::{Value, json};

use crate::Error;
use crate::execute::{Member, RunEnd, run_group};
use crate::experiment::{Exec, Experiment, Order, Search, Strategy};
use crate::outcome::Outcome;
use crate::plan::{Config, Plan, Run, expand};
use crate::prepare;
use crate::progress::Progress;
use crate::rate::{self, Derived};
use crate::replay::{self, Source};
use crate::roles::batch;
use crate::store::Store;
use crate::transport;
use host::owner::{Lease, Owned};

/// How to run a sweep.
#[derive(Debug, Clone)]
pub struct Options {
    pub out: PathBuf,
    pub resume: bool,
    /// JSON progress lines instead of text.
    pub json: bool,
    /// This machine's xdplat binary (the roles are processes of it).
    pub local_bin: PathBuf,
    pub state: host::StateDir,
    /// `--order`: overrides the file's `[search] order` (a resumed sweep keeps its first).
    pub order: Option<Order>,
    /// `--seed`: the order's seed (default: drawn, and recorded in experiment.toml).
    pub seed: Option<u64>,
    /// `--strategy`: overrides the file's `[search] strategy`.
    pub strategy: Option<Strategy>,
}

/// Runs the sweep of `exp`; `stop` is set by SIGINT/SIGTERM.
pub fn run(exp: &Experiment, opts: &Options, stop: &AtomicBool) -> Result<Outcome, Error> {
    run_plan(exp, &expand(exp)?, opts, stop)
}

/// The lowest median RTT measured so far, and where (`calibration`, `run <id>`).
type LMin = Option<(f64, String)>;

fn offer(best: &mut LMin, median_ns: Option<f64>, from: String) {
    if let Some(m) = median_ns.filter(|m| *m > 0.0)
        && best.as_ref().is_none_or(|(b, _)| m < *b)
    {
        *best = Some((m, from));
    }
}

fn median_of(dir: &Path) -> Option<f64> {
    results::read_summary(&dir.join(results::SUMMARY_FILE))
        .ok()?
        .rtt_ns
        .map(|r| r.median)
}

/// `rate = "auto"` before any run has completed: a short run at 1 ms from the first pinger,
/// with the first configuration that completes one (AF_XDP ones first), kept in
/// `DIR/calibration/` and not counted as a run of the sweep.
fn calibrate(
    exp: &Experiment,
    plan: &Plan,
    store: &Store,
    opts: &Options,
    stop: &AtomicBool,
    progress: &Progress,
) -> Result<(f64, String), Error> {
    let (tmp, dst) = store.calibration_dirs();
    if let Some(m) = median_of(&dst) {
        progress.note(&format!(
            "rate = auto: l_min {} from the calibration run of an earlier session",
            results::us(m)
        ));
        return Ok((m, "calibration".into()));
    }
    store.remove(&dst)?;
    let mut order: Vec<usize> = (0..plan.configs.len()).collect();
    order.sort_by_key(|i| plan.configs[*i].baseline);
    for i in order {
        let cfg = &plan.configs[i];
        let mut e = exp.for_pinger(0);
        e.probe.interval = rate::CALIBRATION_INTERVAL;
        e.probe.count = Some(rate::CALIBRATION_PROBES);
        e.probe.warmup = rate::CALIBRATION_WARMUP;
        let run = Run {
            id: "calibration".into(),
            config: i,
            rep: 0,
            pinger: 0,
        };
        let member = Member {
            run: &run,
            exp: e,
            rate: None,
            tmp: tmp.clone(),
            dst: dst.clone(),
        };
        let why = match run_group(plan, cfg, &[member], store, opts, stop)? {
            RunEnd::Done { p50_ns } => match p50_ns.first().copied().flatten() {
                Some(m) => {
                    progress.note(&format!(
                        "rate = auto: calibration ({} probes at 1 ms after {} of warm-up, {}): median {}, in {}",
                        rate::CALIBRATION_PROBES,
                        rate::CALIBRATION_WARMUP,
                        cfg.label(),
                        results::us(m),
                        dst.display()
                    ));
                    return Ok((m, "calibration".into()));
                }
                None => {
                    store.remove(&dst)?;
                    "no reply".to_string()
                }
            },
            RunEnd::Failed(w) | RunEnd::Skipped(w) => w,
        };
        progress.note(&format!(
            "rate = auto: calibration with {} failed ({why}); trying the next configuration",
            cfg.label()
        ));
    }
    Err(Error::Command {
        what: "rate = \"auto\" calibration".into(),
        why: "no configuration completed a calibration run (see above); give `interval` in [probe] instead".into(),
    })
}

/// Everything a sweep's runs share once it is prepared.
pub(crate) struct Ctx<'a> {
    pub exp: Experiment,
    pub opts: &'a Options,
    pub stop: &'a AtomicBool,
    pub store: Store,
    pub progress: Progress,
    pub replay: Option<Source>,
    pub search: Search,
    pub seed: u64,
    pub out: Outcome,
    /// Runs are race slices (written under `DIR/race/`).
    pub in_race: bool,
    l_min: LMin,
    speeds: BTreeMap<usize, f64>,
}

/// How one run of a group ended (its index entry's status, why).
pub(crate) struct Ended {
    pub status: &'static str,
    pub why: Option<String>,
    pub interval_ns: Option<u64>,
    pub seconds: f64,
}

impl Ctx<'_> {
    /// Runs the group `g` of `plan` (on the testbed, or from the replay source).
    pub fn run_group(&mut self, plan: &Plan, g: &[usize]) -> Result<Vec<Ended>, Error> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(Error::Interrupted);
        }
        let exp = &self.exp;
        let cfg: &Config = &plan.configs[plan.runs[g[0]].config];
        if self.replay.is_none() && exp.probe.auto_rate && self.l_min.is_none() {
            self.l_min = Some(calibrate(
                exp,
                plan,
                &self.store,
                self.opts,
                self.stop,
                &self.progress,
            )?);
        }
        let members: Vec<Member> = g
            .iter()
            .map(|i| {
                let run = &plan.runs[*i];
                let mut e = exp.for_pinger(run.pinger);
                let rate = match &self.l_min {
                    Some((l, from)) if e.probe.auto_rate => {
                        let b = *self
                            .speeds
                            .entry(run.pinger)
                            .or_insert_with(|| rate::link_speed_bps(&e));
                        let d = Derived {
                            b_bps: b,
                            l_min_ns: *l,
                            size: e.probe.size,
                            from: from.clone(),
                        };
                        e.probe.interval = d.interval();
                        Some(d.to_rate())
                    }
                    _ => None,
                };
                let (tmp, dst) = if self.in_race {
                    // a race slice: as many probes as the slice's time holds
                    let per = e.probe.interval.as_nanos().max(1);
                    e.probe.count = Some((plan.measure_per_run.as_nanos() / per).max(1) as u64);
                    let d = self.store.race_dir();
                    (d.join(format!(".tmp-{}", run.id)), d.join(&run.id))
                } else {
                    (self.store.tmp_dir(&run.id), self.store.run_dir(&run.id))
                };
                Member {
                    run,
                    exp: e,
                    rate,
                    tmp,
                    dst,
                }
            })
            .collect();
        self.progress
            .begin(cfg, &members.iter().map(|m| m.run).collect::<Vec<_>>());
        let started = Instant::now();
        let end = match &self.replay {
            Some(src) => {
                let mut p50_ns = Vec::new();
                let mut bad = None;
                for m in &members {
                    match replay::run(src, cfg, m, &self.store)? {
                        RunEnd::Done { p50_ns: p } => p50_ns.extend(p),
                        other => {
                            bad = Some(other);
                            break;
                        }
                    }
                }
                bad.unwrap_or(RunEnd::Done { p50_ns })
            }
            None => run_group(plan, cfg, &members, &self.store, self.opts, self.stop)?,
        };
        let took = started.elapsed();
        let secs = took.as_secs_f64();
        if let RunEnd::Done { .. } = &end {
            let b = batch(exp, cfg);
            let planned = members
                .iter()
                .map(|m| {
                    let n = u32::try_from(m.exp.count(b) / b.max(1)).unwrap_or(u32::MAX);
                    m.exp.probe.interval.saturating_mul(n)
                })
                .max()
                .unwrap_or_default();
            self.out.measured += crate::outcome::probing_time(planned, took);
        }
        let mut ended = Vec::new();
        for (k, m) in members.iter().enumerate() {
            // a race's slices are counted apart: the plan's total holds the full runs only
            let count = |n: &mut usize| {
                if !self.in_race {
                    *n += 1;
                }
            };
            let (st, why, p50) = match &end {
                RunEnd::Done { p50_ns } => {
                    count(&mut self.out.done);
                    if !cfg.baseline {
                        count(&mut self.out.afxdp_done);
                    }
                    let p = p50_ns.get(k).copied().flatten();
                    offer(&mut self.l_min, p, format!("run {}", m.run.id));
                    ("done", None, p)
                }
                RunEnd::Failed(w) => {
                    count(&mut self.out.failed);
                    self.out.failures.push(crate::outcome::Failure {
                        run: m.run.id.clone(),
                        why: w.clone(),
                        baseline: cfg.baseline,
                    });
                    ("failed", Some(w.clone()), None)
                }
                RunEnd::Skipped(w) => {
                    count(&mut self.out.skipped);
                    ("skipped", Some(w.clone()), None)
                }
            };
            self.out.race_slices += usize::from(self.in_race);
            self.progress.run(
                m.run,
                cfg,
                st,
                why.as_deref(),
                p50,
                &self.out,
                started.elapsed(),
            );
            ended.push(Ended {
                status: st,
                why,
                interval_ns: m.rate.as_ref().map(|r| r.interval_ns),
                seconds: (secs * 1000.0).round() / 1000.0,
            });
        }
        Ok(ended)
    }
}

/// Reads the plan of the first session from an existing sweep directory, else takes the file's
/// (or the flags') strategy and order with a new seed.
fn resolve_search(exp: &Experiment, opts: &Options) -> Search {
    let mut s = exp.search.clone();
    if let Some(o) = opts.order {
        s.order = o;
    }
    if let Some(st) = opts.strategy {
        s.strategy = st;
    }
    if opts.seed.is_some() {
        s.seed = opts.seed;
    }
    if opts.resume
        && let Some(first) = Store::recorded_search(&opts.out)
    {
        s.strategy = first.strategy;
        s.order = first.order;
        s.seed = first.seed;
    }
    s
}

/// Prepares a sweep of `plan`: replay source or testbed, hosts checked, store opened, leftovers
/// of a killed session cleaned. The testbed guard (if the sweep brought one up) is returned.
fn prepare<'a>(
    exp: &Experiment,
    plan: &Plan,
    opts: &'a Options,
    stop: &'a AtomicBool,
    lease: &mut Lease,
    made: &mut Made,
) -> Result<Ctx<'a>, Error> {
    let mut exp = exp.clone();
    let replay = match &exp.replay {
        Some(spec) => Some(replay::open(&exp, spec, plan)?),
        None => None,
    };
    let mut search = resolve_search(&exp, opts);
    let seed = search.seed.unwrap_or_else(crate::schedule::fresh_seed);
    search.seed = Some(seed);
    let mut notes = Vec::new();
    if replay.is_none()
        && let Some(status) = testbed(&exp, opts, stop, lease, made, &mut notes)?
    {
        crate::vmbed::attach(&mut exp, &status)?;
        prepare::fill_from_testbed(&mut exp, &status);
    }
    let mut facts = match &replay {
        Some(src) => format!(
            "xdplat {} (sweep), replay of {} with seed {}\n",
            env!("CARGO_PKG_VERSION"),
            src.spec.from.display(),
            src.spec.seed
        ),
        None => prepare::check_hosts(&exp, &opts.local_bin)?,
    };
    facts.push_str(&Store::search_fact(&search));
    let unpinned = if replay.is_none() {
        prepare::drop_missing_cpus(&mut exp)
    } else {
        Vec::new()
    };
    let store = Store::open(&opts.out, &exp.text, &facts, opts.resume)?;
    let mark = store.owner_mark();
    for h in exp.hosts.values_mut().filter(|h| h.exec == Exec::Local) {
        h.env.insert(crate::store::OWNER_ENV.into(), mark.clone());
    }
    let progress = Progress::new(opts.json, plan.runs.len());
    for n in notes.into_iter().chain(unpinned) {
        progress.note(&n);
    }
    for n in store.clean_leftovers()? {
        progress.note(&n);
    }
    if replay.is_none() {
        for (h, pid) in store.remote() {
            if let Some(hs) = exp.hosts.get(&h)
                && let Ok(out) = transport::interrupt_remote_holder(hs, pid)
                && out.contains("stopped")
            {
                progress.note(&format!(
                    "stopped host settings held on {h} (pid {pid}) by an interrupted sweep"
                ));
            }
        }
        store.set_remote(&[])?;
        // crash recovery of host settings left by a killed sweep, before the first run
        drop(host::HostConfig::new(&opts.state)?);
    }
    let ctx = Ctx {
        exp,
        opts,
        stop,
        store,
        progress,
        replay,
        search,
        seed,
        out: Outcome {
            total: plan.runs.len(),
            ..Outcome::default()
        },
        in_race: false,
        l_min: None,
        speeds: BTreeMap::new(),
    };
    Ok(ctx)
}

/// What holds a sweep directory.
const HOLDER: &str = "xdplat sweep run";

/// Runs `plan` (an expansion of `exp`, or a part of one). Everything is checked first (every
/// configuration against the roles, the output directory); then the directory's lease is taken
/// (refused while another live sweep holds it), what an earlier session of this sweep left is
/// cleaned up or taken over, and only then is anything made.
pub fn run_plan(
    exp: &Experiment,
    plan: &Plan,
    opts: &Options,
    stop: &AtomicBool,
) -> Result<Outcome, Error> {
    if exp.replay.is_none() {
        crate::check::refuse(exp, &crate::check::configs(exp, plan))?;
    }
    Store::check(&opts.out, &exp.text, opts.resume)?;
    let mut lease = Lease::acquire(&opts.out, HOLDER)?;
    let created = lease.created_dir();
    let mut made = Made::default();
    let result = run_leased(exp, plan, opts, stop, &mut lease, &mut made);
    // the testbed this sweep made is removed however it ends, and then off the record
    if let Some(guard) = made.testbed.take() {
        let name = guard.name().to_string();
        drop(guard);
        if host::testbed::status(&name).is_err() {
            let _ = lease.release(&Owned::Testbed(name));
        }
    }
    if result.is_err() {
        drop(lease);
        Store::remove_unbegun(&opts.out, created);
    }
    result
}

/// What a sweep (or a tune) made on the host, undone at its end.
#[derive(Default)]
pub(crate) struct Made {
    pub testbed: Option<host::testbed::Guard>,
}

/// Brings the experiment's testbed up when it is missing, recorded in the lease before it is
/// made; one an earlier session of this sweep made (and left, killed) is taken over; one that
/// was up already and is not on record is the user's, left alone.
pub(crate) fn testbed(
    exp: &Experiment,
    opts: &Options,
    stop: &AtomicBool,
    lease: &mut Lease,
    made: &mut Made,
    progress: &mut Vec<String>,
) -> Result<Option<host::testbed::Status>, Error> {
    for o in lease.previous().to_vec() {
        let Owned::Testbed(name) = &o else { continue };
        match host::testbed::status(name) {
            Ok(status) if exp.testbed.as_ref() == Some(name) => {
                lease.adopt(&o)?;
                made.testbed = Some(host::testbed::Guard {
                    status,
                    say_removed: false,
                });
                progress.push(format!(
                    "testbed {name} was made by an interrupted session of this sweep: taken over (removed at the end)"
                ));
            }
            Ok(_) => {
                host::testbed::down(name)?;
                lease.forget_previous(&o)?;
                progress.push(format!(
                    "removed testbed {name}, made by an interrupted session of this sweep"
                ));
            }
            Err(_) => lease.forget_previous(&o)?,
        }
    }
    let Some(name) = exp.testbed.clone() else {
        return Ok(None);
    };
    if let Some(g) = &made.testbed {
        return Ok(Some(g.status.clone()));
    }
    if let Ok(s) = host::testbed::status(&name) {
        return Ok(Some(s));
    }
    lease.record(Owned::Testbed(name.clone()))?;
    if exp.testbed_kind == host::testbed::Kind::Vm {
        let status = crate::vmbed::up(exp, &name, &opts.local_bin, stop)?;
        made.testbed = Some(host::testbed::Guard {
            status: status.clone(),
            say_removed: false,
        });
        return Ok(Some(status));
    }
    let c = format!("{name}-c");
    let with_c = exp
        .pingers
        .iter()
        .any(|p| exp.hosts[p].netns.as_deref() == Some(c.as_str()));
    let guard = host::testbed::Guard::up(&host::testbed::TestbedSpec {
        name: name.clone(),
        queues: 1,
        with_c,
    })?;
    let status = guard.status.clone();
    made.testbed = Some(guard);
    Ok(Some(status))
}

fn run_leased(
    exp: &Experiment,
    plan: &Plan,
    opts: &Options,
    stop: &AtomicBool,
    lease: &mut Lease,
    made: &mut Made,
) -> Result<Outcome, Error> {
    let t0 = Instant::now();
    let mut ctx = prepare(exp, plan, opts, stop, lease, made)?;
    let groups = crate::schedule::order(plan, ctx.search.order, ctx.seed);
    // a group is committed run by run: one a SIGKILL cut in half is redone whole
    for g in groups.iter().filter(|g| g.len() > 1) {
        let done: Vec<&Run> = g
            .iter()
            .map(|i| &plan.runs[*i])
            .filter(|r| ctx.store.is_done(&r.id))
            .collect();
        if !done.is_empty() && done.len() < g.len() {
            for r in done {
                ctx.store.remove(&ctx.store.run_dir(&r.id))?;
                ctx.progress.note(&format!(
                    "removed {}: its pingers run together and the group was cut short; it will be redone",
                    r.id
                ));
            }
        }
    }
    // the index lists the runs in the order they run
    let slot: BTreeMap<usize, usize> = groups
        .iter()
        .flatten()
        .enumerate()
        .map(|(k, i)| (*i, k))
        .collect();
    let mut status: Vec<Value> = groups
        .iter()
        .flatten()
        .map(|i| {
            let r = &plan.runs[*i];
            let c = &plan.configs[r.config];
            let st = if ctx.store.is_done(&r.id) {
                "done"
            } else {
                "pending"
            };
            json!({ "run": r.id, "config": c.id, "rep": r.rep, "label": c.label(), "status": st })
        })
        .collect();
    let mut race_out = None;
    if ctx.search.strategy == Strategy::Race {
        let r = crate::race::run(&mut ctx, plan)?;
        for s in status.iter_mut() {
            if let Some(e) = r.eliminated(s["config"].as_str().unwrap_or_default()) {
                s["status"] = json!("eliminated");
                s["why"] = json!(e);
            }
        }
        race_out = Some(r);
    }
    ctx.store.write_index(&status)?;
    let already = status.iter().filter(|s| s["status"] == "done").count();
    let todo = status.iter().filter(|s| s["status"] == "pending").count();
    ctx.out.done = already;
    ctx.progress.start(already, plan.wall_per_run * todo as u32);
    if exp.probe.auto_rate && ctx.replay.is_none() {
        for r in plan.runs.iter().filter(|r| ctx.store.is_done(&r.id)) {
            offer(
                &mut ctx.l_min,
                median_of(&ctx.store.run_dir(&r.id)),
                format!("run {}", r.id),
            );
        }
    }
    for g in &groups {
        let pending = g.iter().any(|i| {
            status[slot[i]]["status"] == "pending" && !ctx.store.is_done(&plan.runs[*i].id)
        });
        if !pending {
            continue;
        }
        let ended = ctx.run_group(plan, g)?;
        for (i, e) in g.iter().zip(ended) {
            let s = &mut status[slot[i]];
            s["status"] = json!(e.status);
            s["seconds"] = json!(e.seconds);
            if let Some(w) = &e.why {
                s["why"] = json!(w);
            }
            if let Some(ns) = e.interval_ns {
                s["interval_ns"] = json!(ns);
            }
        }
        ctx.store.write_index(&status)?;
    }
    if let Some(r) = &race_out {
        ctx.out.total = status
            .iter()
            .filter(|s| s["status"] != "eliminated")
            .count();
        ctx.progress.note(&r.summary_line(ctx.out.measured));
    }
    ctx.out.wall = t0.elapsed();
    ctx.progress.end(&ctx.out);
    Ok(ctx.out)
}
