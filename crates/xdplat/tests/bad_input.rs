//! Bad input gets a clear message naming the parameter, exit code 2, and leaves nothing
//! attached or written.

mod common;

use common::*;

fn expect_bad(tb: &TestTestbed, flags: &[&str], needle: &str) {
    let out = out_dir("bad");
    let res = ping(tb, &out, flags);
    let msg = text(&res);
    assert_eq!(res.status.code(), Some(2), "flags {flags:?}: {msg}");
    assert!(
        msg.contains(needle),
        "flags {flags:?}: message lacks {needle:?}: {msg}"
    );
    assert!(
        !xdp_attached(&tb.ab().a.netns, &tb.ab().a.iface),
        "flags {flags:?} left XDP attached"
    );
    assert!(!out.join("summary.json").exists());
}

#[test]
fn bad_values_exit_2_and_change_nothing() {
    let Some(tb) = TestTestbed::new("bad", 1) else {
        return;
    };
    expect_bad(
        &tb,
        &["--count", "5", "--frame-size", "3000"],
        "--frame-size",
    );
    expect_bad(&tb, &["--count", "5", "--ring-size", "1000"], "--ring-size");
    expect_bad(&tb, &["--count", "5", "--size", "63"], "--size");
    expect_bad(&tb, &["--count", "5", "--size", "5000"], "--size");
    expect_bad(
        &tb,
        &["--count", "5", "--size", "64", "--stamp-room"],
        "--size",
    );
    expect_bad(&tb, &["--count", "5", "--xdp-mode", "fast"], "XDP mode");
    expect_bad(&tb, &["--count", "5", "--bind", "maybe"], "--bind");
    expect_bad(&tb, &["--count", "5", "--backend", "dpdk"], "--backend");
    expect_bad(&tb, &["--count", "5", "--dst-mac", "zz:00"], "--dst-mac");
    expect_bad(&tb, &["--count", "5", "--cpu", "4096"], "--cpu");
    expect_bad(&tb, &["--count", "5", "--flows", "0"], "--flows");
    expect_bad(
        &tb,
        &["--count", "5", "--flows", "2", "--backend", "udp"],
        "--flows",
    );
    expect_bad(
        &tb,
        &["--count", "5", "--flows", "8", "--port", "65530"],
        "--flows",
    );
}

#[test]
fn missing_interface_and_namespace_exit_2() {
    let Some(tb) = TestTestbed::new("miss", 1) else {
        return;
    };
    let res = xdplat()
        .args([
            "ping",
            "--netns",
            &tb.ab().a.netns,
            "--iface",
            "nosuch0",
            "--dst-ip",
            "10.77.1.2",
            "--count",
            "1",
        ])
        .args(["--out", "/nonexistent/never"])
        .output()
        .expect("run");
    assert_eq!(res.status.code(), Some(2), "{}", text(&res));
    assert!(text(&res).contains("nosuch0"), "{}", text(&res));

    let res = xdplat()
        .args([
            "fwd",
            "--netns",
            "no-such-ns-xyz",
            "--iface",
            "eth0",
            "--duration",
            "1s",
        ])
        .output()
        .expect("run");
    assert_eq!(res.status.code(), Some(2), "{}", text(&res));
    assert!(text(&res).contains("no-such-ns-xyz"), "{}", text(&res));
}

#[test]
fn usage_errors_exit_2() {
    let res = xdplat().args(["ping", "--iface"]).output().expect("run");
    assert_eq!(res.status.code(), Some(2));
    let res = xdplat()
        .args([
            "ping",
            "--iface",
            "x",
            "--dst-ip",
            "1.2.3.4",
            "--out",
            "/tmp/x",
            "--interval",
            "soon",
        ])
        .output()
        .expect("run");
    assert_eq!(res.status.code(), Some(2));
    assert!(text(&res).contains("--interval"), "{}", text(&res));
}

#[test]
fn not_root_exits_2_with_a_clear_message() {
    if !host::test_support::require_root("not_root_exits_2_with_a_clear_message") {
        return;
    }
    let bin = nobody_bin();
    let res = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            bin.to_str().expect("utf-8 path"),
            "ping",
            "--iface",
            "lo",
            "--dst-ip",
            "127.0.0.1",
        ])
        .args(["--out", "/tmp/xdplat-never", "--count", "1"])
        .output();
    let Ok(res) = res else {
        host::test_support::skip(
            "not_root_exits_2_with_a_clear_message",
            host::test_support::Missing::Tool("setpriv"),
        );
        return;
    };
    assert_eq!(res.status.code(), Some(2), "{}", text(&res));
    // the message names every missing capability (no --netns: setns is not needed)
    let msg = text(&res);
    for cap in [
        "CAP_BPF",
        "CAP_NET_ADMIN",
        "CAP_PERFMON",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
    ] {
        assert!(
            msg.contains(&format!("{cap} (to ")),
            "{cap} not named: {msg}"
        );
    }
    assert!(!msg.contains("CAP_SYS_ADMIN (to "), "{msg}");
}

#[test]
fn a_finished_run_is_never_overwritten() {
    let Some(tb) = TestTestbed::new("keep", 1) else {
        return;
    };
    let out = out_dir("keep");
    let first = ping(&tb, &out, &["--count", "2", "--interval", "1ms"]);
    assert!(first.status.success(), "{}", text(&first));
    let before = std::fs::read(out.join("summary.json")).expect("summary");
    let second = ping(&tb, &out, &["--count", "2", "--interval", "1ms"]);
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    assert_eq!(
        std::fs::read(out.join("summary.json")).expect("summary"),
        before
    );
}
