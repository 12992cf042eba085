//! The forwarder loop against [`crate::fake::FwdPort`]: what it sends back, what it drops, its
//! stamps and hold, and when it stops.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::*;
use crate::fake::{FakeClock, FwdPort, flow};

const START: u64 = 1_000_000_000;

/// Probe `seq` from A, arriving at `at`; `stamp_room` makes it 88 bytes with room for stamps.
fn probe(seq: u64, at: u64, stamp_room: bool) -> (u64, Vec<u8>) {
    let size = if stamp_room {
        wire::MIN_STAMPED_PROBE_SIZE
    } else {
        wire::MIN_PROBE_SIZE
    };
    let mut buf = vec![0; size];
    let p = wire::ProbeRepr {
        run_id: 7,
        seq,
        tx_ns: at - 1000,
        stamps: stamp_room.then(wire::FwdStamps::default),
        fwd_queue: None,
    };
    wire::emit_probe(&mut buf, &flow(), &p).expect("emit");
    (at, buf)
}

fn cfg(duration: Duration) -> FwdConfig {
    FwdConfig {
        stamp: false,
        swap_l3: true,
        duration: Some(duration),
        hold: Duration::ZERO,
    }
}

fn forward(port: &mut FwdPort, clock: &FakeClock, cfg: &FwdConfig) -> FwdOutcome {
    run(port, clock, cfg, &AtomicBool::new(false)).expect("fwd")
}

#[test]
fn probes_go_back_with_both_ends_swapped() {
    let clock = FakeClock::at(START);
    let inbound = (0..6)
        .map(|i| probe(i, START + 1000 * (i + 1), false))
        .collect();
    let mut port = FwdPort::new(&clock, inbound);
    let out = forward(&mut port, &clock, &cfg(Duration::from_millis(1)));
    assert_eq!((out.forwarded, out.dropped, out.stamped), (6, 0, 0));
    for (i, frame) in port.sent.iter().enumerate() {
        let (f, p) = wire::parse_probe(frame).expect("a probe");
        assert_eq!(p.seq, i as u64);
        assert_eq!((f.src_mac, f.dst_mac), (flow().dst_mac, flow().src_mac));
        assert_eq!((f.src_ip, f.dst_ip), (flow().dst_ip, flow().src_ip));
    }
}

#[test]
fn mac_only_leaves_the_addresses() {
    let clock = FakeClock::at(START);
    let mut port = FwdPort::new(&clock, vec![probe(0, START + 10, false)]);
    let c = FwdConfig {
        swap_l3: false,
        ..cfg(Duration::from_millis(1))
    };
    forward(&mut port, &clock, &c);
    let (f, _) = wire::parse_probe(&port.sent[0]).expect("a probe");
    assert_eq!(f.dst_mac, flow().src_mac);
    assert_eq!((f.src_ip, f.dst_ip), (flow().src_ip, flow().dst_ip));
}

#[test]
fn what_is_not_ipv4_udp_is_dropped_not_sent() {
    let clock = FakeClock::at(START);
    let mut arp = probe(0, START + 10, false).1;
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    let inbound = vec![(START + 10, arp), probe(1, START + 20, false)];
    let mut port = FwdPort::new(&clock, inbound);
    let out = forward(&mut port, &clock, &cfg(Duration::from_millis(1)));
    assert_eq!((out.forwarded, out.dropped), (1, 1));
    assert_eq!(port.sent.len(), 1);
}

#[test]
fn stamps_go_into_probes_with_room_after_the_hold() {
    let clock = FakeClock::at(START);
    let inbound = vec![probe(0, START + 10, true), probe(1, START + 20, false)];
    let mut port = FwdPort::new(&clock, inbound);
    let c = FwdConfig {
        stamp: true,
        hold: Duration::from_micros(5),
        ..cfg(Duration::from_millis(1))
    };
    let out = forward(&mut port, &clock, &c);
    assert_eq!((out.forwarded, out.stamped), (2, 1));
    let (_, p) = wire::parse_probe(&port.sent[0]).expect("a probe");
    let s = p.stamps.expect("room for stamps");
    assert_eq!(s.xdp_ns, START + 10, "the XDP-hook stamp the port reported");
    assert!(s.rx_ns >= START + 10);
    assert!(s.tx_ns >= s.rx_ns + 5_000, "held 5 µs: {s:?}");
    assert_eq!(
        wire::parse_probe(&port.sent[1]).expect("a probe").1.stamps,
        None
    );
}

#[test]
fn an_idle_forwarder_stops_when_its_duration_ends() {
    for blocks in [false, true] {
        let clock = FakeClock::at(START);
        let mut port = FwdPort::new(&clock, Vec::new());
        port.blocks = blocks;
        let out = forward(&mut port, &clock, &cfg(Duration::from_millis(300)));
        assert_eq!(out.forwarded, 0);
        assert!(out.elapsed >= Duration::from_millis(300), "{out:?}");
        assert!(out.elapsed < Duration::from_millis(400), "{out:?}");
    }
}

#[test]
fn the_stop_flag_ends_it() {
    let clock = FakeClock::at(START);
    let mut port = FwdPort::new(&clock, vec![probe(0, START + 10, false)]);
    let c = FwdConfig {
        duration: None,
        ..cfg(Duration::ZERO)
    };
    let out = run(&mut port, &clock, &c, &AtomicBool::new(true)).expect("fwd");
    assert!(out.forwarded <= 1);
}

#[test]
fn a_lone_probe_leaves_without_waiting_for_a_full_batch() {
    let clock = FakeClock::at(START);
    let mut port = FwdPort::new(&clock, vec![probe(0, START + 10, false)]);
    port.batch = crate::Knobs::defaults(crate::Role::Fwd).batch;
    let c = FwdConfig {
        stamp: true,
        ..cfg(Duration::from_millis(1))
    };
    let mut stamped = probe(0, START + 10, true);
    stamped.0 = START + 10;
    port.inbound = vec![stamped];
    let out = forward(&mut port, &clock, &c);
    assert_eq!(out.forwarded, 1);
    let (_, p) = wire::parse_probe(&port.sent[0]).expect("a probe");
    let s = p.stamps.expect("room for stamps");
    // sent back in the round that found it: no wait of a spin round (SPIN_NS) in between
    assert!(s.tx_ns - s.xdp_ns < crate::fake::SPIN_NS, "{s:?}");
}
