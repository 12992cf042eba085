//! `ProbeProgram`: loads `bpf/probe.bpf.c`, attaches it in the requested mode,
//! and owns the attachment and the maps (XSKMAP, counters) while it lives.

use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd};

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, MapHandle, ProgramMut};

use crate::counters::{self, ProgramCounters};
use crate::error::Cause;
use crate::link::{self, XdpLink};
use crate::skel::ProbeSkelBuilder;
use crate::{Error, XdpMode};

/// Entries of `xsks_map`: queue ids `0..XSKMAP_ENTRIES` can hold a socket.
pub const XSKMAP_ENTRIES: u32 = 64;

/// `BPF_F_XDP_DEV_BOUND_ONLY` from `linux/bpf.h`.
const BPF_F_XDP_DEV_BOUND_ONLY: u32 = 1 << 6;

/// What to load and where.
#[derive(Debug, Clone)]
pub struct ProbeProgramConfig {
    /// The interface to attach to.
    pub ifindex: u32,
    /// The attach mode; `Auto` tries drv, then skb.
    pub mode: XdpMode,
    /// UDP destination port of probe packets; other traffic passes.
    pub probe_port: u16,
    /// Load the device-bound program that also reads the NIC RX timestamp
    /// (drv mode only).
    pub hw_rx_timestamp: bool,
}

/// A loaded and attached probe program. Dropping it detaches the program
/// (the bpf_link fd closes) and releases the maps.
#[derive(Debug)]
pub struct ProbeProgram {
    // Declared first: dropped (detached) before the maps are released.
    _link: XdpLink,
    xsks: MapHandle,
    counters: MapHandle,
    ifindex: u32,
    mode: XdpMode,
    hw_rx_timestamp: bool,
}

impl ProbeProgram {
    /// Loads the program and attaches it to `cfg.ifindex` in `cfg.mode`
    /// (`Auto`: drv, else skb).
    pub fn attach(cfg: &ProbeProgramConfig) -> Result<Self, Error> {
        match cfg.mode {
            XdpMode::Skb | XdpMode::Drv => Self::attach_in(cfg, cfg.mode),
            XdpMode::Auto => match Self::attach_in(cfg, XdpMode::Drv) {
                Ok(p) => Ok(p),
                Err(drv) if cfg.hw_rx_timestamp => Err(drv),
                Err(drv) => Self::attach_in(cfg, XdpMode::Skb).map_err(|skb| Error::AutoFailed {
                    ifindex: cfg.ifindex,
                    drv: Box::new(drv),
                    skb: Box::new(skb),
                }),
            },
        }
    }

    fn attach_in(cfg: &ProbeProgramConfig, mode: XdpMode) -> Result<Self, Error> {
        let ifindex = cfg.ifindex;
        if cfg.hw_rx_timestamp && mode == XdpMode::Skb {
            return Err(Error::ModeUnavailable {
                ifindex,
                mode,
                why: "the device-bound program (hardware RX timestamps) attaches in drv mode only"
                    .to_owned(),
            });
        }
        let mut storage = MaybeUninit::uninit();
        let mut open = ProbeSkelBuilder::default()
            .open(&mut storage)
            .map_err(|e| Error::Open(Cause(e)))?;
        let Some(rodata) = open.maps.rodata_data.as_deref_mut() else {
            return Err(Error::no_rodata(ifindex));
        };
        rodata.probe_port = cfg.probe_port;
        let prog_name = if cfg.hw_rx_timestamp {
            open.progs.xdplat_probe.set_autoload(false);
            let hw = &mut open.progs.xdplat_probe_hw;
            hw.set_autoload(true);
            hw.set_ifindex(ifindex);
            hw.set_flags(BPF_F_XDP_DEV_BOUND_ONLY);
            "xdplat_probe_hw"
        } else {
            "xdplat_probe"
        };
        let skel = open.load().map_err(|e| Error::Load {
            ifindex,
            prog: prog_name,
            cause: Cause(e),
        })?;
        let prog: &ProgramMut<'_> = if cfg.hw_rx_timestamp {
            &skel.progs.xdplat_probe_hw
        } else {
            &skel.progs.xdplat_probe
        };
        let link = link::attach(prog, ifindex, mode)?;
        let handle = |map, name| {
            MapHandle::try_from(map).map_err(|e| Error::Prepare {
                ifindex,
                call: name,
                cause: Cause(e),
            })
        };
        let xsks = handle(&skel.maps.xsks_map, "dup(xsks_map fd)")?;
        let counters = handle(&skel.maps.counters, "dup(counters fd)")?;
        // The skeleton (and its fds) closes here; the link keeps the program
        // alive and the program and our handles keep the maps alive.
        Ok(ProbeProgram {
            _link: link,
            xsks,
            counters,
            ifindex,
            mode,
            hw_rx_timestamp: cfg.hw_rx_timestamp,
        })
    }

    /// The mode really in effect (`Skb` or `Drv`).
    pub fn mode(&self) -> XdpMode {
        self.mode
    }

    /// The interface the program is attached to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Whether this is the device-bound program that asks the NIC for RX
    /// timestamps (their presence per packet is in [`crate::XdpMeta::hw_rx_ns`]).
    pub fn hw_rx_timestamp(&self) -> bool {
        self.hw_rx_timestamp
    }

    /// Steers probes arriving on `queue_id` to the AF_XDP socket `xsk_fd`
    /// (which must be bound to this interface and queue).
    pub fn insert_socket(&self, queue_id: u32, xsk_fd: BorrowedFd<'_>) -> Result<(), Error> {
        self.check_queue(queue_id)?;
        let fd = u32::try_from(xsk_fd.as_raw_fd()).expect("a BorrowedFd is never negative");
        self.xsks
            .update(&queue_id.to_ne_bytes(), &fd.to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| Error::InsertSocket {
                ifindex: self.ifindex,
                queue_id,
                cause: Cause(e),
            })
    }

    /// Removes the socket of `queue_id`; its probes then pass to the kernel.
    pub fn remove_socket(&self, queue_id: u32) -> Result<(), Error> {
        self.check_queue(queue_id)?;
        self.xsks
            .delete(&queue_id.to_ne_bytes())
            .map_err(|e| Error::RemoveSocket {
                ifindex: self.ifindex,
                queue_id,
                cause: Cause(e),
            })
    }

    /// The program's counters, summed over CPUs.
    pub fn counters(&self) -> Result<ProgramCounters, Error> {
        counters::read(&self.counters).map_err(|cause| Error::Counters {
            ifindex: self.ifindex,
            cause,
        })
    }

    fn check_queue(&self, queue_id: u32) -> Result<(), Error> {
        if queue_id < XSKMAP_ENTRIES {
            Ok(())
        } else {
            Err(Error::QueueOutOfRange {
                queue_id,
                max_entries: XSKMAP_ENTRIES,
            })
        }
    }
}

// The probe roles move the program between threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<ProbeProgram>();
};
