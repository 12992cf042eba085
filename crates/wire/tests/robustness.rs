//! Damaged and foreign input: every single-bit flip of a probe is detected
//! (or, in the MACs, which only the FCS protects, shows up as exactly that
//! change), every truncation is an error, foreign frames are `NotProbe`, and
//! random bytes never make any function panic.

mod common;

use common::{Rng, flow, probe};
use wire::{
    Error, FwdStamps, emit_probe, parse_probe, reflect_in_place, stamp_forwarder, update_probe,
};

fn probes() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (size, stamps) in [
        (64, None),
        (88, Some(FwdStamps::default())),
        (
            100,
            Some(FwdStamps {
                xdp_ns: 1,
                rx_ns: 2,
                tx_ns: 3,
            }),
        ),
        (1500, None),
    ] {
        let mut buf = vec![0u8; size];
        emit_probe(&mut buf, &flow(), &probe(stamps)).unwrap();
        out.push(buf);
    }
    out
}

fn is_damage(err: &Error) -> bool {
    matches!(err, Error::Corrupt { .. } | Error::Truncated { .. })
}

#[test]
fn every_bit_flip_is_detected_or_only_changes_a_mac() {
    for original in probes() {
        let (flow, probe) = parse_probe(&original).unwrap();
        let mut buf = original.clone();
        for offset in 0..buf.len() {
            for bit in 0..8 {
                buf[offset] ^= 1 << bit;
                let result = parse_probe(&buf);
                match offset {
                    0..12 => {
                        let (got_flow, got_probe) = result.unwrap();
                        assert_eq!(got_probe, probe);
                        assert_ne!(got_flow, flow, "offset {offset}");
                        let macs = [got_flow.dst_mac.0, got_flow.src_mac.0].concat();
                        assert_eq!(macs, buf[..12], "offset {offset}");
                    }
                    12..14 => assert!(
                        matches!(result, Err(Error::NotProbe { .. })),
                        "EtherType flip at {offset} bit {bit}: {result:?}"
                    ),
                    _ => assert!(
                        result.as_ref().is_err_and(is_damage),
                        "size {} offset {offset} bit {bit}: {result:?}",
                        buf.len()
                    ),
                }
                buf[offset] ^= 1 << bit;
            }
        }
        assert_eq!(buf, original);
    }
}

#[test]
fn every_truncation_is_an_error() {
    for original in probes() {
        for len in 0..original.len() {
            let mut buf = original[..len].to_vec();
            assert!(parse_probe(&buf).is_err(), "parse of {len} bytes");
            assert!(update_probe(&mut buf, 1, 2).is_err(), "update of {len}");
            assert!(stamp_forwarder(&mut buf, &FwdStamps::default()).is_err());
            // reflect checks only shapes, yet a cut IPv4 packet is still an error
            assert!(reflect_in_place(&mut buf, false).is_err(), "reflect {len}");
            assert!(
                reflect_in_place(&mut buf, true).is_err(),
                "reflect l3 {len}"
            );
            assert_eq!(buf, original[..len], "buffer touched on error at {len}");
        }
    }
}

/// ARP request who-has 10.0.0.2 tell 10.0.0.1.
static ARP: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, //
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // htype, ptype, hlen, plen, request
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01, // sender
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02, // target
];

/// Replaces bytes of a 64-byte probe: a foreign packet that is otherwise
/// well-formed (checksums refreshed through the views).
fn foreign(edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let mut buf = vec![0u8; 64];
    emit_probe(&mut buf, &flow(), &probe(None)).unwrap();
    edit(&mut buf);
    let (src, dst) = {
        let mut ip = wire::Ipv4Packet::new_unchecked(&mut buf[14..]);
        ip.fill_checksum();
        (ip.src_addr(), ip.dst_addr())
    };
    if buf[23] == 17 {
        let mut udp = wire::UdpPacket::new_unchecked(&mut buf[34..]);
        if udp.checksum() != 0 {
            udp.fill_checksum(src, dst);
        }
    }
    buf
}

#[test]
fn foreign_frames_are_not_probes() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("ARP", ARP.to_vec()),
        (
            "IPv6",
            foreign(|b| b[12..14].copy_from_slice(&[0x86, 0xdd])),
        ),
        (
            "VLAN",
            foreign(|b| b[12..14].copy_from_slice(&[0x81, 0x00])),
        ),
        ("TCP", foreign(|b| b[23] = 6)),
        ("ICMP", foreign(|b| b[23] = 1)),
        ("fragment", foreign(|b| b[20] = 0x20)),
        ("other UDP", foreign(|b| b[42] = b'D')),
        (
            "UDP without checksum",
            foreign(|b| {
                b[40..42].fill(0);
                b[42] = b'D';
            }),
        ),
        ("next probe version", foreign(|b| b[44] = 2)),
        (
            "small UDP",
            foreign(|b| {
                b[16..18].copy_from_slice(&40u16.to_be_bytes());
                b[38..40].copy_from_slice(&20u16.to_be_bytes());
            }),
        ),
    ];
    for (name, buf) in cases {
        let result = parse_probe(&buf);
        assert!(
            matches!(result, Err(Error::NotProbe { .. })),
            "{name}: {result:?}"
        );
    }
}

#[test]
fn a_probe_without_udp_checksum_is_corrupt() {
    let buf = foreign(|b| b[40..42].fill(0));
    assert_eq!(
        parse_probe(&buf),
        Err(Error::Corrupt {
            what: "probe without UDP checksum"
        })
    );
}

#[test]
fn reflect_handles_any_ipv4_but_swaps_l3_only_for_udp() {
    let tcp = foreign(|b| b[23] = 6);
    let mut buf = tcp.clone();
    reflect_in_place(&mut buf, false).unwrap();
    assert_eq!(buf[..6], tcp[6..12]);
    assert_eq!(buf[12..], tcp[12..]);
    let mut buf = tcp.clone();
    assert!(matches!(
        reflect_in_place(&mut buf, true),
        Err(Error::NotProbe { .. })
    ));
    assert_eq!(buf, tcp);

    let other_udp = foreign(|b| b[42] = b'D');
    let mut buf = other_udp.clone();
    reflect_in_place(&mut buf, true).unwrap();
    reflect_in_place(&mut buf, true).unwrap();
    assert_eq!(buf, other_udp);

    let mut arp = ARP;
    assert!(matches!(
        reflect_in_place(&mut arp, false),
        Err(Error::NotProbe { .. })
    ));
    assert_eq!(arp, ARP);
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(4);
    let templates = probes();
    for round in 0..20_000 {
        let template = &templates[round % templates.len()];
        let len = rng.below(template.len() + 16);
        let mut buf: Vec<u8> = (0..len)
            .map(|i| template.get(i).copied().unwrap_or(0))
            .collect();
        // damage a few bytes, biased towards the headers
        for _ in 0..=rng.below(4) {
            if len > 0 {
                let at = rng.below(len.min(96));
                buf[at] = rng.next() as u8;
            }
        }
        let _ = parse_probe(&buf);
        let _ = reflect_in_place(&mut buf, rng.below(2) == 1);
        let _ = stamp_forwarder(&mut buf, &FwdStamps::default());
        let _ = update_probe(&mut buf, 1, 2);
        let _ = parse_probe(&buf);
    }
}
