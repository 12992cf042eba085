//! The stall watch on its own, and in both loops over the fakes: a receive path that stops for
//! 1.2 s (as the 3.7 s stall of issue 17 looked: every reply late, none lost), a TX ring the
//! kernel never takes from (the zero-copy + busy-poll TX of the VM testbed), and a steady link
//! that must raise nothing.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::*;
use crate::fake::{FakeClock, FwdPort, Link, flow};
use crate::fwd::FwdConfig;
use crate::ping::PingConfig;
use crate::warning::Warning;

const START: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

fn rings_with(tx: u32) -> Option<Rings> {
    Some(Rings {
        tx: Ring {
            entries: tx,
            size: 8,
            needs_wakeup: Some(false),
        },
        ..Rings::default()
    })
}

#[test]
fn waiting_longer_than_the_bound_is_a_stall_and_progress_ends_it() {
    let mut w = StallWatch::new(Duration::from_millis(10), START);
    let mut asked = 0;
    // work waits from START + 1 ms; at 10 ms without progress it is not yet a stall
    w.check(START + MS, Waiting::TxRing, 3, 0, &mut || None);
    w.check(START + 11 * MS, Waiting::TxRing, 3, 0, &mut || {
        asked += 1;
        rings_with(3)
    });
    assert_eq!((w.seen, asked), (0, 0));
    w.check(START + 12 * MS, Waiting::TxRing, 3, 0, &mut || {
        asked += 1;
        rings_with(3)
    });
    w.check(START + 13 * MS, Waiting::TxRing, 3, 0, &mut || {
        asked += 1;
        None
    });
    assert_eq!((w.seen, asked), (1, 1), "one stall, the rings read once");
    // other work is watched apart
    w.check(START + 13 * MS, Waiting::Replies, 0, 0, &mut || None);
    w.check(START + 40 * MS, Waiting::TxRing, 1, 2, &mut || None);
    let stalls = w.finish(START + 50 * MS);
    assert_eq!(stalls.len(), 1);
    let s = &stalls[0];
    assert_eq!(
        (s.waiting, s.from_ns, s.outstanding),
        (Waiting::TxRing, MS, 3)
    );
    assert_eq!(s.lasted_ns, 39 * MS, "until progress resumed");
    assert!(s.recovered);
    assert_eq!(s.rings, rings_with(3));
    assert!(s.sched.is_some());
}

#[test]
fn no_work_waiting_is_no_stall_and_a_stall_to_the_end_is_not_recovered() {
    let mut w = StallWatch::new(Duration::from_millis(10), START);
    for t in 0..100 {
        w.check(START + t * MS, Waiting::Replies, 0, 0, &mut || None);
    }
    assert_eq!(w.seen, 0);
    for t in 100..200 {
        w.check(START + t * MS, Waiting::Replies, 5, 7, &mut || None);
    }
    let s = w.finish(START + 300 * MS);
    assert_eq!(s.len(), 1);
    assert!(!s[0].recovered);
    assert_eq!(s[0].lasted_ns, 200 * MS);
}

#[test]
fn only_the_first_stalls_are_kept_in_full() {
    let mut w = StallWatch::new(Duration::from_millis(1), START);
    let mut t = START;
    for done in 0..20 {
        w.check(t, Waiting::Completion, 1, done, &mut || None);
        t += 5 * MS;
        w.check(t, Waiting::Completion, 1, done, &mut || None);
    }
    assert_eq!(w.seen, 20);
    assert_eq!(w.finish(t).len(), KEPT);
}

fn max_rate(count: u64, window: u32, linger: Duration) -> PingConfig {
    PingConfig {
        flow: flow(),
        size: wire::MIN_PROBE_SIZE,
        batch: 1,
        interval: Duration::ZERO,
        count,
        warmup: 0,
        linger,
        stamp_room: false,
        run_id: 7,
        window,
        sample_every: 1,
        pace: crate::knobs::Pace::Sleep,
        flows: 1,
    }
}

#[test]
fn replies_held_back_with_the_window_full_are_a_recovered_stall_with_the_rings() {
    let clock = FakeClock::at(START);
    let mut link = Link::steady(&clock, Duration::from_micros(30));
    // from 1 ms on, nothing comes back for 1.2 s; then everything does
    link.hold = Some((START + MS, START + 1_201 * MS));
    let cfg = max_rate(5_000, 16, Duration::from_secs(2));
    let o = crate::ping::run(
        &mut link,
        &clock,
        &cfg,
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .expect("ping");
    assert_eq!((o.counts.lost, o.stalled), (0, false), "late, not lost");
    assert_eq!(o.stalls.len(), 1, "{:?}", o.stalls);
    let s = &o.stalls[0];
    assert_eq!((s.waiting, s.outstanding), (Waiting::Replies, 16));
    assert!(s.recovered);
    assert!(
        (1_150 * MS..1_210 * MS).contains(&s.lasted_ns),
        "{}",
        s.lasted_ns
    );
    assert!(s.rings.is_some());
    let w = Warning::Stall(Box::new(s.clone())).to_string();
    assert!(
        w.starts_with("stall: 16 probes in flight with no reply for 1.2"),
        "{w}"
    );
    assert!(w.contains("(then progress resumed); rings: tx 0/64"), "{w}");
    assert!(
        w.contains("(then progress resumed)") && w.contains("for a CPU"),
        "{w}"
    );
}

#[test]
fn tx_descriptors_the_kernel_never_takes_are_a_tx_ring_stall() {
    let clock = FakeClock::at(START);
    let mut link = Link::steady(&clock, Duration::from_micros(30));
    link.tx_stuck_from = Some(START + 10 * MS);
    let cfg = PingConfig {
        interval: Duration::from_millis(1),
        ..max_rate(100, 0, Duration::from_millis(20))
    };
    let o = crate::ping::run(
        &mut link,
        &clock,
        &cfg,
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .expect("ping");
    let tx = o
        .stalls
        .iter()
        .find(|s| s.waiting == Waiting::TxRing)
        .unwrap_or_else(|| panic!("no TX ring stall in {:?}", o.stalls));
    assert!(!tx.recovered);
    let on_ring = tx.rings.expect("rings").tx.entries;
    assert!(
        on_ring > 0 && u64::from(on_ring) == tx.outstanding,
        "{tx:?}"
    );
    assert!((9 * MS..12 * MS).contains(&tx.from_ns), "{tx:?}");
    let w = Warning::Stall(Box::new(tx.clone())).to_string();
    assert!(
        w.contains("TX ring descriptors not consumed by the kernel"),
        "{w}"
    );
    assert!(w.contains("until the end"), "{w}");
    assert!(w.contains("the kernel never took these descriptors"), "{w}");
}

#[test]
fn a_steady_link_raises_no_stall() {
    let clock = FakeClock::at(START);
    let mut link = Link::steady(&clock, Duration::from_micros(30));
    let o = crate::ping::run(
        &mut link,
        &clock,
        &max_rate(20_000, 64, Duration::from_millis(50)),
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .expect("ping");
    assert_eq!((o.counts.received, o.stalls_seen), (20_000, 0));
}

#[test]
fn a_forwarder_whose_tx_ring_is_never_taken_reports_the_stall() {
    let clock = FakeClock::at(START);
    let inbound = (0..8u64)
        .map(|i| {
            let mut buf = vec![0; wire::MIN_PROBE_SIZE];
            let p = wire::ProbeRepr {
                run_id: 7,
                seq: i,
                tx_ns: START,
                stamps: None,
                fwd_queue: None,
            };
            wire::emit_probe(&mut buf, &flow(), &p).expect("emit");
            (START + (i + 1) * 1000, buf)
        })
        .collect();
    let mut port = FwdPort::new(&clock, inbound);
    port.tx_stuck = true;
    let cfg = FwdConfig {
        stamp: false,
        swap_l3: true,
        duration: Some(Duration::from_secs(1)),
        hold: Duration::ZERO,
    };
    let out = crate::fwd::run(&mut port, &clock, &cfg, &AtomicBool::new(false)).expect("fwd");
    assert_eq!(out.stalls.len(), 1, "{:?}", out.stalls);
    let s = &out.stalls[0];
    assert_eq!(
        (s.waiting, s.outstanding, s.recovered),
        (Waiting::TxRing, 8, false)
    );
    assert_eq!(s.rings.expect("rings").tx.entries, 8);
}
