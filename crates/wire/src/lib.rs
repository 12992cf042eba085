//! The probe packet format of xdplat: Ethernet II / IPv4 / UDP / probe header,
//! zero-padded to the probe size. Zero-copy views over borrowed buffers
//! (`EthernetFrame`, `Ipv4Packet`, `UdpPacket`, `ProbeHeader`, in smoltcp's
//! `Frame<T>` style) and whole-packet functions for the hot path: emit, parse
//! and validate, reflect and stamp in place, all without allocating.
//!
//! Layout of a probe (offsets in the buffer handed to the TX ring, no FCS):
//! Ethernet 0..14, IPv4 14..34 (IHL 5, DF, TTL 64), UDP 34..42, probe header
//! from 42 (22 bytes, +24 with the forwarder-stamp extension), then zeros.

pub mod checksum;
mod error;
pub mod ethernet;
pub mod ipv4;
mod mac;
mod packet;
pub mod probe;
pub mod udp;

pub use error::Error;
pub use ethernet::{ETH_HDR_LEN, EthernetFrame};
pub use ipv4::{IPV4_HDR_LEN, Ipv4Packet};
pub use mac::MacAddr;
pub use packet::{
    FlowRepr, MAX_PROBE_SIZE, MIN_PROBE_SIZE, MIN_QUEUE_PROBE_SIZE, MIN_STAMPED_PROBE_SIZE,
    PROBE_OFFSET, UDP_OFFSET, emit_probe, min_probe_size, parse_probe, reflect_in_place,
    sample_probe, stamp_forwarder, stamp_forwarder_queue, update_probe,
};
pub use probe::{
    FwdQueue, FwdStamps, PROBE_BASE_LEN, PROBE_QUEUE_LEN, PROBE_STAMP_LEN, ProbeHeader, ProbeRepr,
};
pub use udp::{UDP_HDR_LEN, UdpPacket};
