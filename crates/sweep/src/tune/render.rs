//! What a tune hands its user: the winner as ready command lines (`xdplat fwd`, `xdplat ping`,
//! `xdplat host apply`) and as an experiment-file fragment, and the report (`tune.md`, also
//! printed) with the evidence.

use serde_json::Value;

use super::{Pick, Tuned};
use crate::experiment::{Exec, Experiment, Kind, Scope};
use results::us;

/// `arg` as the shell reads it: quoted only when it holds more than a plain word.
fn sh(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._:/=,-+".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_string()
    } else {
        crate::quote::quote(arg)
    }
}

fn flag(key: &str, v: &Value) -> String {
    let v = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    format!("--{key} {}", sh(&v))
}

fn place(exp: &Experiment, host: &str) -> String {
    let h = &exp.hosts[host];
    let mut s = String::new();
    if let Exec::Ssh { dest, .. } = &h.exec {
        s.push_str(&format!("# on {dest} (host {host}):\n"));
    }
    s
}

fn target(exp: &Experiment, host: &str) -> String {
    let h = &exp.hosts[host];
    let mut s = String::new();
    if let Some(ns) = &h.netns {
        s.push_str(&format!(" --netns {}", sh(ns)));
    }
    if let Some(i) = &h.iface {
        s.push_str(&format!(" --iface {}", sh(i)));
    }
    s
}

/// The winner's command lines: host settings first, then the forwarder, then the ping.
pub fn command_lines(exp: &Experiment, w: &Pick) -> Vec<String> {
    let mut ping = Vec::new();
    let mut fwd = Vec::new();
    let mut settings: Vec<(String, String)> = Vec::new();
    for a in &exp.axes {
        let Some(v) = w.values.get(&a.key) else {
            continue;
        };
        match a.kind {
            Kind::Knob(_) => {
                if matches!(a.scope, Scope::All | Scope::Ping) {
                    ping.push(flag(&a.name, v));
                }
                if matches!(a.scope, Scope::All | Scope::Fwd) {
                    fwd.push(flag(&a.name, v));
                }
            }
            Kind::HostSetting => {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                for h in exp.setting_hosts(&a.scope) {
                    settings.push((h, format!("{}={v}", a.name)));
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut hosts: Vec<&String> = settings.iter().map(|(h, _)| h).collect();
    hosts.dedup();
    for h in hosts {
        let sets: Vec<String> = settings
            .iter()
            .filter(|(x, _)| x == h)
            .map(|(_, s)| format!("--set {}", sh(s)))
            .collect();
        out.push(format!(
            "{}xdplat host apply{} {}",
            place(exp, h),
            target(exp, h),
            sets.join(" ")
        ));
    }
    let cpu = |host: &str, flags: &mut Vec<String>| {
        if let Some(c) = exp.hosts[host].cpu
            && !flags.iter().any(|f| f.starts_with("--cpu "))
        {
            flags.push(format!("--cpu {c}"));
        }
    };
    cpu(&exp.fwd_host, &mut fwd);
    cpu(&exp.ping_host, &mut ping);
    let stamp = if exp.probe.stamp { " --stamp" } else { "" };
    out.push(format!(
        "{}xdplat fwd{}{stamp} {}",
        place(exp, &exp.fwd_host),
        target(exp, &exp.fwd_host),
        fwd.join(" ")
    ));
    let fh = &exp.hosts[&exp.fwd_host];
    let dst = fh
        .ip
        .map(|i| i.to_string())
        .unwrap_or_else(|| "FWD_IP".into());
    let interval = if exp.probe.auto_rate {
        "INTERVAL".to_string()
    } else {
        humantime::format_duration(exp.probe.interval)
            .to_string()
            .replace(' ', "")
    };
    out.push(format!(
        "{}xdplat ping{} --dst-ip {dst} --dst-mac auto --interval {interval} --size {} {} --out xdplat-out/tuned",
        place(exp, &exp.ping_host),
        target(exp, &exp.ping_host),
        exp.probe.size,
        ping.join(" ")
    ));
    out
}

fn toml_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// The winner as an experiment-file fragment.
pub fn fragment(t: &Tuned) -> String {
    let mut s = format!(
        "# The winner of `xdplat tune` ({} {}, the default's {}): one value per axis, to paste\n# into an experiment file (or to sweep around).\n[axes]\n",
        t.objective,
        us(t.winner.figures.objective(t.objective).ns),
        us(t.default.figures.objective(t.objective).ns)
    );
    for (k, v) in &t.winner.values {
        s.push_str(&format!("{k} = [{}]\n", toml_value(v)));
    }
    s
}

fn est(e: &super::verdict::Est) -> String {
    format!(
        "{} [{}, {}]",
        us(e.ns),
        us(e.ci_low_ns).trim_end_matches(" µs"),
        us(e.ci_high_ns)
    )
}

fn row(name: &str, p: &Pick) -> String {
    let f = &p.figures;
    format!(
        "| {name} | {} | {} | {} | {} | {} |\n",
        est(&f.median),
        est(&f.p99),
        est(&f.p999),
        f.cores.map_or("-".into(), |c| format!("{c:.2}")),
        p.label
    )
}

fn secs(ns: u64) -> String {
    format!("{:.1} s", ns as f64 / 1e9)
}

/// The report, Markdown.
pub fn report(t: &Tuned) -> String {
    let mut s = String::from("# xdplat tune\n\n");
    s.push_str(&format!(
        "Objective: the lowest {} RTT{}. Seed {}. Budget {}; probe time spent {} ({:.1} % of the {} a full sweep of the {} configurations would take); {} configurations tried in {} races.\n\n",
        t.objective,
        t.max_cpu
            .map(|m| format!(" within {m} CPU cores"))
            .unwrap_or_default(),
        t.seed,
        secs(t.budget_ns),
        secs(t.probe_ns),
        100.0 * t.probe_ns as f64 / t.full_sweep_probe_ns.max(1) as f64,
        secs(t.full_sweep_probe_ns),
        t.space_configs,
        t.tried,
        t.races.len()
    ));
    s.push_str("## Winner\n\n");
    s.push_str(&format!("`{}`\n\n", t.winner.label));
    s.push_str("| | median [95 % CI] | p99 | p99.9 | CPU cores | configuration |\n|---|---|---|---|---|---|\n");
    s.push_str(&row("winner", &t.winner));
    if t.default.config != t.winner.config {
        s.push_str(&row("default", &t.default));
    }
    for f in &t.finalists {
        s.push_str(&row("finalist", f));
    }
    s.push('\n');
    match &t.gap {
        Some(g) if t.default.config != t.winner.config => s.push_str(&format!(
            "Gap to the default ({}): {} [{}, {}] ({:+.1} %), {}{}.\n\n",
            g.objective,
            us(g.diff.ns),
            us(g.diff.ci_low_ns).trim_end_matches(" µs"),
            us(g.diff.ci_high_ns),
            g.percent,
            if g.significant {
                "the interval excludes 0"
            } else {
                "the interval holds 0: not told apart from noise"
            },
            g.test
                .as_ref()
                .map(|c| format!("; median shift Mann–Whitney p = {:.1e}", c.p_value))
                .unwrap_or_default()
        )),
        _ => s.push_str("The default configuration won: nothing to change.\n\n"),
    }
    let runs: Vec<String> = t.winner.figures.per_run_ns.iter().map(|x| us(*x)).collect();
    s.push_str(&format!(
        "The winner's {} by repetition: {} ({} probes, {} lost). The intervals resample probes; the spread of the repetitions is the honest error between sessions.\n\n",
        t.objective,
        runs.join(", "),
        t.winner.figures.probes,
        t.winner.figures.lost
    ));
    s.push_str("## What mattered\n\nEffect of each axis on the race slices' objective (worst value minus best), measured on pairs of raced configurations that differ in that axis alone. An axis without such pairs shows the difference of its values' medians over configurations the search chose, which differ in many axes at once: a hint, never a finding.\n\n| axis | best | worst | effect [95 % CI] | pairs | told from noise |\n|---|---|---|---|---|---|\n");
    for e in &t.effects {
        s.push_str(&format!(
            "| {} | {} | {} | {} [{}, {}] | {} | {} |\n",
            e.param,
            e.best,
            e.worst,
            us(e.effect_ns),
            us(e.ci_low_ns).trim_end_matches(" µs"),
            us(e.ci_high_ns),
            e.pairs.map_or("-".into(), |p| p.to_string()),
            if e.distinguishable { "yes" } else { "no" }
        ));
    }
    s.push_str("\n## Latency against CPU (Pareto front)\n\n");
    if t.pareto.is_empty() {
        s.push_str("No CPU cost was recorded.\n");
    } else {
        s.push_str("| CPU cores | objective | configuration |\n|---|---|---|\n");
        for p in &t.pareto {
            s.push_str(&format!(
                "| {:.2} | {} | {} |\n",
                p.cores,
                us(p.objective_ns),
                p.label
            ));
        }
    }
    s.push_str("\n## The winner, ready to run\n\n```sh\n");
    for c in &t.commands {
        s.push_str(c);
        s.push('\n');
    }
    s.push_str("```\n\nAs an experiment fragment: `winner.toml`. `xdplat tune --apply` puts its host settings in force (journaled; `xdplat host restore` undoes them) and `xdplat tune --check DIR` re-measures it.\n");
    if !t.applied.is_empty() {
        s.push_str("\nApplied:\n\n");
        for a in &t.applied {
            s.push_str(&format!("- {a}\n"));
        }
    }
    if !t.left_out.is_empty() {
        s.push_str("\n## Left out of the space\n\n");
        for l in &t.left_out {
            s.push_str(&format!("- {l}\n"));
        }
    }
    s.push_str("\n## Races\n\n| race | configurations | survivors | slice probe time | stopped |\n|---|---|---|---|---|\n");
    for r in &t.races {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.dir,
            r.candidates,
            r.survivors.len(),
            secs(r.slice_probe_ns),
            r.stopped
        ));
    }
    s.push_str(&format!(
        "\nTune's own decisions took {:.3} s of {:.1} s of wall time ({:.2} %).\n",
        t.decision_ns as f64 / 1e9,
        t.wall_ns as f64 / 1e9,
        100.0 * t.decision_ns as f64 / t.wall_ns.max(1) as f64
    ));
    s
}
