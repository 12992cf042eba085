//! The systematic bad-input suite: one table of cases, by class (what is wrong) and by command,
//! each run as a user would (the real binary, on a real namespace testbed), each with the exit
//! code it must end with, words its message must hold (the parameter or key, and often the fix),
//! and the check that nothing changed: no namespace made or removed, no XDP program left on the
//! testbed, the host journal and a host setting as before, not one file created, changed or
//! removed in the case's directory, no panic. The cases come from the classes of issue 16 (every
//! example it gives is one of them) and cover every command.
//!
//! At the end it prints the number of cases per class and per command (the closing
//! note quotes it).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::sweeps::gro_flush_timeout;
use common::*;

#[path = "refusals/analysis_cases.rs"]
mod analysis_cases;
#[path = "refusals/cases.rs"]
mod refusal_cases;
#[path = "refusals/sweep_cases.rs"]
mod sweep_cases;
use refusal_cases::{Case, Names, cases};

/// Every file below `dir`: path, length and modification time.
fn tree(dir: &Path) -> BTreeMap<PathBuf, (u64, Option<std::time::SystemTime>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if m.is_dir() {
                stack.push(p.clone());
            }
            out.insert(p, (m.len(), m.modified().ok()));
        }
    }
    out
}

/// The namespaces whose names start with one of `prefixes`.
fn namespaces(prefixes: &[String]) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| prefixes.iter().any(|p| n.starts_with(p.as_str())))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Runs `argv` in `dir` with its own host state directory; kills it after a minute.
fn run(argv: &[String], dir: &Path, state: &Path) -> (Option<i32>, String, u32, Duration) {
    let t = Instant::now();
    let mut child = xdplat()
        .args(argv)
        .current_dir(dir)
        .env("XDPLAT_STATE_DIR", state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn xdplat");
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().expect("output");
    (out.status.code(), text(&out), pid, t.elapsed())
}

#[test]
fn every_bad_input_is_refused_and_changes_nothing() {
    let Some(tb) = TestTestbed::new("ref", 1) else {
        return;
    };
    let fresh = host::test_support::unique_name("refx");
    let base = out_dir("refusals");
    std::fs::create_dir_all(&base).expect("mkdir");
    let ours = vec![tb.name().to_string(), fresh.clone()];
    let mut failures = Vec::new();
    let mut by_class: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_command: BTreeMap<String, usize> = BTreeMap::new();
    let all = cases(&Names::of(&tb, &fresh));
    for (i, case) in all.iter().enumerate() {
        let dir = base.join(format!("case-{i}"));
        let state = base.join(format!("state-{i}"));
        std::fs::create_dir_all(&dir).expect("mkdir case");
        std::fs::create_dir_all(&state).expect("mkdir state");
        for (name, body) in &case.files {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, body).expect("write case file");
        }
        let argv = case.argv(&dir);
        let files_before = tree(&dir);
        let ns_before = namespaces(&ours);
        let gro_before = gro_flush_timeout(&tb);
        let journal = state.join("journal.json");
        let journal_before = std::fs::read(&journal).ok();
        let (code, msg, pid, took) = run(&argv, &dir, &state);
        let mut why = Vec::new();
        if code != Some(case.code) {
            why.push(format!("exit {code:?}, expected {}", case.code));
        }
        for needle in &case.says {
            if !msg.contains(needle.as_str()) {
                why.push(format!("message lacks {needle:?}"));
            }
        }
        if msg.contains("panicked") || msg.contains("memory allocation of") {
            why.push("panicked".into());
        }
        if tree(&dir) != files_before {
            why.push(format!(
                "files changed: {:?}",
                tree(&dir)
                    .keys()
                    .filter(|k| !files_before.contains_key(*k))
                    .collect::<Vec<_>>()
            ));
        }
        if namespaces(&ours) != ns_before {
            why.push(format!("namespaces changed: {:?}", namespaces(&ours)));
        }
        if !namespaces(&[format!("xb{}", pid % 100_000_000)]).is_empty() {
            why.push("the bench testbed was made".into());
        }
        for end in [&tb.ab().a, &tb.ab().b] {
            if xdp_attached(&end.netns, &end.iface) {
                why.push(format!("XDP left on {}", end.iface));
            }
        }
        if gro_flush_timeout(&tb) != gro_before {
            why.push("a host setting changed".into());
        }
        if std::fs::read(&journal).ok() != journal_before {
            why.push("the journal changed".into());
        }
        if took > case.within {
            why.push(format!("took {took:?}, more than {:?}", case.within));
        }
        println!(
            "[{}] {} {:?}: exit {code:?} in {:.0?}: {}",
            case.class.as_str(),
            case.command(),
            case.args,
            took,
            msg.lines().last().unwrap_or("")
        );
        if !why.is_empty() {
            failures.push(format!(
                "case {i} [{}] {:?}: {}\n    output: {msg}",
                case.class.as_str(),
                argv,
                why.join("; ")
            ));
        }
        *by_class.entry(case.class.as_str()).or_default() += 1;
        *by_command.entry(case.command()).or_default() += 1;
    }
    println!("{} cases", all.len());
    println!("by class: {by_class:?}");
    println!("by command: {by_command:?}");
    let _ = std::fs::remove_dir_all(&base);
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn the_table_covers_every_command_and_class() {
    let names = [
        "testbed up",
        "testbed down",
        "testbed status",
        "ping",
        "fwd",
        "host show",
        "host apply",
        "host restore",
        "demo",
        "analyze",
        "bench",
        "compare",
        "doctor",
        "sweep plan",
        "sweep run",
        "sweep load",
    ];
    let all = cases(&Names::placeholder());
    for n in names {
        assert!(
            all.iter().any(|c: &Case| c.command() == n),
            "no case for `xdplat {n}`"
        );
    }
}
