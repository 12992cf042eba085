//! USDT probes (SystemTap SDT notes, provider `xdplat`) at the points where the roles take their
//! stamps, so perf, bpftrace and gdb users can trace xdplat the way the paper traced xdpsock.
//! A probe that nothing is attached to is a single `nop`; its arguments are values the role
//! has computed anyway.
//!
//! | probe | where | arguments |
//! |---|---|---|
//! | `xdplat:ping_tx` | probe written, before the TX ring is published | seq, tx_ns |
//! | `xdplat:ping_kick` | TX kick returned | first seq of the batch, packets, kick_ns |
//! | `xdplat:ping_tx_done` | frame back on the completion ring | seq, ns |
//! | `xdplat:ping_rx` | reply matched | seq, rx_ns, rtt_ns, xdp_ns (0: none) |
//! | `xdplat:fwd_rx` | forwarder read a packet off its RX ring | rx_ns, xdp_ns (0: none) |
//! | `xdplat:fwd_tx` | forwarder about to publish the reply | tx_ns |
//!
//! `bpftrace -e 'usdt:./target/release/xdplat:xdplat:ping_rx { @rtt = hist(arg2); }'`

use usdt::probe;

#[inline(always)]
pub fn ping_tx(seq: u64, tx_ns: u64) {
    probe!(xdplat, ping_tx, seq, tx_ns);
}

#[inline(always)]
pub fn ping_kick(first_seq: u64, packets: u64, kick_ns: u64) {
    probe!(xdplat, ping_kick, first_seq, packets, kick_ns);
}

#[inline(always)]
pub fn ping_tx_done(seq: u64, ns: u64) {
    probe!(xdplat, ping_tx_done, seq, ns);
}

#[inline(always)]
pub fn ping_rx(seq: u64, rx_ns: u64, rtt_ns: i64, xdp_ns: u64) {
    probe!(xdplat, ping_rx, seq, rx_ns, rtt_ns, xdp_ns);
}

#[inline(always)]
pub fn fwd_rx(rx_ns: u64, xdp_ns: u64) {
    probe!(xdplat, fwd_rx, rx_ns, xdp_ns);
}

#[inline(always)]
pub fn fwd_tx(tx_ns: u64) {
    probe!(xdplat, fwd_tx, tx_ns);
}
