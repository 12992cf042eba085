//! The VM testbed with real QEMU, a real guest kernel and real drivers, through the real binary:
//! boot + status + zero-copy ping <-> fwd (1000 probes, 0 lost), the knob sweep, every host
//! setting virtio-net takes applied, restored and SIGKILLed, + down on one guest; SIGKILL of
//! the process that owns a booting guest, then `testbed down` leaves no QEMU; bad input (exit 2,
//! nothing left). The boot time and the whole VM test time are printed. Skipped with the reason
//! where QEMU, virtme-ng or a kernel cannot be had (`scripts/setup.sh --with-vm` installs
//! them); under CI a skip is a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::vm::{
    Down, GuestFwd, KillOnDrop, can_run, in_guest, knobs_on_real_drivers, ok, vm_sweep,
};
use common::{out_dir, xdplat};
use host::test_support::{require_root, unique_name};

#[test]
fn vm_boot_status_zero_copy_ping_fwd_down() {
    if !can_run("vm_boot_status_zero_copy_ping_fwd_down") {
        return;
    }
    let t0 = Instant::now();
    let name = unique_name("vm");
    let _down = Down(name.clone());
    let o = xdplat()
        .args(["testbed", "up", "--kind", "vm", "--name", &name, "--json"])
        .stdin(Stdio::null())
        .output()
        .expect("testbed up");
    let up: serde_json::Value = serde_json::from_str(&ok(&o, "testbed up --kind vm")).unwrap();
    let boot = t0.elapsed();
    println!("VM testbed {name}: booted in {:.1} s", boot.as_secs_f64());
    eprintln!("{}", String::from_utf8_lossy(&o.stderr));

    // status: a VM, each NIC with its driver, the same names and addresses as the netns testbed
    let st: serde_json::Value = serde_json::from_str(&ok(
        &xdplat()
            .args(["testbed", "status", "--name", &name, "--json"])
            .output()
            .unwrap(),
        "status",
    ))
    .unwrap();
    assert_eq!(st["kind"], "vm", "{st:#}");
    assert_eq!(st, up, "status and up agree");
    let link = &st["links"][0];
    assert_eq!(link["a"]["iface"], format!("{name}-ab"));
    assert_eq!(link["b"]["ipv4"], "10.77.1.2/24");
    assert_eq!(link["a"]["driver"], "virtio_net", "{st:#}");
    assert_eq!(link["b"]["driver"], "virtio_net", "{st:#}");
    let vm = &st["vm"];
    let tcg = vm["accel"] == "tcg";
    assert_eq!(vm["emulated"], tcg);
    if Path::new("/sys/module/kvm_pvm").exists() {
        assert!(tcg, "PVM /dev/kvm must mean TCG: {vm:#}");
    }

    // zero-copy ping <-> fwd in the guest, 1000 probes, none lost
    let bin = vm["xdplat"].as_str().unwrap().to_string();
    let run = format!("/tmp/{name}-zc");
    let fwd = GuestFwd::start(
        vm,
        &format!("--netns {name}-b --iface {name}-ba --bind zero-copy --duration 300s"),
    );
    println!("{}", fwd.before.join("\n"));
    let t1 = Instant::now();
    let ping = |attempt: u32| -> serde_json::Value {
        let o = in_guest(
            vm,
            &format!(
                "{bin} ping --netns {name}-a --iface {name}-ab --dst-ip 10.77.1.2 --bind zero-copy \
                 --interval 2ms --count 1000 --linger 2s --out {run}-{attempt} >/dev/null \
                 && cat {run}-{attempt}/summary.json"
            ),
        )
        .output()
        .unwrap();
        serde_json::from_str(&ok(&o, "zero-copy ping")).unwrap()
    };
    let mut summary = ping(0);
    // Under TCG on a loaded host one run in about four lost every probe (cause not found yet,
    // see the VM testbed's README): such a run is printed whole, with its stalls and ring
    // states, and tried once more; a partial loss or a second total loss fails.
    if summary["packets"]["received"] == 0 {
        println!("KNOWN ISSUE: every probe lost once under TCG; retrying: {summary:#}");
        summary = ping(1);
    }
    println!(
        "zero-copy ping <-> fwd in the guest: {} in {:.1} s",
        summary["packets"],
        t1.elapsed().as_secs_f64()
    );
    assert_eq!(summary["packets"]["sent"], 1000, "{summary:#}");
    assert_eq!(summary["packets"]["lost"], 0, "{summary:#}");
    assert_eq!(summary["effective"]["bind"], "zero-copy", "{summary:#}");
    assert!(
        summary["effective"]["napi_id"].as_u64().unwrap_or(0) > 0,
        "virtio-net gives zero-copy sockets a NAPI id: {summary:#}"
    );
    if tcg {
        let w = summary["warnings"].to_string();
        assert!(w.contains("emulation"), "a TCG summary says so: {w}");
        assert_eq!(summary["environment"]["emulation"], "QEMU TCG");
    }
    // stop the forwarder in the guest (its XDP program goes with it)
    fwd.stop(vm);

    // a sweep on it: the file names the testbed and its kind, the hosts become ssh hosts
    let t2 = Instant::now();
    let (out, o) = vm_sweep(
        "vm-sweep",
        &format!(
            "[testbed]\nname = \"{name}\"\nkind = \"vm\"\n\n[probe]\ninterval = \"2ms\"\ncount = 200\n\
             repetitions = 1\nlinger = \"1s\"\nbaseline = false\n\n[axes]\nbind = [\"copy\", \"zero-copy\"]\n"
        ),
    );
    ok(&o, "sweep run on the VM testbed");
    let runs: Vec<PathBuf> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    // two forwarder runs in a row: the second attaches where the first one's XDP link was, so
    // the first forwarder must really be stopped in the guest (it once outlived its run)
    assert_eq!(runs.len(), 2, "{runs:?}");
    let mut binds = Vec::new();
    for r in &runs {
        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(r.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(s["packets"]["lost"], 0, "{s:#}");
        binds.push(s["effective"]["bind"].as_str().unwrap().to_string());
    }
    binds.sort();
    assert_eq!(binds, ["copy", "zero-copy"]);
    let left = ok(
        &in_guest(vm, "pgrep -f '[x]dplat fwd' || true")
            .output()
            .unwrap(),
        "pgrep in the guest",
    );
    assert!(
        left.trim().is_empty(),
        "no forwarder left in the guest: {left}"
    );
    println!(
        "sweep of 2 forwarder runs in a row on the VM testbed: {:.1} s",
        t2.elapsed().as_secs_f64()
    );
    assert!(
        host::vm::owner::state_dir(&name).exists(),
        "a testbed the sweep found up is left up"
    );

    knobs_on_real_drivers(&name, "virtio_net");
    common::vm_host::host_settings_round_trip(
        vm,
        &name,
        &format!("{name}-b"),
        &format!("{name}-ba"),
        "virtio_net",
    );

    // down: nothing of the guest is left
    let state = host::vm::owner::state_dir(&name);
    ok(
        &xdplat()
            .args(["testbed", "down", "--name", &name])
            .output()
            .unwrap(),
        "down",
    );
    assert!(host::vm::owner::processes(&state).is_empty());
    assert!(!state.exists());
    assert!(!host::netns::exists(&host::vm::wire::wire_netns(&name)));
    println!(
        "VM test (boot, status, 1000 zero-copy probes, down): {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn vm_sigkill_of_the_owner_leaves_no_qemu_after_down() {
    if !can_run("vm_sigkill_of_the_owner_leaves_no_qemu_after_down") {
        return;
    }
    let t0 = Instant::now();
    let name = unique_name("vk");
    let _down = Down(name.clone());
    let state = host::vm::owner::state_dir(&name);
    let mut up = xdplat()
        .args(["testbed", "up", "--kind", "vm", "--name", &name])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("testbed up");
    // wait for QEMU itself (its pid file), then SIGKILL the owner mid-boot
    let pidfile = state.join("qemu.pid");
    while !pidfile.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "QEMU never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let qemu: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    up.kill().unwrap();
    up.wait().unwrap();
    assert!(
        Path::new(&format!("/proc/{qemu}")).exists(),
        "QEMU outlives its SIGKILLed owner until someone reaps it"
    );
    ok(
        &xdplat()
            .args(["testbed", "down", "--name", &name])
            .output()
            .unwrap(),
        "down after SIGKILL",
    );
    assert!(
        !Path::new(&format!("/proc/{qemu}/exe")).exists(),
        "QEMU {qemu} survived testbed down"
    );
    assert!(host::vm::owner::processes(&state).is_empty());
    assert!(!host::netns::exists(&host::vm::wire::wire_netns(&name)));
    println!("SIGKILL/reap test: {:.1} s", t0.elapsed().as_secs_f64());
}

#[test]
fn vm_orphan_is_reaped_by_the_next_up_of_another_testbed() {
    // the reaping itself, without booting: an owner that is gone and a process of the guest
    if !require_root("vm_orphan_is_reaped_by_the_next_up_of_another_testbed") {
        return;
    }
    let name = unique_name("vo");
    let state = host::vm::owner::state_dir(&name);
    std::fs::create_dir_all(&state).unwrap();
    let _down = Down(name.clone());
    // a stand-in process of the guest: its command line names the state directory
    let marker = format!("{}/qemu.pid", state.display());
    let mut guest = KillOnDrop(
        Command::new("sh")
            .args(["-c", "sleep 300", &marker])
            .spawn()
            .unwrap(),
    );
    // an owner that is gone: a child that already exited
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_id = host::vm::owner::start_of(dead.id() as i32).unwrap_or(host::vm::owner::ProcId {
        pid: dead.id() as i32,
        start: 1,
    });
    dead.wait().unwrap();
    let rec = host::vm::owner::Record {
        name: name.clone(),
        owner: Some(dead_id),
        leader: None,
        nic: "virtio-net".into(),
        queues: 1,
        with_c: false,
        accel: "tcg".into(),
        accel_note: None,
        qemu: "10.0".into(),
        kernel: String::new(),
        kernel_release: String::new(),
        ssh_port: 1,
        xdplat: String::new(),
        boot_s: None,
    };
    rec.save().unwrap();
    let t0 = Instant::now();
    while host::vm::owner::processes(&state).is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(20));
    }
    // `testbed up --kind vm` of another testbed reaps it first (then fails on the bad kernel)
    let o = xdplat()
        .args([
            "testbed",
            "up",
            "--kind",
            "vm",
            "--name",
            &unique_name("vx"),
        ])
        .args(["--kernel", "/proc/self/status"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    // bad input is refused before anything else, the reaping included: `down` reaps
    let o = xdplat()
        .args(["testbed", "down", "--name", &unique_name("vy")])
        .output()
        .unwrap();
    ok(&o, "down of another testbed");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&name),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = guest.0.wait();
    assert!(host::vm::owner::processes(&state).is_empty());
    assert!(!state.exists());
}

#[test]
fn vm_bad_input_exits_2_and_leaves_nothing() {
    if !require_root("vm_bad_input_exits_2_and_leaves_nothing") {
        return;
    }
    let dir = out_dir("vm-bad");
    std::fs::create_dir_all(&dir).unwrap();
    let not_kernel = dir.join("vmlinuz");
    std::fs::write(&not_kernel, b"#!/bin/sh\necho not a kernel\n").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--kind".into(), "container".into()], "--kind"),
        (
            vec![
                "--kind".into(),
                "vm".into(),
                "--kernel".into(),
                path(&not_kernel),
            ],
            "not a Linux kernel image",
        ),
        (
            vec![
                "--kind".into(),
                "vm".into(),
                "--kernel".into(),
                "/no/such/vmlinuz".into(),
            ],
            "--kernel",
        ),
        (
            vec!["--kind".into(), "vm".into(), "--nic".into(), "e1000".into()],
            "--nic",
        ),
        (
            vec!["--kind".into(), "vm".into(), "--queues".into(), "99".into()],
            "--queues",
        ),
    ];
    for (args, says) in cases {
        let name = unique_name("vb");
        let o = xdplat()
            .args(["testbed", "up", "--name", &name])
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!host::vm::owner::state_dir(&name).exists(), "{args:?}");
        assert!(host::vm::owner::processes(&host::vm::owner::state_dir(&name)).is_empty());
    }
    // no room for the VM testbed's needs: a cache on a full filesystem
    let full = dir.join("full");
    std::fs::create_dir_all(&full).unwrap();
    if Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&full)
        .status()
        .is_ok_and(|s| s.success())
    {
        let _ = std::fs::write(full.join("fill"), vec![0u8; 60 * 1024]);
        let o = Command::new("bash")
            .arg(repo().join("scripts/setup-vm.sh"))
            .env("XDPLAT_VM_CACHE", &full)
            .output()
            .unwrap();
        let _ = Command::new("umount").arg(&full).status();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("XDPLAT_VM_CACHE"), "{err}");
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
