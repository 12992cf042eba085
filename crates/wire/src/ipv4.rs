//! A read/write view of an IPv4 header over a borrowed buffer, with its header
//! checksum. The buffer starts at the IPv4 header (after Ethernet).

use std::net::Ipv4Addr;

use crate::{Error, checksum};

/// Length of an IPv4 header without options (IHL 5), the only kind we emit.
pub const IPV4_HDR_LEN: usize = 20;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// The time to live we emit, Linux's default.
pub const DEFAULT_TTL: u8 = 64;

mod field {
    use std::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLAGS_FRAG: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
}

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1fff;

/// An IPv4 packet view. [`Ipv4Packet::new_checked`] guarantees that the
/// header (with options) and the total length fit in the buffer, so no
/// accessor panics; it does not check the version or the checksum.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wraps a buffer whose header length and total length are consistent
    /// and fit; trailing bytes (Ethernet padding) are allowed.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Errs when an accessor could panic: see [`Ipv4Packet::new_checked`].
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < IPV4_HDR_LEN {
            return Err(Error::Truncated {
                what: "IPv4 header",
                len,
                need: IPV4_HDR_LEN,
            });
        }
        let header_len = self.header_len();
        if header_len < IPV4_HDR_LEN {
            return Err(Error::Corrupt {
                what: "IPv4 IHL below 5",
            });
        }
        if header_len > len {
            return Err(Error::Truncated {
                what: "IPv4 header with options",
                len,
                need: header_len,
            });
        }
        let total_len = usize::from(self.total_len());
        if total_len < header_len {
            return Err(Error::Corrupt {
                what: "IPv4 total length below header length",
            });
        }
        if total_len > len {
            return Err(Error::Truncated {
                what: "IPv4 total length",
                len,
                need: total_len,
            });
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Version field (4 for IPv4).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL × 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The DSCP/ECN byte.
    #[inline]
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    /// Total length: header plus payload.
    #[inline]
    pub fn total_len(&self) -> u16 {
        self.read_u16(field::TOTAL_LEN.start)
    }

    /// Identification.
    #[inline]
    pub fn ident(&self) -> u16 {
        self.read_u16(field::IDENT.start)
    }

    /// The don't-fragment flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        self.read_u16(field::FLAGS_FRAG.start) & FLAG_DF != 0
    }

    /// The more-fragments flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.read_u16(field::FLAGS_FRAG.start) & FLAG_MF != 0
    }

    /// Fragment offset in 8-byte units.
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        self.read_u16(field::FLAGS_FRAG.start) & FRAG_OFFSET_MASK
    }

    /// Whether this is a fragment (MF set or offset non-zero).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Protocol of the payload.
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    /// Header checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM.start)
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.read_u32(field::SRC.start))
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.read_u32(field::DST.start))
    }

    /// Whether the header checksum (over the header with options) is valid.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::sum(0, &self.buffer.as_ref()[..self.header_len()])) == 0xffff
    }

    /// The payload: from the end of the header to the total length.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }

    #[inline]
    fn read_u16(&self, at: usize) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[at], b[at + 1]])
    }

    #[inline]
    fn read_u32(&self, at: usize) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Sets version 4 and the header length in bytes (a multiple of 4).
    #[inline]
    pub fn set_version_and_header_len(&mut self, header_len: usize) {
        self.buffer.as_mut()[field::VER_IHL] = 0x40 | ((header_len / 4) as u8 & 0x0f);
    }

    /// Sets the DSCP/ECN byte.
    #[inline]
    pub fn set_tos(&mut self, tos: u8) {
        self.buffer.as_mut()[field::TOS] = tos;
    }

    /// Sets the total length.
    #[inline]
    pub fn set_total_len(&mut self, len: u16) {
        self.write_u16(field::TOTAL_LEN.start, len);
    }

    /// Sets the identification.
    #[inline]
    pub fn set_ident(&mut self, ident: u16) {
        self.write_u16(field::IDENT.start, ident);
    }

    /// Sets the flags and fragment offset: DF as given, MF clear, offset 0.
    #[inline]
    pub fn set_unfragmented(&mut self, dont_frag: bool) {
        self.write_u16(field::FLAGS_FRAG.start, if dont_frag { FLAG_DF } else { 0 });
    }

    /// Sets the time to live.
    #[inline]
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Sets the payload protocol.
    #[inline]
    pub fn set_protocol(&mut self, protocol: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = protocol;
    }

    /// Sets the checksum field as is.
    #[inline]
    pub fn set_checksum(&mut self, checksum: u16) {
        self.write_u16(field::CHECKSUM.start, checksum);
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.octets());
    }

    /// Exchanges source and destination addresses. The header checksum and any
    /// transport pseudo-header sum stay valid: a sum does not depend on order.
    #[inline]
    pub fn swap_addrs(&mut self) {
        let (src, dst) = self.buffer.as_mut()[field::SRC.start..field::DST.end].split_at_mut(4);
        src.swap_with_slice(dst);
    }

    /// Computes and writes the header checksum.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let header_len = self.header_len();
        let sum = checksum::checksum(&self.buffer.as_ref()[..header_len]);
        self.set_checksum(sum);
    }

    /// The payload, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &mut self.buffer.as_mut()[range]
    }

    #[inline]
    fn write_u16(&mut self, at: usize, value: u16) {
        self.buffer.as_mut()[at..at + 2].copy_from_slice(&value.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header from a real capture (Wikipedia's IPv4 checksum example):
    /// 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7.
    static HEADER: [u8; 20] = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ];

    fn packet_bytes() -> Vec<u8> {
        let mut bytes = HEADER.to_vec();
        bytes.resize(0x73, 0);
        bytes
    }

    #[test]
    fn deconstruct() {
        let bytes = packet_bytes();
        let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.version(), 4);
        assert_eq!(packet.header_len(), 20);
        assert_eq!(packet.total_len(), 0x73);
        assert!(packet.dont_frag());
        assert!(!packet.is_fragment());
        assert_eq!(packet.ttl(), 64);
        assert_eq!(packet.protocol(), PROTO_UDP);
        assert_eq!(packet.checksum(), 0xb861);
        assert_eq!(packet.src_addr(), Ipv4Addr::new(192, 168, 0, 1));
        assert_eq!(packet.dst_addr(), Ipv4Addr::new(192, 168, 0, 199));
        assert!(packet.verify_checksum());
        assert_eq!(packet.payload().len(), 0x73 - 20);
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5; 0x73];
        let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
        packet.set_version_and_header_len(20);
        packet.set_tos(0);
        packet.set_total_len(0x73);
        packet.set_ident(0);
        packet.set_unfragmented(true);
        packet.set_ttl(64);
        packet.set_protocol(PROTO_UDP);
        packet.set_src_addr(Ipv4Addr::new(192, 168, 0, 1));
        packet.set_dst_addr(Ipv4Addr::new(192, 168, 0, 199));
        packet.fill_checksum();
        assert_eq!(bytes[..20], HEADER);
    }

    #[test]
    fn swapping_addresses_keeps_the_checksum_valid() {
        let mut bytes = packet_bytes();
        let mut packet = Ipv4Packet::new_checked(&mut bytes[..]).unwrap();
        packet.swap_addrs();
        assert_eq!(packet.src_addr(), Ipv4Addr::new(192, 168, 0, 199));
        assert!(packet.verify_checksum());
    }

    #[test]
    fn inconsistent_lengths_are_errors() {
        let bytes = packet_bytes();
        assert!(matches!(
            Ipv4Packet::new_checked(&bytes[..0x72]),
            Err(Error::Truncated { need: 0x73, .. })
        ));
        let mut short_ihl = bytes.clone();
        short_ihl[0] = 0x44;
        assert!(matches!(
            Ipv4Packet::new_checked(&short_ihl[..]),
            Err(Error::Corrupt { .. })
        ));
        let mut small_total = bytes.clone();
        small_total[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert!(matches!(
            Ipv4Packet::new_checked(&small_total[..]),
            Err(Error::Corrupt { .. })
        ));
        let mut long_ihl = bytes;
        long_ihl[0] = 0x4f;
        assert!(Ipv4Packet::new_checked(&long_ihl[..40]).is_err());
    }
}
