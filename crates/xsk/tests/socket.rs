//! xsk against the real kernel: sockets bound to veth queues in fresh namespaces. Covers what
//! veth allows (copy mode, need_wakeup, shared UMEM, unaligned chunks, TX metadata, statistics,
//! socket options) and checks that what it does not allow (zero-copy) fails clearly.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use host::test_support::TestTestbed;
use xsk::{BindMode, BusyPoll, Socket, SocketConfig, UmemConfig};

/// Runs `f` on a thread inside namespace A of a fresh testbed with `queues` queues.
fn in_a<T: Send + 'static>(
    prefix: &str,
    queues: u32,
    f: impl FnOnce(u32, u32) -> T + Send + 'static,
) -> Option<T> {
    let tb = TestTestbed::new(prefix, queues)?;
    let a = tb.ab().a.clone();
    let out = host::netns::run_in(&a.netns, move || {
        let info = host::iface::info(&a.iface).expect("iface info");
        f(info.ifindex, info.num_rx_queues)
    })
    .expect("run in namespace");
    Some(out)
}

#[test]
fn copy_bind_reports_copy_and_reads_every_option() {
    in_a("xcpy", 1, |ifindex, _| {
        let mut cfg = SocketConfig::new(ifindex, 0);
        cfg.bind = BindMode::Copy;
        cfg.busy_poll = Some(BusyPoll {
            prefer: true,
            usecs: 30,
            budget: 16,
        });
        let sock = Socket::new(&UmemConfig::default(), &cfg).expect("copy bind on veth");
        assert!(!sock.ctl.info().zero_copy);
        assert!(!sock.ctl.is_zero_copy().expect("XDP_OPTIONS"));
        assert_eq!(
            sock.ctl.napi_id().expect("SO_INCOMING_NAPI_ID"),
            0,
            "veth gives AF_XDP no NAPI id here"
        );
        let (prefer, usecs, budget) = sock.ctl.busy_poll().expect("busy-poll options read back");
        assert!(prefer);
        assert_eq!(usecs, 30);
        assert_eq!(
            budget, None,
            "SO_BUSY_POLL_BUDGET has no getsockopt on this kernel"
        );
        assert!(
            !sock.ctl.tx_wakeup_skipped().unwrap(),
            "copy mode without a NAPI id: sendto wakes TX"
        );
        let stats = sock.ctl.statistics().expect("XDP_STATISTICS");
        assert!(stats.complete, "kernel 6.18 reports all six counters");
        assert_eq!(stats.rx_dropped, 0);
        drop(sock);
        // SO_PREFER_BUSY_POLL on its own: busy polling without it
        cfg.busy_poll = Some(BusyPoll {
            prefer: false,
            ..BusyPoll::default()
        });
        let sock = Socket::new(&UmemConfig::default(), &cfg).expect("copy bind on veth");
        let (prefer, usecs, _) = sock.ctl.busy_poll().unwrap();
        assert!(!prefer, "--prefer-busy-poll false reads back false");
        assert_eq!(usecs, 20);
    });
}

#[test]
fn zero_copy_is_refused_on_veth_and_auto_falls_back() {
    in_a("xzc", 1, |ifindex, _| {
        let mut cfg = SocketConfig::new(ifindex, 0);
        cfg.bind = BindMode::ZeroCopy;
        let err = Socket::new(&UmemConfig::default(), &cfg).expect_err("veth has no zero-copy");
        assert!(
            matches!(err, xsk::Error::ZeroCopyUnsupported { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("veth"), "{err}");
        cfg.bind = BindMode::Auto;
        let sock = Socket::new(&UmemConfig::default(), &cfg).expect("auto falls back to copy");
        assert!(!sock.ctl.info().zero_copy);
        assert!(sock.ctl.info().zero_copy_error.is_some());
    });
}

#[test]
fn bad_queue_and_bad_layout_are_named() {
    in_a("xbad", 1, |ifindex, _| {
        let err = Socket::new(&UmemConfig::default(), &SocketConfig::new(ifindex, 7))
            .expect_err("queue 7 does not exist");
        assert!(err.to_string().contains("bind(AF_XDP)"), "{err}");
        let umem = UmemConfig {
            frame_size: 3000,
            ..Default::default()
        };
        let err = Socket::new(&umem, &SocketConfig::new(ifindex, 0))
            .expect_err("3000 is no power of two");
        assert!(
            err.is_bad_input() && err.to_string().contains("--frame-size"),
            "{err}"
        );
        let mut cfg = SocketConfig::new(ifindex, 0);
        cfg.rx_size = 1000;
        let err = Socket::new(&UmemConfig::default(), &cfg).expect_err("ring 1000");
        assert!(
            err.is_bad_input() && err.to_string().contains("--ring-size"),
            "{err}"
        );
    });
}

#[test]
fn unaligned_chunks_and_tx_metadata_register() {
    in_a("xuna", 1, |ifindex, _| {
        let umem = UmemConfig {
            unaligned: true,
            frame_size: 3072,
            huge_pages: false,
            ..Default::default()
        };
        Socket::new(&umem, &SocketConfig::new(ifindex, 0))
            .expect("unaligned UMEM with 3072-byte chunks");
        let umem = UmemConfig {
            tx_metadata_len: 16,
            ..Default::default()
        };
        Socket::new(&umem, &SocketConfig::new(ifindex, 0)).expect("tx_metadata_len on kernel 6.8+");
    });
}

#[test]
fn shared_umem_on_a_second_queue() {
    in_a("xshr", 2, |ifindex, queues| {
        assert_eq!(queues, 2);
        let umem = UmemConfig::default();
        let mut first = Socket::new(&umem, &SocketConfig::new(ifindex, 0)).expect("first socket");
        let second = first
            .share(&SocketConfig::new(ifindex, 1), 2048..4096)
            .expect("XDP_SHARED_UMEM on queue 1");
        assert!(second.ctl.info().shared_umem);
        assert_eq!(first.frames.frame_indices(), 0..2048);
        assert_eq!(second.frames.frame_indices(), 2048..4096);
        // frames are owned by exactly one socket
        assert!(
            first
                .frames
                .get(second.frames.frame_addr(2048), 64)
                .is_none()
        );
        let err = first
            .share(&SocketConfig::new(ifindex, 1), 0..10)
            .expect_err("not a tail");
        assert!(err.is_bad_input(), "{err}");
    });
}

#[test]
fn transmit_completes_and_need_wakeup_is_signalled() {
    let Some(tb) = TestTestbed::new("xtx", 1) else {
        return;
    };
    let (a, b) = (tb.ab().a.clone(), tb.ab().b.clone());
    // a kernel UDP socket in B receives what A's AF_XDP socket sends
    let b_ip = b.ip().expect("B ip");
    let rx = host::netns::run_in(&b.netns, move || {
        UdpSocket::bind((b_ip, 9555)).expect("bind udp")
    })
    .expect("ns b");
    rx.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let b_mac = b.mac_bytes().expect("mac");
    host::netns::run_in(&a.netns, move || {
        let info = host::iface::info(&a.iface).expect("iface");
        let mut sock = Socket::new(&UmemConfig::default(), &SocketConfig::new(info.ifindex, 0))
            .expect("socket");
        let flow = wire::FlowRepr {
            src_mac: wire::MacAddr(info.mac),
            dst_mac: wire::MacAddr(b_mac),
            src_ip: info.ipv4.expect("ip").0,
            dst_ip: b_ip,
            src_port: 9555,
            dst_port: 9555,
        };
        let addr = sock.frames.tx_addr(100);
        let buf = sock.frames.get_mut(addr, 64).expect("frame");
        wire::emit_probe(
            buf,
            &flow,
            &wire::ProbeRepr {
                seq: 7,
                ..Default::default()
            },
        )
        .expect("emit");
        let mut tx = sock.tx.reserve(1);
        assert_eq!(tx.len(), 1);
        tx.set(
            0,
            xsk::Desc {
                addr,
                len: 64,
                options: 0,
            },
        );
        tx.commit(1);
        assert!(
            sock.tx.needs_wakeup(),
            "copy mode TX always asks for the sendto kick"
        );
        sock.ctl.kick_tx().expect("kick");
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let done = sock.completion.peek(4);
            if done.len() == 1 {
                assert_eq!(done.get(0), addr);
                break;
            }
            drop(done);
            assert!(Instant::now() < deadline, "no TX completion");
            std::thread::yield_now();
        }
    })
    .expect("ns a");
    let mut buf = [0u8; 128];
    let (n, _) = rx
        .recv_from(&mut buf)
        .expect("the AF_XDP frame reached B's kernel");
    assert_eq!(n, 64 - wire::PROBE_OFFSET);
}

#[test]
fn copy_mode_tx_timestamp_is_a_software_tai_stamp() {
    let Some(tb) = TestTestbed::new("xtts", 1) else {
        return;
    };
    let (a, b) = (tb.ab().a.clone(), tb.ab().b.clone());
    let b_mac = b.mac_bytes().expect("mac");
    let b_ip = b.ip().expect("ip");
    host::netns::run_in(&a.netns, move || {
        let info = host::iface::info(&a.iface).expect("iface");
        let umem = UmemConfig {
            tx_metadata_len: 24,
            ..Default::default()
        };
        let mut sock = Socket::new(&umem, &SocketConfig::new(info.ifindex, 0))
            .expect("socket with TX metadata");
        let addr = sock.frames.tx_addr(7);
        assert_eq!(
            addr,
            sock.frames.frame_addr(7) + 24,
            "the packet starts after the metadata area"
        );
        let flow = wire::FlowRepr {
            src_mac: wire::MacAddr(info.mac),
            dst_mac: wire::MacAddr(b_mac),
            src_ip: info.ipv4.expect("ip").0,
            dst_ip: b_ip,
            src_port: 9556,
            dst_port: 9556,
        };
        wire::emit_probe(
            sock.frames.get_mut(addr, 64).expect("frame"),
            &flow,
            &wire::ProbeRepr::default(),
        )
        .expect("emit");
        let mut desc = xsk::Desc {
            addr,
            len: 64,
            options: 0,
        };
        assert!(xsk::txmeta::request_timestamp(&mut sock.frames, &mut desc));
        assert_eq!(desc.options, xsk::TX_METADATA);
        let mut tx = sock.tx.reserve(1);
        tx.set(0, desc);
        tx.commit(1);
        let tai = || {
            let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_TAI).expect("CLOCK_TAI");
            t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
        };
        let before = tai();
        sock.ctl.kick_tx().expect("kick");
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let done = sock.completion.peek(1);
            if done.len() == 1 {
                assert_eq!(done.get(0), addr);
                break;
            }
            drop(done);
            assert!(
                Instant::now() < deadline,
                "the kernel did not complete a frame with TX metadata"
            );
            std::thread::yield_now();
        }
        let after = tai();
        let ts = xsk::txmeta::completion_timestamp(&sock.frames, addr)
            .expect("copy mode writes a software stamp");
        assert!(
            (before..=after).contains(&ts),
            "stamp {ts} outside CLOCK_TAI [{before}, {after}]"
        );
        let stats = sock.ctl.statistics().expect("stats");
        assert_eq!(
            stats.tx_invalid_descs, 0,
            "the metadata descriptor was accepted"
        );
    })
    .expect("ns a");
}

#[test]
fn no_metadata_room_means_no_request() {
    in_a("xtnr", 1, |ifindex, _| {
        let mut sock =
            Socket::new(&UmemConfig::default(), &SocketConfig::new(ifindex, 0)).expect("socket");
        let mut desc = xsk::Desc {
            addr: sock.frames.tx_addr(1),
            len: 64,
            options: 0,
        };
        assert!(!xsk::txmeta::request_timestamp(&mut sock.frames, &mut desc));
        assert_eq!(desc.options, 0);
    });
}

#[test]
fn prefill_puts_frames_on_the_fill_ring_before_the_bind() {
    in_a("xpre", 1, |ifindex, _| {
        let umem = UmemConfig::default();
        let cfg = SocketConfig {
            prefill: 64,
            ..SocketConfig::new(ifindex, 0)
        };
        let sock = Socket::new(&umem, &cfg).expect("copy bind on veth");
        assert_eq!(sock.ctl.info().prefilled, 64);
        // copy mode takes fill entries only as packets arrive: all 64 still wait there
        assert_eq!(sock.fill.pending(), 64);
        drop(sock);
        // never more than the fill ring holds
        let all = SocketConfig {
            prefill: u32::MAX,
            ..cfg
        };
        let sock = Socket::new(&umem, &all).expect("copy bind on veth");
        let most = umem.fill_size.min(umem.frame_count);
        assert_eq!(sock.ctl.info().prefilled, most);
        assert_eq!(sock.fill.pending(), most);
    });
}
