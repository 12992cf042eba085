//! `xdplat sweep run`: one run at a time. Per run: host settings applied under the host lock
//! (journaled, restored when the run ends, and by the next start after a SIGKILL), forwarder
//! started and ready (its readiness line on stderr, not a sleep), pinger run, forwarder stopped,
//! CPU cost merged into `summary.json`, run directory committed by rename, index rewritten.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cpu;
use crate::experiment::{Exec, Experiment, HostSpec, Kind, OnUnsupported};
use crate::plan::{Config, Plan, Run, expand};
use crate::progress::Progress;
use crate::roles::{batch, extra_params, fwd_argv, ping_argv};
use crate::store::Store;
use crate::transport::{self, RoleProc};
use crate::{Error, Val};

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

enum RunEnd {
    Done { p50_ns: Option<f64> },
    Failed(String),
    Skipped(String),
}

/// Takes the testbed down at the end when the sweep brought it up.
struct TestbedGuard(Option<String>);

impl Drop for TestbedGuard {
    fn drop(&mut self) {
        if let Some(n) = &self.0
            && let Err(e) = host::testbed::down(n)
        {
            eprintln!("sweep: removing testbed {n}: {e}");
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
        if h.exec != Exec::Local {
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
    run_plan(exp, &expand(exp), opts, stop)
}

/// Runs `plan` (an expansion of `exp`, or a part of one).
pub fn run_plan(
    exp: &Experiment,
    plan: &Plan,
    opts: &Options,
    stop: &AtomicBool,
) -> Result<Outcome, Error> {
    let t0 = Instant::now();
    let mut exp = exp.clone();
    let mut _testbed = TestbedGuard(None);
    if let Some(name) = exp.testbed.clone() {
        let status = match host::testbed::status(&name) {
            Ok(s) => s,
            Err(_) => {
                let c = format!("{name}-c");
                let with_c = exp
                    .pingers
                    .iter()
                    .any(|p| exp.hosts[p].netns.as_deref() == Some(c.as_str()));
                let s = host::testbed::up(&host::testbed::TestbedSpec {
                    name: name.clone(),
                    queues: 1,
                    with_c,
                })?;
                _testbed = TestbedGuard(Some(name));
                s
            }
        };
        fill_from_testbed(&mut exp, &status);
    }
    let facts = check_hosts(&exp, &opts.local_bin)?;
    let unpinned = drop_missing_cpus(&mut exp);
    let store = Store::open(&opts.out, &exp.text, &facts, opts.resume)?;
    let mut progress = Progress::new(opts.json, plan.runs.len());
    for n in unpinned {
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
    for (i, run) in plan.runs.iter().enumerate() {
        if store.is_done(&run.id) {
            continue;
        }
        if stop.load(Ordering::Relaxed) {
            return Err(Error::Interrupted);
        }
        let cfg = &plan.configs[run.config];
        let started = Instant::now();
        let end = run_one(
            &exp.for_pinger(run.pinger),
            plan,
            cfg,
            run,
            &store,
            opts,
            stop,
        )?;
        let secs = started.elapsed().as_secs_f64();
        let (st, why, p50) = match &end {
            RunEnd::Done { p50_ns } => {
                out.done += 1;
                let b = batch(&exp, cfg);
                out.measured += exp.probe.interval * (exp.count(b) / b.max(1)) as u32;
                ("done", None, *p50_ns)
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
        store.write_index(&status)?;
        progress.run(run, cfg, st, why.as_deref(), p50, &out, started.elapsed());
    }
    out.wall = t0.elapsed();
    progress.end(&out);
    Ok(out)
}

fn tail(lines: &[String]) -> String {
    let n = lines.len().saturating_sub(3);
    lines[n..].join(" | ")
}

/// Waits for the forwarder's readiness line; Err(stderr) when it exits or stalls first.
fn wait_ready(fwd: &mut RoleProc, stop: &AtomicBool) -> Result<(), (Option<ExitStatus>, String)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if stop.load(Ordering::Relaxed) {
            return Err((None, "interrupted".into()));
        }
        match fwd.lines.recv_timeout(Duration::from_millis(20)) {
            Ok(l) => {
                if l.starts_with("fwd: afxdp on") || l.starts_with("fwd: udp backend on") {
                    return Ok(());
                }
                seen.push(l);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                let st = fwd.child.wait().ok();
                return Err((st, tail(&seen)));
            }
        }
        if let Ok(Some(st)) = fwd.child.try_wait() {
            seen.extend(stderr_after_exit(fwd));
            return Err((Some(st), tail(&seen)));
        }
    }
    Err((
        None,
        format!("no readiness line within 30 s: {}", tail(&seen)),
    ))
}

/// Waits for `p` to exit, polling `stop`; Ok(None) when interrupted.
fn wait_or_stop(p: &mut RoleProc, stop: &AtomicBool) -> Result<Option<ExitStatus>, Error> {
    loop {
        if let Some(st) = p
            .child
            .try_wait()
            .map_err(|e| Error::io("wait", "role", e))?
        {
            return Ok(Some(st));
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Stops a role (SIGINT, then SIGKILL after 5 s) and reaps it; the exit status when the role
/// had already ended by itself.
fn stop_role(p: &mut RoleProc) -> Option<ExitStatus> {
    if let Ok(Some(st)) = p.child.try_wait() {
        return Some(st);
    }
    p.interrupt();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if matches!(p.child.try_wait(), Ok(Some(_))) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = p.child.kill();
    let _ = p.child.wait();
    None
}

fn stderr_after_exit(p: &RoleProc) -> Vec<String> {
    let mut v = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(500);
    while let Ok(l) = p
        .lines
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        v.push(l);
    }
    v
}

fn skip_axis(exp: &Experiment, cfg: &Config) -> bool {
    cfg.values.iter().any(|(k, _)| {
        exp.axes
            .iter()
            .any(|a| &a.key == k && a.on_unsupported == OnUnsupported::Skip)
    })
}

/// Exit status 2 of a role (bad input: the value cannot be used here) skips the configuration
/// when one of its axes says `on-unsupported = "skip"`.
fn role_failed(
    exp: &Experiment,
    cfg: &Config,
    role: &str,
    st: Option<ExitStatus>,
    why: &str,
) -> RunEnd {
    let msg = match st {
        Some(s) => format!("{role} {s}: {why}"),
        None => format!("{role}: {why}"),
    };
    if st.and_then(|s| s.code()) == Some(2) && skip_axis(exp, cfg) {
        RunEnd::Skipped(msg)
    } else {
        RunEnd::Failed(msg)
    }
}

fn local_pids(procs: &[&RoleProc]) -> Vec<u32> {
    procs.iter().map(|p| p.child.id()).collect()
}

fn run_one(
    exp: &Experiment,
    plan: &Plan,
    cfg: &Config,
    run: &Run,
    store: &Store,
    opts: &Options,
    stop: &AtomicBool,
) -> Result<RunEnd, Error> {
    let tmp = store.fresh_tmp(&run.id)?;
    let mut hc = host::HostConfig::new(&opts.state)?;
    let mut applied = Vec::new();
    // ssh host -> (items, any axis says skip)
    let mut remote: BTreeMap<String, (Vec<String>, bool)> = BTreeMap::new();
    for (key, v) in &cfg.values {
        let Some(a) = exp.axes.iter().find(|a| &a.key == key) else {
            continue;
        };
        if a.kind != Kind::HostSetting {
            continue;
        }
        for h in exp.setting_hosts(&a.scope) {
            let hs = &exp.hosts[&h];
            if hs.exec != Exec::Local {
                let e = remote.entry(h.clone()).or_default();
                e.0.push(format!("{}={}", a.name, v.arg()));
                e.1 |= a.on_unsupported == OnUnsupported::Skip;
                continue;
            }
            let target = host::Target::new(hs.netns.as_deref(), hs.iface.as_deref());
            let item = format!("{}={}", a.name, v.arg());
            match hc.apply(&target, &[item], host::OnUnsupported::Error) {
                Ok(o) => applied.extend(o),
                Err(e @ host::Error::Unsupported { .. }) => {
                    return match a.on_unsupported {
                        OnUnsupported::Skip => Ok(RunEnd::Skipped(format!("{key}: {e}"))),
                        OnUnsupported::Fail => Err(Error::BadInput(format!(
                            "{key} = {v} (line {}): {e} (on-unsupported = \"skip\" would skip such configurations)",
                            a.line
                        ))),
                    };
                }
                Err(e) => return Ok(RunEnd::Failed(format!("{key} = {v}: {e}"))),
            }
        }
    }
    let mut holders = Holders(Vec::new());
    for (h, (items, skip)) in &remote {
        let hs = &exp.hosts[h];
        match hold_remote(hs, items, &opts.local_bin, stop) {
            Ok(p) => {
                holders.0.push((h.clone(), p));
                let pids: Vec<(String, u32)> = holders
                    .0
                    .iter()
                    .filter_map(|(h, p)| Some((h.clone(), p.remote_pid?)))
                    .collect();
                store.set_remote(&pids)?;
            }
            Err((Some(2), why)) if *skip => {
                return Ok(RunEnd::Skipped(format!("host {h}: {why}")));
            }
            Err((Some(2), why)) => {
                return Err(Error::BadInput(format!(
                    "host {h}: {why} (on-unsupported = \"skip\" would skip such configurations)"
                )));
            }
            Err((_, why)) => return Ok(RunEnd::Failed(format!("host {h}: {why}"))),
        }
    }
    let ping_host = &exp.hosts[&exp.ping_host];
    let fwd_host = &exp.hosts[&exp.fwd_host];
    let safety = plan.wall_per_run * 3 + Duration::from_secs(60);
    let fwd_args = fwd_argv(exp, cfg, fwd_host, &opts.local_bin, safety);
    let remote_out = match &ping_host.exec {
        Exec::Local => tmp.display().to_string(),
        Exec::Ssh { .. } => format!("/tmp/xdplat-sweep-{}-{}", std::process::id(), run.id),
    };
    let ping_args = ping_argv(
        exp,
        cfg,
        run.rep,
        ping_host,
        fwd_host,
        &opts.local_bin,
        &remote_out,
    );

    let r0 = cpu::children();
    let s0 = cpu::softirq_ticks();
    let mut fwd = transport::spawn_measured(fwd_host, &fwd_args)?;
    store.set_children(&local_pids(&[&fwd]))?;
    if let Err((st, why)) = wait_ready(&mut fwd, stop) {
        stop_role(&mut fwd);
        store.set_children(&[])?;
        if stop.load(Ordering::Relaxed) {
            return Err(Error::Interrupted);
        }
        return Ok(role_failed(exp, cfg, "fwd", st, &why));
    }
    let mut ping = transport::spawn_measured(ping_host, &ping_args)?;
    store.set_children(&local_pids(&[&fwd, &ping]))?;
    let ping_status = wait_or_stop(&mut ping, stop)?;
    let r1 = cpu::children();
    let Some(ping_status) = ping_status else {
        stop_role(&mut ping);
        stop_role(&mut fwd);
        store.set_children(&[])?;
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(Error::Interrupted);
    };
    let fwd_ended = stop_role(&mut fwd);
    let r2 = cpu::children();
    let s1 = cpu::softirq_ticks();
    store.set_children(&[])?;
    hc.restore()?;
    drop(holders);
    store.set_remote(&[])?;
    if stop.load(Ordering::Relaxed) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(Error::Interrupted);
    }
    if !ping_status.success() {
        let why = tail(&stderr_after_exit(&ping));
        let _ = std::fs::remove_dir_all(&tmp);
        return Ok(role_failed(exp, cfg, "ping", Some(ping_status), &why));
    }
    if let Some(st) = fwd_ended.filter(|st| !st.success()) {
        let why = tail(&stderr_after_exit(&fwd));
        let _ = std::fs::remove_dir_all(&tmp);
        return Ok(role_failed(
            exp,
            cfg,
            "fwd (ended during the run)",
            Some(st),
            &why,
        ));
    }
    if ping_host.exec != Exec::Local {
        transport::fetch_dir(ping_host, &remote_out, &tmp)?;
    }
    let summary_path = tmp.join(results::SUMMARY_FILE);
    let mut summary = match results::read_summary(&summary_path) {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Ok(RunEnd::Failed(format!("ping left no summary: {e}")));
        }
    };
    summary.params.extend(extra_params(exp, cfg));
    if exp.pingers.len() > 1 {
        summary
            .params
            .insert("pinger".into(), json!(exp.ping_host.clone()));
    }
    let mut cost = serde_json::Map::new();
    let (p, f) = (r1.since(r0), r2.since(r1));
    let mut softirq = 0;
    let mut complete = true;
    for (role, hs, local, proc_) in [("ping", ping_host, p, &ping), ("fwd", fwd_host, f, &fwd)] {
        let times = if hs.exec == Exec::Local {
            Some(local)
        } else {
            let cpus = role_cpu(exp, cfg, role, hs).map(|c| vec![c]);
            match remote_cost(proc_, cpus.as_deref()) {
                Some((t, si)) => {
                    softirq += si;
                    Some(t)
                }
                None => {
                    complete = false;
                    None
                }
            }
        };
        if let Some(t) = times {
            cost.insert(format!("{role}_user_ns"), json!(t.user.as_nanos() as u64));
            cost.insert(format!("{role}_sys_ns"), json!(t.sys.as_nanos() as u64));
        }
    }
    if ping_host.exec == Exec::Local || fwd_host.exec == Exec::Local {
        let cpus = involved_cpus(exp, cfg);
        softirq += cpu::softirq_ns(&s0, &s1, cpus.as_deref());
        cost.insert("softirq_cpus".into(), json!(cpus));
    }
    if complete {
        cost.insert("softirq_ns".into(), json!(softirq));
    }
    summary.extra.insert("cpu".into(), Value::Object(cost));
    summary.extra.insert(
        "sweep".into(),
        json!({ "config": cfg.id, "run": run.id, "label": cfg.label(),
                "host_settings": applied }),
    );
    results::write_summary(&tmp, &summary)?;
    store.commit(&run.id)?;
    Ok(RunEnd::Done {
        p50_ns: summary.rtt_ns.map(|r| r.median),
    })
}

/// Remote `xdplat host apply --hold` processes of a run, stopped (and so restored) on drop.
struct Holders(Vec<(String, RoleProc)>);

impl Drop for Holders {
    fn drop(&mut self) {
        for (_, p) in self.0.iter_mut().rev() {
            stop_role(p);
        }
    }
}

/// Applies `items` on ssh host `hs` with `xdplat host apply --hold`, waiting for its
/// "holding" line; Err(exit code, messages) when it ends first.
fn hold_remote(
    hs: &HostSpec,
    items: &[String],
    local_bin: &Path,
    stop: &AtomicBool,
) -> Result<RoleProc, (Option<i32>, String)> {
    let mut argv = vec![
        transport::binary(hs, local_bin),
        "host".into(),
        "apply".into(),
    ];
    if let Some(ns) = &hs.netns {
        argv.push(format!("--netns={ns}"));
    }
    if let Some(i) = &hs.iface {
        argv.push(format!("--iface={i}"));
    }
    argv.extend(items.iter().map(|i| format!("--set={i}")));
    argv.push("--hold".into());
    let mut p = transport::spawn(hs, &argv).map_err(|e| (None, e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        match p.lines.recv_timeout(Duration::from_millis(20)) {
            Ok(l) if l.starts_with("holding ") => return Ok(p),
            Ok(l) => seen.push(l),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if let Ok(Some(st)) = p.child.try_wait() {
            seen.extend(stderr_after_exit(&p));
            return Err((st.code(), tail(&seen)));
        }
    }
    stop_role(&mut p);
    let st = p.child.wait().ok().and_then(|s| s.code());
    seen.extend(p.drain());
    Err((st, tail(&seen)))
}

/// What an ssh role's wrapper reported (waiting briefly for its last line).
fn remote_cost(p: &RoleProc, cpus: Option<&[usize]>) -> Option<(cpu::ChildTimes, u64)> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let marks = p.marks.lock().map(|m| m.clone()).unwrap_or_default();
        if let Some(c) = cpu::remote_cost(&marks, cpus) {
            return Some(c);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The CPUs the roles are pinned to (local hosts), or None (all CPUs) when a role floats.
fn involved_cpus(exp: &Experiment, cfg: &Config) -> Option<Vec<usize>> {
    let mut set = BTreeMap::new();
    for (role, h) in [("ping", &exp.ping_host), ("fwd", &exp.fwd_host)] {
        let hs: &HostSpec = &exp.hosts[h];
        if hs.exec != Exec::Local {
            continue;
        }
        match role_cpu(exp, cfg, role, hs) {
            Some(c) => {
                set.insert(c, ());
            }
            None => return None,
        }
    }
    Some(set.into_keys().collect())
}

/// The CPU `role` is pinned to in `cfg` (a cpu axis, else its host's `cpu`).
fn role_cpu(exp: &Experiment, cfg: &Config, role: &str, hs: &HostSpec) -> Option<usize> {
    {
        let from_axis = cfg.values.iter().find_map(|(k, v)| {
            let a = exp.axes.iter().find(|a| &a.key == k)?;
            let hit = a.name == "cpu"
                && matches!(
                    (&a.scope, role),
                    (crate::Scope::All, _)
                        | (crate::Scope::Ping, "ping")
                        | (crate::Scope::Fwd, "fwd")
                );
            match (hit, v) {
                (true, Val::Int(i)) => Some(*i as usize),
                _ => None,
            }
        });
        from_axis.or(hs.cpu)
    }
}
