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
    }
}

/// `ip -j link` reports XDP_ATTACHED_DRV as 1 and XDP_ATTACHED_SKB as 2.
fn ip_mode(xdp: &serde_json::Value) -> Option<u64> {
    xdp.get("mode")?.as_u64()
}

#[test]
fn drv_attach_reports_mode_and_detaches_on_drop() {
    if !root_or_skip("drv_attach_reports_mode_and_detaches_on_drop") {
        return;
    }
    let pair = VethPair::new();
    VethPair::enter(&pair.ns_a);
    let prog = ProbeProgram::attach(&config(&pair, XdpMode::Drv)).expect("attach drv");
    assert_eq!(prog.mode(), XdpMode::Drv);
    let xdp = pair.xdp_of_a().expect("a program is attached");
    assert_eq!(ip_mode(&xdp), Some(1), "{xdp}");
    drop(prog);
    assert_eq!(
        pair.xdp_of_a(),
        None,
        "dropping the ProbeProgram detaches it"
    );
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
    assert!(
        msg.contains(&format!("ifindex {}", pair.ifindex_a())),
        "{msg}"
    );
    assert!(msg.contains("drv"), "{msg}");
    assert_eq!(err.errno(), Some(nix::libc::EBUSY), "{msg}");
    // The first attachment is untouched.
    assert_eq!(first.mode(), XdpMode::Drv);
    assert!(pair.xdp_of_a().is_some());
}

#[test]
fn ping_and_unclaimed_probes_pass() {
    if !root_or_skip("ping_and_unclaimed_probes_pass") {
        return;
    }
    let pair = VethPair::new();
    VethPair::enter(&pair.ns_a);
    let prog = ProbeProgram::attach(&config(&pair, XdpMode::Drv)).expect("attach drv");

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
    let prog = ProbeProgram::attach(&cfg).expect("device-bound program in drv mode");
    assert_eq!(prog.mode(), XdpMode::Drv);
    assert!(prog.hw_rx_timestamp());
    let ping = Command::new("ping")
        .args(["-c", "1", "-W", "2", &pair.ip_b])
        .output()
        .expect("running ping");
    assert!(ping.status.success());
}
