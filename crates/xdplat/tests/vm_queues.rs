//! The multi-queue forwarder on a real driver: a VM testbed whose virtio-net NICs have 4 queue
//! pairs (multi-queue taps on the host), `xdplat fwd --queues 4` on B, and a ping on A whose
//! probes go out on 64 UDP flows (`--flows 64`). Neither QEMU NIC has ntuple filters, so the
//! steering is the host tap's: its flow hash picks B's RX queue for each flow, and the
//! forwarder answers on that queue. Every probe comes back, the forwarder's queue extension
//! names the queue and NAPI of each one, and the run summary counts them: all 4 queues, each with
//! its own NAPI id. Skipped with the reason where QEMU, virtme-ng or a kernel cannot be had;
//! under CI a skip is a failure.

mod common;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Instant;

use common::vm::{Down, GuestFwd, can_run, in_guest, ok};
use common::xdplat;
use host::test_support::unique_name;

#[test]
fn vm_multi_queue_forwarder_serves_every_queue_and_names_it_per_probe() {
    if !can_run("vm_multi_queue_forwarder_serves_every_queue_and_names_it_per_probe") {
        return;
    }
    let t0 = Instant::now();
    let name = unique_name("vq");
    let _down = Down(name.clone());
    let o = xdplat()
        .args([
            "testbed", "up", "--kind", "vm", "--name", &name, "--queues", "4", "--json",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("testbed up");
    let up: serde_json::Value = serde_json::from_str(&ok(&o, "testbed up --queues 4")).unwrap();
    println!(
        "VM testbed {name} with 4 queues: booted in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let vm = &up["vm"];
    let bin = vm["xdplat"].as_str().unwrap().to_string();
    let queues = ok(
        &in_guest(
            vm,
            &format!("ip netns exec {name}-b ethtool -l {name}-ba | grep -i combined | tail -1"),
        )
        .output()
        .unwrap(),
        "ethtool -l",
    );
    assert!(
        queues.trim().ends_with('4'),
        "B has 4 combined channels: {queues}"
    );

    // an ntuple rule is refused by the real driver, naming the device, and changes nothing
    let o = in_guest(
        vm,
        &format!(
            "{bin} host apply --netns {name}-b --iface {name}-ba --set ntuple-udp-dport-to-queue=9099:1"
        ),
    )
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no ntuple flow steering") && err.contains(&format!("{name}-ba")),
        "{err}"
    );
    println!("virtio-net refuses ntuple: {}", err.trim());

    // the forwarder on all 4 queues of B, sleeping in poll() (the guest has fewer vCPUs than
    // queues), writing its queue into every probe that has room
    let fwd = GuestFwd::start(
        vm,
        &format!(
            "--netns {name}-b --iface {name}-ba --queues 4 --flows 64 --poll true --stamp --duration 300s"
        ),
    );
    println!("{}", fwd.before.join("\n"));
    let ready = &fwd.ready;
    let served: Vec<u32> = ready.queues.iter().map(|q| q.queue).collect();
    assert_eq!(served, [0, 1, 2, 3], "{ready:?}");

    // 512 probes on 64 flows, 128 bytes: room for the forwarder's stamps and queue
    let run = format!("/tmp/{name}-mq");
    let t1 = Instant::now();
    let o = in_guest(
        vm,
        &format!(
            "{bin} ping --netns {name}-a --iface {name}-ab --dst-ip 10.77.1.2 --flows 64 --poll true \
             --stamp-room --size 128 --interval 2ms --count 512 --linger 2s --out {run} >/dev/null \
             && cat {run}/summary.json"
        ),
    )
    .output()
    .unwrap();
    let summary: serde_json::Value = serde_json::from_str(&ok(&o, "ping on 64 flows")).unwrap();
    println!(
        "ping on 64 flows <-> fwd on 4 queues: {} in {:.1} s; {}",
        summary["packets"],
        t1.elapsed().as_secs_f64(),
        summary["fwd_queues"]
    );
    assert_eq!(summary["packets"]["sent"], 512, "{summary:#}");
    assert_eq!(summary["packets"]["lost"], 0, "{summary:#}");
    let per_queue = summary["fwd_queues"].as_array().expect("fwd_queues");
    let used: BTreeSet<u64> = per_queue
        .iter()
        .filter_map(|q| q["queue"].as_u64())
        .collect();
    assert_eq!(
        used,
        BTreeSet::from([0, 1, 2, 3]),
        "every queue: {summary:#}"
    );
    let total: u64 = per_queue.iter().filter_map(|q| q["probes"].as_u64()).sum();
    assert_eq!(total, 512, "every probe names its queue: {summary:#}");
    let napis: BTreeSet<u64> = per_queue
        .iter()
        .filter_map(|q| q["napi_id"].as_u64())
        .collect();
    assert!(
        napis.len() == 4 && !napis.contains(&0),
        "virtio-net gives each queue its own NAPI: {summary:#}"
    );

    // SIGINT: the forwarder's end event counts what each queue forwarded
    let t2 = Instant::now();
    let lines = fwd.stop(vm);
    let stopped = lines
        .iter()
        .find_map(|l| match probe::protocol::Event::parse(l) {
            Some(probe::protocol::Event::Stopped(s)) => Some(s),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no end event from fwd: {lines:?}"));
    let by_queue = stopped.counters["forwarded_by_queue"]
        .as_object()
        .unwrap_or_else(|| panic!("{stopped:?}"));
    println!(
        "fwd stopped in {:.1} s; forwarded by queue: {by_queue:?}",
        t2.elapsed().as_secs_f64()
    );
    assert_eq!(by_queue.len(), 4, "{stopped:?}");
    assert_eq!(stopped.forwarded, 512, "{stopped:?}");
    assert!(
        by_queue.values().all(|n| n.as_u64() > Some(0)),
        "{stopped:?}"
    );
    println!("VM multi-queue test: {:.1} s", t0.elapsed().as_secs_f64());
}
