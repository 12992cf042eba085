//! `xdplat sweep` through the real binary on a namespace testbed: a small sweep, bad input,
//! refusal of an existing directory, and SIGKILL at random moments followed by `--resume`
//! (exactly configurations × repetitions complete runs, none duplicated, hosts restored), also
//! with two pingers together; `rate = "auto"` and its recorded derivation; two pingers probing at
//! the same time; the progress bar on a terminal; `sweep load` after a real sweep and analysis.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{TestTestbed, out_dir, xdplat};

/// A small experiment on testbed `name`: 2 AF_XDP configurations + the baseline.
fn small(name: &str, reps: u32, extra_axes: &str) -> String {
    format!(
        r#"[testbed]
name = "{name}"

[probe]
interval = "1ms"
count = 100
repetitions = {reps}
linger = "50ms"

[axes]
fwd.poll = [false, true]
{extra_axes}
"#
    )
}

/// `text` with pingers A and C (the testbed's `--with-c`) through forwarder B, no baseline,
/// the pingers taking turns or (`pingers = "together"`) probing at once.
fn two_pingers(text: &str, together: bool) -> String {
    let mode = if together {
        "pingers = \"together\"\n"
    } else {
        ""
    };
    text.replace(
        "[axes]",
        &format!("baseline = false\n\n[roles]\nping = [\"a\", \"c\"]\nfwd = \"b\"\n{mode}\n[axes]"),
    )
}

/// `xdplat sweep load OUT ARGS`, which must succeed: its load.json and its stdout.
fn sweep_load(out: &Path, state: &Path, args: &[&str]) -> (serde_json::Value, String) {
    let o = xdplat()
        .args(["sweep", "load"])
        .arg(out)
        .args(args)
        .env("XDPLAT_STATE_DIR", state)
        .output()
        .expect("load");
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let load =
        serde_json::from_slice(&std::fs::read(out.join("load/load.json")).expect("load.json"))
            .expect("json");
    (load, stdout)
}

fn write(dir: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let f = dir.join("exp.toml");
    std::fs::write(&f, text).expect("write experiment");
    f
}

/// Complete run directories under OUT/runs (no temporaries).
fn complete_runs(out: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(out.join("runs"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    for r in &v {
        assert!(
            out.join("runs").join(r).join("summary.json").is_file(),
            "run {r} has no summary"
        );
        assert!(out.join("runs").join(r).join("samples.parquet").is_file());
    }
    v
}

/// B's gro_flush_timeout (`ip netns exec` mounts the namespace's own sysfs).
fn gro_flush_timeout(tb: &TestTestbed) -> String {
    let b = &tb.ab().b;
    let o = std::process::Command::new("ip")
        .args(["netns", "exec", &b.netns, "cat"])
        .arg(format!("/sys/class/net/{}/gro_flush_timeout", b.iface))
        .output()
        .expect("read gro_flush_timeout");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn sweep_cmd(file: &Path, out: &Path, state: &Path) -> std::process::Command {
    let mut c = xdplat();
    c.args(["sweep", "run"])
        .arg(file)
        .arg("--out")
        .arg(out)
        .env("XDPLAT_STATE_DIR", state);
    c
}

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
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let o = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(gro_flush_timeout(&tb), before, "host restored on SIGTERM");
    assert!(complete_runs(&out).is_empty(), "no partial run committed");
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
    // without it, each run fails and the sweep exits 1 after trying them all
    let file = write(
        &dir.join("fail"),
        &text.replace(", on-unsupported = \"skip\"", ""),
    );
    let o = sweep_cmd(&file, &dir.join("fail-out"), &state)
        .output()
        .expect("sweep");
    assert_eq!(o.status.code(), Some(1));
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
fn two_pingers_share_the_forwarder() {
    let Some(tb) = TestTestbed::with_spec("sw2", 1, true) else {
        return;
    };
    let dir = out_dir("sweep-two");
    let text = two_pingers(
        &small(tb.name(), 1, "").replace("fwd.poll = [false, true]", "fwd.poll = [true]"),
        false,
    );
    let file = write(&dir, &text);
    let out = dir.join("out");
    let o = sweep_cmd(&file, &out, &dir.join("state"))
        .output()
        .expect("sweep");
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let runs = complete_runs(&out);
    assert_eq!(runs.len(), 2, "{runs:?}");
    let mut seen = Vec::new();
    for r in &runs {
        let s =
            results::read_summary(&out.join("runs").join(r).join("summary.json")).expect("summary");
        assert!(s.packets.received > 0, "{r}: {:?}", s.packets);
        seen.push((s.params["pinger"].clone(), s.params["iface"].clone()));
    }
    seen.sort_by_key(|(p, _)| p.to_string());
    assert_eq!(seen[0].0, "a");
    assert_eq!(seen[1].0, "c");
    assert_ne!(seen[0].1, seen[1].1, "each pinger on its own link");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_reruns_clusters() {
    let Some(tb) = TestTestbed::new("swl", 1) else {
        return;
    };
    let dir = out_dir("sweep-load");
    let state = dir.join("state");
    let text = small(tb.name(), 1, "").replace("[axes]", "baseline = false\n\n[axes]");
    let file = write(&dir, &text);
    let out = dir.join("out");
    let o = sweep_cmd(&file, &out, &state).output().expect("sweep");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // an analysis with one configuration per cluster (written here: clustering two noisy
    // configurations on a shared 2-core machine gives no stable order to test against)
    let mut configs = Vec::new();
    let mut clusters = Vec::new();
    for (i, r) in complete_runs(&out).iter().enumerate() {
        let s =
            results::read_summary(&out.join("runs").join(r).join("summary.json")).expect("summary");
        let id = format!("config {i}");
        configs.push(serde_json::json!({ "id": id, "params": s.params }));
        clusters.push(serde_json::json!({ "id": i, "mean_ns": 20000.0, "configs": [id] }));
    }
    let analysis = dir.join("analysis.json");
    std::fs::write(
        &analysis,
        serde_json::to_vec(&serde_json::json!({ "clusters": clusters, "configs": configs }))
            .expect("json"),
    )
    .expect("write analysis");
    let analysis = analysis.to_str().expect("utf-8 path");
    let (load, _) = sweep_load(
        &out,
        &state,
        &[
            "--analysis",
            analysis,
            "--count",
            "200",
            "--high-interval",
            "1ms",
        ],
    );
    let phases = load["phases"].as_array().expect("phases");
    assert_eq!(phases.len(), 2);
    for p in phases {
        assert_eq!(p["configs"].as_array().map(Vec::len), Some(2), "{p}");
        assert!(p["same_order"].is_boolean());
        for c in p["configs"].as_array().into_iter().flatten() {
            assert!(c["mean_ns"].as_f64().is_some(), "{c}");
        }
    }
    assert_eq!(phases[1]["interval_ns"], 0);
    assert_eq!(complete_runs(&out.join("load/no-interval")).len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rate_auto_records_its_derivation() {
    let Some(tb) = TestTestbed::new("swr", 1) else {
        return;
    };
    let dir = out_dir("sweep-rate");
    let text = small(tb.name(), 2, "")
        .replace("interval = \"1ms\"", "rate = \"auto\"")
        .replace("[axes]", "baseline = false\n\n[axes]");
    let file = write(&dir, &text);
    let plan = xdplat()
        .args(["sweep", "plan"])
        .arg(&file)
        .output()
        .expect("plan");
    let said = String::from_utf8_lossy(&plan.stdout);
    assert!(
        said.contains("rate = auto") && said.contains("assumes"),
        "{said}"
    );
    let out = dir.join("out");
    let o = sweep_cmd(&file, &out, &dir.join("state"))
        .output()
        .expect("sweep");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("calibration"), "{stdout}");
    // the calibration run is kept, and is not a run of the sweep
    let cal = results::read_summary(&out.join("calibration/summary.json")).expect("calibration");
    assert_eq!(cal.params["interval_ns"], 1_000_000);
    let runs = complete_runs(&out);
    assert_eq!(runs.len(), 4, "{runs:?}");
    let mut by_config: std::collections::BTreeMap<String, Vec<serde_json::Value>> =
        Default::default();
    let mut froms = Vec::new();
    for r in &runs {
        let s =
            results::read_summary(&out.join("runs").join(r).join("summary.json")).expect("summary");
        let rate = &s.extra["rate"];
        assert_eq!(rate["auto"], true, "{rate}");
        let (pps, b, l, size) = (
            rate["pps"].as_f64().expect("pps"),
            rate["b_bps"].as_f64().expect("b"),
            rate["l_min_ns"].as_f64().expect("l_min"),
            rate["size"].as_f64().expect("size"),
        );
        assert!(b > 0.0 && l > 0.0, "{rate}");
        // equation (1), and the interval the ping was given
        assert!(
            (pps - b * l / 1e9 / (8.0 * size)).abs() < 1e-6 * pps,
            "{rate}"
        );
        let iv = rate["interval_ns"].as_f64().expect("interval");
        assert!((iv - 1e9 / pps).abs() <= 1.0, "{rate}");
        froms.push(rate["from"].as_str().expect("from").to_string());
        // the configuration's identity does not carry the derived interval
        assert_eq!(s.params["interval_ns"], "auto");
        let mut p = s.params.clone();
        p.remove("repetition");
        by_config
            .entry(s.extra["sweep"]["config"].to_string())
            .or_default()
            .push(serde_json::Value::Object(p));
    }
    assert_eq!(by_config.len(), 2);
    for reps in by_config.values() {
        assert_eq!(reps.len(), 2);
        assert_eq!(reps[0], reps[1], "repetitions of one configuration differ");
    }
    // the first run's l_min came from the calibration, the later ones from completed runs
    assert!(froms.iter().any(|f| f == "calibration"), "{froms:?}");
    for f in froms.iter().filter(|f| *f != "calibration") {
        let id = f.strip_prefix("run ").expect("run <id>");
        assert!(runs.iter().any(|r| r == id), "{f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_pingers_together_overlap() {
    let Some(tb) = TestTestbed::with_spec("sw3", 1, true) else {
        return;
    };
    let dir = out_dir("sweep-together");
    let text = two_pingers(
        &small(tb.name(), 2, "")
            .replace("fwd.poll = [false, true]", "fwd.poll = [true]")
            .replace("count = 100", "count = 500"),
        true,
    );
    let file = write(&dir, &text);
    let out = dir.join("out");
    let o = sweep_cmd(&file, &out, &dir.join("state"))
        .arg("--json")
        .output()
        .expect("sweep");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let runs = complete_runs(&out);
    assert_eq!(runs.len(), 4, "{runs:?}");
    // per repetition: A's and C's runs, each on its own link, probing at the same time
    for rep in 0..2 {
        let mut windows = Vec::new();
        let mut ifaces = Vec::new();
        for p in ["a", "c"] {
            let r = runs
                .iter()
                .find(|r| r.ends_with(&format!("-{p}-r{rep}")))
                .expect("run of each pinger");
            let d = out.join("runs").join(r);
            let s = results::read_summary(&d.join("summary.json")).expect("summary");
            assert!(s.packets.received > 0, "{r}: {:?}", s.packets);
            assert_eq!(s.params["pinger"], p);
            assert_eq!(s.extra["sweep"]["together"], serde_json::json!(["a", "c"]));
            ifaces.push(s.params["iface"].clone());
            let cols = results::read_samples(&d.join("samples.parquet")).expect("samples");
            let tx = &cols.tx_ns;
            let (lo, hi) = (
                *tx.iter().min().expect("rows"),
                *tx.iter().max().expect("rows"),
            );
            windows.push((lo, hi));
        }
        assert_ne!(ifaces[0], ifaces[1], "each pinger on its own link");
        let (a, c) = (windows[0], windows[1]);
        let overlap = a.1.min(c.1) - a.0.max(c.0);
        // 500 probes at 1 ms each: the two windows share most of their half second
        assert!(
            overlap > 100_000_000,
            "windows {a:?} {c:?} overlap {overlap} ns"
        );
    }
    // a group left half committed (as a SIGKILL between its two renames would) is redone whole
    let c1 = runs.iter().find(|r| r.ends_with("-c-r1")).expect("c r1");
    let a1 = runs.iter().find(|r| r.ends_with("-a-r1")).expect("a r1");
    let a1_summary = out.join("runs").join(a1).join("summary.json");
    let before = std::fs::read(&a1_summary).expect("a r1 summary");
    std::fs::remove_dir_all(out.join("runs").join(c1)).expect("remove c r1");
    let o = sweep_cmd(&file, &out, &dir.join("state"))
        .arg("--resume")
        .output()
        .expect("resume");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}");
    assert!(stdout.contains(&format!("removed {a1}")), "{stdout}");
    assert_eq!(complete_runs(&out).len(), 4);
    assert_ne!(std::fs::read(&a1_summary).expect("redone"), before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn progress_bar_on_a_terminal() {
    // `script` (util-linux) gives the sweep a pseudo-terminal for stdout and stderr
    if !host::test_support::require_tool("progress_bar_on_a_terminal", "script", "--version") {
        return;
    }
    let Some(tb) = TestTestbed::new("swb", 1) else {
        return;
    };
    let dir = out_dir("sweep-bar");
    let file = write(&dir, &small(tb.name(), 1, ""));
    let out = dir.join("out");
    let cmd = format!(
        "XDPLAT_STATE_DIR={} {} sweep run {} --out {}",
        dir.join("state").display(),
        env!("CARGO_BIN_EXE_xdplat"),
        file.display(),
        out.display()
    );
    let in_terminal = |term: &str, run: &str| {
        let log = dir.join(format!("tty-{term}.log"));
        let o = std::process::Command::new("script")
            .arg("-qec")
            .arg(format!("{cmd}{run}"))
            .arg(&log)
            .env("TERM", term)
            .stdin(Stdio::null())
            .output()
            .expect("script");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(o.status.success(), "{text}");
        text
    };
    // the bar (runs done of total, failures, ETA, the configuration running) and, above it,
    // the per-run history and the closing line
    let text = in_terminal("xterm", "");
    assert!(text.contains("/3 runs | failures 0 | ETA"), "{text}");
    assert!(text.contains("fwd.poll=true"), "{text}");
    assert!(text.contains("[3/3] "), "{text}");
    assert!(text.contains("sweep: 3/3 runs done"), "{text}");
    assert_eq!(complete_runs(&out).len(), 3);
    // a terminal that cannot draw a bar (TERM=dumb, as CI sets) still gets every run's line
    let text = in_terminal("dumb", "-dumb");
    assert!(!text.contains("/3 runs | failures"), "no bar drawn: {text}");
    assert!(text.contains("[3/3] "), "{text}");
    assert!(text.contains("sweep: 3/3 runs done"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_after_a_real_sweep_and_analysis() {
    let Some(tb) = TestTestbed::new("swd", 1) else {
        return;
    };
    let dir = out_dir("sweep-load-real");
    let state = dir.join("state");
    let text = small(tb.name(), 1, "ping.poll = [false, true]")
        .replace("[axes]", "baseline = false\n\n[axes]");
    let file = write(&dir, &text);
    let out = dir.join("out");
    let o = sweep_cmd(&file, &out, &state).output().expect("sweep");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(complete_runs(&out).len(), 4);
    // the real analysis, with two clusters asked for (with `auto`, four noisy configurations
    // on a shared 2-core machine may well make one) and no filter that could drop one
    let report = out.join("report");
    let o = xdplat()
        .arg("analyze")
        .arg(&out)
        .args(["--k", "2", "--no-baseline", "--no-interval-filter"])
        .args(["--max-loss", "1", "--out"])
        .arg(&report)
        .output()
        .expect("analyze");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let analysis: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("analysis.json")).expect("analysis"))
            .expect("json");
    let clusters = analysis["clusters"].as_array().expect("clusters");
    assert_eq!(clusters.len(), 2, "{analysis}");
    // `sweep load DIR` with its defaults: the analysis in DIR/report, the rate of equation (1)
    let (load, stdout) = sweep_load(&out, &state, &["--count", "200"]);
    // the clusters in the analysis's order
    let ids: Vec<u64> = clusters.iter().filter_map(|c| c["id"].as_u64()).collect();
    assert_eq!(load["clusters"], serde_json::json!(ids));
    // the high rate derived from equation (1) with cluster 0's mean
    let rate = &load["high_rate"];
    assert_eq!(rate["auto"], true, "{rate}");
    assert_eq!(rate["from"], "cluster 0 mean");
    assert_eq!(rate["l_min_ns"], clusters[0]["mean_ns"]);
    let (b, l, size, pps) = (
        rate["b_bps"].as_f64().expect("b"),
        rate["l_min_ns"].as_f64().expect("l"),
        rate["size"].as_f64().expect("size"),
        rate["pps"].as_f64().expect("pps"),
    );
    assert!(
        (pps - b * l / 1e9 / (8.0 * size)).abs() < 1e-6 * pps,
        "{rate}"
    );
    // up to two configurations per cluster, each from its cluster
    let expected: usize = clusters
        .iter()
        .map(|c| c["configs"].as_array().map_or(0, |v| v.len().min(2)))
        .sum();
    let phases = load["phases"].as_array().expect("phases");
    assert_eq!(phases.len(), 2);
    assert_eq!(phases[0]["name"], "high-rate");
    assert_eq!(phases[0]["interval_ns"], rate["interval_ns"]);
    assert_eq!(phases[1]["name"], "no-interval");
    assert_eq!(phases[1]["interval_ns"], 0);
    for p in phases {
        let configs = p["configs"].as_array().expect("configs");
        assert_eq!(configs.len(), expected, "{p}");
        for c in configs {
            assert!(
                ids.contains(&c["cluster"].as_u64().expect("cluster")),
                "{c}"
            );
            assert!(c["mean_ns"].as_f64().is_some(), "{c}");
        }
        // the verdict, whatever the order on this noisy machine
        assert!(p["same_order"].is_boolean(), "{p}");
        let mut order: Vec<u64> = p["order"]
            .as_array()
            .expect("order")
            .iter()
            .filter_map(|v| v.as_u64())
            .collect();
        order.sort();
        let mut want = ids.clone();
        want.sort();
        assert_eq!(order, want, "{p}");
        let name = p["name"].as_str().expect("name");
        assert_eq!(complete_runs(&out.join("load").join(name)).len(), expected);
    }
    assert!(stdout.contains("cluster order by mean RTT"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
