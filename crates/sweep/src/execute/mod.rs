//! One run, or one group of runs when several pingers probe at the same time: host settings
//! applied ([`settings`]), forwarders started and ready (their `probe::protocol` readiness
//! announcement, not a sleep), pingers run, forwarders stopped, host settings restored, the
//! sweep's facts and the CPU cost ([`cost`]) added to each `summary.json`, run directories
//! committed by rename.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use probe::protocol::{Event, Exit};
use serde_json::json;

use crate::Error;
use crate::cpu;
use crate::experiment::{Exec, Experiment, OnUnsupported};
use crate::plan::{Config, Plan, Run};
use crate::roles::{extra_params, fwd_argv, ping_argv};
use crate::runner::Options;
use crate::store::Store;
use crate::transport::{self, RoleProc};

mod cost;
mod noreply;
mod procs;
mod settings;

use procs::{local_pids, stderr_after_exit, stop_role, tail, wait_for, wait_or_stop};

/// How a run (or a group) ended.
pub(crate) enum RunEnd {
    /// Committed; the median RTT of each member.
    Done {
        p50_ns: Vec<Option<f64>>,
    },
    Failed(String),
    Skipped(String),
}

/// One pinger's part of a group.
pub(crate) struct Member<'a> {
    pub run: &'a Run,
    /// The experiment as run from this member's pinger, with its interval.
    pub exp: Experiment,
    /// The derived rate with `rate = "auto"`.
    pub rate: Option<results::Rate>,
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

/// Where a role of run `run` on `host` writes the verifier's log of a refused load (only then is
/// the directory made): `OUT/failed/RUN/` here, a directory in /tmp on an ssh host.
fn log_dir(opts: &Options, host: &crate::experiment::HostSpec, run: &str) -> String {
    match &host.exec {
        Exec::Local => opts.out.join("failed").join(run).display().to_string(),
        Exec::Ssh { .. } => format!("/tmp/xdplat-sweep-{}-{run}-log", std::process::id()),
    }
}

/// Where each member's ping writes: its tmp directory, or a directory on its ssh host.
fn ping_outs(members: &[Member]) -> Vec<String> {
    members
        .iter()
        .map(|m| match &m.exp.hosts[&m.exp.ping_host].exec {
            Exec::Local => m.tmp.display().to_string(),
            Exec::Ssh { .. } => format!("/tmp/xdplat-sweep-{}-{}", std::process::id(), m.run.id),
        })
        .collect()
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
    let applied = match settings::apply(cfg, members, store, opts, stop)? {
        Ok(a) => a,
        Err(end) => return Ok(end),
    };
    let safety = plan.wall_per_run * 3 + Duration::from_secs(60);
    let outs = ping_outs(members);
    let r0 = cpu::children();
    let s0 = cpu::softirq_ticks();
    let mut fwds: Vec<RoleProc> = Vec::new();
    for (i, queues) in forwarders(members) {
        let m = &members[i];
        let fwd_host = &m.exp.hosts[&m.exp.fwd_host];
        let mut args = fwd_argv(&m.exp, cfg, fwd_host, &opts.local_bin, safety);
        args.push(format!("--log-dir={}", log_dir(opts, fwd_host, &m.run.id)));
        if queues > 1 {
            args.push(format!("--queues={queues}"));
        }
        fwds.push(transport::spawn_measured(fwd_host, &args)?);
        store.set_children(&local_pids(&fwds.iter().collect::<Vec<_>>()))?;
        let f = fwds.last_mut().expect("just pushed");
        if let Err((st, why)) = wait_for(f, stop, |e| matches!(e, Event::Ready(_))) {
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
    for (m, out) in members.iter().zip(&outs) {
        let ping_host = &m.exp.hosts[&m.exp.ping_host];
        let fwd_host = &m.exp.hosts[&m.exp.fwd_host];
        let mut args = ping_argv(
            &m.exp,
            cfg,
            m.run.rep,
            ping_host,
            fwd_host,
            &opts.local_bin,
            out,
        );
        args.push(format!("--log-dir={}", log_dir(opts, ping_host, &m.run.id)));
        pings.push(transport::spawn_measured(ping_host, &args)?);
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
    // what each forwarder said as it ended: its stopped event, or its last lines
    let fwd_said: Vec<Vec<String>> = fwds.iter().map(stderr_after_exit).collect();
    let fwd_stopped: Vec<Option<probe::protocol::Stopped>> = fwd_said
        .iter()
        .map(|lines| {
            lines.iter().find_map(|l| match Event::parse(l) {
                Some(Event::Stopped(s)) => Some(s),
                _ => None,
            })
        })
        .collect();
    let r2 = cpu::children();
    let s1 = cpu::softirq_ticks();
    store.set_children(&[])?;
    let host_settings = applied.applied.clone();
    applied.restore(store)?;
    if stop.load(Ordering::Relaxed) {
        remove_tmps(members);
        return Err(Error::Interrupted);
    }
    let ended = pings
        .iter()
        .zip(&ping_status)
        .map(|(p, st)| ("ping", Err(p), *st))
        .chain(
            fwd_said
                .iter()
                .zip(&fwd_ended)
                .map(|(said, st)| ("fwd (ended during the run)", Ok(said), *st)),
        );
    for (role, said, st) in ended {
        if let Some(st) = st.filter(|s| !s.success()) {
            let why = match said {
                Ok(lines) => tail(lines),
                Err(p) => tail(&stderr_after_exit(p)),
            };
            remove_tmps(members);
            return Ok(role_failed(exp, cfg, role, Some(st), &why));
        }
    }
    let times = (r1.since(r0), r2.since(r1));
    let mut p50 = Vec::new();
    for (k, m) in members.iter().enumerate() {
        let ping_host = &m.exp.hosts[&m.exp.ping_host];
        if ping_host.exec != Exec::Local {
            transport::fetch_dir(ping_host, &outs[k], &m.tmp)?;
        }
        let cost = cost::cost(members, cfg, &pings[k], &fwds, times, (&s0, &s1));
        let fwd = forwarders(members)
            .iter()
            .position(|(i, _)| {
                members[*i].exp.hosts[&members[*i].exp.fwd_host].iface
                    == m.exp.hosts[&m.exp.fwd_host].iface
            })
            .and_then(|j| fwd_stopped.get(j).cloned().flatten());
        match record(members, m, cfg, cost, &host_settings, fwd.as_ref())? {
            Ok(median) => p50.push(median),
            Err(why) => {
                remove_tmps(members);
                return Ok(RunEnd::Failed(why));
            }
        }
    }
    for m in members {
        store.commit(&m.tmp, &m.dst)?;
    }
    Ok(RunEnd::Done { p50_ns: p50 })
}

/// Adds what the ping could not know to member `m`'s summary: the forwarder's knobs and the
/// host settings (`params`), the pinger of a group, the derived rate, the CPU cost and the
/// sweep's facts. Returns the run's median RTT; Ok(Err(why)) when the ping left no summary.
fn record(
    members: &[Member],
    m: &Member,
    cfg: &Config,
    mut cost: results::Cpu,
    host_settings: &[results::HostSetting],
    fwd: Option<&probe::protocol::Stopped>,
) -> Result<Result<Option<f64>, String>, Error> {
    let summary_path = m.tmp.join(results::SUMMARY_FILE);
    let mut summary = match results::read_summary(&summary_path) {
        Ok(s) => s,
        Err(e) => {
            return Ok(Err(format!(
                "ping on {} left no summary: {e}",
                m.exp.ping_host
            )));
        }
    };
    if summary.packets.sent > 0 && summary.packets.received == 0 {
        return Ok(Err(noreply::why(&summary, fwd)));
    }
    summary.params.extend(extra_params(&m.exp, cfg));
    if m.exp.pingers.len() > 1 {
        summary
            .params
            .insert("pinger".into(), json!(m.exp.ping_host.clone()));
    }
    if let Some(rate) = &m.rate {
        // the derived interval changes from run to run: the configuration's identity
        // (`params`) says `auto`, the value used is in `rate`
        summary.params.insert("interval_ns".into(), json!("auto"));
        if m.exp.probe.count.is_none() {
            summary.params.insert("count".into(), json!("auto"));
        }
        summary.set_rate(rate);
    }
    let together: Option<Vec<String>> =
        (members.len() > 1).then(|| members.iter().map(|m| m.exp.ping_host.clone()).collect());
    // RUSAGE_CHILDREN cannot tell the processes of one group apart
    cost.together.clone_from(&together);
    summary.set_cpu(&cost);
    let control = crate::control::check(&m.exp);
    if !control.quiet {
        summary.warnings.extend(control.problems.iter().cloned());
    }
    summary.extra.insert(
        "control".into(),
        serde_json::to_value(&control).expect("plain data serialises"),
    );
    summary.set_sweep(&results::Sweep {
        config: cfg.id.clone(),
        run: m.run.id.clone(),
        label: cfg.label(),
        host_settings: host_settings.to_vec(),
        together,
    });
    results::write_summary(&m.tmp, &summary)?;
    Ok(Ok(summary.rtt_ns.map(|r| r.median)))
}

fn skip_axis(exp: &Experiment, cfg: &Config) -> bool {
    cfg.values.iter().any(|(k, _)| {
        exp.axes
            .iter()
            .any(|a| &a.key == k && a.on_unsupported == OnUnsupported::Skip)
    })
}

/// A role's [`Exit::BadInput`] (the value cannot be used here) skips the configuration when one
/// of its axes says `on-unsupported = "skip"`.
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
    let bad_input = st.and_then(|s| s.code()).and_then(Exit::of) == Some(Exit::BadInput);
    if bad_input && skip_axis(exp, cfg) {
        RunEnd::Skipped(msg)
    } else {
        RunEnd::Failed(msg)
    }
}
