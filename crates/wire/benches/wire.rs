//! Micro benchmark of the hot-path functions (no criterion): ns per call of
//! emit, parse, reflect, stamp and update for 64-, 88- and 1500-byte probes.
//! Run with `cargo bench -p wire`.

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use wire::{
    FlowRepr, FwdStamps, MacAddr, ProbeRepr, emit_probe, parse_probe, reflect_in_place,
    stamp_forwarder, update_probe,
};

const ROUNDS: usize = 5;
const TARGET: Duration = Duration::from_millis(100);

/// Runs `op` in batches until `TARGET` passes, `ROUNDS` times, and returns
/// the best ns/op (the least disturbed round).
fn measure(mut op: impl FnMut(u64)) -> f64 {
    let mut best = f64::INFINITY;
    let mut seq = 0u64;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let mut calls = 0u64;
        while start.elapsed() < TARGET {
            for _ in 0..1000 {
                op(seq);
                seq = seq.wrapping_add(1);
            }
            calls += 1000;
        }
        best = best.min(start.elapsed().as_nanos() as f64 / calls as f64);
    }
    best
}

fn main() {
    let flow = FlowRepr {
        src_mac: MacAddr([0x02, 0, 0, 0, 0, 0x0a]),
        dst_mac: MacAddr([0x02, 0, 0, 0, 0, 0x0b]),
        src_ip: Ipv4Addr::new(10, 11, 0, 1),
        dst_ip: Ipv4Addr::new(10, 11, 0, 2),
        src_port: 40000,
        dst_port: 4791,
    };
    for (size, stamped) in [(64, false), (88, true), (1500, false), (1500, true)] {
        let probe = ProbeRepr {
            run_id: 1,
            seq: 0,
            tx_ns: 123,
            stamps: stamped.then(FwdStamps::default),
            fwd_queue: None,
        };
        let mut buf = vec![0u8; size];
        let label = format!("{size}B{}", if stamped { "+stamps" } else { "" });

        let emit = measure(|seq| {
            let probe = ProbeRepr { seq, ..probe };
            emit_probe(black_box(&mut buf), &flow, &probe).unwrap();
        });
        let parse = measure(|_| {
            black_box(parse_probe(black_box(&buf)).unwrap());
        });
        let reflect = measure(|_| reflect_in_place(black_box(&mut buf), true).unwrap());
        let update = measure(|seq| update_probe(black_box(&mut buf), seq, seq).unwrap());
        print!(
            "{label:>13}: emit {emit:6.1} ns  parse {parse:6.1} ns  reflect {reflect:5.1} ns  update {update:5.1} ns"
        );
        if stamped {
            let stamps = FwdStamps {
                xdp_ns: 1,
                rx_ns: 2,
                tx_ns: 3,
            };
            let stamp = measure(|_| {
                black_box(stamp_forwarder(black_box(&mut buf), &stamps).unwrap());
            });
            print!("  stamp {stamp:5.1} ns");
        }
        println!();
        parse_probe(&buf).expect("still a valid probe after the benchmark");
    }
}
