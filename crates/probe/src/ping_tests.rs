//! The ping loop against [`crate::fake::Link`]: loss, duplicates, reordering, late replies, a
//! TX that stalls, a peer that is gone, and the linger rule, each on its own.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::*;
use crate::fake::{FakeClock, Link, flow};

const START: u64 = 1_000_000_000;
const RTT: Duration = Duration::from_micros(30);

fn cfg(count: u64) -> PingConfig {
    PingConfig {
        flow: flow(),
        size: wire::MIN_PROBE_SIZE,
        batch: 1,
        interval: Duration::from_millis(1),
        count,
        warmup: 0,
        linger: Duration::from_millis(5),
        stamp_room: false,
        run_id: 7,
        window: 0,
        sample_every: 1,
        pace: crate::knobs::Pace::Sleep,
        flows: 1,
    }
}

fn ping(link: &mut Link, clock: &FakeClock, cfg: &PingConfig) -> PingOutcome {
    run(link, clock, cfg, &AtomicBool::new(false), &mut |_| {}).expect("ping")
}

/// A link whose probes meet `fate` (by sequence number), otherwise come back after [`RTT`].
fn link(clock: &FakeClock, fate: impl Fn(u64) -> Option<Vec<Duration>> + 'static) -> Link {
    Link::new(clock, Box::new(move |seq| fate(seq).unwrap_or(vec![RTT])))
}

fn rtts(o: &PingOutcome) -> Vec<Option<i64>> {
    o.samples.iter().map(|s| s.rtt_ns).collect()
}

#[test]
fn every_probe_comes_back_once() {
    let clock = FakeClock::at(START);
    let mut l = Link::steady(&clock, RTT);
    let o = ping(&mut l, &clock, &cfg(20));
    assert_eq!(
        (o.counts.sent, o.counts.received, o.counts.lost),
        (20, 20, 0)
    );
    assert_eq!((o.counts.duplicates, o.counts.reordered, o.late), (0, 0, 0));
    for r in rtts(&o) {
        let r = r.expect("answered");
        // the fake clock ticks a nanosecond a read: the RTT is the link's, give or take a few
        assert!((30_000..30_100).contains(&r), "{r}");
    }
    // probes leave on the schedule, one interval apart
    assert!(l.sent.windows(2).all(|w| w[1].1 - w[0].1 >= 1_000_000));
    assert!(!o.interrupted && !o.stalled);
}

#[test]
fn lost_probes_have_no_reply_and_count_as_lost() {
    let clock = FakeClock::at(START);
    let mut l = link(&clock, |seq| (seq % 4 == 0).then(Vec::new));
    let o = ping(&mut l, &clock, &cfg(20));
    assert_eq!(
        (o.counts.sent, o.counts.received, o.counts.lost),
        (20, 15, 5)
    );
    let lost: Vec<u64> = o
        .samples
        .iter()
        .filter(|s| s.rx_ns.is_none())
        .map(|s| s.seq)
        .collect();
    assert_eq!(lost, [0, 4, 8, 12, 16]);
    assert_eq!(o.rtt_hist.len(), 15);
}

#[test]
fn a_duplicate_is_counted_not_measured_twice() {
    let clock = FakeClock::at(START);
    let mut l = link(&clock, |seq| (seq == 3).then(|| vec![RTT, RTT * 2]));
    let o = ping(&mut l, &clock, &cfg(10));
    assert_eq!((o.counts.received, o.counts.duplicates), (10, 1));
    assert_eq!(o.rtt_hist.len(), 10);
    assert!(o.samples[3].rtt_ns.is_some_and(|r| r < 31_000));
}

#[test]
fn a_reply_overtaken_by_later_ones_is_reordered() {
    let clock = FakeClock::at(START);
    // probe 5's reply takes 2.5 intervals: the replies of 6 and 7 arrive first
    let mut l = link(&clock, |seq| {
        (seq == 5).then(|| vec![Duration::from_micros(2500)])
    });
    let o = ping(&mut l, &clock, &cfg(10));
    assert_eq!(
        (o.counts.received, o.counts.reordered, o.counts.lost),
        (10, 1, 0)
    );
    assert!(o.samples[5].rtt_ns.is_some_and(|r| r >= 2_500_000));
}

#[test]
fn the_linger_ends_the_run_when_replies_are_missing() {
    let clock = FakeClock::at(START);
    let c = cfg(10);
    // the last probe's reply is lost: the run waits the whole linger after the last send
    let mut l = link(&clock, |seq| (seq == 9).then(Vec::new));
    let o = ping(&mut l, &clock, &c);
    let last_send = l.sent.last().expect("sent").1;
    assert!(clock.now() >= last_send + c.linger.as_nanos() as u64);
    assert_eq!(o.counts.lost, 1);
    // every reply in: the run ends with the last reply, well before the linger is over
    let clock = FakeClock::at(START);
    let mut l = Link::steady(&clock, RTT);
    let o = ping(&mut l, &clock, &c);
    let last_send = l.sent.last().expect("sent").1;
    assert!(
        clock.now() < last_send + 1_000_000,
        "ended {}",
        clock.now() - last_send
    );
    assert_eq!(o.counts.lost, 0);
}

#[test]
fn a_reply_later_than_the_linger_is_lost_one_within_is_received() {
    let clock = FakeClock::at(START);
    let c = cfg(10);
    // linger 5 ms: probe 8's reply after 4 ms still counts, probe 9's after 6 ms does not
    let mut l = link(&clock, |seq| match seq {
        8 => Some(vec![Duration::from_millis(4)]),
        9 => Some(vec![Duration::from_millis(6)]),
        _ => None,
    });
    let o = ping(&mut l, &clock, &c);
    assert_eq!((o.counts.received, o.counts.lost), (9, 1));
    assert!(o.samples[8].rx_ns.is_some() && o.samples[9].rx_ns.is_none());
}

#[test]
fn a_reply_whose_slot_was_reused_is_late_and_the_probe_lost() {
    let clock = FakeClock::at(START);
    let mut c = cfg(120_000);
    // back to back, two probes in flight, replies after 10 µs: the tally's ring holds 65536
    // probes, so probe 0's reply, 0.45 s late (about 90000 probes later), finds its slot taken
    c.interval = Duration::ZERO;
    c.window = 2;
    c.linger = Duration::from_millis(1);
    c.sample_every = 100;
    let mut l = Link::new(
        &clock,
        Box::new(|seq| match seq {
            0 => vec![Duration::from_millis(450)],
            _ => vec![Duration::from_micros(10)],
        }),
    );
    let o = ping(&mut l, &clock, &c);
    assert_eq!(o.late, 1, "{:?}", o.counts);
    assert_eq!((o.counts.received, o.counts.lost), (119_999, 1));
    assert!(!o.stalled && !o.interrupted);
}

#[test]
fn a_stalled_tx_shows_as_lateness_against_the_schedule() {
    let clock = FakeClock::at(START);
    let mut l = Link::steady(&clock, RTT);
    // the TX ring takes nothing for the first 20 ms
    l.stall_until = START + 20_000_000;
    let o = ping(&mut l, &clock, &cfg(30));
    assert_eq!((o.counts.sent, o.counts.received), (30, 30));
    let late: Vec<i64> = o
        .samples
        .iter()
        .map(|s| s.tx_ns - s.sched_ns.expect("scheduled"))
        .collect();
    // the first probe waited out the stall; once it lifted the sender caught up at once
    assert!(late[0] >= 19_000_000, "{late:?}");
    assert!(late[29] < 1_000, "{late:?}");
    let summary = crate::record::summarize(&o, crate::record::RunFacts::default());
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.starts_with("the sender was late")),
        "{:?}",
        summary.warnings
    );
    // RTTs stay the link's: lateness does not hide in them
    assert!(
        o.samples
            .iter()
            .all(|s| s.rtt_ns.is_some_and(|r| r < 31_000))
    );
}

#[test]
fn a_full_window_with_no_reply_for_the_linger_stops_as_stalled() {
    let clock = FakeClock::at(START);
    let mut c = cfg(1000);
    c.interval = Duration::ZERO;
    c.window = 4;
    c.linger = Duration::from_millis(2);
    let mut l = link(&clock, |_| Some(Vec::new()));
    let o = ping(&mut l, &clock, &c);
    assert!(o.stalled && o.interrupted);
    // it stops one linger after the window filled, not a window per linger later
    assert!(
        o.counts.sent <= 8 && o.counts.received == 0,
        "{:?}",
        o.counts
    );
    assert!(o.elapsed < Duration::from_millis(5), "{:?}", o.elapsed);
    let summary = crate::record::summarize(&o, crate::record::RunFacts::default());
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.starts_with("stopped early"))
    );
}

#[test]
fn the_stop_flag_ends_the_run_with_what_was_measured() {
    let clock = FakeClock::at(START);
    let mut l = Link::steady(&clock, RTT);
    let stop = AtomicBool::new(true);
    let o = run(&mut l, &clock, &cfg(10), &stop, &mut |_| {}).expect("ping");
    assert!(o.interrupted && !o.stalled);
    assert_eq!(o.counts.sent, 0);
}

#[test]
fn warm_up_probes_are_sent_and_not_counted() {
    let clock = FakeClock::at(START);
    let mut c = cfg(10);
    c.warmup = 3;
    let mut l = Link::steady(&clock, RTT);
    let o = ping(&mut l, &clock, &c);
    assert_eq!(l.sent.len(), 13);
    assert_eq!((o.counts.sent, o.counts.received, o.warmup), (10, 10, 3));
    assert_eq!(o.samples.first().map(|s| s.seq), Some(3));
}

#[test]
fn at_maximum_rate_a_full_window_still_waits_on_the_port() {
    // a zero-copy socket under busy polling gets its replies only from the syscalls the wait
    // makes (no interrupt drives NAPI), so rounds that cannot send must still call it
    let clock = FakeClock::at(START);
    let mut c = cfg(100);
    c.interval = Duration::ZERO;
    c.window = 4;
    let mut l = Link::steady(&clock, RTT);
    let o = ping(&mut l, &clock, &c);
    assert_eq!((o.counts.received, o.counts.lost), (100, 0));
    let sends = l.sent.len() as u64;
    assert!(l.waits > sends, "{} waits for {sends} sends", l.waits);
}

#[test]
fn a_blocking_ping_with_a_full_window_sleeps_instead_of_spinning() {
    // paced at 10 µs with room for 2 probes in flight and replies after 1 ms: most of the time
    // the next probe is due and the window is full; poll() must then sleep until a reply
    let clock = FakeClock::at(START);
    let mut c = cfg(200);
    c.interval = Duration::from_micros(10);
    c.window = 2;
    let mut l = Link::steady(&clock, Duration::from_millis(1));
    l.blocks = true;
    let o = ping(&mut l, &clock, &c);
    assert_eq!((o.counts.received, o.counts.lost), (200, 0));
    // at most one look without sleeping per reply (the one right after it, with the next
    // probe due and room again); before, every round spun: 98694 of 98698 waits
    assert!(
        l.zero_waits <= 200,
        "{} of {} waits did not sleep",
        l.zero_waits,
        l.waits
    );
    assert!(l.waits < 1_000, "{} waits for 200 probes", l.waits);
}
