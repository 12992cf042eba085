//! One run, or one group of runs when several pingers probe at the same time: host settings
//! applied under the host lock (journaled, restored at the end, and by the next start after a
//! SIGKILL), forwarders started and ready (their readiness line, not a sleep), pingers run,
//! forwarders stopped, CPU cost merged into each `summary.json`, run directories committed by
//! rename.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cpu;
use crate::experiment::{Exec, Experiment, HostSpec, Kind, OnUnsupported};
use crate::plan::{Config, Plan, Run};
use crate::roles::{extra_params, fwd_argv, ping_argv};
use crate::runner::Options;
use crate::store::Store;
use crate::transport::{self, RoleProc};
use crate::{Error, Val};

/// How a run (or a group) ended.
pub(crate) enum RunEnd {
    /// Committed; the median RTT of each member.
    Done {
        p50_ns: Vec<Option<f64>>,
    },
    Failed(String),
    Skipped(String),
}

/// Host settings for an ssh host (keyed by host and interface): the host, its items, and
/// whether any of their axes says `on-unsupported = "skip"`.
type RemoteItems = (HostSpec, Vec<String>, bool);

/// Softirq ticks per CPU before and after the roles ran.
type Ticks<'a> = (&'a [(usize, u64)], &'a [(usize, u64)]);

/// One pinger's part of a group.
pub(crate) struct Member<'a> {
    pub run: &'a Run,
    /// The experiment as run from this member's pinger, with its interval.
    pub exp: Experiment,
    /// `summary.extra.rate` with `rate = "auto"`.
    pub rate: Option<Value>,
    /// Where the run is written, and where it is committed.
    pub tmp: PathBuf,
    pub dst: PathBuf,
}

/// The forwarder processes of a group: one per interface of the forwarder facing a pinger,
/// with `--queues=N` when N pingers share one interface. The member whose host facts it uses.
fn forwarders(members: &[Member]) -> Vec<(usize, u32)> {
    let mut out: Vec<(usize, u32)> = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let iface = &m.exp.hosts[&m.exp.fwd_host].iface;
        match out
            .iter_mut()
            .find(|(j, _)| &members[*j].exp.hosts[&members[*j].exp.fwd_host].iface == iface)
        {
            Some((_, n)) => *n += 1,
            None => out.push((i, 1)),
        }
    }
    out
}

fn remove_tmps(members: &[Member]) {
    for m in members {
        let _ = std::fs::remove_dir_all(&m.tmp);
    }
}

/// Runs configuration `cfg` from every member's pinger at once (one member: a run alone).
pub(crate) fn run_group(
    plan: &Plan,
    cfg: &Config,
    members: &[Member],
    store: &Store,
    opts: &Options,
    stop: &AtomicBool,
) -> Result<RunEnd, Error> {
    let exp = &members[0].exp;
    for m in members {
        store.remove(&m.tmp)?;
    }
    let mut hc = host::HostConfig::new(&opts.state)?;
    let mut applied = Vec::new();
    let mut remote: BTreeMap<(String, Option<String>), RemoteItems> = BTreeMap::new();
    for (key, v) in &cfg.values {
        let Some(a) = exp.axes.iter().find(|a| &a.key == key) else {
            continue;
        };
        if a.kind != Kind::HostSetting {
            continue;
        }
        // each member's hosts, the forwarder once per interface it serves
        let mut targets: Vec<HostSpec> = Vec::new();
        for m in members {
            for h in m.exp.setting_hosts(&a.scope) {
                let hs = &m.exp.hosts[&h];
                if !targets
                    .iter()
                    .any(|t| t.name == hs.name && t.iface == hs.iface)
                {
                    targets.push(hs.clone());
                }
            }
        }
        for hs in targets {
            let item = format!("{}={}", a.name, v.arg());
            if hs.exec != Exec::Local {
                let e = remote
                    .entry((hs.name.clone(), hs.iface.clone()))
                    .or_insert_with(|| (hs.clone(), Vec::new(), false));
                e.1.push(item);
                e.2 |= a.on_unsupported == OnUnsupported::Skip;
                continue;
            }
            let target = host::Target::new(hs.netns.as_deref(), hs.iface.as_deref());
            match hc.apply(&target, &[item], host::OnUnsupported::Error) {
                Ok(o) => applied.extend(o),
                Err(e @ host::Error::Unsupported { .. }) => {
                    return match a.on_unsupported {
                        OnUnsupported::Skip => Ok(RunEnd::Skipped(format!("{key}: {e}"))),
                        OnUnsupported::Error => Err(Error::BadInput(format!(
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
    for ((h, _), (hs, items, skip)) in &remote {
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
    let safety = plan.wall_per_run * 3 + Duration::from_secs(60);
    let mut ping_args = Vec::new();
    let mut remote_outs = Vec::new();
    for m in members {
        let ping_host = &m.exp.hosts[&m.exp.ping_host];
        let remote_out = match &ping_host.exec {
            Exec::Local => m.tmp.display().to_string(),
            Exec::Ssh { .. } => format!("/tmp/xdplat-sweep-{}-{}", std::process::id(), m.run.id),
        };
        ping_args.push(ping_argv(
            &m.exp,
            cfg,
            m.run.rep,
            ping_host,
            &m.exp.hosts[&m.exp.fwd_host],
            &opts.local_bin,
            &remote_out,
        ));
        remote_outs.push(remote_out);
    }

    let r0 = cpu::children();
    let s0 = cpu::softirq_ticks();
    let mut fwds: Vec<RoleProc> = Vec::new();
    for (i, queues) in forwarders(members) {
        let m = &members[i];
        let fwd_host = &m.exp.hosts[&m.exp.fwd_host];
        let mut args = fwd_argv(&m.exp, cfg, fwd_host, &opts.local_bin, safety);
        if queues > 1 {
            args.push(format!("--queues={queues}"));
        }
        fwds.push(transport::spawn_measured(fwd_host, &args)?);
        store.set_children(&local_pids(&fwds.iter().collect::<Vec<_>>()))?;
        let f = fwds.last_mut().expect("just pushed");
        if let Err((st, why)) = wait_ready(f, stop) {
            fwds.iter_mut().for_each(|f| {
                stop_role(f);
            });
            store.set_children(&[])?;
            if stop.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            return Ok(role_failed(exp, cfg, "fwd", st, &why));
        }
    }
    let mut pings = Vec::new();
    for (m, args) in members.iter().zip(&ping_args) {
        pings.push(transport::spawn_measured(
            &m.exp.hosts[&m.exp.ping_host],
            args,
        )?);
        store.set_children(&local_pids(&fwds.iter().chain(&pings).collect::<Vec<_>>()))?;
    }
    let mut ping_status = Vec::new();
    for p in pings.iter_mut() {
        ping_status.push(wait_or_stop(p, stop)?);
    }
    let r1 = cpu::children();
    if ping_status.iter().any(Option::is_none) {
        pings.iter_mut().chain(fwds.iter_mut()).for_each(|p| {
            stop_role(p);
        });
        store.set_children(&[])?;
        remove_tmps(members);
        return Err(Error::Interrupted);
    }
    let fwd_ended: Vec<Option<ExitStatus>> = fwds.iter_mut().map(stop_role).collect();
    let r2 = cpu::children();
    let s1 = cpu::softirq_ticks();
    store.set_children(&[])?;
    hc.restore()?;
    drop(holders);
    store.set_remote(&[])?;
    if stop.load(Ordering::Relaxed) {
        remove_tmps(members);
        return Err(Error::Interrupted);
    }
    for (p, st) in pings.iter().zip(&ping_status) {
        if let Some(st) = st.filter(|s| !s.success()) {
            let why = tail(&stderr_after_exit(p));
            remove_tmps(members);
            return Ok(role_failed(exp, cfg, "ping", Some(st), &why));
        }
    }
    for (f, st) in fwds.iter().zip(&fwd_ended) {
        if let Some(st) = st.filter(|st| !st.success()) {
            let why = tail(&stderr_after_exit(f));
            remove_tmps(members);
            return Ok(role_failed(
                exp,
                cfg,
                "fwd (ended during the run)",
                Some(st),
                &why,
            ));
        }
    }
    let together: Vec<&str> = members.iter().map(|m| m.exp.ping_host.as_str()).collect();
    let mut p50 = Vec::new();
    for (k, m) in members.iter().enumerate() {
        let ping_host = &m.exp.hosts[&m.exp.ping_host];
        if ping_host.exec != Exec::Local {
            transport::fetch_dir(ping_host, &remote_outs[k], &m.tmp)?;
        }
        let summary_path = m.tmp.join(results::SUMMARY_FILE);
        let mut summary = match results::read_summary(&summary_path) {
            Ok(s) => s,
            Err(e) => {
                remove_tmps(members);
                return Ok(RunEnd::Failed(format!(
                    "ping on {} left no summary: {e}",
                    m.exp.ping_host
                )));
            }
        };
        summary.params.extend(extra_params(&m.exp, cfg));
        if m.exp.pingers.len() > 1 {
            summary
                .params
                .insert("pinger".into(), json!(m.exp.ping_host.clone()));
        }
        if let Some(rate) = &m.rate {
            // the derived interval changes from run to run: the configuration's identity
            // (`params`) says `auto`, the value used is in `extra.rate`
            summary.params.insert("interval_ns".into(), json!("auto"));
            if m.exp.probe.count.is_none() {
                summary.params.insert("count".into(), json!("auto"));
            }
            summary.extra.insert("rate".into(), rate.clone());
        }
        let mut cost = cost(
            members,
            cfg,
            &pings[k],
            &fwds,
            (r1.since(r0), r2.since(r1)),
            (&s0, &s1),
        );
        if members.len() > 1 {
            // RUSAGE_CHILDREN cannot tell the processes of one group apart
            cost.insert("together".into(), json!(together));
        }
        summary.extra.insert("cpu".into(), Value::Object(cost));
        summary.extra.insert(
            "sweep".into(),
            json!({ "config": cfg.id, "run": m.run.id, "label": cfg.label(),
                    "host_settings": applied, "together": (members.len() > 1).then_some(&together) }),
        );
        results::write_summary(&m.tmp, &summary)?;
        p50.push(summary.rtt_ns.map(|r| r.median));
    }
    for m in members {
        store.commit(&m.tmp, &m.dst)?;
    }
    Ok(RunEnd::Done { p50_ns: p50 })
}

/// The CPU cost of a member: its ping and the forwarders (user and system ns), and the softirq
/// time of the CPUs involved. Local roles of a group are counted together (RUSAGE_CHILDREN).
fn cost(
    members: &[Member],
    cfg: &Config,
    ping: &RoleProc,
    fwds: &[RoleProc],
    (local_ping, local_fwd): (cpu::ChildTimes, cpu::ChildTimes),
    (s0, s1): Ticks,
) -> serde_json::Map<String, Value> {
    let exp = &members[0].exp;
    let ping_host = &exp.hosts[&exp.ping_host];
    let fwd_host = &exp.hosts[&exp.fwd_host];
    let mut cost = serde_json::Map::new();
    let mut softirq = 0;
    let mut complete = true;
    let mut put = |role: &str, t: cpu::ChildTimes| {
        cost.insert(format!("{role}_user_ns"), json!(t.user.as_nanos() as u64));
        cost.insert(format!("{role}_sys_ns"), json!(t.sys.as_nanos() as u64));
    };
    for (role, hs, local, procs) in [
        ("ping", ping_host, local_ping, vec![ping]),
        ("fwd", fwd_host, local_fwd, fwds.iter().collect()),
    ] {
        if hs.exec == Exec::Local {
            put(role, local);
            continue;
        }
        let cpus = role_cpu(exp, cfg, role, hs).map(|c| vec![c]);
        let mut sum = cpu::ChildTimes::default();
        for p in procs {
            match remote_cost(p, cpus.as_deref()) {
                Some((t, si)) => {
                    softirq += si;
                    sum.user += t.user;
                    sum.sys += t.sys;
                }
                None => complete = false,
            }
        }
        if complete {
            put(role, sum);
        }
    }
    if ping_host.exec == Exec::Local || fwd_host.exec == Exec::Local {
        let cpus = involved_cpus(members, cfg);
        softirq += cpu::softirq_ns(s0, s1, cpus.as_deref());
        cost.insert("softirq_cpus".into(), json!(cpus));
    }
    if complete {
        cost.insert("softirq_ns".into(), json!(softirq));
    }
    cost
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
fn involved_cpus(members: &[Member], cfg: &Config) -> Option<Vec<usize>> {
    let mut set = BTreeMap::new();
    for m in members {
        let exp = &m.exp;
        for (role, h) in [("ping", &exp.ping_host), ("fwd", &exp.fwd_host)] {
            let hs: &HostSpec = &exp.hosts[h];
            if hs.exec != Exec::Local {
                continue;
            }
            set.insert(role_cpu(exp, cfg, role, hs)?, ());
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
