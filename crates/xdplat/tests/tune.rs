//! `xdplat tune` through the real binary on a namespace testbed (root): a small tune whose space
//! forces a NAPI deferral on B, applied with `--apply` and undone by `xdplat host restore`
//! exactly; a tune SIGKILLed mid-race leaves the host as it was after `host restore`, and
//! `--resume` finishes it; `--check` re-measures the winner; bad input is refused (exit 2)
//! before anything is made.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::sweeps::write;
use common::{TestTestbed, out_dir, xdplat};

/// The tune's experiment on testbed `name`: 4 configurations, NAPI deferral in all of them.
fn file_text(name: &str) -> String {
    format!(
        r#"[testbed]
name = "{name}"

[probe]
interval = "1ms"
duration = "1s"
warmup = 50
repetitions = 2
linger = "50ms"
baseline = false

[search]
slice = "500ms"
min-rounds = 2

[axes]
xdp-mode = ["drv", "skb"]
fwd.poll = [false, true]
"b.napi-defer-hard-irqs" = [2]
"b.gro-flush-timeout" = [200000]
"#
    )
}

fn napi(tb: &TestTestbed) -> (String, String) {
    let b = &tb.ab().b;
    let read = |f: &str| {
        let o = std::process::Command::new("ip")
            .args(["netns", "exec", &b.netns, "cat"])
            .arg(format!("/sys/class/net/{}/{f}", b.iface))
            .output()
            .expect("read sysfs");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    (read("napi_defer_hard_irqs"), read("gro_flush_timeout"))
}

fn tune(file: &Path, out: &Path, state: &Path) -> std::process::Command {
    let mut c = xdplat();
    c.arg("tune")
        .arg(file)
        .arg("--out")
        .arg(out)
        .args(["--budget", "20s", "--seed", "7"])
        .env("XDPLAT_STATE_DIR", state);
    c
}

fn restore(state: &Path) {
    let o = xdplat()
        .args(["host", "restore"])
        .env("XDPLAT_STATE_DIR", state)
        .output()
        .expect("host restore");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn tune_apply_restore_check_and_sigkill() {
    let Some(tb) = TestTestbed::new("tun", 1) else {
        return;
    };
    let dir = out_dir("tune-apply");
    let state = dir.join("state");
    let file = write(&dir, &file_text(tb.name()));
    let before = napi(&tb);
    assert_eq!(before, ("0".to_string(), "0".to_string()));

    // a tune with --apply: the winner's deferral is in force afterwards, and kept
    let out = dir.join("tuned");
    let o = tune(&file, &out, &state)
        .arg("--apply")
        .output()
        .expect("tune");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("# xdplat tune") && stdout.contains("## Winner"),
        "{stdout}"
    );
    let t: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("tune.json")).expect("tune.json"))
            .expect("json");
    assert_eq!(t["winner"]["values"]["b.napi-defer-hard-irqs"], 2, "{t}");
    assert!(
        t["winner"]["figures"]["cores"].as_f64().is_some(),
        "CPU recorded"
    );
    assert!(!t["pareto"].as_array().expect("pareto").is_empty());
    let applied = t["applied"].as_array().expect("applied");
    assert!(
        applied
            .iter()
            .any(|a| a.as_str().unwrap_or_default().contains("kept")),
        "{t}"
    );
    assert_eq!(
        napi(&tb),
        ("2".to_string(), "200000".to_string()),
        "applied"
    );
    assert!(
        t["commands"].as_array().expect("commands").iter().any(|c| c
            .as_str()
            .unwrap_or_default()
            .starts_with("xdplat host apply")),
        "{t}"
    );

    // --check re-measures the winner and the default on the same link
    let o = xdplat()
        .args(["tune", "--check"])
        .arg(&out)
        .env("XDPLAT_STATE_DIR", &state)
        .output()
        .expect("check");
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("tune --check"),
        "{said}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(matches!(o.status.code(), Some(0 | 1)), "{said}");
    assert!(out.join("check-1").join("check.json").is_file());
    assert_eq!(
        napi(&tb),
        ("2".to_string(), "200000".to_string()),
        "check keeps it"
    );

    restore(&state);
    assert_eq!(napi(&tb), before, "host restore undoes --apply exactly");

    // SIGKILL mid-race: after `host restore` the host is exactly as before; --resume finishes
    let killed = dir.join("killed");
    let mut child = tune(&file, &killed, &state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tune");
    std::thread::sleep(Duration::from_millis(2500));
    if child.try_wait().expect("try_wait").is_none() {
        child.kill().expect("SIGKILL");
    }
    let _ = child.wait();
    restore(&state);
    assert_eq!(napi(&tb), before, "restored after SIGKILL");
    let o = tune(&file, &killed, &state)
        .arg("--resume")
        .output()
        .expect("resume");
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(killed.join("tune.json").is_file());
    assert_eq!(
        napi(&tb),
        before,
        "a tune without --apply leaves the host as it was"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tune_refuses_bad_input_before_anything() {
    let dir = out_dir("tune-bad");
    let cases: [(&[&str], &str); 5] = [
        (&["--objective", "p95"], "--objective"),
        (&["--max-cpu", "0"], "--max-cpu"),
        (&["--budget", "5s"], "--budget 5s: too small"),
        (&["--kind", "bare"], "bare"),
        (&["--testbed", "no spaces"], "--testbed"),
    ];
    for (args, says) in cases {
        let out = dir.join("never");
        let o = xdplat()
            .arg("tune")
            .arg("--out")
            .arg(&out)
            .args(args)
            .output()
            .expect("tune");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} left {}", out.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
