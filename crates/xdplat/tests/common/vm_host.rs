//! Host settings on a real driver in the VM testbed's guest, through the real binary over ssh:
//! every key `host show` calls supported on the device is applied alone, read back, restored
//! and read back again (equal to before, exactly); the keys that applied are then held together
//! with the PM QoS limit, the holding process SIGKILLed, and `host restore` must bring every value
//! back; every key the device does not support is a refusal (exit 2) naming the device, with
//! nothing written. The state directory is the test's own, in the guest's /tmp.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::vm::in_guest;

/// A key's status, value and reason as `host show --json` gives them.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    status: String,
    value: Value,
    why: String,
    per_device: bool,
}

struct Guest<'a> {
    vm: &'a Value,
    env: String,
    ns: String,
    iface: String,
}

impl Guest<'_> {
    fn run(&self, args: &str) -> std::process::Output {
        in_guest(self.vm, &format!("{} {args}", self.env))
            .output()
            .expect("ssh to the guest")
    }

    fn show(&self) -> BTreeMap<String, Row> {
        let o = self.run(&format!(
            "host show --netns {} --iface {} --json",
            self.ns, self.iface
        ));
        assert!(o.status.success(), "host show: {}", text(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).expect("show --json");
        v["settings"]
            .as_array()
            .expect("settings")
            .iter()
            .map(|r| {
                let row = Row {
                    status: r["status"].as_str().unwrap_or("").into(),
                    value: r["value"].clone(),
                    why: r["why"].as_str().unwrap_or("").into(),
                    per_device: r["per_device"] == true,
                };
                (r["key"].as_str().unwrap().to_string(), row)
            })
            .collect()
    }

    fn journal_states(&self) -> Vec<String> {
        let o = self.run(&format!(
            "host show --netns {} --iface {} --json",
            self.ns, self.iface
        ));
        let v: Value = serde_json::from_slice(&o.stdout).expect("show --json");
        v["journal"]["entries"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["state"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn apply(&self, sets: &[(String, String)]) -> std::process::Output {
        let sets: String = sets
            .iter()
            .map(|(k, v)| format!(" --set {k}={v}"))
            .collect();
        self.run(&format!(
            "host apply --netns {} --iface {}{sets}",
            self.ns, self.iface
        ))
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A value different from `cur` that the key takes, or None to leave the key out (said why).
fn other_value(key: &str, cur: &str) -> Option<String> {
    let n = cur.parse::<u64>().ok();
    Some(match key {
        "cpu-dma-latency-us" => return None,
        "ntuple-udp-dport-to-queue" => match cur {
            "none" => "5555:0".into(),
            _ => return None,
        },
        "irq-affinity" => if cur == "1" { "0" } else { "1" }.into(),
        "threaded-napi" => if cur == "0" { "1" } else { "0" }.into(),
        "adaptive-rx" | "adaptive-tx" => if cur == "on" { "off" } else { "on" }.into(),
        "cpuidle-disable" => if cur == "none" {
            "deeper-than:0"
        } else {
            "none"
        }
        .into(),
        "channels-combined" | "channels-rx" | "channels-tx" => match n? {
            0 | 1 => return None,
            c => (c - 1).to_string(),
        },
        // interrupt moderation: igb takes 0-3 as modes and 10.. as µs
        "rx-usecs" | "tx-usecs" => if n == Some(50) { "60" } else { "50" }.into(),
        _ => (n? + if n == Some(0) { 2 } else { 1 }).to_string(),
    })
}

/// A well-formed value of `key`, for the refusals of what the device lacks.
fn valid_value(key: &str) -> &'static str {
    match key {
        "ntuple-udp-dport-to-queue" => "5555:0",
        "cpuidle-disable" => "deeper-than:0",
        "irq-affinity" => "0",
        "adaptive-rx" | "adaptive-tx" => "on",
        _ => "1",
    }
}

/// Runs the whole round on `iface` in namespace `ns` of the guest; prints what applied, what
/// the driver refused and what was left out.
pub fn host_settings_round_trip(vm: &Value, name: &str, ns: &str, iface: &str, driver: &str) {
    let t = Instant::now();
    let bin = vm["xdplat"].as_str().expect("xdplat in the guest");
    let state = format!("/tmp/{name}-hoststate");
    let g = Guest {
        vm,
        env: format!("XDPLAT_STATE_DIR={state} {bin}"),
        ns: ns.into(),
        iface: iface.into(),
    };
    let before = g.show();
    let (mut applied, mut refused, mut left_out) = (Vec::new(), Vec::new(), Vec::new());
    for (key, row) in &before {
        if row.status != "supported" {
            continue;
        }
        let cur = row.value.as_str().unwrap_or("");
        let Some(new) = other_value(key, cur) else {
            left_out.push(format!("{key} ({cur})"));
            continue;
        };
        let o = g.apply(&[(key.clone(), new.clone())]);
        if !o.status.success() {
            // the driver said no at run time: a refusal naming the device, nothing kept
            let err = text(&o.stderr);
            assert!(
                matches!(o.status.code(), Some(1) | Some(2)) && err.contains(iface),
                "{key}={new} on {driver}: a refusal must name the device: {err}"
            );
            assert_eq!(g.show(), before, "a refused {key} changed nothing");
            refused.push(format!("{key}={new}: {}", err.trim()));
            continue;
        }
        let now = g.show();
        assert_ne!(
            now[key].value, row.value,
            "{key} read back after apply=={new}"
        );
        if !matches!(key.as_str(), "cpuidle-disable" | "irq-affinity") {
            assert_eq!(
                now[key].value,
                Value::String(new.clone()),
                "{key} read back"
            );
        }
        let o = g.run("host restore");
        assert!(
            o.status.success(),
            "host restore after {key}: {}",
            text(&o.stderr)
        );
        assert_eq!(
            g.show(),
            before,
            "{key}={new} then restore: every value as before"
        );
        applied.push((key.clone(), new));
    }
    println!(
        "{driver}: applied, read back and restored exactly: {}",
        applied
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("{driver}: refused by the driver: {refused:?}");
    println!("{driver}: left out of the round (no other value to set): {left_out:?}");
    for key in [
        "napi-defer-hard-irqs",
        "gro-flush-timeout",
        "per-napi-defer-hard-irqs",
        "busy-poll",
    ] {
        assert!(
            applied.iter().any(|(k, _)| k == key),
            "{key} on {driver}: {applied:?} {refused:?}"
        );
    }

    // all of them held together with the PM QoS limit; SIGKILL; restore
    let mut held = applied.clone();
    held.push(("cpu-dma-latency-us".into(), "0".into()));
    let sets: String = held
        .iter()
        .map(|(k, v)| format!(" --set {k}={v}"))
        .collect();
    let log = format!("/tmp/{name}-hold.log");
    let o = g.run(&format!(
        "host apply --hold --netns {ns} --iface {iface}{sets} >{log} 2>&1 & echo $!"
    ));
    let pid: u32 = text(&o.stdout)
        .trim()
        .parse()
        .expect("the holding process's pid");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let o = in_guest(vm, &format!("cat {log}")).output().unwrap();
        if text(&o.stdout).lines().any(|l| l.starts_with("holding")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "hold never started: {}",
            text(&o.stdout)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let now = g.show();
    for (k, v) in &applied {
        if !matches!(k.as_str(), "cpuidle-disable" | "irq-affinity") {
            assert_eq!(now[k].value, Value::String(v.clone()), "{k} while held");
        }
    }
    assert_eq!(
        now["cpu-dma-latency-us"].value,
        Value::String("0".into()),
        "PM QoS while held"
    );
    // the guest's init reaps no orphans: a zombie counts as gone (as host's own check has it)
    let o = in_guest(
        vm,
        &format!(
            "kill -9 {pid}; while [ -e /proc/{pid} ] && [ \"$(cut -d' ' -f3 /proc/{pid}/stat)\" != Z ]; do sleep 0.1; done"
        ),
    )
    .output()
    .unwrap();
    assert!(o.status.success());
    let states = g.journal_states();
    assert!(
        !states.is_empty() && states.iter().all(|s| s == "crashed"),
        "after SIGKILL the journal says who left what: {states:?}"
    );
    let o = g.run("host restore");
    assert!(
        o.status.success(),
        "host restore after SIGKILL: {}",
        text(&o.stderr)
    );
    assert_eq!(
        g.show(),
        before,
        "after SIGKILL and restore: every value as before"
    );
    assert!(g.journal_states().is_empty());

    // what the device lacks is refused before anything is written
    let mut refusals = 0;
    for (key, row) in &before {
        if row.status != "unsupported" {
            continue;
        }
        let o = g.apply(&[(key.clone(), valid_value(key).into())]);
        let err = text(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{key} unsupported on {driver}: {err}"
        );
        // a device's key names the device; a host-wide one (cpuidle-disable) what the host lacks
        let names = if row.per_device {
            format!("device {iface}")
        } else {
            key.clone()
        };
        assert!(err.contains(&names), "{key}: {err}");
        refusals += 1;
    }
    assert_eq!(g.show(), before);
    let o = in_guest(
        vm,
        &format!("ls -A {state} 2>/dev/null | grep -v lock || true"),
    )
    .output()
    .unwrap();
    println!(
        "{driver}: {} keys applied alone and restored, {} held then SIGKILLed and restored, {refusals} unsupported keys refused naming the device; {:.1} s (state dir: {})",
        applied.len(),
        held.len(),
        t.elapsed().as_secs_f64(),
        text(&o.stdout).trim()
    );
}
