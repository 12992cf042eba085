//! Whole probe packets, Ethernet II / IPv4 / UDP / probe header / zero
//! padding: emit, parse and validate, and the in-place rewrites a forwarder
//! (MAC/IP/port swap, stamps) and a sender (seq and send time) make on the
//! hot path, keeping both checksums valid without allocating.

use std::net::Ipv4Addr;

use crate::checksum;
use crate::ethernet::{ETH_HDR_LEN, ETHERTYPE_IPV4, EthernetFrame};
use crate::ipv4::{DEFAULT_TTL, IPV4_HDR_LEN, Ipv4Packet, PROTO_UDP};
use crate::probe::{
    FwdQueue, FwdStamps, PROBE_BASE_LEN, PROBE_MAGIC, PROBE_QUEUE_LEN, PROBE_STAMP_LEN,
    PROBE_VERSION, ProbeHeader, ProbeRepr, flags,
};
use crate::udp::{UDP_HDR_LEN, UdpPacket, nonzero, pseudo_header_sum};
use crate::{Error, MacAddr};

/// Where the UDP header starts in the probes we emit (no IPv4 options).
pub const UDP_OFFSET: usize = ETH_HDR_LEN + IPV4_HDR_LEN;
/// Where the probe header starts in the probes we emit.
pub const PROBE_OFFSET: usize = UDP_OFFSET + UDP_HDR_LEN;
/// The smallest probe: headers plus the base probe header, 64 bytes, the
/// minimum of the paper's xdpsock (a buffer length without FCS).
pub const MIN_PROBE_SIZE: usize = 64;
/// The smallest probe with the forwarder-stamp extension.
pub const MIN_STAMPED_PROBE_SIZE: usize = PROBE_OFFSET + PROBE_BASE_LEN + PROBE_STAMP_LEN;
/// The smallest probe a forwarder writes its queue and NAPI id into.
pub const MIN_QUEUE_PROBE_SIZE: usize = MIN_STAMPED_PROBE_SIZE + PROBE_QUEUE_LEN;
/// The largest probe (jumbo frame); larger sizes are bad input.
pub const MAX_PROBE_SIZE: usize = 9000;

const _: () = assert!(PROBE_OFFSET == 42 && PROBE_OFFSET + PROBE_BASE_LEN == MIN_PROBE_SIZE);
const _: () = assert!(MIN_STAMPED_PROBE_SIZE == 88);

/// The smallest probe size with or without the stamp extension.
pub const fn min_probe_size(stamp_room: bool) -> usize {
    if stamp_room {
        MIN_STAMPED_PROBE_SIZE
    } else {
        MIN_PROBE_SIZE
    }
}

/// The addresses and ports of a probe, as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowRepr {
    /// Ethernet source.
    pub src_mac: MacAddr,
    /// Ethernet destination.
    pub dst_mac: MacAddr,
    /// IPv4 source.
    pub src_ip: Ipv4Addr,
    /// IPv4 destination.
    pub dst_ip: Ipv4Addr,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
}

impl FlowRepr {
    /// The flow of the answer: `swap_l3` as in [`reflect_in_place`].
    pub fn reflected(&self, swap_l3: bool) -> FlowRepr {
        let mut out = FlowRepr {
            src_mac: self.dst_mac,
            dst_mac: self.src_mac,
            ..*self
        };
        if swap_l3 {
            (out.src_ip, out.dst_ip) = (self.dst_ip, self.src_ip);
            (out.src_port, out.dst_port) = (self.dst_port, self.src_port);
        }
        out
    }
}

/// Writes a whole probe packet of exactly `buf.len()` bytes (the probe size)
/// into `buf`: IPv4 IHL 5, DF, TTL 64, ident 0; the probe header; zeros up to
/// the end; valid IPv4 and UDP checksums (the UDP one never 0).
///
/// Errors: `BadSize` when the size is below [`min_probe_size`] or above
/// [`MAX_PROBE_SIZE`]; `buf` is untouched then.
pub fn emit_probe(buf: &mut [u8], flow: &FlowRepr, probe: &ProbeRepr) -> Result<(), Error> {
    let size = buf.len();
    let min = min_probe_size(probe.stamps.is_some());
    if !(min..=MAX_PROBE_SIZE).contains(&size) {
        return Err(Error::BadSize {
            size,
            min,
            max: MAX_PROBE_SIZE,
        });
    }
    let header_end = PROBE_OFFSET + probe.header_len();
    buf[header_end..].fill(0);

    let mut eth = EthernetFrame::new_unchecked(&mut *buf);
    eth.set_dst_addr(flow.dst_mac);
    eth.set_src_addr(flow.src_mac);
    eth.set_ethertype(ETHERTYPE_IPV4);

    // Both lengths fit in u16: size <= MAX_PROBE_SIZE.
    let ip_len = (size - ETH_HDR_LEN) as u16;
    let udp_len = ip_len - IPV4_HDR_LEN as u16;
    let mut ip = Ipv4Packet::new_unchecked(&mut buf[ETH_HDR_LEN..UDP_OFFSET]);
    ip.set_version_and_header_len(IPV4_HDR_LEN);
    ip.set_tos(0);
    ip.set_total_len(ip_len);
    ip.set_ident(0);
    ip.set_unfragmented(true);
    ip.set_ttl(DEFAULT_TTL);
    ip.set_protocol(PROTO_UDP);
    ip.set_src_addr(flow.src_ip);
    ip.set_dst_addr(flow.dst_ip);
    ip.fill_checksum();

    let mut udp = UdpPacket::new_unchecked(&mut buf[UDP_OFFSET..PROBE_OFFSET]);
    udp.set_src_port(flow.src_port);
    udp.set_dst_port(flow.dst_port);
    udp.set_len(udp_len);
    udp.set_checksum(0);

    probe.emit(&mut ProbeHeader::new_unchecked(
        &mut buf[PROBE_OFFSET..header_end],
    ));

    // The zero padding adds nothing to the sum, so only the headers are summed.
    let acc = checksum::sum(
        pseudo_header_sum(flow.src_ip, flow.dst_ip, udp_len),
        &buf[UDP_OFFSET..header_end],
    );
    UdpPacket::new_unchecked(&mut buf[UDP_OFFSET..PROBE_OFFSET])
        .set_checksum(nonzero(!checksum::fold(acc)));
    Ok(())
}

/// Parses and validates a probe packet: lengths, EtherType, IPv4 version and
/// IHL, IPv4 header checksum, protocol, no fragmentation, UDP length and
/// checksum, probe magic, version and flags. Bytes after the IPv4 total
/// length (Ethernet padding) are ignored.
///
/// Errors: `NotProbe` for well-formed foreign traffic (not IPv4, not UDP,
/// a fragment, a UDP payload too short or without the magic, another probe
/// version); `Corrupt` or `Truncated` for damaged packets.
pub fn parse_probe(buf: &[u8]) -> Result<(FlowRepr, ProbeRepr), Error> {
    let eth = EthernetFrame::new_checked(buf)?;
    let ip = ipv4_of(&eth)?;
    if !ip.verify_checksum() {
        return Err(Error::Corrupt {
            what: "IPv4 header checksum",
        });
    }
    let udp = udp_of(&ip)?;
    let payload = udp.payload();
    if payload.len() < PROBE_BASE_LEN {
        return Err(Error::NotProbe {
            why: "UDP payload shorter than a probe header",
        });
    }
    let header = ProbeHeader::new_unchecked(payload);
    let is_ours = header.magic() == PROBE_MAGIC;
    if udp.checksum() == 0 {
        return Err(if is_ours {
            Error::Corrupt {
                what: "probe without UDP checksum",
            }
        } else {
            Error::NotProbe {
                why: "probe magic mismatch",
            }
        });
    }
    if !udp.verify_checksum(ip.src_addr(), ip.dst_addr()) {
        return Err(Error::Corrupt {
            what: "UDP checksum",
        });
    }
    if !is_ours {
        return Err(Error::NotProbe {
            why: "probe magic mismatch",
        });
    }
    header.check_len()?;
    let probe = ProbeRepr::parse(&header)?;
    let flow = FlowRepr {
        src_mac: eth.src_addr(),
        dst_mac: eth.dst_addr(),
        src_ip: ip.src_addr(),
        dst_ip: ip.dst_addr(),
        src_port: udp.src_port(),
        dst_port: udp.dst_port(),
    };
    Ok((flow, probe))
}

/// What a forwarder does to a received packet in place: swap the MACs; with
/// `swap_l3` also the IPv4 addresses and UDP ports (the checksums stay valid:
/// the sums do not depend on order). Checks only lengths, EtherType and the
/// IPv4 header's shape (and with `swap_l3` that it is an unfragmented UDP
/// datagram), so it works on any IPv4 traffic, like xdpsock's l2fwd.
/// Checksums are not verified. On error `buf` is untouched.
pub fn reflect_in_place(buf: &mut [u8], swap_l3: bool) -> Result<(), Error> {
    let udp_offset = {
        let eth = EthernetFrame::new_checked(&*buf)?;
        let ip = ipv4_of(&eth)?;
        if swap_l3 {
            udp_of(&ip)?;
            Some(ETH_HDR_LEN + ip.header_len())
        } else {
            None
        }
    };
    EthernetFrame::new_unchecked(&mut *buf).swap_addrs();
    if let Some(offset) = udp_offset {
        Ipv4Packet::new_unchecked(&mut buf[ETH_HDR_LEN..]).swap_addrs();
        UdpPacket::new_unchecked(&mut buf[offset..]).swap_ports();
    }
    Ok(())
}

/// Writes the forwarder stamps into the reserved extension and sets
/// FWD_STAMPED, updating the UDP checksum incrementally (RFC 1624). Returns
/// `Ok(false)` without touching the packet when the sender reserved no room.
/// Checksums are not verified (an incremental update keeps a bad one bad).
///
/// Errors: as [`parse_probe`] for the layers' shape, magic and version.
pub fn stamp_forwarder(buf: &mut [u8], stamps: &FwdStamps) -> Result<bool, Error> {
    stamp_forwarder_queue(buf, stamps, None)
}

/// As [`stamp_forwarder`], and writes `queue` into the queue extension (setting FWD_QUEUE)
/// where the probe is long enough for it ([`MIN_QUEUE_PROBE_SIZE`]); a shorter probe gets the
/// stamps alone.
pub fn stamp_forwarder_queue(
    buf: &mut [u8],
    stamps: &FwdStamps,
    queue: Option<FwdQueue>,
) -> Result<bool, Error> {
    let probe = locate_probe(buf)?;
    if buf[probe.start + FLAGS] & flags::STAMP_ROOM == 0 {
        return Ok(false);
    }
    ProbeHeader::new_checked(&buf[probe.start..probe.end])?;
    let queue = queue.filter(|_| probe.end - probe.start >= MIN_QUEUE_PROBE_SIZE - PROBE_OFFSET);
    let ext_len = PROBE_STAMP_LEN + if queue.is_some() { PROBE_QUEUE_LEN } else { 0 };
    let ext = probe.start + PROBE_BASE_LEN..probe.start + PROBE_BASE_LEN + ext_len;
    let word = probe.start + VERSION..probe.start + VERSION + 2;
    let old = checksum::sum(checksum::sum(0, &buf[word.clone()]), &buf[ext.clone()]);

    let mut header = ProbeHeader::new_unchecked(&mut buf[probe.start..probe.end]);
    let queue_flag = if queue.is_some() { flags::FWD_QUEUE } else { 0 };
    header.set_flags(header.flags() | flags::FWD_STAMPED | queue_flag);
    header.set_stamps(stamps);
    if let Some(q) = queue {
        header.set_fwd_queue(&q);
    }

    let new = checksum::sum(checksum::sum(0, &buf[word]), &buf[ext]);
    patch_udp_checksum(buf, probe.udp_offset, old, new);
    Ok(true)
}

/// Rewrites the sequence number and send time of an emitted probe in place
/// and updates the UDP checksum incrementally: a sender can reuse a frame
/// and stamp `tx_ns` at the last moment for a few ns.
///
/// Errors: as [`parse_probe`] for the layers' shape, magic and version.
pub fn update_probe(buf: &mut [u8], seq: u64, tx_ns: u64) -> Result<(), Error> {
    let probe = locate_probe(buf)?;
    // seq and tx_ns are adjacent: bytes 6..22 of the probe header.
    let fields = probe.start + 6..probe.start + PROBE_BASE_LEN;
    let old = checksum::sum(0, &buf[fields.clone()]);
    let mut header = ProbeHeader::new_unchecked(&mut buf[probe.start..probe.end]);
    header.set_seq(seq);
    header.set_tx_ns(tx_ns);
    let new = checksum::sum(0, &buf[fields]);
    patch_udp_checksum(buf, probe.udp_offset, old, new);
    Ok(())
}

const VERSION: usize = 2;
const FLAGS: usize = 3;

struct ProbeLocation {
    udp_offset: usize,
    start: usize,
    end: usize,
}

/// Finds the probe header of an IPv4/UDP packet with the probe magic and
/// version, checking shapes only (no checksums).
fn locate_probe(buf: &[u8]) -> Result<ProbeLocation, Error> {
    let eth = EthernetFrame::new_checked(buf)?;
    let ip = ipv4_of(&eth)?;
    let udp = udp_of(&ip)?;
    let payload = udp.payload();
    if payload.len() < PROBE_BASE_LEN {
        return Err(Error::NotProbe {
            why: "UDP payload shorter than a probe header",
        });
    }
    let header = ProbeHeader::new_unchecked(payload);
    if header.magic() != PROBE_MAGIC {
        return Err(Error::NotProbe {
            why: "probe magic mismatch",
        });
    }
    if header.version() != PROBE_VERSION {
        return Err(Error::NotProbe {
            why: "unsupported probe version",
        });
    }
    let udp_offset = ETH_HDR_LEN + ip.header_len();
    let start = udp_offset + UDP_HDR_LEN;
    Ok(ProbeLocation {
        udp_offset,
        start,
        end: start + payload.len(),
    })
}

/// Applies an RFC 1624 update to the UDP checksum at `udp_offset`; a zero
/// ("no checksum") field stays zero.
fn patch_udp_checksum(buf: &mut [u8], udp_offset: usize, old: u64, new: u64) {
    let mut udp = UdpPacket::new_unchecked(&mut buf[udp_offset..]);
    let sum = udp.checksum();
    if sum != 0 {
        udp.set_checksum(nonzero(checksum::update(sum, old, new)));
    }
}

/// The IPv4 packet in an Ethernet frame: EtherType (`NotProbe`), lengths,
/// version.
fn ipv4_of<'a>(eth: &EthernetFrame<&'a [u8]>) -> Result<Ipv4Packet<&'a [u8]>, Error> {
    if eth.ethertype() != ETHERTYPE_IPV4 {
        return Err(Error::NotProbe {
            why: "EtherType is not IPv4",
        });
    }
    let ip = Ipv4Packet::new_checked(&eth.clone().into_inner()[ETH_HDR_LEN..])?;
    if ip.version() != 4 {
        return Err(Error::Corrupt {
            what: "IPv4 version field is not 4",
        });
    }
    Ok(ip)
}

/// The UDP datagram in an IPv4 packet: protocol and fragmentation
/// (`NotProbe`), lengths (the UDP length must equal the IPv4 payload).
fn udp_of<'a>(ip: &Ipv4Packet<&'a [u8]>) -> Result<UdpPacket<&'a [u8]>, Error> {
    if ip.protocol() != PROTO_UDP {
        return Err(Error::NotProbe {
            why: "IP protocol is not UDP",
        });
    }
    if ip.is_fragment() {
        return Err(Error::NotProbe {
            why: "IPv4 fragment",
        });
    }
    let bytes = ip.clone().into_inner();
    let payload = &bytes[ip.header_len()..usize::from(ip.total_len())];
    let udp = UdpPacket::new_checked(payload)?;
    if usize::from(udp.len()) != payload.len() {
        return Err(Error::Corrupt {
            what: "UDP length disagrees with IPv4 total length",
        });
    }
    Ok(udp)
}

/// A minimal stamped probe (88 bytes, room for the forwarder's stamps, sequence number `seq`)
/// from 10.0.0.1 to 10.0.0.2, UDP `port` both ways: the frame the XDP program's tests and
/// benchmarks run it on.
pub fn sample_probe(port: u16, seq: u64) -> Vec<u8> {
    let flow = FlowRepr {
        src_mac: crate::MacAddr([2, 0, 0, 0, 0, 1]),
        dst_mac: crate::MacAddr([2, 0, 0, 0, 0, 2]),
        src_ip: [10, 0, 0, 1].into(),
        dst_ip: [10, 0, 0, 2].into(),
        src_port: port,
        dst_port: port,
    };
    let probe = ProbeRepr {
        run_id: 1,
        seq,
        tx_ns: 1,
        stamps: Some(crate::FwdStamps::default()),
        fwd_queue: None,
    };
    let mut buf = vec![0u8; MIN_STAMPED_PROBE_SIZE];
    emit_probe(&mut buf, &flow, &probe).expect("an 88-byte stamped probe fits");
    buf
}
