//! An owned memory mapping: anonymous memory for a UMEM, or a ring mapped from an AF_XDP socket.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;

/// A mapping unmapped on drop. Access to its bytes goes through bounds-checked slices.
#[derive(Debug)]
pub struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; moving it to another thread moves the
// ownership with it. Shared access (&Mmap) only hands out shared slices, so Sync is sound too.
unsafe impl Send for Mmap {}
// SAFETY: see Send.
unsafe impl Sync for Mmap {}

impl Mmap {
    /// Anonymous, private, zero-filled memory of `len` bytes (page-aligned), populated up front so
    /// that the first packets pay no page faults. With `huge` it asks for huge pages.
    pub fn anonymous(len: usize, huge: bool) -> io::Result<Mmap> {
        let mut flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE;
        if huge {
            flags |= libc::MAP_HUGETLB;
        }
        Self::map(len, flags, -1, 0)
    }

    /// A shared mapping of `len` bytes of `fd` at `offset` (an AF_XDP ring's page offset).
    pub fn ring(fd: BorrowedFd<'_>, len: usize, offset: i64) -> io::Result<Mmap> {
        Self::map(
            len,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            fd.as_raw_fd(),
            offset,
        )
    }

    fn map(len: usize, flags: i32, fd: i32, offset: i64) -> io::Result<Mmap> {
        if len == 0 {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        // SAFETY: a fresh mapping chosen by the kernel (addr NULL); it aliases nothing we own.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd,
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::from(io::ErrorKind::Other))?;
        Ok(Mmap { ptr, len })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The address to hand to the kernel (XDP_UMEM_REG).
    pub fn addr(&self) -> u64 {
        self.ptr.as_ptr() as u64
    }

    pub(super) fn base(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// `len` bytes at `offset`, or None when out of bounds.
    pub fn slice(&self, offset: usize, len: usize) -> Option<&[u8]> {
        let end = offset.checked_add(len)?;
        if end > self.len {
            return None;
        }
        // SAFETY: [offset, end) is inside the live mapping, which the shared borrow of self keeps
        // mapped. Writable slices exist only through `Frames::get_mut`, whose ranges are disjoint
        // from every other owner's and exclusive within one owner.
        Some(unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(offset), len) })
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned, and the mapping is unmapped only here.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}
