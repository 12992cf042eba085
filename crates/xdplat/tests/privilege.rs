//! Least privilege, as measured on Linux 6.18: an unprivileged user runs the roles with
//! - `--netns` (the testbed): CAP_SYS_ADMIN (setns; it also lets the verifier and the XDP attach
//!   through), CAP_NET_RAW (the AF_XDP socket), CAP_IPC_LOCK (a UMEM above RLIMIT_MEMLOCK);
//! - in its own namespace (a real NIC): CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON (the verifier's
//!   pointer arithmetic on packet offsets), CAP_NET_RAW, CAP_IPC_LOCK;
//! - plus CAP_NET_ADMIN for `--busy-poll true`; the udp backend needs none of the AF_XDP ones.
//!
//! Without any one of them a role refuses to start with a message naming it (exit 2, nothing
//! attached or written). Ambient capabilities through `setpriv`, a root shell without CAP_BPF
//! through `capsh`. Needs root (to drop to the unprivileged user); skips otherwise.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The set with --netns, in setpriv's spelling.
const NETNS_SET: [&str; 3] = ["sys_admin", "net_raw", "ipc_lock"];
/// The set inside the namespace (no --netns).
const HOST_SET: [&str; 5] = ["net_admin", "bpf", "perfmon", "net_raw", "ipc_lock"];
const NOBODY: &str = "65534";

/// `setpriv` running BIN as nobody with exactly `caps` (inheritable + ambient, so they survive
/// the exec of a binary without file capabilities).
fn as_nobody(caps: &[&str]) -> Command {
    as_nobody_in(None, caps)
}

/// As [`as_nobody`], started inside `netns` by `ip netns exec` when given (then the role needs no
/// --netns and no CAP_SYS_ADMIN).
fn as_nobody_in(netns: Option<&str>, caps: &[&str]) -> Command {
    let list: String = std::iter::once("-all".to_string())
        .chain(caps.iter().map(|c| format!("+{c}")))
        .collect::<Vec<_>>()
        .join(",");
    let mut c = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "setpriv"]);
            c
        }
        None => Command::new("setpriv"),
    };
    c.args([
        &format!("--reuid={NOBODY}"),
        &format!("--regid={NOBODY}"),
        "--clear-groups",
        &format!("--inh-caps={list}"),
        &format!("--ambient-caps={list}"),
    ]);
    c.arg(nobody_bin());
    c
}

fn have_setpriv() -> bool {
    host::test_support::require_tool("privilege", "setpriv", "--version")
}

/// An output directory that nobody may write (see `common::nobody_out`).
fn writable_out(test: &str) -> PathBuf {
    nobody_out(test)
}

struct Fwd(Child);

impl Fwd {
    /// `xdplat fwd` in B as nobody with `caps` (started inside B when `inside`, else with
    /// --netns); returns once ready.
    fn start(tb: &TestTestbed, caps: &[&str], inside: bool) -> Fwd {
        let b = &tb.ab().b;
        let mut cmd = as_nobody_in(inside.then_some(b.netns.as_str()), caps);
        cmd.arg("fwd");
        if !inside {
            cmd.args(["--netns", &b.netns]);
        }
        let mut child = cmd
            .args(["--iface", &b.iface, "--duration", "30s"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fwd");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        loop {
            match lines.next() {
                Some(Ok(l)) if is_ready(&l) => break,
                Some(Ok(l)) => seen.push(l),
                _ => panic!("unprivileged forwarder exited: {seen:?}"),
            }
            assert!(Instant::now() < deadline, "not ready: {seen:?}");
        }
        std::thread::spawn(move || for _ in lines {});
        Fwd(child)
    }
}

impl Drop for Fwd {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::SIGTERM,
        );
        let _ = self.0.wait();
    }
}

fn ping_as(tb: &TestTestbed, caps: &[&str], out: &Path, extra: &[&str]) -> Output {
    ping_in(tb, caps, false, out, extra)
}

/// `xdplat ping` from A as nobody with `caps`, inside A when `inside`, else with --netns.
fn ping_in(tb: &TestTestbed, caps: &[&str], inside: bool, out: &Path, extra: &[&str]) -> Output {
    let (a, b) = (&tb.ab().a, &tb.ab().b);
    let mut cmd = as_nobody_in(inside.then_some(a.netns.as_str()), caps);
    cmd.arg("ping");
    if !inside {
        cmd.args(["--netns", &a.netns]);
    }
    cmd.args(["--iface", &a.iface, "--quiet"])
        .args(["--dst-ip", &b.ip().expect("B ip").to_string()])
        .args(["--linger", "300ms", "--interval", "1ms"])
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("run ping")
}

/// fwd and ping as nobody with `caps`, inside the namespaces or through --netns: no loss,
/// results owned by nobody, nothing left attached.
fn round_trip_as(prefix: &str, caps: &[&str], inside: bool) {
    let Some(tb) = TestTestbed::new(prefix, 1) else {
        return;
    };
    let fwd = Fwd::start(&tb, caps, inside);
    let out = writable_out(prefix);
    let res = ping_in(&tb, caps, inside, &out, &["--count", "200"]);
    drop(fwd);
    assert!(res.status.success(), "{caps:?}: {}", text(&res));
    let s = summary(&out);
    assert_eq!((s.packets.sent, s.packets.lost), (200, 0));
    assert_eq!(s.effective["xdp_mode"], "drv");
    let meta = std::fs::metadata(out.join("summary.json")).expect("stat");
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&meta).to_string(),
        NOBODY
    );
    assert!(!xdp_attached(&tb.ab().a.netns, &tb.ab().a.iface));
    assert!(!xdp_attached(&tb.ab().b.netns, &tb.ab().b.iface));
}

#[test]
fn roles_run_unprivileged_with_the_netns_set() {
    if have_setpriv() {
        round_trip_as("capns", &NETNS_SET, false);
    }
}

#[test]
fn roles_run_unprivileged_with_the_in_namespace_set() {
    if have_setpriv() {
        round_trip_as("caphs", &HOST_SET, true);
    }
}

/// Runs ping and fwd without `missing` (from `set`), expecting exit 2 and `needle`.
fn refused(tb: &TestTestbed, set: &[&str], missing: &str, inside: bool, needle: &str) {
    let caps: Vec<&str> = set.iter().copied().filter(|c| *c != missing).collect();
    let out = writable_out("capms");
    let res = ping_in(tb, &caps, inside, &out, &["--count", "5"]);
    let msg = text(&res);
    assert_eq!(res.status.code(), Some(2), "without {missing}: {msg}");
    assert!(msg.contains(needle), "without {missing}: {msg}");
    assert!(!out.exists(), "without {missing}: wrote {}", out.display());
    let b = &tb.ab().b;
    let mut cmd = as_nobody_in(inside.then_some(b.netns.as_str()), &caps);
    cmd.arg("fwd");
    if !inside {
        cmd.args(["--netns", &b.netns]);
    }
    let res = cmd
        .args(["--iface", &b.iface, "--duration", "1s"])
        .output()
        .expect("run fwd");
    assert_eq!(
        res.status.code(),
        Some(2),
        "fwd without {missing}: {}",
        text(&res)
    );
    assert!(
        text(&res).contains(needle),
        "fwd without {missing}: {}",
        text(&res)
    );
    println!("without {missing}: {}", msg.trim());
}

#[test]
fn each_missing_capability_is_named_and_nothing_is_attached() {
    if !have_setpriv() {
        return;
    }
    let Some(tb) = TestTestbed::new("capms", 1) else {
        return;
    };
    for missing in HOST_SET {
        let name = format!("CAP_{}", missing.to_uppercase());
        // exactly one need is unmet, and it is named
        refused(&tb, &HOST_SET, missing, true, &format!("lacks {name} (to "));
    }
    refused(
        &tb,
        &NETNS_SET,
        "net_raw",
        false,
        "lacks CAP_NET_RAW (to create the AF_XDP socket)",
    );
    refused(
        &tb,
        &NETNS_SET,
        "ipc_lock",
        false,
        "CAP_IPC_LOCK (to pin a UMEM",
    );
    refused(
        &tb,
        &NETNS_SET,
        "sys_admin",
        false,
        "CAP_SYS_ADMIN (to enter the network namespace",
    );
    // busy polling needs CAP_NET_ADMIN even with CAP_SYS_ADMIN
    let out = writable_out("capms");
    let res = ping_as(
        &tb,
        &NETNS_SET,
        &out,
        &["--count", "5", "--busy-poll", "true"],
    );
    assert_eq!(res.status.code(), Some(2), "{}", text(&res));
    assert!(
        text(&res).contains("lacks CAP_NET_ADMIN (to set SO_PREFER_BUSY_POLL"),
        "{}",
        text(&res)
    );
    assert!(!xdp_attached(&tb.ab().a.netns, &tb.ab().a.iface));
    assert!(!xdp_attached(&tb.ab().b.netns, &tb.ab().b.iface));
}

/// RLIMIT_MEMLOCK's soft value in bytes, None when unlimited.
fn memlock() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max locked memory"))
        .expect("memlock line");
    line.split_whitespace().nth(3).and_then(|v| v.parse().ok())
}

#[test]
fn ipc_lock_only_above_memlock_and_udp_needs_no_afxdp_capability() {
    if !have_setpriv() {
        return;
    }
    let Some(tb) = TestTestbed::new("capip", 1) else {
        return;
    };
    let fwd = Fwd::start(&tb, &NETNS_SET, false);
    // a UMEM of at most half the limit: no CAP_IPC_LOCK needed
    if let Some(limit) = memlock().filter(|l| *l >= 2 * 4096 * 64) {
        let frames = (limit / 2 / 4096).min(1024).to_string();
        let caps = ["sys_admin", "net_raw"];
        let out = writable_out("capip");
        let res = ping_as(&tb, &caps, &out, &["--count", "50", "--frames", &frames]);
        assert!(res.status.success(), "--frames {frames}: {}", text(&res));
        assert_eq!(summary(&out).packets.lost, 0);
    }
    drop(fwd);
    // kernel UDP sockets: only the namespace entry needs a capability
    let b = &tb.ab().b;
    let mut udp_fwd = as_nobody(&["sys_admin"])
        .args([
            "fwd",
            "--netns",
            &b.netns,
            "--iface",
            &b.iface,
            "--backend",
            "udp",
        ])
        .args(["--duration", "20s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("udp fwd");
    std::thread::sleep(Duration::from_millis(300));
    let out = writable_out("capip");
    let res = ping_as(
        &tb,
        &["sys_admin"],
        &out,
        &["--count", "50", "--backend", "udp"],
    );
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(udp_fwd.id() as i32),
        nix::sys::signal::SIGTERM,
    );
    let _ = udp_fwd.wait();
    assert!(res.status.success(), "{}", text(&res));
    assert_eq!(summary(&out).packets.lost, 0);
}

#[test]
fn root_without_cap_bpf_is_refused_by_name() {
    // a root shell whose bounding set lacks CAP_BPF and CAP_SYS_ADMIN (a container, for one)
    if !host::test_support::require_root("root_without_cap_bpf_is_refused_by_name") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_xdplat");
    let res = Command::new("capsh")
        .args([
            "--drop=cap_bpf,cap_sys_admin",
            "--",
            "-c",
            &format!(
                "exec {bin} ping --iface lo --dst-ip 127.0.0.1 --count 1 --out /nonexistent/x"
            ),
        ])
        .output();
    let Ok(res) = res else {
        host::test_support::skip(
            "root_without_cap_bpf_is_refused_by_name",
            host::test_support::Missing::Tool("capsh"),
        );
        return;
    };
    let msg = text(&res);
    assert_eq!(res.status.code(), Some(2), "{msg}");
    assert!(
        msg.contains("lacks CAP_BPF (to load the XDP program"),
        "{msg}"
    );
    assert_eq!(
        msg.matches(" (to ").count(),
        1,
        "only CAP_BPF is missing: {msg}"
    );
}

#[test]
fn doctor_reports_what_an_unprivileged_process_lacks() {
    if !have_setpriv() || !nix::unistd::geteuid().is_root() {
        return;
    }
    let res = as_nobody(&[])
        .args(["doctor", "--json"])
        .output()
        .expect("doctor");
    assert!(res.status.success(), "{}", text(&res));
    let v: serde_json::Value = serde_json::from_slice(&res.stdout).expect("json");
    let missing: Vec<&str> = v["process"]["missing_for_roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["capability"].as_str())
        .collect();
    assert_eq!(
        missing,
        [
            "CAP_BPF",
            "CAP_NET_ADMIN",
            "CAP_PERFMON",
            "CAP_NET_RAW",
            "CAP_IPC_LOCK",
            "CAP_NET_ADMIN",
            "CAP_SYS_ADMIN"
        ]
    );
    assert_eq!(v["process"]["euid"], 65534);
}
