//! The cost of xdplat's in-process timestamps, per packet, beside the cost of one
//! `clock_gettime(CLOCK_MONOTONIC)` measured in the same run (the baseline): see
//! [`probe::cost`]. The paper's USDT + perf tracing cost 5-10 µs per event; this is the figure
//! to hold against it. Run with `cargo bench -p xdplat-probe`.

fn main() {
    for (batch, every) in [(1, 1), (1, 1000), (16, 1000), (64, 1000)] {
        let c = probe::cost::timestamp_cost(2_000_000, batch, every).expect("tally");
        println!(
            "batch {batch:>3}, a row every {every:>4}: stamp+record {:6.1} ns/probe, clock_gettime {:5.1} ns (baseline), ratio {:.2}",
            c.per_packet_ns,
            c.clock_ns,
            c.per_packet_ns / c.clock_ns
        );
    }
}
