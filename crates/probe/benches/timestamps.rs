//! The cost of xdplat's in-process timestamps, per packet, beside the cost of one
//! `clock_gettime(CLOCK_MONOTONIC)` measured in the same run (the baseline): see
//! [`probe::cost`]. The paper's USDT + perf tracing cost 5-10 µs per event; this is the figure
//! to hold against it. Run with `cargo bench -p xdplat-probe`.

/// Optional first numeric argument: probes per round (default 2 M; small for callgrind:
/// `valgrind --tool=callgrind target/release/deps/timestamps-* 20000`).
fn main() {
    let packets = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<u64>().ok())
        .unwrap_or(2_000_000);
    for (batch, every) in [(1, 1), (1, 1000), (16, 1000), (64, 1000)] {
        let c = probe::cost::timestamp_cost(packets, batch, every).expect("tally");
        println!(
            "batch {batch:>3}, a row every {every:>4}: stamp+record {:6.1} ns/probe, clock_gettime {:5.1} ns (baseline), one {} stamp {:5.1} ns (the stamps alone {:5.1} ns/probe), ratio {:.2}",
            c.per_packet_ns,
            c.clock_ns,
            c.source,
            c.stamp_ns,
            c.stamps_ns,
            c.per_packet_ns / c.clock_ns
        );
    }
}
