//! The multi-queue forwarder on a real two-queue veth testbed: one thread per queue, one XDP
//! program; pings bound to queue 0 and to queue 1 of A, each on 8 UDP flows, all come back, and
//! every reply names the forwarder queue that turned it around (veth hands a frame sent on
//! queue q to the peer's queue q).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use host::test_support::TestTestbed;
use probe::afxdp::{AfXdpConfig, AfXdpPort};
use probe::fwd::FwdConfig;
use probe::ping::PingConfig;
use probe::{Knobs, MonotonicClock};

fn port_cfg(iface: &str, queue: u32) -> AfXdpConfig {
    let info = host::iface::info(iface).expect("iface info");
    AfXdpConfig {
        ifindex: info.ifindex,
        iface: iface.to_string(),
        queue,
        probe_port: probe::DEFAULT_PROBE_PORT,
        knobs: Knobs {
            batch: 8,
            frames: 1024,
            ring_size: 256,
            flows: 8,
            ..Knobs::default()
        },
    }
}

#[test]
fn one_forwarder_serves_two_queues() {
    let Some(tb) = TestTestbed::new("pq", 2) else {
        return;
    };
    let link = tb.ab().clone();
    let stop = AtomicBool::new(false);
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::scope(|s| {
        let b = s.spawn(|| {
            let _ns = host::netns::enter(&link.b.netns).expect("enter B");
            let cfg = port_cfg(&link.b.iface, 0);
            let fwd = FwdConfig {
                stamp: true,
                swap_l3: true,
                duration: Some(Duration::from_secs(20)),
                hold: Duration::ZERO,
            };
            let mut opened = 0;
            probe::fwd::run_queues(
                &cfg,
                2,
                &[],
                &MonotonicClock,
                &fwd,
                &stop,
                &mut |_, _, _| {
                    opened += 1;
                    if opened == 2 {
                        ready_tx.send(()).expect("ready");
                    }
                },
            )
        });
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("forwarder ready");
        for queue in 0..2 {
            let link = &link;
            let outcome = s
                .spawn(move || {
                    let _ns = host::netns::enter(&link.a.netns).expect("enter A");
                    let cfg = port_cfg(&link.a.iface, queue);
                    let mut port = AfXdpPort::open(&cfg, MonotonicClock, false).expect("A port");
                    let ping = PingConfig {
                        flow: wire::FlowRepr {
                            src_mac: wire::MacAddr(link.a.mac_bytes().expect("A mac")),
                            dst_mac: wire::MacAddr(link.b.mac_bytes().expect("B mac")),
                            src_ip: link.a.ip().expect("A ip"),
                            dst_ip: link.b.ip().expect("B ip"),
                            src_port: probe::DEFAULT_PROBE_PORT,
                            dst_port: probe::DEFAULT_PROBE_PORT,
                        },
                        size: wire::MIN_QUEUE_PROBE_SIZE,
                        batch: 1,
                        interval: Duration::from_millis(1),
                        count: 50,
                        warmup: 0,
                        linger: Duration::from_millis(500),
                        stamp_room: true,
                        run_id: 7 + queue as u16,
                        window: 0,
                        sample_every: 1,
                        pace: probe::knobs::Pace::Sleep,
                        flows: 8,
                    };
                    let never = AtomicBool::new(false);
                    probe::ping::run(&mut port, &MonotonicClock, &ping, &never, &mut |_| {})
                        .expect("ping")
                })
                .join()
                .expect("ping thread");
            assert_eq!(
                outcome.counts.received, 50,
                "queue {queue}: {:?}",
                outcome.counts
            );
            let by_queue: Vec<(u16, u64)> = outcome
                .fwd_queues
                .iter()
                .map(|q| (q.queue, q.probes))
                .collect();
            assert_eq!(by_queue, [(queue as u16, 50)], "{:?}", outcome.fwd_queues);
        }
        stop.store(true, Ordering::Relaxed);
        let out = b.join().expect("forwarder thread").expect("forwarder");
        assert_eq!(out.forwarded, 100, "{out:?}");
        assert_eq!(out.per_queue, [(0, 50), (1, 50)], "{out:?}");
    });
}
