//! The kernel's AF_XDP ABI (`include/uapi/linux/if_xdp.h`, `linux/bpf.h`, `asm-generic/socket.h`),
//! written out here so that the layout is checked at compile time against the sizes and offsets
//! the kernel uses, instead of trusting whichever libc version happens to be in the lock file.

use core::mem::{offset_of, size_of};

pub const AF_XDP: i32 = 44;
pub const SOL_XDP: i32 = 283;

// setsockopt/getsockopt names at SOL_XDP
pub const XDP_MMAP_OFFSETS: i32 = 1;
pub const XDP_RX_RING: i32 = 2;
pub const XDP_TX_RING: i32 = 3;
pub const XDP_UMEM_REG: i32 = 4;
pub const XDP_UMEM_FILL_RING: i32 = 5;
pub const XDP_UMEM_COMPLETION_RING: i32 = 6;
pub const XDP_STATISTICS: i32 = 7;
pub const XDP_OPTIONS: i32 = 8;

// sockaddr_xdp.sxdp_flags
pub const XDP_SHARED_UMEM: u16 = 1 << 0;
pub const XDP_COPY: u16 = 1 << 1;
pub const XDP_ZEROCOPY: u16 = 1 << 2;
pub const XDP_USE_NEED_WAKEUP: u16 = 1 << 3;
pub const XDP_USE_SG: u16 = 1 << 4;

// xdp_umem_reg.flags
pub const XDP_UMEM_UNALIGNED_CHUNK_FLAG: u32 = 1 << 0;
pub const XDP_UMEM_TX_METADATA_LEN: u32 = 1 << 2;

// xdp_options.flags
pub const XDP_OPTIONS_ZEROCOPY: u32 = 1 << 0;

// ring flags
pub const XDP_RING_NEED_WAKEUP: u32 = 1 << 0;

// mmap page offsets of the rings
pub const XDP_PGOFF_RX_RING: i64 = 0;
pub const XDP_PGOFF_TX_RING: i64 = 0x8000_0000;
pub const XDP_UMEM_PGOFF_FILL_RING: i64 = 0x1_0000_0000;
pub const XDP_UMEM_PGOFF_COMPLETION_RING: i64 = 0x1_8000_0000;

// unaligned chunk mode: the offset into the chunk rides in the upper 16 bits of a descriptor addr
pub const XSK_UNALIGNED_BUF_OFFSET_SHIFT: u32 = 48;
pub const XSK_UNALIGNED_BUF_ADDR_MASK: u64 = (1 << XSK_UNALIGNED_BUF_OFFSET_SHIFT) - 1;

// xdp_desc.options
pub const XDP_PKT_CONTD: u32 = 1 << 0;
pub const XDP_TX_METADATA: u32 = 1 << 1;

// xsk_tx_metadata.flags
pub const XDP_TXMD_FLAGS_TIMESTAMP: u64 = 1 << 0;

// SOL_SOCKET options (asm-generic/socket.h; the same on x86_64 and arm64)
pub const SO_BUSY_POLL: i32 = 46;
pub const SO_INCOMING_NAPI_ID: i32 = 56;
pub const SO_PREFER_BUSY_POLL: i32 = 69;
pub const SO_BUSY_POLL_BUDGET: i32 = 70;

// bpf(2)
pub const BPF_LINK_CREATE: i64 = 28;
pub const BPF_XDP: u32 = 37;

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct SockaddrXdp {
    pub family: u16,
    pub flags: u16,
    pub ifindex: u32,
    pub queue_id: u32,
    pub shared_umem_fd: u32,
}

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct XdpRingOffset {
    pub producer: u64,
    pub consumer: u64,
    pub desc: u64,
    pub flags: u64,
}

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct XdpMmapOffsets {
    pub rx: XdpRingOffset,
    pub tx: XdpRingOffset,
    pub fr: XdpRingOffset,
    pub cr: XdpRingOffset,
}

/// `struct xdp_umem_reg` as of 6.8. `tx_metadata_len` sits where older kernels had padding; they
/// read it only when `XDP_UMEM_TX_METADATA_LEN` is set in `flags`, so passing it zeroed is safe.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct XdpUmemReg {
    pub addr: u64,
    pub len: u64,
    pub chunk_size: u32,
    pub headroom: u32,
    pub flags: u32,
    pub tx_metadata_len: u32,
}

/// `struct xdp_statistics`: all six counters (the last three since 5.9).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct XdpStatistics {
    pub rx_dropped: u64,
    pub rx_invalid_descs: u64,
    pub tx_invalid_descs: u64,
    pub rx_ring_full: u64,
    pub rx_fill_ring_empty_descs: u64,
    pub tx_ring_empty_descs: u64,
}

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct XdpOptions {
    pub flags: u32,
}

/// `struct xdp_desc`: one RX or TX descriptor.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct XdpDesc {
    pub addr: u64,
    pub len: u32,
    pub options: u32,
}

/// The head of `union bpf_attr` as BPF_LINK_CREATE reads it for XDP, zero-padded: the kernel
/// requires every byte it knows beyond the fields a command uses to be zero.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct BpfLinkCreateAttr {
    pub prog_fd: u32,
    pub target_ifindex: u32,
    pub attach_type: u32,
    pub flags: u32,
    pub rest: [u64; 12],
}

// Layout checks against the kernel's definitions.
const _: () = assert!(size_of::<SockaddrXdp>() == 16);
const _: () = assert!(offset_of!(SockaddrXdp, shared_umem_fd) == 12);
const _: () = assert!(size_of::<XdpRingOffset>() == 32);
const _: () = assert!(size_of::<XdpMmapOffsets>() == 128);
const _: () = assert!(offset_of!(XdpMmapOffsets, cr) == 96);
const _: () = assert!(size_of::<XdpUmemReg>() == 32);
const _: () = assert!(offset_of!(XdpUmemReg, tx_metadata_len) == 28);
const _: () = assert!(size_of::<XdpStatistics>() == 48);
const _: () = assert!(size_of::<XdpOptions>() == 4);
const _: () = assert!(size_of::<XdpDesc>() == 16);
const _: () = assert!(offset_of!(XdpDesc, options) == 12);
const _: () = assert!(offset_of!(BpfLinkCreateAttr, flags) == 12);
