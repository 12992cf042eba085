//! A read/write view of an Ethernet II header over a borrowed buffer
//! (smoltcp's `Frame<T>` pattern): no copies, checked once at construction.

use crate::{Error, MacAddr};

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// Length of the Ethernet II header (no 802.1Q tag, no FCS).
pub const ETH_HDR_LEN: usize = 14;

mod field {
    use std::ops::Range;
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
}

/// An Ethernet II frame view. Accessors never panic on a view made by
/// [`EthernetFrame::new_checked`].
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps a buffer without checking its length.
    pub const fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// Wraps a buffer that holds at least the 14-byte header.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Errs when the buffer is shorter than the header.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < ETH_HDR_LEN {
            return Err(Error::Truncated {
                what: "Ethernet header",
                len,
                need: ETH_HDR_LEN,
            });
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> MacAddr {
        MacAddr(array(&self.buffer.as_ref()[field::DST]))
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> MacAddr {
        MacAddr(array(&self.buffer.as_ref()[field::SRC]))
    }

    /// EtherType (no 802.1Q handling: a VLAN tag shows as 0x8100).
    #[inline]
    pub fn ethertype(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::ETHERTYPE];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Everything after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[ETH_HDR_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.0);
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.0);
    }

    /// Sets the EtherType.
    #[inline]
    pub fn set_ethertype(&mut self, ethertype: u16) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&ethertype.to_be_bytes());
    }

    /// Exchanges source and destination addresses in place.
    #[inline]
    pub fn swap_addrs(&mut self) {
        let (dst, src) = self.buffer.as_mut()[..12].split_at_mut(6);
        dst.swap_with_slice(src);
    }

    /// Everything after the header, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[ETH_HDR_LEN..]
    }
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    static FRAME: [u8; 16] = [
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x08, 0x00, 0xaa,
        0xbb,
    ];

    #[test]
    fn deconstruct() {
        let frame = EthernetFrame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(frame.dst_addr(), MacAddr([1, 2, 3, 4, 5, 6]));
        assert_eq!(
            frame.src_addr(),
            MacAddr([0x11, 0x12, 0x13, 0x14, 0x15, 0x16])
        );
        assert_eq!(frame.ethertype(), ETHERTYPE_IPV4);
        assert_eq!(frame.payload(), &[0xaa, 0xbb]);
    }

    #[test]
    fn construct_and_swap() {
        let mut bytes = [0u8; 16];
        let mut frame = EthernetFrame::new_checked(&mut bytes[..]).unwrap();
        frame.set_dst_addr(MacAddr([0x11, 0x12, 0x13, 0x14, 0x15, 0x16]));
        frame.set_src_addr(MacAddr([1, 2, 3, 4, 5, 6]));
        frame.set_ethertype(ETHERTYPE_IPV4);
        frame.payload_mut().copy_from_slice(&[0xaa, 0xbb]);
        frame.swap_addrs();
        assert_eq!(bytes, FRAME);
    }

    #[test]
    fn short_buffer_is_truncated() {
        let err = EthernetFrame::new_checked(&FRAME[..13]).unwrap_err();
        assert!(matches!(
            err,
            Error::Truncated {
                len: 13,
                need: 14,
                ..
            }
        ));
    }
}
