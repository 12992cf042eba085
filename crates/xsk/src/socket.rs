//! An AF_XDP socket with its UMEM and four rings: creation, UMEM registration, bind (copy,
//! zero-copy, auto), need_wakeup, shared UMEM, multi-buffer, busy-poll options, and the facts the
//! kernel reports back (XDP_OPTIONS, XDP_STATISTICS, SO_INCOMING_NAPI_ID).

use std::io;
use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{BindMode, BusyPoll, SocketConfig, UmemConfig};
use crate::error::{Error, Result};
use crate::ring::{CompletionRing, ConsumerRing, FillRing, ProducerRing, RxRing, TxRing};
use crate::sys::abi::{self, XdpMmapOffsets, XdpOptions, XdpStatistics, XdpUmemReg};
use crate::sys::{self, Frames, Mmap, RingMap};

/// What the kernel really gave us at bind time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindInfo {
    pub requested: BindMode,
    /// XDP_OPTIONS says the socket is zero-copy.
    pub zero_copy: bool,
    pub need_wakeup: bool,
    pub use_sg: bool,
    pub shared_umem: bool,
    /// Why zero-copy was not obtained, when `--bind auto` fell back to copy.
    pub zero_copy_error: Option<String>,
    /// Fill-ring entries put there before the bind ([`SocketConfig::prefill`]). How many the
    /// driver took at the bind cannot be read back: the kernel publishes its fill-ring consumer
    /// index only when it next peeks at the ring (`__xskq_cons_release`), not as it takes.
    pub prefilled: u32,
}

/// XDP_STATISTICS; `complete` is false on kernels that report only the first three counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Statistics {
    pub rx_dropped: u64,
    pub rx_invalid_descs: u64,
    pub tx_invalid_descs: u64,
    pub rx_ring_full: u64,
    pub rx_fill_ring_empty_descs: u64,
    pub tx_ring_empty_descs: u64,
    pub complete: bool,
}

/// The socket's descriptor and the control operations on it, kept apart from the rings and the
/// frames so that a hot loop can hold a ring peek, write frames and kick at the same time.
#[derive(Debug)]
pub struct Control {
    fd: OwnedFd,
    info: BindInfo,
    ifindex: u32,
    queue_id: u32,
}

/// An AF_XDP socket bound to one interface queue.
///
/// The fields are public so that their borrows split: `sock.rx.peek(..)` and
/// `sock.frames.packet_mut(..)` and `sock.ctl.kick_tx()` can be used together.
#[derive(Debug)]
pub struct Socket {
    pub fill: FillRing,
    pub completion: CompletionRing,
    pub rx: RxRing,
    pub tx: TxRing,
    pub frames: Frames,
    pub ctl: Control,
    umem_cfg: UmemConfig,
}

impl Socket {
    /// Creates a socket, registers a new UMEM on it and binds it to `cfg.ifindex`/`cfg.queue_id`.
    pub fn new(umem: &UmemConfig, cfg: &SocketConfig) -> Result<Socket> {
        umem.validate()?;
        cfg.validate()?;
        let region = Mmap::anonymous(umem.len(), umem.huge_pages)
            .map_err(|e| Error::sys("mmap(UMEM)", e))?;
        let fd = sys::xsk_socket().map_err(|e| Error::sys("socket(AF_XDP)", e))?;
        register_umem(fd.as_fd(), &region, umem)?;
        let frames = Frames::new(Arc::new(region), umem);
        let rings = Rings::open(fd, umem, cfg, None, Some(&frames))?;
        Ok(rings.into_socket(frames, umem))
    }

    /// A second socket on this socket's UMEM (XDP_SHARED_UMEM), owning UMEM frames
    /// `frames.start..frames.end`, which must be the tail of the frames this socket owns and are
    /// taken from it. On another interface or queue the new socket gets fill and completion rings
    /// of its own; on the same one it shares this socket's.
    pub fn share(&mut self, cfg: &SocketConfig, frames: Range<u32>) -> Result<Socket> {
        cfg.validate()?;
        let count = frames.end.saturating_sub(frames.start);
        self.check_share(&frames)?;
        if cfg.ifindex == self.ctl.ifindex && cfg.queue_id == self.ctl.queue_id {
            return Err(Error::config(
                "queue",
                cfg.queue_id,
                "sharing a UMEM on the same interface queue needs one fill ring for both sockets; use another queue",
            ));
        }
        let fd = sys::xsk_socket().map_err(|e| Error::sys("socket(AF_XDP)", e))?;
        // its frames are this socket's until the bind, so nothing goes on its fill ring before
        let rings = Rings::open(fd, &self.umem_cfg, cfg, Some(self.ctl.fd.as_fd()), None)?;
        // the frames change owner only once the new socket is bound
        let frames = self
            .frames
            .split_off(frames.start, count)
            .expect("range checked by check_share");
        Ok(rings.into_socket(frames, &self.umem_cfg))
    }

    fn check_share(&self, frames: &Range<u32>) -> Result<()> {
        let own = self.frames.frame_indices();
        if frames.start >= frames.end || frames.start <= own.start || frames.end != own.end {
            return Err(Error::config(
                "shared UMEM frames",
                format!("{}..{}", frames.start, frames.end),
                format!(
                    "must be a non-empty tail of this socket's frames {}..{}, leaving it at least one",
                    own.start, own.end
                ),
            ));
        }
        Ok(())
    }

    pub fn umem_config(&self) -> &UmemConfig {
        &self.umem_cfg
    }
}

/// Everything of a socket but its frames: its four rings and its bound descriptor.
struct Rings {
    fill: FillRing,
    completion: CompletionRing,
    rx: RxRing,
    tx: TxRing,
    ctl: Control,
}

impl Rings {
    /// Maps the rings on `fd` (whose UMEM is registered, or shared from `shared_with`), puts
    /// `cfg.prefill` of `frames` on the fill ring, binds it and sets the busy-poll options.
    fn open(
        fd: OwnedFd,
        umem: &UmemConfig,
        cfg: &SocketConfig,
        shared_with: Option<BorrowedFd<'_>>,
        frames: Option<&Frames>,
    ) -> Result<Rings> {
        let (mut fill, completion) = umem_rings(fd.as_fd(), umem)?;
        let (rx, tx) = data_rings(fd.as_fd(), cfg)?;
        let mut prefilled = 0;
        if let Some(frames) = frames {
            let want = cfg
                .prefill
                .min(umem.fill_size)
                .min(frames.frame_indices().end);
            let mut r = fill.reserve(want);
            for i in 0..r.len() {
                r.set(i, frames.frame_addr(i));
            }
            prefilled = r.len();
            r.commit(prefilled);
        }
        let mut info = bind(fd.as_fd(), cfg, shared_with)?;
        info.prefilled = prefilled;
        let ctl = Control {
            fd,
            info,
            ifindex: cfg.ifindex,
            queue_id: cfg.queue_id,
        };
        if let Some(bp) = cfg.busy_poll {
            ctl.set_busy_poll(bp)?;
        }
        Ok(Rings {
            fill,
            completion,
            rx,
            tx,
            ctl,
        })
    }

    fn into_socket(self, frames: Frames, umem: &UmemConfig) -> Socket {
        let Rings {
            fill,
            completion,
            rx,
            tx,
            ctl,
        } = self;
        Socket {
            fill,
            completion,
            rx,
            tx,
            frames,
            ctl,
            umem_cfg: umem.clone(),
        }
    }
}

impl Control {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub fn info(&self) -> &BindInfo {
        &self.info
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    pub fn queue_id(&self) -> u32 {
        self.queue_id
    }

    /// Asks the kernel to send what is on the TX ring. A full or busy device is not an error
    /// (the frames stay queued): returns false then.
    pub fn kick_tx(&self) -> Result<bool> {
        match sys::kick_tx(self.fd.as_fd()) {
            Ok(()) => Ok(true),
            Err(e) if transient(&e) => Ok(false),
            Err(e) => Err(Error::sys("sendto(TX kick)", e)),
        }
    }

    /// Lets the kernel process the fill ring and, with busy polling, run the NAPI poll loop.
    pub fn wakeup_rx(&self) -> Result<()> {
        match sys::wakeup_rx(self.fd.as_fd()) {
            Ok(()) => Ok(()),
            Err(e) if transient(&e) => Ok(()),
            Err(e) => Err(Error::sys("recvfrom(RX wakeup)", e)),
        }
    }

    /// Waits up to `timeout` for packets on the RX ring with (p)poll(); true if readable.
    pub fn poll_rx(&self, timeout: Option<Duration>) -> Result<bool> {
        match sys::poll(self.fd.as_fd(), libc::POLLIN, timeout) {
            Ok(revents) if revents & (libc::POLLERR | libc::POLLNVAL) != 0 => Err(Error::sys(
                "poll(AF_XDP)",
                io::Error::new(io::ErrorKind::BrokenPipe, "socket error (interface gone?)"),
            )),
            Ok(revents) => Ok(revents & libc::POLLIN != 0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
            Err(e) => Err(Error::sys("poll(AF_XDP)", e)),
        }
    }

    /// poll() for POLLOUT, which in need_wakeup mode also kicks TX.
    pub fn poll_tx(&self, timeout: Option<Duration>) -> Result<bool> {
        match sys::poll(self.fd.as_fd(), libc::POLLOUT, timeout) {
            Ok(revents) => Ok(revents & libc::POLLOUT != 0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
            Err(e) => Err(Error::sys("poll(AF_XDP)", e)),
        }
    }

    /// Sets SO_PREFER_BUSY_POLL, SO_BUSY_POLL (µs) and SO_BUSY_POLL_BUDGET. Whether busy polling
    /// then happens at all depends on the socket having a NAPI id: see [`Control::napi_id`].
    /// Kernels before 5.11 have no AF_XDP busy polling at all: no SO_PREFER_BUSY_POLL nor
    /// SO_BUSY_POLL_BUDGET (ENOPROTOOPT), and recvmsg() on an AF_XDP socket is EOPNOTSUPP, so
    /// nothing would drive the busy poll: asking for it is refused, naming the kernel.
    pub fn set_busy_poll(&self, bp: BusyPoll) -> Result<()> {
        let fd = self.fd.as_fd();
        match sys::setsockopt(
            fd,
            libc::SOL_SOCKET,
            abi::SO_PREFER_BUSY_POLL,
            &i32::from(bp.prefer),
        ) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => {
                return Err(Error::config(
                    "--busy-poll",
                    true,
                    format!(
                        "Linux {} has no AF_XDP busy polling (SO_PREFER_BUSY_POLL, SO_BUSY_POLL_BUDGET and busy-polling recvmsg came in 5.11): drop --busy-poll",
                        kernel_release()
                    ),
                ));
            }
            Err(e) => return Err(Error::sys("setsockopt(SO_PREFER_BUSY_POLL)", e)),
        }
        sys::setsockopt(fd, libc::SOL_SOCKET, abi::SO_BUSY_POLL, &(bp.usecs as i32))
            .map_err(|e| Error::sys("setsockopt(SO_BUSY_POLL)", e))?;
        sys::setsockopt(
            fd,
            libc::SOL_SOCKET,
            abi::SO_BUSY_POLL_BUDGET,
            &(bp.budget as i32),
        )
        .map_err(|e| Error::sys("setsockopt(SO_BUSY_POLL_BUDGET)", e))
    }

    /// The busy-poll settings as the kernel holds them: (prefer, usecs, budget). The budget is
    /// None: the kernel accepts SO_BUSY_POLL_BUDGET but cannot report it (getsockopt gives
    /// ENOPROTOOPT on 6.18), so only its successful setsockopt confirms it.
    pub fn busy_poll(&self) -> Result<(bool, u32, Option<u32>)> {
        let fd = self.fd.as_fd();
        let get = |name, call| {
            sys::getsockopt::<i32>(fd, libc::SOL_SOCKET, name)
                .map(|(v, _)| v)
                .map_err(|e| Error::sys(call, e))
        };
        // before 5.11 there is no such option: the kernel never prefers
        let prefer = match sys::getsockopt::<i32>(fd, libc::SOL_SOCKET, abi::SO_PREFER_BUSY_POLL) {
            Ok((v, _)) => v != 0,
            Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => false,
            Err(e) => return Err(Error::sys("getsockopt(SO_PREFER_BUSY_POLL)", e)),
        };
        Ok((
            prefer,
            get(abi::SO_BUSY_POLL, "getsockopt(SO_BUSY_POLL)")? as u32,
            get(abi::SO_BUSY_POLL_BUDGET, "getsockopt(SO_BUSY_POLL_BUDGET)")
                .ok()
                .map(|b| b as u32),
        ))
    }

    /// True when the kernel's sendto() on this socket busy-polls and returns without waking the
    /// driver's TX: zero-copy, SO_PREFER_BUSY_POLL, SO_BUSY_POLL > 0 and a NAPI id
    /// (net/xdp/xsk.c, `__xsk_sendmsg`: `if (xs->zc && xsk_no_wakeup(sk)) return 0;`). The
    /// busy poll runs the RX queue's NAPI; a driver that transmits from another NAPI (virtio-net's
    /// TX queue, igb's TX vector) then sends nothing until something else wakes it, which
    /// `poll()` does: `xsk_poll` calls `xsk_wakeup` whatever the busy-poll settings.
    pub fn tx_wakeup_skipped(&self) -> Result<bool> {
        let (prefer, usecs, _) = self.busy_poll()?;
        Ok(prefer && usecs > 0 && self.napi_id()? != 0 && self.is_zero_copy()?)
    }

    /// SO_INCOMING_NAPI_ID: 0 means the socket has no NAPI context, so busy polling is a no-op.
    pub fn napi_id(&self) -> Result<u32> {
        sys::getsockopt::<u32>(self.fd.as_fd(), libc::SOL_SOCKET, abi::SO_INCOMING_NAPI_ID)
            .map(|(v, _)| v)
            .map_err(|e| Error::sys("getsockopt(SO_INCOMING_NAPI_ID)", e))
    }

    /// XDP_OPTIONS: is the socket zero-copy?
    pub fn is_zero_copy(&self) -> Result<bool> {
        zero_copy(self.fd.as_fd())
    }

    /// XDP_STATISTICS, all six counters where the kernel has them.
    pub fn statistics(&self) -> Result<Statistics> {
        let (s, len): (XdpStatistics, usize) =
            sys::getsockopt(self.fd.as_fd(), abi::SOL_XDP, abi::XDP_STATISTICS)
                .map_err(|e| Error::sys("getsockopt(XDP_STATISTICS)", e))?;
        Ok(Statistics {
            rx_dropped: s.rx_dropped,
            rx_invalid_descs: s.rx_invalid_descs,
            tx_invalid_descs: s.tx_invalid_descs,
            rx_ring_full: s.rx_ring_full,
            rx_fill_ring_empty_descs: s.rx_fill_ring_empty_descs,
            tx_ring_empty_descs: s.tx_ring_empty_descs,
            complete: len >= std::mem::size_of::<XdpStatistics>(),
        })
    }
}

fn transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAGAIN | libc::EBUSY | libc::ENOBUFS | libc::EINTR)
    )
}

fn zero_copy(fd: BorrowedFd<'_>) -> Result<bool> {
    let (o, _): (XdpOptions, usize) = sys::getsockopt(fd, abi::SOL_XDP, abi::XDP_OPTIONS)
        .map_err(|e| Error::sys("getsockopt(XDP_OPTIONS)", e))?;
    Ok(o.flags & abi::XDP_OPTIONS_ZEROCOPY != 0)
}

fn register_umem(fd: BorrowedFd<'_>, region: &Mmap, cfg: &UmemConfig) -> Result<()> {
    let mut reg = XdpUmemReg {
        addr: region.addr(),
        len: region.len() as u64,
        chunk_size: cfg.frame_size,
        headroom: cfg.headroom,
        flags: 0,
        tx_metadata_len: 0,
    };
    if cfg.unaligned {
        reg.flags |= abi::XDP_UMEM_UNALIGNED_CHUNK_FLAG;
    }
    if cfg.tx_metadata_len > 0 {
        reg.flags |= abi::XDP_UMEM_TX_METADATA_LEN;
        reg.tx_metadata_len = cfg.tx_metadata_len;
    }
    sys::setsockopt(fd, abi::SOL_XDP, abi::XDP_UMEM_REG, &reg)
        .map_err(|e| Error::sys("setsockopt(XDP_UMEM_REG)", e))
}

fn offsets(fd: BorrowedFd<'_>) -> Result<XdpMmapOffsets> {
    sys::getsockopt::<XdpMmapOffsets>(fd, abi::SOL_XDP, abi::XDP_MMAP_OFFSETS)
        .map(|(o, _)| o)
        .map_err(|e| Error::sys("getsockopt(XDP_MMAP_OFFSETS)", e))
}

fn umem_rings(fd: BorrowedFd<'_>, cfg: &UmemConfig) -> Result<(FillRing, CompletionRing)> {
    sys::setsockopt(fd, abi::SOL_XDP, abi::XDP_UMEM_FILL_RING, &cfg.fill_size)
        .map_err(|e| Error::sys("setsockopt(XDP_UMEM_FILL_RING)", e))?;
    sys::setsockopt(
        fd,
        abi::SOL_XDP,
        abi::XDP_UMEM_COMPLETION_RING,
        &cfg.completion_size,
    )
    .map_err(|e| Error::sys("setsockopt(XDP_UMEM_COMPLETION_RING)", e))?;
    let off = offsets(fd)?;
    let fill = RingMap::map(fd, &off.fr, cfg.fill_size, abi::XDP_UMEM_PGOFF_FILL_RING)
        .map_err(|e| Error::sys("mmap(fill ring)", e))?;
    let comp = RingMap::map(
        fd,
        &off.cr,
        cfg.completion_size,
        abi::XDP_UMEM_PGOFF_COMPLETION_RING,
    )
    .map_err(|e| Error::sys("mmap(completion ring)", e))?;
    Ok((ProducerRing::new(fill), ConsumerRing::new(comp)))
}

fn data_rings(fd: BorrowedFd<'_>, cfg: &SocketConfig) -> Result<(RxRing, TxRing)> {
    sys::setsockopt(fd, abi::SOL_XDP, abi::XDP_RX_RING, &cfg.rx_size)
        .map_err(|e| Error::sys("setsockopt(XDP_RX_RING)", e))?;
    sys::setsockopt(fd, abi::SOL_XDP, abi::XDP_TX_RING, &cfg.tx_size)
        .map_err(|e| Error::sys("setsockopt(XDP_TX_RING)", e))?;
    let off = offsets(fd)?;
    let rx = RingMap::map(fd, &off.rx, cfg.rx_size, abi::XDP_PGOFF_RX_RING)
        .map_err(|e| Error::sys("mmap(rx ring)", e))?;
    let tx = RingMap::map(fd, &off.tx, cfg.tx_size, abi::XDP_PGOFF_TX_RING)
        .map_err(|e| Error::sys("mmap(tx ring)", e))?;
    Ok((ConsumerRing::new(rx), ProducerRing::new(tx)))
}

/// Binds, trying zero-copy first under `BindMode::Auto`, and reads back what was obtained.
fn bind(
    fd: BorrowedFd<'_>,
    cfg: &SocketConfig,
    shared_with: Option<BorrowedFd<'_>>,
) -> Result<BindInfo> {
    let mut flags = 0u16;
    if cfg.need_wakeup {
        flags |= abi::XDP_USE_NEED_WAKEUP;
    }
    if cfg.use_sg {
        flags |= abi::XDP_USE_SG;
    }
    let mut addr = abi::SockaddrXdp {
        family: abi::AF_XDP as u16,
        flags,
        ifindex: cfg.ifindex,
        queue_id: cfg.queue_id,
        shared_umem_fd: 0,
    };
    if let Some(primary) = shared_with {
        // the kernel takes the mode (copy/zero-copy, need_wakeup, SG) from the UMEM's owner and
        // rejects any of those flags beside XDP_SHARED_UMEM with EINVAL
        use std::os::fd::AsRawFd;
        addr.flags = abi::XDP_SHARED_UMEM;
        addr.shared_umem_fd = primary.as_raw_fd() as u32;
        bind_retrying(fd, &addr)?;
        return Ok(BindInfo {
            requested: cfg.bind,
            zero_copy: zero_copy(fd)?,
            need_wakeup: cfg.need_wakeup,
            use_sg: cfg.use_sg,
            shared_umem: true,
            zero_copy_error: None,
            prefilled: 0,
        });
    }
    let mut zero_copy_error = None;
    match cfg.bind {
        BindMode::ZeroCopy | BindMode::Auto => {
            let zc = abi::SockaddrXdp {
                flags: addr.flags | abi::XDP_ZEROCOPY,
                ..addr
            };
            match bind_retrying_raw(fd, &zc) {
                Ok(()) => {}
                Err(e) if cfg.bind == BindMode::Auto && zero_copy_refusal(&e) => {
                    zero_copy_error = Some(e.to_string());
                    bind_retrying(
                        fd,
                        &abi::SockaddrXdp {
                            flags: addr.flags | abi::XDP_COPY,
                            ..addr
                        },
                    )?;
                }
                Err(e) if zero_copy_refusal(&e) => {
                    return Err(Error::ZeroCopyUnsupported {
                        kernel: kernel_release(),
                        ifindex: cfg.ifindex,
                        queue: cfg.queue_id,
                        source: e,
                    });
                }
                Err(e) => return Err(Error::sys("bind(AF_XDP)", e)),
            }
        }
        BindMode::Copy => {
            bind_retrying(
                fd,
                &abi::SockaddrXdp {
                    flags: addr.flags | abi::XDP_COPY,
                    ..addr
                },
            )?;
        }
    }
    Ok(BindInfo {
        requested: cfg.bind,
        zero_copy: zero_copy(fd)?,
        need_wakeup: cfg.need_wakeup,
        use_sg: cfg.use_sg,
        shared_umem: false,
        zero_copy_error,
        prefilled: 0,
    })
}

/// How long a bind waits for the queue of a just-closed socket: the kernel releases a socket's
/// buffer pool in deferred work, so an immediate rebind of the same queue can see EBUSY.
const BIND_BUSY_WAIT: Duration = Duration::from_millis(1000);

fn bind_retrying_raw(fd: BorrowedFd<'_>, addr: &abi::SockaddrXdp) -> io::Result<()> {
    let deadline = std::time::Instant::now() + BIND_BUSY_WAIT;
    loop {
        match sys::bind_xdp(fd, addr) {
            Err(e)
                if e.raw_os_error() == Some(libc::EBUSY)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            r => return r,
        }
    }
}

fn bind_retrying(fd: BorrowedFd<'_>, addr: &abi::SockaddrXdp) -> Result<()> {
    bind_retrying_raw(fd, addr).map_err(|e| Error::sys("bind(AF_XDP)", e))
}

/// Errors with which drivers refuse a zero-copy bind (and only those: a bad queue is not one).
fn zero_copy_refusal(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EOPNOTSUPP | libc::EPROTONOSUPPORT)
    )
}

/// The running kernel's release (`/proc/sys/kernel/osrelease`), for messages.
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "(release unknown)".into())
}
