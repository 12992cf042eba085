//! `xdplat host show|apply|restore` through the real binary, as root, on
//! fresh namespace testbeds, each test with its own state directory
//! (XDPLAT_STATE_DIR). Per-device values are compared before and after,
//! read back from the kernel by `host show --json`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use host::test_support::TestTestbed;
use serde_json::Value;

/// A fresh state directory; on drop, whatever a failed test left applied is
/// restored and the directory removed.
struct State(PathBuf);

impl State {
    fn new(test: &str) -> State {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xdplat-hostcli-{test}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        State(dir)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_xdplat"));
        c.env("XDPLAT_STATE_DIR", &self.0).args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run xdplat")
    }

    /// The device's per-device settings (key → value or null) and the
    /// journal entries' states.
    fn device(&self, netns: &str, iface: &str) -> (BTreeMap<String, Value>, Vec<String>) {
        let out = self.run(&["host", "show", "--netns", netns, "--iface", iface, "--json"]);
        assert!(out.status.success(), "host show: {}", text(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("show --json is JSON");
        let settings = v["settings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["per_device"] == true)
            .map(|r| (r["key"].as_str().unwrap().to_string(), r["value"].clone()))
            .collect();
        let states = v["journal"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["state"].as_str().unwrap().to_string())
            .collect();
        (settings, states)
    }
}

impl Drop for State {
    fn drop(&mut self) {
        let _ = self.run(&["host", "restore"]);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

#[test]
fn show_json_lists_every_key_and_marks_coalescing_unsupported() {
    let Some(tb) = TestTestbed::new("hcsh", 1) else {
        return;
    };
    let st = State::new("show");
    let a = &tb.ab().a;
    let out = st.run(&[
        "host", "show", "--netns", &a.netns, "--iface", &a.iface, "--json",
    ]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], 1);
    assert_eq!(v["target"]["iface"], s(&a.iface));
    let rows = v["settings"].as_array().unwrap();
    let keys: Vec<&str> = rows.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(keys, host::settings::keys());
    let row = |k: &str| rows.iter().find(|r| r["key"] == k).unwrap().clone();
    for k in ["rx-usecs", "tx-frames", "adaptive-rx"] {
        let r = row(k);
        assert_eq!(r["status"], "unsupported", "{r}");
        let why = r["why"].as_str().unwrap();
        assert!(
            why.contains(&a.iface) && why.contains("coalescing"),
            "{why}"
        );
        assert!(r["value"].is_null());
    }
    for k in ["napi-defer-hard-irqs", "gro-flush-timeout", "channels-rx"] {
        let r = row(k);
        assert_eq!(r["status"], "supported", "{r}");
        assert!(r["value"].as_str().unwrap().parse::<u64>().is_ok(), "{r}");
    }
    assert!(v["cpuidle_states"].is_array());
    assert_eq!(v["journal"]["entries"], Value::Array(vec![]));

    // Without --iface, per-device settings say so.
    let out = st.run(&["host", "show", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = v["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "napi-defer-hard-irqs")
        .unwrap();
    assert_eq!(r["status"], "needs-iface");
    // Text output too.
    let out = st.run(&["host", "show", "--netns", &a.netns, "--iface", &a.iface]);
    let t = text(&out.stdout);
    assert!(
        t.contains("cpuidle states") && t.contains("rx-usecs"),
        "{t}"
    );
}

#[test]
fn apply_keeps_until_restore_and_restore_reads_back_the_original() {
    let Some(tb) = TestTestbed::new("hcap", 1) else {
        return;
    };
    let st = State::new("apply");
    let a = &tb.ab().a;
    let (before, journal) = st.device(&a.netns, &a.iface);
    assert!(journal.is_empty());
    let out = st.run(&[
        "host",
        "apply",
        "--netns",
        &a.netns,
        "--iface",
        &a.iface,
        "--set",
        "napi-defer-hard-irqs=2",
        "--set",
        "gro-flush-timeout=200000",
    ]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(
        t.contains("napi-defer-hard-irqs") && t.contains("host restore"),
        "{t}"
    );
    let (now, journal) = st.device(&a.netns, &a.iface);
    assert_eq!(now["napi-defer-hard-irqs"], s("2"));
    assert_eq!(now["gro-flush-timeout"], s("200000"));
    assert_eq!(journal, ["kept", "kept"]);

    // Another host-touching command leaves kept changes alone; its own
    // change is layered on top and also kept.
    let out = st.run(&[
        "host",
        "apply",
        "--netns",
        &a.netns,
        "--iface",
        &a.iface,
        "--set",
        "napi-defer-hard-irqs=3",
    ]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let (now, journal) = st.device(&a.netns, &a.iface);
    assert_eq!(now["napi-defer-hard-irqs"], s("3"));
    assert_eq!(now["gro-flush-timeout"], s("200000"));
    assert_eq!(journal.len(), 3);

    let out = st.run(&["host", "restore"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("restored napi-defer-hard-irqs"), "{t}");
    let (after, journal) = st.device(&a.netns, &a.iface);
    assert_eq!(after, before);
    assert!(journal.is_empty());
    // Restoring twice is harmless.
    let out = st.run(&["host", "restore"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("nothing to restore"));
}

#[test]
fn bad_input_exits_2_and_changes_nothing() {
    let Some(tb) = TestTestbed::new("hcbd", 1) else {
        return;
    };
    let st = State::new("bad");
    let a = &tb.ab().a;
    let (before, _) = st.device(&a.netns, &a.iface);
    let dev = ["--netns", a.netns.as_str(), "--iface", a.iface.as_str()];
    let ok = "napi-defer-hard-irqs=9";
    for (extra, needle) in [
        (
            vec!["--set", ok, "--set", "no-such-key=1"],
            "no such host setting",
        ),
        (
            vec!["--set", ok, "--set", "gro-flush-timeout=4294967296"],
            "gro-flush-timeout takes",
        ),
        (
            vec!["--set", ok, "--set", "napi-defer-hard-irqs=-1"],
            "0 to 2147483647",
        ),
        (vec!["--set", "busy-poll"], "KEY=VALUE"),
        (vec!["--set", "cpu-dma-latency-us=0"], "--hold"),
    ] {
        let out = st
            .cmd(&["host", "apply"])
            .args(dev)
            .args(&extra)
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(code(&out), Some(2), "{extra:?}: {err}");
        assert!(err.contains(needle), "{extra:?}: {err}");
    }
    let out = st.run(&[
        "host", "apply", "--netns", &a.netns, "--iface", "nosuch0", "--set", ok,
    ]);
    assert_eq!(code(&out), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no interface nosuch0"));
    let out = st.run(&[
        "host",
        "apply",
        "--netns",
        "xdplat-nosuch",
        "--iface",
        "x",
        "--set",
        ok,
    ]);
    assert_eq!(code(&out), Some(2), "{}", text(&out.stderr));
    let out = st.run(&["host", "show", "--netns", &a.netns, "--iface", "nosuch0"]);
    assert_eq!(code(&out), Some(2), "{}", text(&out.stderr));
    let out = st.run(&["host", "apply", "--netns", &a.netns]);
    assert_eq!(code(&out), Some(2), "--set is required");

    let (after, journal) = st.device(&a.netns, &a.iface);
    assert_eq!(after, before);
    assert!(journal.is_empty(), "{journal:?}");
}

#[test]
fn coalescing_on_veth_names_the_device_or_is_skipped() {
    let Some(tb) = TestTestbed::new("hcco", 1) else {
        return;
    };
    let st = State::new("coal");
    let a = &tb.ab().a;
    // refused before anything is made: not even the state directory or its lock file
    let out = st.run(&[
        "host",
        "apply",
        "--netns",
        &a.netns,
        "--iface",
        &a.iface,
        "--set",
        "rx-usecs=10",
    ]);
    assert_eq!(code(&out), Some(2), "{}", text(&out.stderr));
    assert!(!st.0.exists(), "a refused apply made {}", st.0.display());
    let (before, _) = st.device(&a.netns, &a.iface);
    let args = [
        "host",
        "apply",
        "--netns",
        &a.netns,
        "--iface",
        &a.iface,
        "--set",
        "napi-defer-hard-irqs=4",
        "--set",
        "rx-usecs=10",
    ];
    let out = st.run(&args);
    let err = text(&out.stderr);
    assert_eq!(code(&out), Some(2), "{err}");
    assert!(
        err.contains("rx-usecs")
            && err.contains(&format!("device {}", a.iface))
            && err.contains(&a.netns)
            && err.contains("no interrupt coalescing"),
        "{err}"
    );
    assert_eq!(st.device(&a.netns, &a.iface).0, before);
    let out = st.run(&[
        "host",
        "apply",
        "--netns",
        &a.netns,
        "--iface",
        &a.iface,
        "--set",
        "ntuple-udp-dport-to-queue=5555:0",
    ]);
    let err = text(&out.stderr);
    assert_eq!(code(&out), Some(2), "{err}");
    assert!(
        err.contains("no ntuple flow steering") && err.contains(&a.iface),
        "{err}"
    );

    let out = st.cmd(&args).arg("--skip-unsupported").output().unwrap();
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(
        t.contains("skipped rx-usecs") && t.contains(&a.iface),
        "{t}"
    );
    let (now, journal) = st.device(&a.netns, &a.iface);
    assert_eq!(now["napi-defer-hard-irqs"], s("4"));
    assert_eq!(journal, ["kept"]);
    assert_eq!(code(&st.run(&["host", "restore"])), Some(0));
    assert_eq!(st.device(&a.netns, &a.iface).0, before);
}

/// Starts `host apply --hold` and waits for its "holding" line.
fn start_hold(st: &State, netns: &str, iface: &str, sets: &[&str]) -> std::process::Child {
    let mut c = st.cmd(&[
        "host", "apply", "--hold", "--netns", netns, "--iface", iface,
    ]);
    for s in sets {
        c.args(["--set", s]);
    }
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        let ready = line.starts_with("holding");
        seen.push(std::mem::take(&mut line));
        if ready {
            // Hand the pipe back: the process prints what it restores.
            child.stdout = Some(reader.into_inner());
            return child;
        }
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!("hold did not start: {seen:?} {}", text(&out.stderr));
}

fn signal(child: &std::process::Child, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
}

#[test]
fn held_apply_restores_on_sigterm_and_is_undone_after_sigkill() {
    let Some(tb) = TestTestbed::new("hcho", 1) else {
        return;
    };
    let st = State::new("hold");
    let a = &tb.ab().a;
    let (before, _) = st.device(&a.netns, &a.iface);
    let sets = ["napi-defer-hard-irqs=5", "gro-flush-timeout=123000"];

    // SIGTERM: the held process restores and exits 0.
    let child = start_hold(&st, &a.netns, &a.iface, &sets);
    let (now, journal) = st.device(&a.netns, &a.iface);
    assert_eq!(now["napi-defer-hard-irqs"], s("5"));
    assert_eq!(journal, ["held", "held"]);
    // The lock keeps a second configuring process out, with a clear message.
    let out = st.run(&["host", "restore"]);
    assert_eq!(code(&out), Some(1));
    assert!(text(&out.stderr).contains(&format!("pid {}", child.id())));
    signal(&child, nix::sys::signal::Signal::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("restored gro-flush-timeout"));
    let (after, journal) = st.device(&a.netns, &a.iface);
    assert_eq!(after, before);
    assert!(journal.is_empty());

    // SIGKILL: the changes stay, marked as left by a dead process ...
    let mut child = start_hold(&st, &a.netns, &a.iface, &sets);
    signal(&child, nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
    let (now, journal) = st.device(&a.netns, &a.iface);
    assert_eq!(now["gro-flush-timeout"], s("123000"));
    assert_eq!(journal, ["crashed", "crashed"]);
    // ... and the next host-touching command undoes them first.
    let out = st.run(&[
        "host",
        "apply",
        "--netns",
        &a.netns,
        "--iface",
        &a.iface,
        "--set",
        "napi-defer-hard-irqs=7",
    ]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("killed xdplat process"));
    let (now, journal) = st.device(&a.netns, &a.iface);
    assert_eq!(now["gro-flush-timeout"], before["gro-flush-timeout"]);
    assert_eq!(now["napi-defer-hard-irqs"], s("7"));
    assert_eq!(journal, ["kept"]);

    // SIGKILL again, then an explicit restore undoes everything.
    let mut child = start_hold(&st, &a.netns, &a.iface, &sets);
    signal(&child, nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
    let out = st.run(&["host", "restore"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let (after, journal) = st.device(&a.netns, &a.iface);
    assert_eq!(after, before);
    assert!(journal.is_empty());
}

#[test]
fn per_napi_settings_on_a_veth_without_napi_are_unsupported() {
    let Some(tb) = TestTestbed::new("hcpn", 1) else {
        return;
    };
    let st = State::new("napi");
    let a = &tb.ab().a;
    let (before, _) = st.device(&a.netns, &a.iface);
    // A fresh veth has GRO off and no XDP program: no NAPI instances.
    assert!(before["per-napi-defer-hard-irqs"].is_null(), "{before:?}");
    let out = st.run(&[
        "host",
        "apply",
        "--netns",
        &a.netns,
        "--iface",
        &a.iface,
        "--set",
        "napi-defer-hard-irqs=2",
        "--set",
        "per-napi-irq-suspend-timeout=1000000",
    ]);
    let err = text(&out.stderr);
    assert_eq!(code(&out), Some(2), "{err}");
    assert!(
        err.contains("per-napi-irq-suspend-timeout")
            && err.contains(&format!("device {}", a.iface))
            && err.contains("no NAPI instances"),
        "{err}"
    );
    let (after, journal) = st.device(&a.netns, &a.iface);
    assert_eq!(after, before);
    assert!(journal.is_empty());
}

/// The PM QoS target in force, read by `host show --json`.
fn pm_qos(st: &State) -> i64 {
    let out = st.run(&["host", "show", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = v["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "cpu-dma-latency-us")
        .unwrap()
        .clone();
    row["value"].as_str().unwrap().parse().unwrap()
}

#[test]
fn pm_qos_request_lives_while_held() {
    let Some(tb) = TestTestbed::new("hcqs", 1) else {
        return;
    };
    let st = State::new("pmqos");
    let a = &tb.ab().a;
    let before = pm_qos(&st);
    let child = start_hold(&st, &a.netns, &a.iface, &["cpu-dma-latency-us=7"]);
    assert!(pm_qos(&st) <= 7);
    signal(&child, nix::sys::signal::Signal::SIGINT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    assert_eq!(pm_qos(&st), before);
}
