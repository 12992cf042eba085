//! igb (Intel 82576, QEMU >= 8.0) beside virtio-net: a VM testbed whose NICs are igb, its
//! separate RX and TX NAPIs seen by doctor, every host setting it takes applied, restored and
//! SIGKILLed (common/vm_host.rs), then the knob sweep the virtio-net test runs
//! (zero-copy, busy polling with and without prefer, need-wakeup off, copy-mode busy polling,
//! per-NAPI deferral on B), every run checked for loss and for what the kernel confirmed.
//! Under TCG the figures say what works, never how fast.

mod common;

use std::process::Stdio;
use std::time::Instant;

use common::vm::{Down, can_run, in_guest, knobs_on_real_drivers, ok};
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
    println!("igb VM test: {:.1} s", t0.elapsed().as_secs_f64());
}
