//! The experiment text of a tune: the link's part (an embedded testbed, when the user gives no
//! experiment file) and the space's part, derived from what the link's interfaces support
//! (`xdplat doctor --json` and `xdplat host show --json`, run where each role runs: here, in a
//! namespace, or in the VM guest over ssh).

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::space::{self, Support};
use crate::Error;
use crate::experiment::{Exec, Experiment, HostSpec};
use crate::transport;

/// Lines of `tune.toml` that say what the derived space left out.
pub const LEFT_OUT: &str = "# left out: ";

/// The link of a tune without an experiment file: the embedded testbed `name`.
#[derive(Debug, Clone)]
pub struct Link {
    pub name: String,
    pub kind: host::testbed::Kind,
    /// None: `rate = "auto"` (the paper's equation (1)).
    pub interval: Option<Duration>,
    pub duration: Duration,
    pub repetitions: u32,
    pub slice: Duration,
}

fn dur(d: Duration) -> String {
    humantime::format_duration(d).to_string().replace(' ', "")
}

/// The experiment text of `link` (no axes: the tune derives them). On the namespace testbed the
/// pinger is pinned to the first CPU of `cpus` (the space places the forwarder).
pub fn base_text(link: &Link, cpus: &[usize]) -> String {
    let mut t = format!(
        "# the link of `xdplat tune`: testbed {} ({})\n[testbed]\nname = \"{}\"\nkind = \"{}\"\n\n",
        link.name,
        link.kind.name(),
        link.name,
        link.kind.name()
    );
    if link.kind == host::testbed::Kind::Netns {
        t.push_str(&format!("[hosts.a]\nnetns = \"{}-a\"\n", link.name));
        if cpus.len() >= 2 {
            t.push_str(&format!("cpu = {}\n", cpus[0]));
        }
        t.push_str(&format!("\n[hosts.b]\nnetns = \"{}-b\"\n\n", link.name));
    }
    t.push_str("[roles]\nping = \"a\"\nfwd = \"b\"\n\n[probe]\n");
    match link.interval {
        Some(i) => t.push_str(&format!("interval = \"{}\"\n", dur(i))),
        None => t.push_str("rate = \"auto\"\n"),
    }
    t.push_str(&format!(
        "duration = \"{}\"\nwarmup = 100\nrepetitions = {}\nstamp = true\nsize = 88\nlinger = \"100ms\"\nbaseline = false\n\n[search]\nslice = \"{}\"\n",
        dur(link.duration),
        link.repetitions,
        dur(link.slice)
    ));
    t
}

fn json_of(hs: &HostSpec, argv: &[String]) -> Result<Value, Error> {
    let out = transport::output(hs, argv)?;
    serde_json::from_str(&out).map_err(|e| Error::Command {
        what: transport::describe(hs, argv),
        why: format!("its JSON does not parse: {e}"),
    })
}

fn args(hs: &HostSpec, local_bin: &Path, what: &[&str]) -> Vec<String> {
    let mut argv = vec![transport::binary(hs, local_bin)];
    argv.extend(what.iter().map(|s| s.to_string()));
    if let Some(ns) = &hs.netns {
        argv.push(format!("--netns={ns}"));
    }
    if let Some(i) = &hs.iface {
        argv.push(format!("--iface={i}"));
    }
    argv.push("--json".into());
    argv
}

/// `exp`'s text with the axes worth trying on its link, and what was left out. `status`: the
/// embedded testbed the hosts live on.
pub fn derived_text(
    exp: &Experiment,
    local_bin: &Path,
    status: Option<&host::testbed::Status>,
) -> Result<(String, Vec<String>), Error> {
    let mut e = exp.clone();
    if let Some(st) = status {
        crate::vmbed::attach(&mut e, st)?;
        crate::prepare::fill_from_testbed(&mut e, st);
    }
    let fwd = &e.hosts[&e.fwd_host];
    let ping = &e.hosts[&e.ping_host];
    let doctors = [
        json_of(fwd, &args(fwd, local_bin, &["doctor"]))?,
        json_of(ping, &args(ping, local_bin, &["doctor"]))?,
    ];
    let show = json_of(fwd, &args(fwd, local_bin, &["host", "show"]))?;
    let local = fwd.exec == Exec::Local && ping.exec == Exec::Local;
    let cpus = match (local, ping.cpu) {
        (true, Some(p)) => {
            let mut c = probe::knobs::allowed_cpus().unwrap_or_default();
            c.retain(|x| *x != p);
            c.insert(0, p);
            c
        }
        _ => Vec::new(),
    };
    let support = Support::from_reports(&doctors, &show, cpus);
    let sp = space::derive(&support, &e.fwd_host);
    let mut text: String = exp
        .text
        .lines()
        .filter(|l| l.trim() != "[axes]")
        .map(|l| format!("{l}\n"))
        .collect();
    text.push_str(&format!(
        "\n# the space xdplat tune derived for this link (Linux {}, fwd {} on {:?})\n",
        support.release,
        fwd.iface.as_deref().unwrap_or("?"),
        fwd.netns.as_deref().unwrap_or("the host")
    ));
    for l in &sp.left_out {
        text.push_str(&format!("{LEFT_OUT}{l}\n"));
    }
    text.push_str(&sp.toml());
    Ok((text, sp.left_out))
}
