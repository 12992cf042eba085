//! A read/write view of a UDP header over a borrowed buffer, with the UDP
//! checksum over the IPv4 pseudo-header. The buffer starts at the UDP header.

use std::net::Ipv4Addr;

use crate::ipv4::PROTO_UDP;
use crate::{Error, checksum};

/// Length of the UDP header.
pub const UDP_HDR_LEN: usize = 8;

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const LEN: usize = 4;
    pub const CHECKSUM: usize = 6;
}

/// The running sum of the IPv4 pseudo-header for a UDP datagram of `udp_len`
/// bytes, to be continued with [`checksum::sum`] over the datagram.
#[inline]
pub fn pseudo_header_sum(src: Ipv4Addr, dst: Ipv4Addr, udp_len: u16) -> u64 {
    u64::from(src.to_bits() >> 16)
        + u64::from(src.to_bits() & 0xffff)
        + u64::from(dst.to_bits() >> 16)
        + u64::from(dst.to_bits() & 0xffff)
        + u64::from(PROTO_UDP)
        + u64::from(udp_len)
}

/// A UDP datagram view. [`UdpPacket::new_checked`] guarantees that the
/// header and the length field fit in the buffer; trailing bytes are allowed.
#[derive(Debug, Clone)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
    }

    /// Wraps a buffer that holds the header and `len()` bytes.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Errs when an accessor could panic: see [`UdpPacket::new_checked`].
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < UDP_HDR_LEN {
            return Err(Error::Truncated {
                what: "UDP header",
                len,
                need: UDP_HDR_LEN,
            });
        }
        let udp_len = usize::from(self.len());
        if udp_len < UDP_HDR_LEN {
            return Err(Error::Corrupt {
                what: "UDP length below header length",
            });
        }
        if udp_len > len {
            return Err(Error::Truncated {
                what: "UDP length",
                len,
                need: udp_len,
            });
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        self.read_u16(field::SRC_PORT)
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        self.read_u16(field::DST_PORT)
    }

    /// Length field: header plus payload.
    #[inline]
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        self.read_u16(field::LEN)
    }

    /// Checksum field (0 means the sender computed none).
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM)
    }

    /// Whether the checksum over pseudo-header and datagram is valid. A zero
    /// field ("no checksum") is reported as not valid: probes always carry one.
    #[inline]
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        if self.checksum() == 0 {
            return false;
        }
        let datagram = &self.buffer.as_ref()[..usize::from(self.len())];
        let acc = checksum::sum(pseudo_header_sum(src, dst, self.len()), datagram);
        checksum::fold(acc) == 0xffff
    }

    /// The payload: from the header to the length field's end.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[UDP_HDR_LEN..usize::from(self.len())]
    }

    #[inline]
    fn read_u16(&self, at: usize) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[at], b[at + 1]])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, port: u16) {
        self.write_u16(field::SRC_PORT, port);
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, port: u16) {
        self.write_u16(field::DST_PORT, port);
    }

    /// Sets the length field.
    #[inline]
    pub fn set_len(&mut self, len: u16) {
        self.write_u16(field::LEN, len);
    }

    /// Sets the checksum field as is.
    #[inline]
    pub fn set_checksum(&mut self, checksum: u16) {
        self.write_u16(field::CHECKSUM, checksum);
    }

    /// Exchanges source and destination ports; the checksum stays valid.
    #[inline]
    pub fn swap_ports(&mut self) {
        let (src, dst) = self.buffer.as_mut()[..4].split_at_mut(2);
        src.swap_with_slice(dst);
    }

    /// Computes and writes the checksum over pseudo-header and `len()` bytes;
    /// a computed 0 is sent as 0xffff (RFC 768), since 0 means "none".
    #[inline]
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let len = self.len();
        let acc = checksum::sum(
            pseudo_header_sum(src, dst, len),
            &self.buffer.as_ref()[..usize::from(len)],
        );
        self.set_checksum(nonzero(!checksum::fold(acc)));
    }

    /// The payload, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer.as_mut()[UDP_HDR_LEN..end]
    }

    #[inline]
    fn write_u16(&mut self, at: usize, value: u16) {
        self.buffer.as_mut()[at..at + 2].copy_from_slice(&value.to_be_bytes());
    }
}

/// Maps a computed UDP checksum of 0 to its other one's complement
/// representation 0xffff, as RFC 768 requires.
#[inline]
pub(crate) fn nonzero(checksum: u16) -> u16 {
    if checksum == 0 { 0xffff } else { checksum }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    /// 1234 → 5678, payload "hi!"; checksum computed by hand:
    /// pseudo 0a00+0001+0a00+0002+0011+000b, header 1234+5678+000b, data 6869+2100
    /// = 0x1063f → 0x0640, complement 0xf9bf.
    static DATAGRAM: [u8; 11] = [
        0x12, 0x34, 0x56, 0x78, 0x00, 0x0b, 0xf9, 0xbf, b'h', b'i', b'!',
    ];

    #[test]
    fn deconstruct() {
        let packet = UdpPacket::new_checked(&DATAGRAM[..]).unwrap();
        assert_eq!(packet.src_port(), 0x1234);
        assert_eq!(packet.dst_port(), 0x5678);
        assert_eq!(packet.len(), 11);
        assert_eq!(packet.payload(), b"hi!");
        assert!(packet.verify_checksum(SRC, DST));
        assert!(!packet.verify_checksum(SRC, Ipv4Addr::new(10, 0, 0, 3)));
    }

    #[test]
    fn construct() {
        let mut bytes = [0u8; 11];
        let mut packet = UdpPacket::new_unchecked(&mut bytes[..]);
        packet.set_src_port(0x1234);
        packet.set_dst_port(0x5678);
        packet.set_len(11);
        packet.payload_mut().copy_from_slice(b"hi!");
        packet.fill_checksum(SRC, DST);
        assert_eq!(bytes, DATAGRAM);
    }

    #[test]
    fn swapped_ports_and_addresses_keep_the_checksum_valid() {
        let mut bytes = DATAGRAM;
        let mut packet = UdpPacket::new_checked(&mut bytes[..]).unwrap();
        packet.swap_ports();
        assert_eq!(packet.src_port(), 0x5678);
        assert!(packet.verify_checksum(DST, SRC));
    }

    #[test]
    fn zero_checksum_is_sent_as_ffff() {
        // Choose a payload word that makes the sum 0xffff, so the checksum is 0.
        let mut bytes = [0u8; 10];
        let mut packet = UdpPacket::new_unchecked(&mut bytes[..]);
        packet.set_len(10);
        packet.fill_checksum(SRC, DST);
        let before = !packet.checksum();
        packet
            .payload_mut()
            .copy_from_slice(&(0xffff - before).to_be_bytes());
        packet.fill_checksum(SRC, DST);
        assert_eq!(packet.checksum(), 0xffff);
        assert!(packet.verify_checksum(SRC, DST));
    }

    #[test]
    fn bad_lengths_are_errors() {
        assert!(matches!(
            UdpPacket::new_checked(&DATAGRAM[..10]),
            Err(Error::Truncated { need: 11, .. })
        ));
        let mut bytes = DATAGRAM;
        bytes[5] = 7;
        assert!(matches!(
            UdpPacket::new_checked(&bytes[..]),
            Err(Error::Corrupt { .. })
        ));
    }
}
