//! The stamp the XDP program writes with each probe packet: in the metadata area in front of it
//! (`bpf_xdp_adjust_meta`; user space reads it at `data - META_LEN`), or, where the kernel or
//! the driver refuses that, the same bytes at the head of the packet data (`bpf_xdp_adjust_head`;
//! [`XdpMeta::from_head`]), cut off before the frame is used. Layout and constants mirror
//! `struct xdplat_meta` in `bpf/probe.bpf.c`.

/// Marks the metadata as written by our program ("XLAT").
pub const META_MAGIC: u32 = 0x584c_4154;
/// `xdp_ns` holds `bpf_ktime_get_ns()` at the XDP hook.
pub const META_F_XDP_NS: u32 = 1 << 0;
/// `hw_rx_ns` holds a NIC RX timestamp.
pub const META_F_HW_RX: u32 = 1 << 1;
/// Written by the device-bound program, which asked the NIC for a timestamp.
pub const META_F_DEV_BOUND: u32 = 1 << 2;

/// The metadata area in front of a redirected probe packet.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XdpMeta {
    /// `bpf_ktime_get_ns()` at the XDP hook: CLOCK_MONOTONIC, as user space's
    /// `clock_gettime(CLOCK_MONOTONIC)`.
    pub xdp_ns: u64,
    /// NIC RX timestamp in the NIC's clock; meaningful only with [`META_F_HW_RX`].
    pub hw_rx_ns: u64,
    /// `META_F_*` bits.
    pub flags: u32,
    /// [`META_MAGIC`] when the program wrote this area.
    pub magic: u32,
}

/// Bytes the program reserves with `bpf_xdp_adjust_meta`.
pub const META_LEN: usize = 24;
const _: () = assert!(META_LEN == size_of::<XdpMeta>());

impl XdpMeta {
    /// Parses the `META_LEN` bytes that precede the packet (native byte
    /// order, as the program wrote them). `b` may be longer: the metadata is
    /// its last `META_LEN` bytes, the ones adjacent to the packet. `None` if
    /// `b` is too short or the magic does not match.
    pub fn from_bytes(b: &[u8]) -> Option<XdpMeta> {
        let b = b.get(b.len().checked_sub(META_LEN)?..)?;
        let u64_at = |o: usize| u64::from_ne_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        let u32_at = |o: usize| u32::from_ne_bytes(b[o..o + 4].try_into().expect("4 bytes"));
        let meta = XdpMeta {
            xdp_ns: u64_at(0),
            hw_rx_ns: u64_at(8),
            flags: u32_at(16),
            magic: u32_at(20),
        };
        (meta.magic == META_MAGIC).then_some(meta)
    }

    /// The stamp at the head of a frame (the head stamp): `META_LEN` bytes with the magic,
    /// followed by an IPv4 Ethernet frame. Unambiguous for IPv4/UDP: in a plain frame bytes
    /// 20..24 hold the IPv4 TTL and protocol, and protocol 17 is never the magic's last byte.
    /// Returns the stamp; the frame is what follows it.
    pub fn from_head(frame: &[u8]) -> Option<XdpMeta> {
        let stamp = frame.get(..META_LEN)?;
        let after = frame.get(META_LEN..)?;
        if after.get(12..14)? != [0x08, 0x00] {
            return None;
        }
        XdpMeta::from_bytes(stamp)
    }

    /// The inverse of [`XdpMeta::from_bytes`] (for tests and replay).
    pub fn to_bytes(&self) -> [u8; META_LEN] {
        let mut b = [0; META_LEN];
        b[0..8].copy_from_slice(&self.xdp_ns.to_ne_bytes());
        b[8..16].copy_from_slice(&self.hw_rx_ns.to_ne_bytes());
        b[16..20].copy_from_slice(&self.flags.to_ne_bytes());
        b[20..24].copy_from_slice(&self.magic.to_ne_bytes());
        b
    }

    /// The XDP-hook time (CLOCK_MONOTONIC ns), if the program stamped it.
    pub fn xdp_ns(&self) -> Option<u64> {
        (self.flags & META_F_XDP_NS != 0).then_some(self.xdp_ns)
    }

    /// The NIC RX timestamp, if the NIC gave one (never a zero).
    pub fn hw_rx_ns(&self) -> Option<u64> {
        (self.flags & META_F_HW_RX != 0 && self.hw_rx_ns != 0).then_some(self.hw_rx_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_magic() {
        let m = XdpMeta {
            xdp_ns: 123_456_789,
            hw_rx_ns: 0,
            flags: META_F_XDP_NS,
            magic: META_MAGIC,
        };
        let b = m.to_bytes();
        assert_eq!(XdpMeta::from_bytes(&b), Some(m));
        assert_eq!(m.xdp_ns(), Some(123_456_789));
        assert_eq!(m.hw_rx_ns(), None);
        let mut longer = vec![0xee; 8];
        longer.extend_from_slice(&b);
        assert_eq!(XdpMeta::from_bytes(&longer), Some(m));
        assert_eq!(XdpMeta::from_bytes(&b[1..]), None);
        assert_eq!(XdpMeta::from_bytes(&[0; META_LEN]), None);
    }

    /// The head of a plain IPv4/UDP frame (Ethernet + IPv4 up to the protocol byte).
    const IPV4_UDP: [u8; 24] = [
        0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 88, 0, 1, 0x40, 0, 64, 17,
    ];

    #[test]
    fn a_head_stamp_is_read_and_a_plain_frame_is_not_one() {
        let m = XdpMeta {
            xdp_ns: 42,
            hw_rx_ns: 0,
            flags: META_F_XDP_NS,
            magic: META_MAGIC,
        };
        let mut f = m.to_bytes().to_vec();
        f.extend_from_slice(&IPV4_UDP);
        assert_eq!(XdpMeta::from_head(&f), Some(m));
        // a plain IPv4/UDP frame: byte 23 is the protocol (17), never the magic's last byte
        assert_eq!(XdpMeta::from_head(&IPV4_UDP), None);
        let mut longer = IPV4_UDP.to_vec();
        longer.extend_from_slice(&IPV4_UDP);
        assert_eq!(XdpMeta::from_head(&longer), None);
        // the magic followed by something that is not IPv4, or by too little
        let mut arp = f.clone();
        arp[META_LEN + 12..META_LEN + 14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(XdpMeta::from_head(&arp), None);
        assert_eq!(XdpMeta::from_head(&f[..META_LEN + 12]), None);
    }

    #[test]
    fn hw_timestamp_needs_flag_and_value() {
        let mut m = XdpMeta {
            xdp_ns: 1,
            hw_rx_ns: 5,
            flags: META_F_XDP_NS | META_F_DEV_BOUND,
            magic: META_MAGIC,
        };
        assert_eq!(m.hw_rx_ns(), None);
        m.flags |= META_F_HW_RX;
        assert_eq!(m.hw_rx_ns(), Some(5));
        m.hw_rx_ns = 0;
        assert_eq!(m.hw_rx_ns(), None);
    }
}
