//! Helpers of the sweep tests: small experiment files on a testbed, running `xdplat sweep`, and
//! reading what it left.

use std::path::{Path, PathBuf};

use super::{TestTestbed, xdplat};

/// A small experiment on testbed `name`: 2 AF_XDP configurations + the baseline.
pub fn small(name: &str, reps: u32, extra_axes: &str) -> String {
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
pub fn two_pingers(text: &str, together: bool) -> String {
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
pub fn sweep_load(out: &Path, state: &Path, args: &[&str]) -> (serde_json::Value, String) {
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

pub fn write(dir: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let f = dir.join("exp.toml");
    std::fs::write(&f, text).expect("write experiment");
    f
}

/// Complete run directories under OUT/runs (no temporaries).
pub fn complete_runs(out: &Path) -> Vec<String> {
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
pub fn gro_flush_timeout(tb: &TestTestbed) -> String {
    let b = &tb.ab().b;
    let o = std::process::Command::new("ip")
        .args(["netns", "exec", &b.netns, "cat"])
        .arg(format!("/sys/class/net/{}/gro_flush_timeout", b.iface))
        .output()
        .expect("read gro_flush_timeout");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

pub fn sweep_cmd(file: &Path, out: &Path, state: &Path) -> std::process::Command {
    let mut c = xdplat();
    c.args(["sweep", "run"])
        .arg(file)
        .arg("--out")
        .arg(out)
        .env("XDPLAT_STATE_DIR", state);
    c
}
