//! `xdplat sweep` through the real binary on a namespace testbed: a small sweep, bad input,
//! refusal of an existing directory, SIGKILL at random moments followed by `--resume` (exactly
//! configurations × repetitions complete runs, none duplicated, hosts restored), also with two
//! pingers together, SIGTERM, and values a device cannot take. More in `sweep_modes.rs`.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::sweeps::*;
use common::{TestTestbed, out_dir};

#[test]
fn small_sweep_then_refusals() {
    let Some(tb) = TestTestbed::new("swp", 1) else {
        return;
    };
    let dir = out_dir("sweep-small");
    let state = dir.join("state");
    // a host setting on B too, so that restoring is exercised
    let file = write(
        &dir,
        &small(tb.name(), 1, "\"b.gro-flush-timeout\" = [0, 50000]"),
    );
    let out = dir.join("out");
    let gro = || gro_flush_timeout(&tb);
    let before = gro();
    assert!(!before.is_empty());
    let t = Instant::now();
    let o = sweep_cmd(&file, &out, &state)
        .arg("--json")
        .output()
        .expect("run sweep");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    println!("small sweep: {:?}\n{stdout}", t.elapsed());
    // 2 × 2 AF_XDP configurations + baseline, 1 repetition
    let runs = complete_runs(&out);
    assert_eq!(runs.len(), 5, "{runs:?}");
    assert_eq!(gro(), before, "host setting restored");
    let end: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|v: &serde_json::Value| v["event"] == "end")
        .expect("end line");
    assert_eq!(end["done"], 5);
    assert!(end["measuring_fraction"].as_f64().unwrap_or(0.0) > 0.0);
    // the summary carries the forwarder knob, the host setting and the CPU cost
    let mut saw_gro = false;
    for r in &runs {
        let s =
            results::read_summary(&out.join("runs").join(r).join("summary.json")).expect("summary");
        let cpu = &s.extra["cpu"];
        assert!(cpu["ping_user_ns"].as_u64().is_some(), "{cpu}");
        assert!(cpu["fwd_sys_ns"].as_u64().is_some(), "{cpu}");
        assert!(cpu["softirq_ns"].as_u64().is_some(), "{cpu}");
        if s.params["backend"] == "afxdp" {
            assert!(s.params.contains_key("fwd_poll"));
            saw_gro |= s.params["b_gro_flush_timeout"] == 50000;
        }
    }
    assert!(saw_gro);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("index.json")).expect("index"))
            .expect("index json");
    let idx = index["runs"].as_array().expect("runs");
    assert_eq!(idx.len(), 5);
    assert!(idx.iter().all(|r| r["status"] == "done"));
    let exp = std::fs::read_to_string(out.join("experiment.toml")).expect("experiment.toml");
    assert!(exp.starts_with("[testbed]") && exp.contains("# --- as run ---"));

    // an existing sweep directory without --resume: refused, exit 2
    let o = sweep_cmd(&file, &out, &state).output().expect("rerun");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
    // --resume with everything done: nothing to do
    let o = sweep_cmd(&file, &out, &state)
        .arg("--resume")
        .output()
        .expect("resume");
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("5 already done"));
    // a different file for the same directory: refused
    let other = write(&dir.join("other"), &small(tb.name(), 2, ""));
    let o = sweep_cmd(&other, &out, &state)
        .arg("--resume")
        .output()
        .expect("resume other");
    assert_eq!(o.status.code(), Some(2));
    // a bad file: exit 2 naming the key and line, nothing created
    let bad = write(&dir.join("bad"), "[axes]\npoll = [true]\nturbo = [1]\n");
    let o = sweep_cmd(&bad, &dir.join("never"), &state)
        .output()
        .expect("bad");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("turbo") && err.contains("line 3"), "{err}");
    assert!(!dir.join("never").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigkill_and_resume() {
    let Some(tb) = TestTestbed::new("swk", 1) else {
        return;
    };
    let text = small(tb.name(), 2, "\"b.gro-flush-timeout\" = [0, 50000]");
    // 5 configurations (2 × 2 + baseline) × 2 repetitions, each exactly once
    kill_and_resume(&tb, "sweep-kill", &text, 10);
}

#[test]
fn sigkill_and_resume_pingers_together() {
    let Some(tb) = TestTestbed::with_spec("swj", 1, true) else {
        return;
    };
    let text = two_pingers(&small(tb.name(), 2, ""), true);
    // 2 configurations × 2 repetitions × 2 pingers; a group is never left half done
    let out = kill_and_resume(&tb, "sweep-kill-together", &text, 8);
    for r in complete_runs(&out).iter().filter(|r| r.contains("-a-r")) {
        let s =
            results::read_summary(&out.join("runs").join(r).join("summary.json")).expect("summary");
        assert_eq!(s.extra["sweep"]["together"], serde_json::json!(["a", "c"]));
    }
}

/// SIGKILLs the sweep of `text` at 6 pseudo-random moments, resumes it to the end and checks
/// that exactly `expected` runs are complete, none twice, the host restored and no role left.
/// Returns the sweep directory.
fn kill_and_resume(tb: &TestTestbed, name: &str, text: &str, expected: usize) -> PathBuf {
    let dir = out_dir(name);
    let state = dir.join("state");
    let file = write(&dir, text);
    let out = dir.join("out");
    let before = gro_flush_timeout(tb);
    // pseudo-random kill moments (no rand dependency): from the clock
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.subsec_nanos() as u64);
    let mut kills = 0;
    for round in 0..6 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(100 + (seed >> 33) % 600);
        let mut c = sweep_cmd(&file, &out, &state);
        if round > 0 {
            c.arg("--resume");
        }
        let mut child = c
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sweep");
        std::thread::sleep(delay);
        if child.try_wait().expect("try_wait").is_none() {
            child.kill().expect("SIGKILL");
            kills += 1;
        }
        let _ = child.wait();
        let runs = complete_runs(&out);
        println!(
            "round {round}: killed after {delay:?}, {} complete runs",
            runs.len()
        );
    }
    let o = sweep_cmd(&file, &out, &state)
        .arg("--resume")
        .output()
        .expect("final resume");
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let runs = complete_runs(&out);
    assert_eq!(runs.len(), expected, "{runs:?}");
    let ids: std::collections::BTreeSet<_> = runs.iter().collect();
    assert_eq!(ids.len(), expected);
    assert_eq!(gro_flush_timeout(tb), before, "host restored");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("index.json")).expect("index"))
            .expect("index json");
    assert!(
        index["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .all(|r| r["status"] == "done")
    );
    // no role process left behind
    let left = std::process::Command::new("pgrep")
        .args(["-f", &format!("--netns={}-", tb.name())])
        .output()
        .expect("pgrep");
    assert!(
        left.stdout.is_empty(),
        "leftover roles: {}",
        String::from_utf8_lossy(&left.stdout)
    );
    println!("{kills} SIGKILLs");
    out
}

#[test]
fn sigterm_restores_and_stops() {
    let Some(tb) = TestTestbed::new("swt", 1) else {
        return;
    };
    let dir = out_dir("sweep-term");
    let state = dir.join("state");
    // long runs, so that SIGTERM lands inside one, with a host setting in force
    let text = small(tb.name(), 1, "\"b.gro-flush-timeout\" = [50000]")
        .replace("count = 100", "count = 5000");
    let file = write(&dir, &text);
    let out = dir.join("out");
    let before = gro_flush_timeout(&tb);
    let child = sweep_cmd(&file, &out, &state)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sweep");
    // wait until the setting is in force (the first run has begun)
    let deadline = Instant::now() + Duration::from_secs(20);
    while gro_flush_timeout(&tb) == before {
        assert!(
            Instant::now() < deadline,
            "the sweep never applied its setting"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    // runs before the one in flight may be complete (the order is interleaved: the kernel
    // baseline, which this setting does not touch, may come first)
    let committed = complete_runs(&out);
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let o = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(gro_flush_timeout(&tb), before, "host restored on SIGTERM");
    assert_eq!(complete_runs(&out), committed, "no partial run committed");
    let left = std::process::Command::new("pgrep")
        .args(["-f", &format!("--netns={}-", tb.name())])
        .output()
        .expect("pgrep");
    assert!(left.stdout.is_empty(), "leftover roles");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unsupported_values_skip_or_fail() {
    let Some(tb) = TestTestbed::new("swu", 1) else {
        return;
    };
    let dir = out_dir("sweep-unsupported");
    let state = dir.join("state");
    // veth has no zero-copy: with on-unsupported = "skip" the configuration is skipped
    let text = small(
        tb.name(),
        1,
        "bind = { values = [\"zero-copy\"], on-unsupported = \"skip\" }",
    )
    .replace("[axes]", "baseline = false\n\n[axes]");
    let file = write(&dir, &text);
    let o = sweep_cmd(&file, &dir.join("skip"), &state)
        .output()
        .expect("sweep");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}");
    assert!(stdout.contains("0 failed, 2 skipped"), "{stdout}");
    assert!(complete_runs(&dir.join("skip")).is_empty());
    // without it, each run fails and the sweep exits 3 (every AF_XDP run failed) after trying
    // them all, with the failures grouped by cause at its end
    let file = write(
        &dir.join("fail"),
        &text.replace(", on-unsupported = \"skip\"", ""),
    );
    let o = sweep_cmd(&file, &dir.join("fail-out"), &state)
        .output()
        .expect("sweep");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("  2 runs failed: ") && l.contains("zero-copy")),
        "one line for the one cause of both failures: {stdout}"
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("fail-out/index.json")).expect("index"))
            .expect("json");
    let runs = index["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    for r in runs {
        assert_eq!(r["status"], "failed");
        assert!(r["why"].as_str().unwrap_or("").contains("zero-copy"), "{r}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_with_no_reply_is_a_failed_run_that_says_where_the_probes_stopped() {
    // the forwarder listens on queue 1; veth delivers the pinger's probes to queue 0, where no
    // socket is: every probe is lost, which is a failure, not a result
    let Some(tb) = TestTestbed::new("swn", 2) else {
        return;
    };
    let dir = out_dir("sweep-noreply");
    let text = format!(
        "[testbed]\nname = \"{0}\"\n\n[probe]\ninterval = \"1ms\"\ncount = 50\nrepetitions = 1\n\
         linger = \"50ms\"\nbaseline = false\n\n[hosts.a]\nnetns = \"{0}-a\"\n\n[hosts.b]\n\
         netns = \"{0}-b\"\nqueue = 1\n\n[axes]\nbind = [\"copy\"]\n",
        tb.name()
    );
    let file = write(&dir, &text);
    let o = sweep_cmd(&file, &dir.join("out"), &dir.join("state"))
        .output()
        .expect("run sweep");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(3), "every AF_XDP run failed: {text}");
    assert!(
        text.contains("failed (no reply to any of 50 probes: the forwarder received none"),
        "{text}"
    );
    assert!(
        text.contains("another queue than the forwarder's"),
        "{text}"
    );
    assert!(complete_runs(&dir.join("out")).is_empty(), "{text}");
}
