//! End to end on a veth pair: a probe sent from the peer namespace lands in
//! an AF_XDP socket (the xsk crate, copy mode) with our stamp, in both drv and
//! skb mode: in front of it (metadata) or at the head of its frame, as the kernel
//! allows or `XDPLAT_XDP_STAMP` forces; the packet's own bytes are unchanged.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::{VethPair, root_or_skip};
use nix::time::{ClockId, clock_gettime};
use xdp::{META_LEN, ProbeProgram, ProbeProgramConfig, Stamp, XdpMeta, XdpMode};

const PORT: u16 = 47_002;

fn monotonic_ns() -> u64 {
    let t = clock_gettime(ClockId::CLOCK_MONOTONIC).expect("clock_gettime");
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}

fn probe_lands_in_xsk_with_metadata(mode: XdpMode, hw_rx_timestamp: bool) {
    let pair = VethPair::new();
    VethPair::enter(&pair.ns_a);
    let ifindex = pair.ifindex_a();
    let stamp = xdp::forced_from_env().expect("XDPLAT_XDP_STAMP");
    let attached = ProbeProgram::attach(&ProbeProgramConfig {
        ifindex,
        mode,
        probe_port: PORT,
        hw_rx_timestamp,
        stamp,
        probe_ports: 1,
    });
    if hw_rx_timestamp && stamp == Some(Stamp::None) {
        let err = attached.expect_err("no stamp to carry the NIC's");
        assert!(err.is_bad_input(), "{err}");
        return;
    }
    let prog = attached.expect("attach");

    let umem = xsk::UmemConfig {
        frame_count: 64,
        fill_size: 64,
        completion_size: 64,
        ..Default::default()
    };
    let mut cfg = xsk::SocketConfig::new(ifindex, 0);
    cfg.rx_size = 64;
    cfg.tx_size = 64;
    let mut sock = xsk::Socket::new(&umem, &cfg).expect("AF_XDP socket (copy mode)");
    let frames: Vec<u64> = sock
        .frames
        .frame_indices()
        .take(32)
        .map(|i| sock.frames.frame_addr(i))
        .collect();
    let mut fill = sock.fill.reserve(frames.len() as u32);
    for (i, addr) in frames.iter().enumerate() {
        fill.set(i as u32, *addr);
    }
    fill.commit(frames.len() as u32);
    prog.insert_socket(0, sock.ctl.fd()).expect("insert socket");

    let before = monotonic_ns();
    let (ip_a, ns_b) = (pair.ip_a.clone(), pair.ns_b.clone());
    std::thread::spawn(move || {
        VethPair::enter(&ns_b);
        let tx = UdpSocket::bind("0.0.0.0:0").expect("bind in ns b");
        tx.send_to(b"probe", (ip_a.as_str(), PORT))
            .expect("send probe");
    })
    .join()
    .unwrap();

    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let desc = loop {
        let peek = sock.rx.peek(1);
        if let Some(d) = peek.iter().next() {
            break d;
        }
        drop(peek);
        assert!(
            std::time::Instant::now() < deadline,
            "no probe on the AF_XDP socket: {:?}",
            prog.counters()
        );
        sock.ctl
            .poll_rx(Some(Duration::from_millis(100)))
            .expect("poll");
    };
    let after = monotonic_ns();
    let frame = sock.frames.packet(&desc).expect("packet bytes");
    let in_front = sock
        .frames
        .before(&desc, META_LEN)
        .and_then(XdpMeta::from_bytes);
    let stamp = prog.stamp().stamp;
    let c = prog.counters().expect("counters");
    let (meta, pkt) = match stamp {
        Stamp::Meta => (in_front.expect("our metadata (magic)"), frame),
        Stamp::Head => {
            assert_eq!(in_front, None, "a head program writes no metadata");
            let m = XdpMeta::from_head(frame)
                .unwrap_or_else(|| panic!("our head stamp (magic): {c:?} {frame:02x?}"));
            assert_eq!(c.head, 1, "{c:?}");
            (m, &frame[META_LEN..])
        }
        Stamp::None => {
            assert_eq!(in_front, None);
            assert_eq!(XdpMeta::from_head(frame), None);
            assert_eq!((c.redirected, c.unstamped), (1, 1), "{c:?}");
            return;
        }
    };
    assert!(pkt.len() >= 14 + 20 + 8 + 5);
    assert_eq!(&pkt[pkt.len() - 5..], b"probe");
    let xdp_ns = meta.xdp_ns().expect("XDP-hook stamp");
    assert!(
        before <= xdp_ns && xdp_ns <= after,
        "{before} <= {xdp_ns} <= {after}"
    );
    // veth has no RX hardware timestamp: the device-bound program says so
    // (flag clear) instead of writing a zero.
    assert_eq!(meta.hw_rx_ns(), None);
    assert_eq!(
        meta.flags & xdp::META_F_DEV_BOUND != 0,
        hw_rx_timestamp,
        "{meta:?}"
    );

    assert_eq!(c.redirected, 1, "{c:?}");
    assert_eq!(c.meta_failed, 0, "{c:?}");
    assert_eq!(c.unstamped, 0, "{c:?}");
    assert_eq!(c.no_socket, 0, "{c:?}");
}

#[test]
fn probe_lands_in_xsk_with_metadata_drv() {
    if root_or_skip("probe_lands_in_xsk_with_metadata_drv") {
        probe_lands_in_xsk_with_metadata(XdpMode::Drv, false);
    }
}

#[test]
fn probe_lands_in_xsk_with_metadata_skb() {
    if root_or_skip("probe_lands_in_xsk_with_metadata_skb") {
        probe_lands_in_xsk_with_metadata(XdpMode::Skb, false);
    }
}

#[test]
fn device_bound_probe_reports_no_hw_timestamp_on_veth() {
    if root_or_skip("device_bound_probe_reports_no_hw_timestamp_on_veth") {
        probe_lands_in_xsk_with_metadata(XdpMode::Drv, true);
    }
}
