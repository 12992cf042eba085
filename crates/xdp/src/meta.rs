//! The metadata the XDP program writes in front of each probe packet
//! (`bpf_xdp_adjust_meta`): user space reads it at `data - META_LEN`.
//! Layout and constants mirror `struct xdplat_meta` in `bpf/probe.bpf.c`.

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
