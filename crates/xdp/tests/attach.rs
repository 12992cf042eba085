//! Attaching the probe program to a veth in fresh namespaces: modes, the
//! attach guard, and that ordinary traffic keeps flowing.

mod common;

use std::net::UdpSocket;
use std::os::fd::AsFd;
use std::process::Command;
use std::time::Duration;

use common::{VethPair, root_or_skip};
use xdp::{ProbeProgram, ProbeProgramConfig, XSKMAP_ENTRIES, XdpMode};

const PORT: u16 = 47_001;

fn config(pair: &VethPair, mode: XdpMode) -> ProbeProgramConfig {
    ProbeProgramConfig {
        ifindex: pair.ifindex_a(),
        mode,
        probe_port: PORT,
        hw_rx_timestamp: false,
        stamp: xdp::forced_from_env().expect("XDPLAT_XDP_STAMP"),
        probe_ports: 1,
    }
}

/// `ip -j link` reports XDP_ATTACHED_DRV as 1 and XDP_ATTACHED_SKB as 2.
fn ip_mode(xdp: &serde_json::Value) -> Option<u64> {
    xdp.get("mode")?.as_u64()
}

/// Attaches in `mode`, checks `mode()` and `ip -j link`, drops, checks detach.
fn attach_reports_mode_and_detaches_on_drop(mode: XdpMode, ip_attached: u64) {
    let pair = VethPair::new();
    VethPair::enter(&pair.ns_a);
    let prog = ProbeProgram::attach(&config(&pair, mode)).expect("attach");
    assert_eq!(prog.mode(), mode);
    let xdp = pair.xdp_of_a().expect("a program is attached");
    assert_eq!(ip_mode(&xdp), Some(ip_attached), "{xdp}");
    drop(prog);
    assert_eq!(
        wait_detached(&pair),
        None,
        "dropping the ProbeProgram detaches it"
    );
}

/// Waits up to 2 s for `if_a` to have no XDP program; returns what is left.
/// (A process that another test thread forks holds a copy of our link fd
/// until it execs, so the detach may trail the drop by a moment.)
fn wait_detached(pair: &VethPair) -> Option<serde_json::Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let xdp = pair.xdp_of_a();
        if xdp.is_none() || std::time::Instant::now() > deadline {
            return xdp;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn drv_attach_reports_mode_and_detaches_on_drop() {
    if root_or_skip("drv_attach_reports_mode_and_detaches_on_drop") {
        attach_reports_mode_and_detaches_on_drop(XdpMode::Drv, 1);
    }
}

#[test]
fn skb_attach_reports_mode_and_detaches_on_drop() {
    if root_or_skip("skb_attach_reports_mode_and_detaches_on_drop") {
        attach_reports_mode_and_detaches_on_drop(XdpMode::Skb, 2);
    }
}

#[test]
fn auto_attaches_in_drv_on_veth() {
    if !root_or_skip("auto_attaches_in_drv_on_veth") {
        return;
    }
    let pair = VethPair::new();
    VethPair::enter(&pair.ns_a);
    let prog = ProbeProgram::attach(&config(&pair, XdpMode::Auto)).expect("attach auto");
    assert_eq!(prog.mode(), XdpMode::Drv);
}

#[test]
fn second_attach_fails_clearly() {
    if !root_or_skip("second_attach_fails_clearly") {
        return;
    }
    let pair = VethPair::new();
    VethPair::enter(&pair.ns_a);
    let first = ProbeProgram::attach(&config(&pair, XdpMode::Drv)).expect("attach drv");
    let err = ProbeProgram::attach(&config(&pair, XdpMode::Drv)).expect_err("second attach");
    let msg = err.to_string();
    eprintln!("second attach: {msg}");
    assert!(
        msg.contains(&format!("ifindex {}", pair.ifindex_a())),
        "{msg}"
    );
    assert!(msg.contains("drv"), "{msg}");
    assert_eq!(err.errno(), Some(nix::libc::EBUSY), "{msg}");
    // Nor can generic XDP join native XDP on the same device.
    let err = ProbeProgram::attach(&config(&pair, XdpMode::Skb)).expect_err("skb over drv");
    eprintln!("skb over drv: {err}");
    assert!(err.to_string().contains("skb mode"), "{err}");
    assert!(err.errno().is_some(), "{err}");
    // The first attachment is untouched.
    assert_eq!(first.mode(), XdpMode::Drv);
    assert!(pair.xdp_of_a().is_some());
}

#[test]
fn ping_and_unclaimed_probes_pass_drv() {
    if root_or_skip("ping_and_unclaimed_probes_pass_drv") {
        ping_and_unclaimed_probes_pass(XdpMode::Drv);
    }
}

#[test]
fn ping_and_unclaimed_probes_pass_skb() {
    if root_or_skip("ping_and_unclaimed_probes_pass_skb") {
        ping_and_unclaimed_probes_pass(XdpMode::Skb);
    }
}

/// ICMP ping and a probe with no socket for its queue both reach the kernel.
fn ping_and_unclaimed_probes_pass(mode: XdpMode) {
    let pair = VethPair::new();
    VethPair::enter(&pair.ns_a);
    let prog = ProbeProgram::attach(&config(&pair, mode)).expect("attach");

    let ping = Command::new("ping")
        .args(["-c", "3", "-i", "0.2", "-W", "2", &pair.ip_b])
        .output()
        .expect("running ping");
    assert!(
        ping.status.success(),
        "ping across the veth with XDP attached failed"
    );

    // A probe with no socket in the map for its queue reaches the kernel.
    let rx = UdpSocket::bind((pair.ip_a.as_str(), PORT)).expect("bind in ns a");
    rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let (ip_a, ns_b) = (pair.ip_a.clone(), pair.ns_b.clone());
    std::thread::spawn(move || {
        VethPair::enter(&ns_b);
        let tx = UdpSocket::bind("0.0.0.0:0").expect("bind in ns b");
        tx.send_to(b"probe", (ip_a.as_str(), PORT))
            .expect("send probe");
    })
    .join()
    .unwrap();
    let mut buf = [0; 64];
    let (n, _) = rx
        .recv_from(&mut buf)
        .expect("the unclaimed probe passes to the kernel");
    assert_eq!(&buf[..n], b"probe");

    let c = prog.counters().expect("counters");
    assert!(c.passed >= 3, "ping replies and ARP are passed: {c:?}");
    assert_eq!(c.no_socket, 1, "{c:?}");
    assert_eq!(c.redirected, 0, "{c:?}");
}

#[test]
fn insert_socket_rejects_bad_input() {
    if !root_or_skip("insert_socket_rejects_bad_input") {
        return;
    }
    let pair = VethPair::new();
    VethPair::enter(&pair.ns_a);
    let prog = ProbeProgram::attach(&config(&pair, XdpMode::Drv)).expect("attach drv");
    let not_xsk = UdpSocket::bind("127.0.0.1:0").unwrap();
    let err = prog
        .insert_socket(0, not_xsk.as_fd())
        .expect_err("a UDP socket is no XSK");
    assert_eq!(err.errno(), Some(nix::libc::EOPNOTSUPP), "{err}");
    assert!(err.to_string().contains("queue 0"), "{err}");
    let err = prog
        .insert_socket(XSKMAP_ENTRIES, not_xsk.as_fd())
        .expect_err("queue out of range");
    assert!(err.to_string().contains("out of range"), "{err}");
}

#[test]
fn hw_timestamp_program_loads_device_bound_in_drv_only() {
    if !root_or_skip("hw_timestamp_program_loads_device_bound_in_drv_only") {
        return;
    }
    let pair = VethPair::new();
    VethPair::enter(&pair.ns_a);
    let mut cfg = config(&pair, XdpMode::Skb);
    cfg.hw_rx_timestamp = true;
    let err = ProbeProgram::attach(&cfg).expect_err("device-bound in skb mode");
    assert!(err.to_string().contains("drv mode only"), "{err}");
    cfg.mode = XdpMode::Auto;
    if cfg.stamp == Some(xdp::Stamp::None) {
        let err = ProbeProgram::attach(&cfg).expect_err("no stamp to carry the NIC's");
        assert!(
            err.is_bad_input() && err.to_string().contains("--hw-timestamps"),
            "{err}"
        );
        return;
    }
    let prog = ProbeProgram::attach(&cfg).expect("device-bound program in drv mode");
    assert_eq!(prog.mode(), XdpMode::Drv);
    assert!(prog.hw_rx_timestamp());
    let ping = Command::new("ping")
        .args(["-c", "1", "-W", "2", &pair.ip_b])
        .output()
        .expect("running ping");
    assert!(ping.status.success());
}

/// Set for the child process of `killed_process_leaves_nothing_attached`.
const CHILD_ENV: &str = "XDP_TEST_ATTACH_CHILD";

/// In the child process only: attaches to the interface named in
/// `CHILD_ENV` ("NETNS IFACE"), says so, and waits to be killed.
#[test]
fn child_attach_and_wait() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return; // an ordinary test run: nothing to do
    };
    let (ns, iface) = spec.split_once(' ').expect("NETNS IFACE");
    VethPair::enter(ns);
    let ifindex = nix::net::if_::if_nametoindex(iface).expect("if_nametoindex");
    let cfg = ProbeProgramConfig {
        ifindex,
        mode: XdpMode::Skb,
        probe_port: PORT,
        hw_rx_timestamp: false,
        stamp: xdp::forced_from_env().expect("XDPLAT_XDP_STAMP"),
        probe_ports: 1,
    };
    let _prog = ProbeProgram::attach(&cfg).expect("attach in child");
    println!("ATTACHED");
    std::thread::sleep(Duration::from_secs(30));
}

#[test]
fn killed_process_leaves_nothing_attached() {
    if !root_or_skip("killed_process_leaves_nothing_attached") {
        return;
    }
    use std::io::{BufRead, BufReader};
    let pair = VethPair::new();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_attach_and_wait",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{} {}", pair.ns_a, pair.if_a))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawning the child test");
    let out = BufReader::new(child.stdout.take().unwrap());
    let attached = out
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("ATTACHED"));
    let seen = pair.xdp_of_a();
    child.kill().expect("SIGKILL the child");
    child.wait().unwrap();
    assert!(attached, "the child did not attach");
    assert_eq!(seen.as_ref().and_then(ip_mode), Some(2), "{seen:?}");
    // The link fd closes with the process; the kernel detaches the program.
    assert_eq!(
        wait_detached(&pair),
        None,
        "the killed process left XDP attached"
    );
}
