//! Host settings with journal and restore, on real namespaces and veths
//! (root only). Tests touching global settings (sysctls, PM QoS) hold
//! GLOBAL so that they do not see each other's changes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use host::settings;
use host::state::{HostLock, Journal};
use host::test_support::{TestTestbed, require_root};
use host::{Error, HostConfig, OnUnsupported, StateDir, Target, restore_journal};

static GLOBAL: Mutex<()> = Mutex::new(());

fn global() -> std::sync::MutexGuard<'static, ()> {
    GLOBAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fresh state directory, removed on drop.
struct TmpState(StateDir);

impl TmpState {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("xdplat-host-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TmpState(StateDir(dir))
    }
}

impl Drop for TmpState {
    fn drop(&mut self) {
        // Whatever a failed test left applied goes back first.
        let _ = restore_journal(&self.0);
        let _ = std::fs::remove_dir_all(&self.0.0);
    }
}

fn sets(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn read(key: &str, t: &Target) -> String {
    settings::by_key(key).unwrap().read(t).unwrap()
}

#[test]
fn lock_is_exclusive_and_names_the_holder() {
    let st = TmpState::new("lock");
    let held = HostLock::acquire(&st.0).unwrap();
    let err = HostLock::acquire(&st.0).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    assert!(msg.contains("another xdplat process"), "{msg}");
    assert!(restore_journal(&st.0).is_err());
    drop(held);
    assert!(restore_journal(&st.0).unwrap().is_empty());
}

#[test]
fn journal_round_trips_atomically() {
    let st = TmpState::new("journal");
    assert_eq!(Journal::load(&st.0).unwrap(), Journal::empty());
    let mut j = Journal::empty();
    j.entries.push(host::state::Entry {
        id: 0,
        pid: 1,
        key: "busy-poll".into(),
        target: Target::new(Some("x-a"), Some("x-ab")),
        value: "50".into(),
        old: "0".into(),
        kept: false,
    });
    j.save(&st.0).unwrap();
    assert_eq!(Journal::load(&st.0).unwrap(), j);
    assert!(!st.0.0.join("journal.json.tmp").exists());
    assert_eq!(j.next_id(), 1);
}

#[test]
fn bad_input_names_key_and_accepted_values_and_changes_nothing() {
    let st = TmpState::new("bad");
    if !require_root("bad input") {
        return;
    }
    let _g = global();
    let before = read("busy-poll", &Target::default());
    let mut hc = HostConfig::new(&st.0).unwrap();
    for (items, needle) in [
        (sets(&["busy-poll=7", "no-such-key=1"]), "busy-read"),
        (sets(&["busy-poll=7", "busy-read=-3"]), "microseconds"),
        (sets(&["busy-poll"]), "KEY=VALUE"),
        (sets(&["busy-poll=7", "adaptive-rx=maybe"]), "on or off"),
        (sets(&["cpuidle-disable=!!"]), "deeper-than"),
        (sets(&["ntuple-udp-dport-to-queue=99999:1"]), "PORT:QUEUE"),
        (sets(&["irq-affinity=a-b"]), "CPU list"),
    ] {
        let err = hc
            .apply(&Target::default(), &items, OnUnsupported::Error)
            .unwrap_err();
        assert!(err.is_bad_input(), "{items:?}: {err}");
        assert!(err.to_string().contains(needle), "{items:?}: {err}");
    }
    let err = hc
        .apply(
            &Target::default(),
            &sets(&["napi-defer-hard-irqs=1"]),
            OnUnsupported::Error,
        )
        .unwrap_err();
    assert!(
        err.is_bad_input() && err.to_string().contains("--iface"),
        "{err}"
    );
    assert_eq!(read("busy-poll", &Target::default()), before);
    assert!(Journal::load(&st.0).unwrap().entries.is_empty());
}

#[test]
fn sysctls_and_pm_qos_apply_and_restore() {
    if !require_root("sysctls") {
        return;
    }
    let st = TmpState::new("sysctl");
    let _g = global();
    let t = Target::default();
    let (poll, rd, lat) = (
        read("busy-poll", &t),
        read("busy-read", &t),
        read("cpu-dma-latency-us", &t),
    );
    {
        let mut hc = HostConfig::new(&st.0).unwrap();
        let out = hc
            .apply(
                &t,
                &sets(&["busy-poll=77", "busy-read=66", "cpu-dma-latency-us=3"]),
                OnUnsupported::Error,
            )
            .unwrap();
        assert_eq!(out[0].effective.as_deref(), Some("77"));
        assert_eq!(out[0].before.as_deref(), Some(poll.as_str()));
        assert_eq!(read("busy-poll", &t), "77");
        assert_eq!(read("busy-read", &t), "66");
        let now: i64 = read("cpu-dma-latency-us", &t).parse().unwrap();
        assert!(now <= 3, "PM QoS target {now}");
        assert_eq!(Journal::load(&st.0).unwrap().entries.len(), 3);
    }
    assert_eq!(read("busy-poll", &t), poll);
    assert_eq!(read("busy-read", &t), rd);
    assert_eq!(read("cpu-dma-latency-us", &t), lat);
    assert!(Journal::load(&st.0).unwrap().entries.is_empty());

    // keep(): a one-shot `host apply`; the change outlives the guard and
    // the next guard's crash recovery, until restore_journal.
    let mut hc = HostConfig::new(&st.0).unwrap();
    hc.apply(
        &t,
        &sets(&["busy-poll=33", "cpu-dma-latency-us=5"]),
        OnUnsupported::Error,
    )
    .unwrap();
    let warnings = hc.keep().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("cpu-dma-latency-us"), "{warnings:?}");
    assert_eq!(read("busy-poll", &t), "33");
    assert_eq!(read("cpu-dma-latency-us", &t), lat);
    let j = Journal::load(&st.0).unwrap();
    assert_eq!(j.entries.len(), 1);
    assert!(j.entries[0].kept);
    {
        // A later guard layers its change on the kept one and goes back
        // to the kept value, not the original.
        let mut hc = HostConfig::new(&st.0).unwrap();
        assert!(hc.recovered.is_empty());
        assert_eq!(hc.kept.len(), 1);
        assert_eq!(read("busy-poll", &t), "33");
        hc.apply(&t, &sets(&["busy-poll=44"]), OnUnsupported::Error)
            .unwrap();
        assert_eq!(read("busy-poll", &t), "44");
    }
    assert_eq!(read("busy-poll", &t), "33");
    assert_eq!(restore_journal(&st.0).unwrap().len(), 1);
    assert_eq!(read("busy-poll", &t), poll);
    assert!(restore_journal(&st.0).unwrap().is_empty());
}

#[test]
fn device_sysfs_values_in_a_namespace_apply_and_restore() {
    let Some(tb) = TestTestbed::new("dsys", 1) else {
        return;
    };
    let st = TmpState::new("dsys");
    let a = &tb.ab().a;
    let t = Target::new(Some(&a.netns), Some(&a.iface));
    let (defer, gro) = (
        read("napi-defer-hard-irqs", &t),
        read("gro-flush-timeout", &t),
    );
    {
        let mut hc = HostConfig::new(&st.0).unwrap();
        hc.apply(
            &t,
            &sets(&["napi-defer-hard-irqs=2", "gro-flush-timeout=200000"]),
            OnUnsupported::Error,
        )
        .unwrap();
        assert_eq!(read("napi-defer-hard-irqs", &t), "2");
        assert_eq!(read("gro-flush-timeout", &t), "200000");
        // The B end, in another namespace, is untouched.
        let b = Target::new(Some(&tb.ab().b.netns), Some(&tb.ab().b.iface));
        assert_eq!(read("napi-defer-hard-irqs", &b), defer);
    }
    assert_eq!(read("napi-defer-hard-irqs", &t), defer);
    assert_eq!(read("gro-flush-timeout", &t), gro);

    // threaded NAPI: veth has NAPI once GRO is on.
    let ok = Command::new("ip")
        .args([
            "netns", "exec", &a.netns, "ethtool", "-K", &a.iface, "gro", "on",
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    let threaded = read("threaded-napi", &t);
    {
        let mut hc = HostConfig::new(&st.0).unwrap();
        hc.apply(&t, &sets(&["threaded-napi=on"]), OnUnsupported::Error)
            .unwrap();
        assert_eq!(read("threaded-napi", &t), "1");
    }
    assert_eq!(read("threaded-napi", &t), threaded);
    // The interface does not exist in the caller's namespace.
    let here = Target::new(None, Some(&a.iface));
    let s = settings::by_key("napi-defer-hard-irqs").unwrap();
    let res = s.check_supported(&here);
    assert!(matches!(res, Err(Error::Unsupported { .. })), "{res:?}");
}

#[test]
fn veth_channels_apply_and_restore_and_combined_is_unsupported() {
    let Some(tb) = TestTestbed::new("chan", 2) else {
        return;
    };
    let st = TmpState::new("chan");
    let a = &tb.ab().a;
    let t = Target::new(Some(&a.netns), Some(&a.iface));
    assert_eq!(read("channels-rx", &t), "2");
    {
        let mut hc = HostConfig::new(&st.0).unwrap();
        hc.apply(
            &t,
            &sets(&["channels-rx=1", "channels-tx=1"]),
            OnUnsupported::Error,
        )
        .unwrap();
        assert_eq!(read("channels-rx", &t), "1");
        assert_eq!(read("channels-tx", &t), "1");
        let (ns, ifname) = (a.netns.clone(), a.iface.clone());
        let info = host::netns::run_in(&ns, move || host::iface::info(&ifname))
            .unwrap()
            .unwrap();
        assert_eq!((info.num_rx_queues, info.num_tx_queues), (1, 1));
        let err = hc
            .apply(&t, &sets(&["channels-rx=3"]), OnUnsupported::Error)
            .unwrap_err();
        assert!(
            err.is_bad_input() && err.to_string().contains("1 to 2"),
            "{err}"
        );
        let err = hc
            .apply(&t, &sets(&["channels-combined=1"]), OnUnsupported::Error)
            .unwrap_err();
        assert!(err.to_string().contains("no combined channels"), "{err}");
    }
    assert_eq!(read("channels-rx", &t), "2");
    assert_eq!(read("channels-tx", &t), "2");
}

#[test]
fn veth_lacks_coalescing_ntuple_and_irqs_with_a_clear_message() {
    let Some(tb) = TestTestbed::new("unsup", 1) else {
        return;
    };
    let st = TmpState::new("unsup");
    let a = &tb.ab().a;
    let t = Target::new(Some(&a.netns), Some(&a.iface));
    let defer = read("napi-defer-hard-irqs", &t);
    let mut hc = HostConfig::new(&st.0).unwrap();
    for (item, lacks) in [
        ("rx-usecs=10", "interrupt coalescing"),
        ("adaptive-rx=off", "interrupt coalescing"),
        ("ntuple-udp-dport-to-queue=5555:1", "ntuple"),
        ("irq-affinity=0", "interrupts"),
    ] {
        let err = hc
            .apply(
                &t,
                &sets(&["napi-defer-hard-irqs=3", item]),
                OnUnsupported::Error,
            )
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Unsupported { .. }), "{msg}");
        assert!(
            msg.contains(&a.iface) && msg.contains(&a.netns) && msg.contains(lacks),
            "{msg}"
        );
        // Nothing else changed.
        assert_eq!(read("napi-defer-hard-irqs", &t), defer);
    }
    let out = hc
        .apply(
            &t,
            &sets(&["napi-defer-hard-irqs=3", "rx-usecs=10"]),
            OnUnsupported::Skip,
        )
        .unwrap();
    assert!(
        out.iter()
            .any(|o| o.key == "rx-usecs" && o.skipped.is_some())
    );
    assert_eq!(read("napi-defer-hard-irqs", &t), "3");
    drop(hc);
    assert_eq!(read("napi-defer-hard-irqs", &t), defer);

    let rows = host::hostconfig::show(&t).unwrap();
    assert_eq!(rows.len(), settings::keys().len());
    let row = rows.iter().find(|r| r.key == "rx-usecs").unwrap();
    assert_eq!(row.status, host::hostconfig::ShowStatus::Unsupported);
    assert!(row.why.as_deref().unwrap().contains("coalescing"));
    let row = rows.iter().find(|r| r.key == "gro-flush-timeout").unwrap();
    assert!(row.value.is_some());
}

#[test]
fn cpuidle_disable_on_a_cpu_tree() {
    // This machine may have no cpuidle; a tree of the same shape stands in.
    let root = std::env::temp_dir().join(format!("xdplat-cpuidle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for cpu in 0..2 {
        for (i, name) in ["POLL", "C1", "C6"].iter().enumerate() {
            let d = root.join(format!("cpu{cpu}/cpuidle/state{i}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("name"), format!("{name}\n")).unwrap();
            std::fs::write(d.join("disable"), "0\n").unwrap();
            std::fs::write(d.join("latency"), format!("{}\n", i * 100)).unwrap();
        }
    }
    std::fs::write(root.join("cpu1/cpuidle/state1/disable"), "1\n").unwrap();
    let s = settings::cpuidle_with_root(&root);
    let t = Target::default();
    s.check_supported(&t).unwrap();
    assert!(s.read(&t).unwrap().starts_with("mixed"));
    let old = s.snapshot(&t).unwrap();
    s.apply(&t, &s.parse("deeper-than:1").unwrap()).unwrap();
    assert_eq!(s.read(&t).unwrap(), "C6");
    s.apply(&t, &s.parse("C1,C6").unwrap()).unwrap();
    assert_eq!(s.read(&t).unwrap(), "C1,C6");
    let msg = s.parse("C9").unwrap_err().to_string();
    assert!(msg.contains("C1, C6, POLL"), "{msg}");
    s.restore(&t, &old).unwrap();
    assert_eq!(s.snapshot(&t).unwrap(), old);
    let _ = std::fs::remove_dir_all(&root);

    // And the real machine: either it works or it says what it lacks.
    let real = settings::by_key("cpuidle-disable").unwrap();
    if let Err(e) = real.check_supported(&t) {
        assert!(e.to_string().contains("no cpuidle states"), "{e}");
    }
}

const CHILD_ENV: &str = "XDPLAT_HOST_CRASH_CHILD";

/// Not a test on its own: the crash test runs this binary again with
/// CHILD_ENV set, and this applies settings, says "ready" and waits to be
/// killed.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = spec.split('|');
    let (dir, ns, ifname) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let hc = Box::leak(Box::new(HostConfig::new(&StateDir(dir.into())).unwrap()));
    hc.apply(
        &Target::default(),
        &sets(&["busy-read=55"]),
        OnUnsupported::Error,
    )
    .unwrap();
    hc.apply(
        &Target::new(Some(ns), Some(ifname)),
        &sets(&[
            "napi-defer-hard-irqs=5",
            "gro-flush-timeout=123000",
            "channels-rx=1",
        ]),
        OnUnsupported::Error,
    )
    .unwrap();
    println!("\nXDPLAT-CHILD-READY");
    std::thread::sleep(std::time::Duration::from_secs(30));
}

#[test]
fn sigkilled_process_is_undone_by_restore_journal() {
    let Some(tb) = TestTestbed::new("crash", 2) else {
        return;
    };
    let st = TmpState::new("crash");
    let _g = global();
    let a = &tb.ab().a;
    let t = Target::new(Some(&a.netns), Some(&a.iface));
    let g = Target::default();
    let before = (
        read("busy-read", &g),
        read("napi-defer-hard-irqs", &t),
        read("gro-flush-timeout", &t),
        read("channels-rx", &t),
    );
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(
            CHILD_ENV,
            format!("{}|{}|{}", st.0.0.display(), a.netns, a.iface),
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.any(|l| l.is_ok_and(|l| l.contains("XDPLAT-CHILD-READY")));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = child.wait();
    assert!(ready, "child did not get ready");
    assert_eq!(read("busy-read", &g), "55");
    assert_eq!(read("napi-defer-hard-irqs", &t), "5");
    assert_eq!(read("channels-rx", &t), "1");
    assert_eq!(Journal::load(&st.0).unwrap().entries.len(), 4);

    let undone = restore_journal(&st.0).unwrap();
    assert_eq!(undone.len(), 4);
    let after = (
        read("busy-read", &g),
        read("napi-defer-hard-irqs", &t),
        read("gro-flush-timeout", &t),
        read("channels-rx", &t),
    );
    assert_eq!(after, before);
    assert!(Journal::load(&st.0).unwrap().entries.is_empty());
    // Restoring twice is harmless.
    assert!(restore_journal(&st.0).unwrap().is_empty());
}

#[test]
fn entries_of_a_vanished_device_are_dropped_on_restore() {
    let Some(tb) = TestTestbed::new("gone", 1) else {
        return;
    };
    let st = TmpState::new("gone");
    let a = tb.ab().a.clone();
    let mut j = Journal::empty();
    for (i, ns) in [Some(a.netns.as_str()), Some("xdplat-gone-ns")]
        .into_iter()
        .enumerate()
    {
        j.entries.push(host::state::Entry {
            id: i as u64,
            pid: 1,
            key: "napi-defer-hard-irqs".into(),
            target: Target::new(ns, Some("nosuchif0")),
            value: "2".into(),
            old: "0".into(),
            kept: false,
        });
    }
    j.save(&st.0).unwrap();
    assert_eq!(restore_journal(&st.0).unwrap().len(), 2);
    assert!(Journal::load(&st.0).unwrap().entries.is_empty());
}
