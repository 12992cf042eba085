//! Per-NAPI settings over the netdev generic-netlink family, on veth (root
//! only): a veth has NAPI instances only while GRO is on or an XDP program
//! is attached; without them the settings are unsupported, naming the
//! device; with them they apply to every instance and are restored.

use std::process::Command;

use host::test_support::TestTestbed;
use host::{Error, HostConfig, OnUnsupported, StateDir, Target, restore_journal, settings};

const KEYS: [&str; 3] = [
    "per-napi-defer-hard-irqs",
    "per-napi-gro-flush-timeout",
    "per-napi-irq-suspend-timeout",
];

/// A fresh state directory, restored and removed on drop.
struct TmpState(StateDir);

impl TmpState {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("xdplat-napi-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TmpState(StateDir(dir))
    }
}

impl Drop for TmpState {
    fn drop(&mut self) {
        let _ = restore_journal(&self.0);
        let _ = std::fs::remove_dir_all(&self.0.0);
    }
}

fn read(key: &str, t: &Target) -> Result<String, Error> {
    settings::by_key(key).unwrap().read(t)
}

fn gro(t: &Target, on: bool) {
    let ns = t.netns.as_deref().unwrap();
    let dev = t.iface.as_deref().unwrap();
    let state = if on { "on" } else { "off" };
    let ok = Command::new("ip")
        .args(["netns", "exec", ns, "ethtool", "-K", dev, "gro", state])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn veth_without_napi_is_unsupported_naming_the_device() {
    let Some(tb) = TestTestbed::new("nnon", 1) else {
        return;
    };
    let st = TmpState::new("none");
    let a = &tb.ab().a;
    let t = Target::new(Some(&a.netns), Some(&a.iface));
    gro(&t, false);
    let defer = read("napi-defer-hard-irqs", &t).unwrap();
    let mut hc = HostConfig::new(&st.0).unwrap();
    for key in KEYS {
        let err = hc
            .apply(
                &t,
                &["napi-defer-hard-irqs=3".to_string(), format!("{key}=1000")],
                OnUnsupported::Error,
            )
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Unsupported { .. }), "{msg}");
        assert!(err.is_bad_input());
        assert!(
            msg.contains(key)
                && msg.contains(&format!("device {}", a.iface))
                && msg.contains(&a.netns)
                && msg.contains("no NAPI instances"),
            "{msg}"
        );
        assert_eq!(read("napi-defer-hard-irqs", &t).unwrap(), defer);
    }
    let rows = host::hostconfig::show(&t).unwrap();
    for key in KEYS {
        let row = rows.iter().find(|r| r.key == key).unwrap();
        assert_eq!(row.status, host::hostconfig::ShowStatus::Unsupported);
    }
}

#[test]
fn veth_with_gro_takes_per_napi_settings_and_restores_them() {
    let Some(tb) = TestTestbed::new("ngro", 2) else {
        return;
    };
    let st = TmpState::new("gro");
    let a = &tb.ab().a;
    let t = Target::new(Some(&a.netns), Some(&a.iface));
    gro(&t, true);
    let before: Vec<String> = KEYS.iter().map(|k| read(k, &t).unwrap()).collect();
    let dev_before = read("napi-defer-hard-irqs", &t).unwrap();
    {
        let mut hc = HostConfig::new(&st.0).unwrap();
        let out = hc
            .apply(
                &t,
                &[
                    "per-napi-defer-hard-irqs=3".into(),
                    "per-napi-gro-flush-timeout=20000".into(),
                    "per-napi-irq-suspend-timeout=5000000000".into(),
                ],
                OnUnsupported::Error,
            )
            .unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(read(KEYS[0], &t).unwrap(), "3");
        assert_eq!(read(KEYS[1], &t).unwrap(), "20000");
        assert_eq!(read(KEYS[2], &t).unwrap(), "5000000000");
        // Per-NAPI values do not touch the device-wide sysfs value ...
        assert_eq!(read("napi-defer-hard-irqs", &t).unwrap(), dev_before);
        // ... but the device-wide value is written through to every NAPI,
        // and restoring in reverse order puts both back.
        hc.apply(&t, &["napi-defer-hard-irqs=9".into()], OnUnsupported::Error)
            .unwrap();
        assert_eq!(read(KEYS[0], &t).unwrap(), "9");
    }
    let after: Vec<String> = KEYS.iter().map(|k| read(k, &t).unwrap()).collect();
    assert_eq!(after, before);
    assert_eq!(read("napi-defer-hard-irqs", &t).unwrap(), dev_before);
    let bad = settings::by_key(KEYS[0]).unwrap().parse("2147483648");
    assert!(bad.is_err_and(|e| e.is_bad_input()));
}
