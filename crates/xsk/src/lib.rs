//! xsk: a small AF_XDP layer on libc.
//!
//! A [`Socket`] owns a UMEM (the packet buffer area shared with the kernel), its fill and
//! completion rings, and its RX and TX rings, all mapped at the offsets the kernel reports.
//! The rings are used through safe transactions ([`ring::ProducerRing::reserve`] → `set` →
//! `commit`; [`ring::ConsumerRing::peek`] → `get` → drop), the packet bytes through
//! bounds-checked [`Frames`]. Every syscall and every `unsafe` block is in the private `sys`
//! module, whose kernel structs are layout-checked at compile time.
//!
//! Why not a crate from crates.io: see DESIGN.md (xdpilone cannot register `tx_metadata_len` nor
//! read XDP_OPTIONS; libxdp bindings would bring a C library for a few hundred lines).

#[allow(
    unsafe_code,
    reason = "SIOCETHTOOL for ntuple rules, which have no netlink message"
)]
#[path = "sys/ethtool.rs"]
pub mod ethtool;
#[allow(
    unsafe_code,
    reason = "the one module that talks to the kernel: syscalls, mmap, ring words"
)]
mod sys;

pub mod config;
pub mod error;
pub mod ring;
mod socket;
pub mod txmeta;

pub use config::{BindMode, BusyPoll, SocketConfig, UmemConfig, XDP_PACKET_HEADROOM};
pub use error::{Error, Result};
pub use ring::Desc;
pub use socket::{BindInfo, Control, Socket, Statistics, kernel_release};
pub use sys::Frames;
pub use sys::tsc::read as read_tsc;

/// XDP_PKT_CONTD: this descriptor's packet continues in the next one (multi-buffer).
pub const PKT_CONTD: u32 = sys::abi::XDP_PKT_CONTD;

/// XDP_TX_METADATA: this TX descriptor carries AF_XDP TX metadata before its packet.
pub const TX_METADATA: u32 = sys::abi::XDP_TX_METADATA;
/// XDP_TXMD_FLAGS_TIMESTAMP: ask the device for a TX completion timestamp.
pub const TXMD_FLAGS_TIMESTAMP: u64 = sys::abi::XDP_TXMD_FLAGS_TIMESTAMP;

/// Creates a BPF link attaching an XDP program to `ifindex` (BPF_LINK_CREATE) with XDP_FLAGS_*
/// mode flags. Closing the returned descriptor detaches the program.
pub fn bpf_link_create_xdp(
    prog_fd: std::os::fd::BorrowedFd<'_>,
    ifindex: u32,
    flags: u32,
) -> std::io::Result<std::os::fd::OwnedFd> {
    sys::bpf_link_create_xdp(prog_fd, ifindex, flags)
}

/// SO_BUSY_POLL (µs) on any socket: the kernel-UDP baseline's busy-polling mode. Whether a busy
/// poll then runs depends on the socket's NAPI id ([`incoming_napi_id`]).
pub fn set_socket_busy_poll(fd: std::os::fd::BorrowedFd<'_>, usecs: u32) -> std::io::Result<()> {
    sys::setsockopt(
        fd,
        libc::SOL_SOCKET,
        sys::abi::SO_BUSY_POLL,
        &(usecs.min(i32::MAX as u32) as i32),
    )
}

/// SO_INCOMING_NAPI_ID of any socket: the NAPI that delivered its last packet (0: none, so a
/// busy poll has nothing to poll).
pub fn incoming_napi_id(fd: std::os::fd::BorrowedFd<'_>) -> std::io::Result<u32> {
    sys::getsockopt::<u32>(fd, libc::SOL_SOCKET, sys::abi::SO_INCOMING_NAPI_ID).map(|(v, _)| v)
}

/// XDP_FLAGS_SKB_MODE and XDP_FLAGS_DRV_MODE from `linux/if_link.h`.
pub const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
pub const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;
