//! Shared fixtures of the integration tests: the flow and probe of the
//! byte-literal packets, and a small seeded generator for randomised cases.

#![allow(dead_code)]

use std::net::Ipv4Addr;

use wire::{FlowRepr, FwdStamps, MacAddr, ProbeRepr};

/// The flow of the byte-literal probes.
pub fn flow() -> FlowRepr {
    FlowRepr {
        src_mac: MacAddr([0x02, 0, 0, 0, 0, 0x01]),
        dst_mac: MacAddr([0x02, 0, 0, 0, 0, 0x02]),
        src_ip: Ipv4Addr::new(10, 0, 0, 1),
        dst_ip: Ipv4Addr::new(10, 0, 0, 2),
        src_port: 40000,
        dst_port: 5555,
    }
}

/// The probe of the byte-literal probes, with or without stamp room.
pub fn probe(stamps: Option<FwdStamps>) -> ProbeRepr {
    ProbeRepr {
        run_id: 0x1234,
        seq: 0x0102_0304_0506_0708,
        tx_ns: 0x1122_3344_5566_7788,
        stamps,
        fwd_queue: None,
    }
}

/// splitmix64: deterministic, so a failure reproduces.
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn flow(&mut self) -> FlowRepr {
        let mac = |r: &mut Rng| {
            let b = r.next().to_be_bytes();
            MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]])
        };
        FlowRepr {
            src_mac: mac(self),
            dst_mac: mac(self),
            src_ip: Ipv4Addr::from(self.next() as u32),
            dst_ip: Ipv4Addr::from(self.next() as u32),
            src_port: self.next() as u16,
            dst_port: self.next() as u16,
        }
    }

    pub fn probe(&mut self, stamp_room: bool) -> ProbeRepr {
        let stamps = stamp_room.then(|| match self.below(3) {
            0 => FwdStamps::default(),
            _ => FwdStamps {
                xdp_ns: self.next(),
                rx_ns: self.next(),
                tx_ns: self.next(),
            },
        });
        ProbeRepr {
            run_id: self.next() as u16,
            seq: self.next(),
            tx_ns: self.next(),
            stamps,
            fwd_queue: None,
        }
    }
}
