//! `xdplat sweep run`: one run at a time (or one group of runs, with `pingers = "together"`),
//! each executed by [`crate::execute`]; with `rate = "auto"` each run's interval comes from the
//! paper's equation (1), l_min being the lowest median RTT of the runs completed so far, or of
//! a calibration run before the first. Progress and the index are updated after every run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Error;
use crate::execute::{Member, RunEnd, run_group};
use crate::experiment::{Exec, Experiment};
use crate::plan::{Config, Plan, Run, expand};
use crate::progress::Progress;
use crate::rate::{self, Derived};
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
}

/// How a sweep went.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub total: usize,
    /// Complete runs (from this and earlier sessions).
    pub done: usize,
    pub failed: usize,
    pub skipped: usize,
    pub wall: Duration,
    /// Probing time of the runs done in this session.
    pub measured: Duration,
}

impl Outcome {
    /// Fraction of this session's wall time spent probing.
    pub fn efficiency(&self) -> f64 {
        if self.wall.is_zero() {
            0.0
        } else {
            self.measured.as_secs_f64() / self.wall.as_secs_f64()
        }
    }
}

/// Fills interface, address and MAC of hosts that live in the embedded testbed, and the
/// forwarder's end of each pinger's link.
fn fill_from_testbed(exp: &mut Experiment, status: &host::testbed::Status) {
    let fwd_ns = exp.hosts[&exp.fwd_host].netns.clone();
    for p in exp.pingers.clone() {
        let Some(ns) = exp.hosts[&p].netns.clone() else {
            continue;
        };
        for l in &status.links {
            for (mine, other) in [(&l.a, &l.b), (&l.b, &l.a)] {
                if mine.netns == ns && Some(&other.netns) == fwd_ns.as_ref() {
                    exp.fwd_links.insert(
                        p.clone(),
                        (other.iface.clone(), other.ip(), Some(other.mac.clone())),
                    );
                }
            }
        }
    }
    for h in exp.hosts.values_mut() {
        let Some(ns) = &h.netns else { continue };
        // ssh hosts of a VM testbed's guest ([`crate::vmbed::attach`]) live in it too
        if h.exec != Exec::Local && status.vm.is_none() {
            continue;
        }
        for l in &status.links {
            for end in [&l.a, &l.b] {
                if &end.netns == ns {
                    h.iface.get_or_insert_with(|| end.iface.clone());
                    if h.ip.is_none() {
                        h.ip = end.ip();
                    }
                    h.mac.get_or_insert_with(|| end.mac.clone());
                }
            }
        }
    }
}

/// Checks the hosts before anything runs: interfaces known, the fwd address known, ssh hosts
/// reachable with an xdplat binary. Returns the facts to store with the results.
fn check_hosts(exp: &Experiment, local_bin: &Path) -> Result<String, Error> {
    let env = results::Environment::detect();
    let mut facts = format!(
        "xdplat {} (sweep), local: kernel {}, cpu {}, host {}\n",
        env.xdplat_version, env.kernel_release, env.cpu_model, env.hostname
    );
    for role in exp.pingers.iter().chain([&exp.fwd_host]) {
        let h = &exp.hosts[role];
        if h.iface.is_none() {
            return Err(Error::BadInput(format!(
                "host {:?} has no iface (give iface = \"...\" in [hosts.{}])",
                h.name, h.name
            )));
        }
    }
    for role in exp.pingers.iter().chain([&exp.fwd_host]) {
        let h = &exp.hosts[role];
        if h.exec == Exec::Local {
            local_iface(exp, h)?;
        }
    }
    if exp.hosts[&exp.fwd_host].ip.is_none() {
        return Err(Error::BadInput(format!(
            "host {:?} (fwd) has no address: give ip = \"A.B.C.D\" in [hosts.{}]",
            exp.fwd_host, exp.fwd_host
        )));
    }
    for h in exp.hosts.values() {
        if let Exec::Ssh { dest, .. } = &h.exec {
            let bin = transport::binary(h, local_bin);
            let v = transport::output(h, &[bin.clone(), "--version".into()]).map_err(|e| {
                Error::BadInput(format!(
                    "host {:?} ({dest}): cannot run {bin} --version over ssh ({e}); install xdplat there or set xdplat = \"/path\"",
                    h.name
                ))
            })?;
            let uname = transport::output(h, &["uname".into(), "-srm".into()]).unwrap_or_default();
            facts.push_str(&format!(
                "host {} ({dest}): {} {}\n",
                h.name,
                v.trim(),
                uname.trim()
            ));
        }
    }
    Ok(facts)
}

/// A local host's interface must exist (in its namespace) and have the host's queue.
fn local_iface(exp: &Experiment, h: &crate::experiment::HostSpec) -> Result<(), Error> {
    let iface = h.iface.clone().unwrap_or_default();
    let name = iface.clone();
    let info = match &h.netns {
        Some(ns) => host::netns::run_in(ns, move || host::iface::info(&name)).and_then(|r| r),
        None => host::iface::info(&name),
    };
    let line = crate::experiment::line_of(&exp.text, &format!("hosts.{}", h.name));
    let info = info.map_err(|e| {
        Error::BadInput(format!(
            "host {:?} (line {line}): {e}: fix iface or netns in [hosts.{}]",
            h.name, h.name
        ))
    })?;
    let have = info.num_rx_queues.min(info.num_tx_queues).max(1);
    if h.queue >= have {
        return Err(Error::BadInput(format!(
            "host {:?} (line {line}): queue = {} but {iface} has queues 0 to {}: give one of those in [hosts.{}]",
            h.name,
            h.queue,
            have - 1,
            h.name
        )));
    }
    Ok(())
}

/// A local host's `cpu` this process may not use (a machine with fewer CPUs than the file
/// assumes) is dropped with a note, so the roles float instead of failing every run.
fn drop_missing_cpus(exp: &mut Experiment) -> Vec<String> {
    let Ok(mask) = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    for h in exp.hosts.values_mut() {
        if let (Exec::Local, Some(c)) = (&h.exec, h.cpu)
            && !mask.is_set(c).unwrap_or(false)
        {
            notes.push(format!(
                "host {}: CPU {c} is not available here; its roles are not pinned",
                h.name
            ));
            h.cpu = None;
        }
    }
    notes
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
    crate::check::refuse(exp, &crate::check::configs(exp, plan))?;
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

/// What a sweep made on the host, undone at its end.
#[derive(Default)]
struct Made {
    testbed: Option<host::testbed::Guard>,
}

/// Brings the experiment's testbed up when it is missing, recorded in the lease before it is
/// made; one an earlier session of this sweep made (and left, killed) is taken over; one that
/// was up already and is not on record is the user's, left alone.
fn testbed(
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
    let mut exp = exp.clone();
    let mut notes = Vec::new();
    if let Some(status) = testbed(&exp, opts, stop, lease, made, &mut notes)? {
        crate::vmbed::attach(&mut exp, &status)?;
        fill_from_testbed(&mut exp, &status);
    }
    let facts = check_hosts(&exp, &opts.local_bin)?;
    let unpinned = drop_missing_cpus(&mut exp);
    let store = Store::open(&opts.out, &exp.text, &facts, opts.resume)?;
    let mark = store.owner_mark();
    for h in exp.hosts.values_mut().filter(|h| h.exec == Exec::Local) {
        h.env.insert(crate::store::OWNER_ENV.into(), mark.clone());
    }
    let mut progress = Progress::new(opts.json, plan.runs.len());
    for n in notes.into_iter().chain(unpinned) {
        progress.note(&n);
    }
    for n in store.clean_leftovers()? {
        progress.note(&n);
    }
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

    let groups = plan.groups();
    // a group is committed run by run: one a SIGKILL cut in half is redone whole
    for g in groups.iter().filter(|g| g.len() > 1) {
        let done: Vec<&Run> = g
            .iter()
            .map(|i| &plan.runs[*i])
            .filter(|r| store.is_done(&r.id))
            .collect();
        if !done.is_empty() && done.len() < g.len() {
            for r in done {
                store.remove(&store.run_dir(&r.id))?;
                progress.note(&format!(
                    "removed {}: its pingers run together and the group was cut short; it will be redone",
                    r.id
                ));
            }
        }
    }
    let mut status: Vec<Value> = plan
        .runs
        .iter()
        .map(|r| {
            let c = &plan.configs[r.config];
            let st = if store.is_done(&r.id) {
                "done"
            } else {
                "pending"
            };
            json!({ "run": r.id, "config": c.id, "rep": r.rep, "label": c.label(), "status": st })
        })
        .collect();
    store.write_index(&status)?;
    let already = status.iter().filter(|s| s["status"] == "done").count();
    progress.start(already, plan.estimate());
    let mut out = Outcome {
        total: plan.runs.len(),
        done: already,
        failed: 0,
        skipped: 0,
        wall: Duration::ZERO,
        measured: Duration::ZERO,
    };
    let mut l_min: LMin = None;
    if exp.probe.auto_rate {
        for r in plan.runs.iter().filter(|r| store.is_done(&r.id)) {
            offer(
                &mut l_min,
                median_of(&store.run_dir(&r.id)),
                format!("run {}", r.id),
            );
        }
    }
    let mut speeds: BTreeMap<usize, f64> = BTreeMap::new();
    for g in &groups {
        if g.iter().all(|i| store.is_done(&plan.runs[*i].id)) {
            continue;
        }
        if stop.load(Ordering::Relaxed) {
            return Err(Error::Interrupted);
        }
        let cfg: &Config = &plan.configs[plan.runs[g[0]].config];
        if exp.probe.auto_rate && l_min.is_none() {
            l_min = Some(calibrate(&exp, plan, &store, opts, stop, &progress)?);
        }
        let members: Vec<Member> = g
            .iter()
            .map(|i| {
                let run = &plan.runs[*i];
                let mut e = exp.for_pinger(run.pinger);
                let rate = match &l_min {
                    Some((l, from)) if e.probe.auto_rate => {
                        let b = *speeds
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
                Member {
                    run,
                    exp: e,
                    rate,
                    tmp: store.tmp_dir(&run.id),
                    dst: store.run_dir(&run.id),
                }
            })
            .collect();
        progress.begin(cfg, &members.iter().map(|m| m.run).collect::<Vec<_>>());
        let started = Instant::now();
        let end = run_group(plan, cfg, &members, &store, opts, stop)?;
        let secs = started.elapsed().as_secs_f64();
        if let RunEnd::Done { .. } = &end {
            let b = batch(&exp, cfg);
            out.measured += members
                .iter()
                .map(|m| {
                    let n = u32::try_from(m.exp.count(b) / b.max(1)).unwrap_or(u32::MAX);
                    m.exp.probe.interval.saturating_mul(n)
                })
                .max()
                .unwrap_or_default();
        }
        for (k, m) in members.iter().enumerate() {
            let i = g[k];
            let (st, why, p50) = match &end {
                RunEnd::Done { p50_ns } => {
                    out.done += 1;
                    let p = p50_ns.get(k).copied().flatten();
                    offer(&mut l_min, p, format!("run {}", m.run.id));
                    ("done", None, p)
                }
                RunEnd::Failed(w) => {
                    out.failed += 1;
                    ("failed", Some(w.clone()), None)
                }
                RunEnd::Skipped(w) => {
                    out.skipped += 1;
                    ("skipped", Some(w.clone()), None)
                }
            };
            status[i]["status"] = json!(st);
            status[i]["seconds"] = json!((secs * 1000.0).round() / 1000.0);
            if let Some(w) = &why {
                status[i]["why"] = json!(w);
            }
            if let Some(r) = &m.rate {
                status[i]["interval_ns"] = json!(r.interval_ns);
            }
            progress.run(m.run, cfg, st, why.as_deref(), p50, &out, started.elapsed());
        }
        store.write_index(&status)?;
    }
    out.wall = t0.elapsed();
    progress.end(&out);
    Ok(out)
}
