//! The one place where xsk talks to the kernel: every syscall, every raw pointer and every
//! `unsafe` block of the workspace lives in this module and its children. Everything above it is
//! safe code over the small, checked API exported here.

pub mod abi;
mod frames;
mod mmap;
mod ring;
pub mod tsc;

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

pub use frames::Frames;
pub use mmap::Mmap;
pub use ring::{RingEntry, RingMap};

/// Plain kernel data that may be copied to and from the kernel byte for byte.
///
/// Sealed: implemented only for the integer types and the `#[repr(C)]` structs of [`abi`], which
/// have no padding the kernel could misread and no invalid bit patterns.
pub trait Pod: Copy + Default + sealed::Sealed {}
mod sealed {
    pub trait Sealed {}
}
macro_rules! pod {
    ($($t:ty),*) => { $(impl sealed::Sealed for $t {} impl Pod for $t {})* };
}
pod!(
    i32,
    u32,
    u64,
    abi::XdpUmemReg,
    abi::XdpMmapOffsets,
    abi::XdpStatistics,
    abi::XdpOptions
);

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0)`.
pub fn xsk_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers; a non-negative return is a new descriptor we own.
    let fd = cvt(unsafe { libc::socket(abi::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: fd was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt(fd, level, name, &value, sizeof value)`.
pub fn setsockopt<T: Pod>(fd: BorrowedFd<'_>, level: i32, name: i32, value: &T) -> io::Result<()> {
    // SAFETY: the pointer and length describe `value`, a live Pod the kernel only reads.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// `getsockopt(fd, level, name)`, returning the value and the length the kernel wrote; bytes the
/// kernel did not write keep `T::default()`'s value.
pub fn getsockopt<T: Pod>(fd: BorrowedFd<'_>, level: i32, name: i32) -> io::Result<(T, usize)> {
    let mut value = T::default();
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `value`, a Pod valid for any bytes, and
    // updates `len`, a live local.
    cvt(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut value as *mut T).cast(),
            &mut len,
        )
    })?;
    Ok((value, len as usize))
}

/// `bind(fd, sockaddr_xdp)`.
pub fn bind_xdp(fd: BorrowedFd<'_>, addr: &abi::SockaddrXdp) -> io::Result<()> {
    // SAFETY: the pointer and length describe `addr`, a live repr(C) sockaddr_xdp.
    cvt(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (addr as *const abi::SockaddrXdp).cast(),
            size_of::<abi::SockaddrXdp>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// The TX kick: `sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0)` makes the kernel process the TX ring.
pub fn kick_tx(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: a zero-length send with null buffer and address is how AF_XDP documents the kick;
    // the kernel dereferences neither pointer.
    let ret = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            std::ptr::null(),
            0,
            libc::MSG_DONTWAIT,
            std::ptr::null(),
            0,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The RX wake-up: `recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL)` lets the kernel refill from
/// the fill ring (and busy-poll the NAPI context when busy polling is on).
pub fn wakeup_rx(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: zero-length receive with null buffer and address; the kernel writes nothing.
    let ret = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            std::ptr::null_mut(),
            0,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `ppoll()` on one descriptor with a nanosecond timeout (None: wait forever); returns the
/// revents (0 on timeout). ppoll, unlike poll, does not round the timeout up to milliseconds.
pub fn poll(
    fd: BorrowedFd<'_>,
    events: i16,
    timeout: Option<std::time::Duration>,
) -> io::Result<i16> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs() as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: one live pollfd, count 1; ts_ptr is null or points to a live timespec; no sigmask.
    let n = cvt(unsafe { libc::ppoll(&mut pfd, 1, ts_ptr, std::ptr::null()) })?;
    Ok(if n == 0 { 0 } else { pfd.revents })
}

/// `bpf(BPF_LINK_CREATE)` for XDP on `ifindex` with the given XDP_FLAGS_* (mode) flags. Closing
/// the returned descriptor detaches the program, so a killed process leaves nothing attached.
pub fn bpf_link_create_xdp(
    prog_fd: BorrowedFd<'_>,
    ifindex: u32,
    flags: u32,
) -> io::Result<OwnedFd> {
    let attr = abi::BpfLinkCreateAttr {
        prog_fd: prog_fd.as_raw_fd() as u32,
        target_ifindex: ifindex,
        attach_type: abi::BPF_XDP,
        flags,
        ..Default::default()
    };
    // SAFETY: bpf(2) reads `size` bytes of `attr`, a live, zero-padded repr(C) struct.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            abi::BPF_LINK_CREATE,
            &attr as *const abi::BpfLinkCreateAttr,
            size_of::<abi::BpfLinkCreateAttr>() as u32,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative return of BPF_LINK_CREATE is a new descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The system page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf takes no pointers.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as usize } else { 4096 }
}
