//! Whole-packet behaviour against byte literals whose checksums were
//! computed independently (Python's struct module, 16-bit word sums), and
//! round trips of emit → parse / reflect / stamp / update.

mod common;

use common::{Rng, flow, probe};
use wire::probe::flags;
use wire::{
    Error, EthernetFrame, FwdStamps, Ipv4Packet, MAX_PROBE_SIZE, PROBE_OFFSET, ProbeHeader,
    UDP_OFFSET, UdpPacket, emit_probe, min_probe_size, parse_probe, reflect_in_place,
    stamp_forwarder, update_probe,
};

/// 02:00:00:00:00:01 10.0.0.1:40000 → 02:00:00:00:00:02 10.0.0.2:5555, run
/// 0x1234, seq 0x0102030405060708, tx_ns 0x1122334455667788; IPv4 checksum
/// 0x26b9, UDP checksum 0xacda.
static PROBE_64: [u8; 64] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, // dst mac, src mac
    0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00, // ethertype, IPv4 ver/IHL, tos
    0x00, 0x32, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, // total len 50, ident, DF, TTL 64, UDP
    0x26, 0xb9, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, // checksum, src ip, dst ip
    0x00, 0x02, 0x9c, 0x40, 0x15, 0xb3, 0x00, 0x1e, // ports, UDP len 30
    0xac, 0xda, 0x58, 0x44, 0x01, 0x00, 0x12,
    0x34, // UDP checksum, magic, version, flags, run
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // seq
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, // tx_ns
];

/// The same probe with the stamp extension filled (flags 3) with xdp 0xa1,
/// rx 0xb2, tx 0xc3; IPv4 checksum 0x26a1, UDP checksum 0xaa91.
static PROBE_88_STAMPED: [u8; 88] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, //
    0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00, //
    0x00, 0x4a, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, //
    0x26, 0xa1, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, //
    0x00, 0x02, 0x9c, 0x40, 0x15, 0xb3, 0x00, 0x36, //
    0xaa, 0x91, 0x58, 0x44, 0x01, 0x03, 0x12, 0x34, //
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, //
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa1, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb2, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc3, //
];

const LITERAL_STAMPS: FwdStamps = FwdStamps {
    xdp_ns: 0xa1,
    rx_ns: 0xb2,
    tx_ns: 0xc3,
};

#[test]
fn emit_writes_the_literal_probe() {
    let mut buf = [0xa5u8; 64];
    emit_probe(&mut buf, &flow(), &probe(None)).unwrap();
    assert_eq!(buf, PROBE_64);
}

#[test]
fn parse_reads_the_literal_probe() {
    assert_eq!(parse_probe(&PROBE_64), Ok((flow(), probe(None))));
    let (_, stamped) = parse_probe(&PROBE_88_STAMPED).unwrap();
    assert_eq!(stamped, probe(Some(LITERAL_STAMPS)));
}

#[test]
fn views_read_the_literal_probe() {
    let eth = EthernetFrame::new_checked(&PROBE_64[..]).unwrap();
    assert_eq!(eth.ethertype(), 0x0800);
    let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
    assert_eq!((ip.version(), ip.header_len(), ip.total_len()), (4, 20, 50));
    assert!(ip.dont_frag() && ip.ttl() == 64 && ip.checksum() == 0x26b9);
    assert!(ip.verify_checksum());
    let udp = UdpPacket::new_checked(ip.payload()).unwrap();
    assert_eq!(
        (udp.src_port(), udp.dst_port(), udp.len()),
        (40000, 5555, 30)
    );
    assert!(udp.verify_checksum(ip.src_addr(), ip.dst_addr()));
    let header = ProbeHeader::new_checked(udp.payload()).unwrap();
    assert_eq!(
        (header.magic(), header.version(), header.flags()),
        (0x5844, 1, 0)
    );
    assert_eq!(header.stamps(), None);
}

#[test]
fn stamping_the_reserved_room_gives_the_stamped_literal() {
    let mut buf = [0u8; 88];
    emit_probe(&mut buf, &flow(), &probe(Some(FwdStamps::default()))).unwrap();
    assert_eq!(buf[45], flags::STAMP_ROOM);
    assert_eq!(stamp_forwarder(&mut buf, &LITERAL_STAMPS), Ok(true));
    assert_eq!(buf, PROBE_88_STAMPED);
    // and emitting the stamped repr directly gives the same bytes
    let mut direct = [0u8; 88];
    emit_probe(&mut direct, &flow(), &probe(Some(LITERAL_STAMPS))).unwrap();
    assert_eq!(direct, PROBE_88_STAMPED);
}

#[test]
fn round_trip_at_the_sizes_that_matter() {
    for (size, stamps) in [
        (64, None),
        (88, Some(FwdStamps::default())),
        (88, Some(LITERAL_STAMPS)),
        (1500, None),
        (1500, Some(LITERAL_STAMPS)),
        (MAX_PROBE_SIZE, Some(FwdStamps::default())),
    ] {
        let mut buf = vec![0xa5u8; size];
        emit_probe(&mut buf, &flow(), &probe(stamps)).unwrap();
        assert_eq!(
            parse_probe(&buf),
            Ok((flow(), probe(stamps))),
            "size {size}"
        );
        let header_end = PROBE_OFFSET + probe(stamps).header_len();
        assert!(
            buf[header_end..].iter().all(|&b| b == 0),
            "padding of {size}"
        );
    }
}

#[test]
fn round_trip_of_random_probes() {
    let mut rng = Rng(1);
    for _ in 0..2000 {
        let stamp_room = rng.below(2) == 1;
        let min = min_probe_size(stamp_room);
        let size = match rng.below(3) {
            0 => min,
            1 => min + rng.below(64),
            _ => min + rng.below(MAX_PROBE_SIZE - min + 1),
        };
        let (flow, probe) = (rng.flow(), rng.probe(stamp_room));
        let mut buf = vec![rng.next() as u8; size];
        emit_probe(&mut buf, &flow, &probe).unwrap();
        assert_eq!(parse_probe(&buf), Ok((flow, probe)), "size {size}");
    }
}

#[test]
fn sizes_out_of_range_are_bad_size() {
    for (size, stamps, min) in [
        (0, None, 64),
        (63, None, 64),
        (64, Some(FwdStamps::default()), 88),
        (87, Some(FwdStamps::default()), 88),
        (MAX_PROBE_SIZE + 1, None, 64),
    ] {
        let mut buf = vec![0xa5u8; size];
        let err = emit_probe(&mut buf, &flow(), &probe(stamps)).unwrap_err();
        assert_eq!(
            err,
            Error::BadSize {
                size,
                min,
                max: MAX_PROBE_SIZE
            }
        );
        assert!(buf.iter().all(|&b| b == 0xa5), "buffer touched on error");
    }
}

#[test]
fn reflect_swaps_and_twice_is_identity() {
    for swap_l3 in [false, true] {
        for size in [64, 88, 1500] {
            let mut buf = vec![0u8; size];
            emit_probe(&mut buf, &flow(), &probe(None)).unwrap();
            let original = buf.clone();
            reflect_in_place(&mut buf, swap_l3).unwrap();
            assert_eq!(
                parse_probe(&buf),
                Ok((flow().reflected(swap_l3), probe(None)))
            );
            reflect_in_place(&mut buf, swap_l3).unwrap();
            assert_eq!(buf, original, "size {size} swap_l3 {swap_l3}");
        }
    }
}

#[test]
fn stamp_then_parse_shows_the_stamps() {
    let mut rng = Rng(2);
    for size in [88, 89, 1500] {
        let mut buf = vec![0u8; size];
        emit_probe(&mut buf, &flow(), &probe(Some(FwdStamps::default()))).unwrap();
        for _ in 0..3 {
            let stamps = FwdStamps {
                xdp_ns: rng.next(),
                rx_ns: rng.next(),
                tx_ns: rng.next(),
            };
            assert_eq!(stamp_forwarder(&mut buf, &stamps), Ok(true));
            assert_eq!(parse_probe(&buf), Ok((flow(), probe(Some(stamps)))));
            let mut fresh = vec![0u8; size];
            emit_probe(&mut fresh, &flow(), &probe(Some(stamps))).unwrap();
            assert_eq!(buf, fresh, "incremental checksum equals a full one");
        }
    }
}

/// The forwarder's queue goes in where the probe has room for it (94 bytes and more), with a
/// checksum equal to a freshly emitted probe's; a shorter stamped probe gets the stamps alone.
#[test]
fn the_queue_goes_where_there_is_room() {
    let q = wire::FwdQueue {
        queue: 2,
        napi_id: 8195,
    };
    for size in [88, 93, 94, 1500] {
        let mut buf = vec![0u8; size];
        emit_probe(&mut buf, &flow(), &probe(Some(FwdStamps::default()))).unwrap();
        assert_eq!(
            wire::stamp_forwarder_queue(&mut buf, &LITERAL_STAMPS, Some(q)),
            Ok(true)
        );
        let want = wire::ProbeRepr {
            fwd_queue: (size >= wire::MIN_QUEUE_PROBE_SIZE).then_some(q),
            ..probe(Some(LITERAL_STAMPS))
        };
        assert_eq!(parse_probe(&buf), Ok((flow(), want)), "size {size}");
        let mut fresh = vec![0u8; size];
        emit_probe(&mut fresh, &flow(), &want).unwrap();
        assert_eq!(
            buf, fresh,
            "size {size}: incremental checksum equals a full one"
        );
    }
}

#[test]
fn stamp_without_room_leaves_the_packet_alone() {
    let mut buf = PROBE_64;
    assert_eq!(stamp_forwarder(&mut buf, &LITERAL_STAMPS), Ok(false));
    assert_eq!(buf, PROBE_64);
}

#[test]
fn update_rewrites_seq_and_send_time() {
    let mut rng = Rng(3);
    for size in [64, 88, 1500] {
        let stamps = (size != 64).then_some(LITERAL_STAMPS);
        let mut buf = vec![0u8; size];
        emit_probe(&mut buf, &flow(), &probe(stamps)).unwrap();
        for _ in 0..50 {
            let (seq, tx_ns) = (rng.next(), rng.next());
            update_probe(&mut buf, seq, tx_ns).unwrap();
            let expected = wire::ProbeRepr {
                seq,
                tx_ns,
                ..probe(stamps)
            };
            let mut fresh = vec![0u8; size];
            emit_probe(&mut fresh, &flow(), &expected).unwrap();
            assert_eq!(buf, fresh);
        }
    }
}

/// A probe whose UDP checksum computes to 0 must carry 0xffff, through emit,
/// update and stamp alike.
#[test]
fn a_zero_udp_checksum_is_sent_as_ffff() {
    let checksum_at = |buf: &[u8]| u16::from_be_bytes([buf[UDP_OFFSET + 6], buf[UDP_OFFSET + 7]]);
    let mut buf = [0u8; 88];
    let base = wire::ProbeRepr {
        tx_ns: 0,
        ..probe(Some(FwdStamps::default()))
    };
    emit_probe(&mut buf, &flow(), &base).unwrap();
    // Adding the checksum's value to the last word of tx_ns brings the sum to 0xffff.
    let zeroing = u64::from(checksum_at(&buf));
    let repr = wire::ProbeRepr {
        tx_ns: zeroing,
        ..base
    };
    emit_probe(&mut buf, &flow(), &repr).unwrap();
    assert_eq!(checksum_at(&buf), 0xffff);
    assert_eq!(parse_probe(&buf), Ok((flow(), repr)));

    emit_probe(&mut buf, &flow(), &base).unwrap();
    update_probe(&mut buf, base.seq, zeroing).unwrap();
    assert_eq!(checksum_at(&buf), 0xffff);
    assert_eq!(parse_probe(&buf), Ok((flow(), repr)));

    // stamping: choose stamps whose last word zeroes the sum
    emit_probe(&mut buf, &flow(), &base).unwrap();
    let room = checksum_at(&buf);
    // FWD_STAMPED adds 2 to the version/flags word; the stamp word adds the rest.
    let stamps = FwdStamps {
        tx_ns: u64::from(room.wrapping_sub(2)),
        ..FwdStamps::default()
    };
    assert_eq!(stamp_forwarder(&mut buf, &stamps), Ok(true));
    assert_eq!(checksum_at(&buf), 0xffff);
    assert_eq!(parse_probe(&buf).unwrap().1.stamps, Some(stamps));
}
