//! igb (Intel 82576, QEMU >= 8.0) beside virtio-net: a VM testbed whose NICs are igb, its
//! separate RX and TX NAPIs seen by doctor, every host setting it takes applied, restored and
//! SIGKILLed (common/vm_host.rs), then the knob sweep the virtio-net test runs
//! (zero-copy, busy polling with and without prefer, need-wakeup off,
//! per-NAPI deferral on B), every run checked for loss and for what the kernel confirmed, and
//! copy-mode busy polling on its own, whose losses (not understood) are printed as a known
//! issue. Under TCG the figures say what works, never how fast.

mod common;

use std::process::Stdio;
use std::time::Instant;

use common::vm::{Down, can_run, in_guest, knobs_on_real_drivers, ok, vm_sweep};
use common::xdplat;
use host::test_support::unique_name;

#[test]
fn vm_igb_zero_copy_separate_napis_and_busy_polling() {
    if !can_run("vm_igb_zero_copy_separate_napis_and_busy_polling") {
        return;
    }
    let t0 = Instant::now();
    let name = unique_name("vmi");
    let _down = Down(name.clone());
    let o = xdplat()
        .args([
            "testbed", "up", "--kind", "vm", "--nic", "igb", "--name", &name, "--json",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("testbed up");
    let up: serde_json::Value = serde_json::from_str(&ok(&o, "testbed up --nic igb")).unwrap();
    println!(
        "igb testbed {name}: booted in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let link = &up["links"][0];
    assert_eq!(link["a"]["driver"], "igb", "{up:#}");
    assert_eq!(link["b"]["driver"], "igb", "{up:#}");
    let vm = &up["vm"];
    let bin = vm["xdplat"].as_str().unwrap();

    // doctor in the guest: zero-copy works, and queue 0's RX and TX have NAPIs of their own
    let o = in_guest(
        vm,
        &format!("{bin} doctor --netns {name}-a --iface {name}-ab --json"),
    )
    .output()
    .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&ok(&o, "doctor in the guest")).unwrap();
    let iface = &doc["interfaces"][0];
    let napis = iface["queue_napis"]
        .as_array()
        .unwrap_or_else(|| panic!("{iface:#}"));
    let napi = |tx: bool| {
        napis
            .iter()
            .find(|q| q["id"] == 0 && q["tx"] == tx)
            .and_then(|q| q["napi_id"].as_u64())
            .unwrap_or_else(|| panic!("queue 0 {} NAPI: {napis:?}", if tx { "TX" } else { "RX" }))
    };
    let (rx, tx) = (napi(false), napi(true));
    println!("igb queue 0: RX NAPI {rx}, TX NAPI {tx}");
    assert_ne!(
        rx, tx,
        "igb with a vector per queue: separate RX and TX NAPIs: {napis:?}"
    );
    let findings = doc.to_string();
    assert!(
        findings.contains(&format!("RX is served by NAPI {rx}, TX by NAPI {tx}")),
        "doctor names the split: {findings}"
    );

    // the settings first: the knob sweep after it runs on the restored device
    common::vm_host::host_settings_round_trip(
        vm,
        &name,
        &format!("{name}-b"),
        &format!("{name}-ba"),
        "igb",
    );
    knobs_on_real_drivers(&name, "igb");
    copy_mode_busy_polling(&name);
    println!("igb VM test: {:.1} s", t0.elapsed().as_secs_f64());
}

/// Copy-mode busy polling (with prefer) on igb, alone: not understood yet, so its outcome is
/// printed, never hidden, and only the sweep's own verdict is required (done, or failed with a
/// cause it names). Measured under TCG: 137, 166 and 200 of 200 lost in three runs.
fn copy_mode_busy_polling(name: &str) {
    let (out, o) = vm_sweep(
        "vm-igb-copy-bp",
        &format!(
            "[testbed]\nname = \"{name}\"\nkind = \"vm\"\n\n[probe]\ninterval = \"2ms\"\ncount = 200\n\
             repetitions = 1\nlinger = \"1s\"\nbaseline = false\n\n[axes]\nbind = [\"copy\"]\n\
             busy-poll = [true]\n"
        ),
    );
    let progress = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let lost = std::fs::read_dir(out.join("runs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("summary.json")).ok())
        .filter_map(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .map(|s| format!("{} of {} lost", s["packets"]["lost"], s["packets"]["sent"]))
        .collect::<Vec<_>>();
    println!("KNOWN ISSUE (igb, TCG): copy-mode busy polling: {lost:?}\n{progress}{err}");
    assert!(
        o.status.success() || progress.contains("failed ("),
        "the sweep ends with a verdict naming a cause: {progress}{err}"
    );
}
