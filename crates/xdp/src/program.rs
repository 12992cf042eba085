//! `ProbeProgram`: loads `bpf/probe.bpf.c`, attaches it in the requested mode,
//! and owns the attachment and the maps (XSKMAP, counters) while it lives.
//! Which of its programs loads follows the stamp [`crate::choose`] picks from
//! what the kernel gives ([`crate::caps::probe`]); a program the verifier
//! still refuses is retried with the next stamp down, and the choice with its
//! reason is kept ([`ProbeProgram::stamp`]).

use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd};

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, MapHandle, ProgramMut};

use crate::counters::{self, ProgramCounters};
use crate::error::Cause;
use crate::link::{self, XdpLink};
use crate::log;
use crate::skel::{ProbeSkel, ProbeSkelBuilder};
use crate::stamp::{Stamp, StampChoice, Why};
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
    /// Probes go to `probe_port..probe_port + probe_ports` (one port per flow; at least 1).
    pub probe_ports: u16,
    /// Load the device-bound program that also reads the NIC RX timestamp
    /// (drv mode only).
    pub hw_rx_timestamp: bool,
    /// Where the stamp goes: `None` chooses by what the kernel gives; `Some` forces it
    /// (`XDPLAT_XDP_STAMP`, [`crate::forced_from_env`]).
    pub stamp: Option<Stamp>,
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
    stamp: StampChoice,
}

impl ProbeProgram {
    /// Loads the program and attaches it to `cfg.ifindex` in `cfg.mode`
    /// (`Auto`: drv, else skb).
    pub fn attach(cfg: &ProbeProgramConfig) -> Result<Self, Error> {
        match cfg.mode {
            XdpMode::Skb | XdpMode::Drv => Self::attach_in(cfg, cfg.mode),
            XdpMode::Auto => match Self::attach_in(cfg, XdpMode::Drv) {
                Ok(p) => Ok(p),
                // the verifier's refusal is the program's, whatever the mode
                Err(drv)
                    if cfg.hw_rx_timestamp
                        || matches!(drv, Error::Load { .. } | Error::ForcedStampRefused { .. }) =>
                {
                    Err(drv)
                }
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
        let mut choice = crate::choose(crate::caps::probe(), cfg.stamp);
        loop {
            let Some(prog_name) = choice.stamp.program(cfg.hw_rx_timestamp) else {
                return Err(Error::HwNeedsStamp(format!(
                    "the device-bound program needs the metadata area or the head of the frame to hand the NIC's stamp to user space, and the stamp is {} ({})",
                    choice.stamp,
                    why_text(&choice.why)
                )));
            };
            match Self::load_attach(cfg, mode, prog_name, &choice) {
                Ok(p) => return Ok(p),
                Err(e) => {
                    // Load and retry: the verifier refused what the probe let through.
                    let next = choice
                        .stamp
                        .fallback()
                        .filter(|_| choice.why != Why::Forced);
                    let log = e.load_log();
                    let refusal = log.and_then(|l| l.reason());
                    match (next, refusal) {
                        (Some(next), Some(why)) => {
                            // the helper when the verifier named it, else the program
                            let helper = choice
                                .stamp
                                .helper()
                                .filter(|h| {
                                    log.and_then(|l| l.refused_helper()).as_deref() == Some(h)
                                })
                                .unwrap_or(prog_name);
                            choice = StampChoice {
                                stamp: next,
                                why: match choice.why {
                                    Why::Best => Why::KernelRefused { helper, why },
                                    other => other,
                                },
                            };
                        }
                        _ if choice.why == Why::Forced && matches!(e, Error::Load { .. }) => {
                            return Err(Error::ForcedStampRefused {
                                stamp: choice.stamp,
                                source: Box::new(e),
                            });
                        }
                        _ => return Err(e),
                    }
                }
            }
        }
    }

    fn load_attach(
        cfg: &ProbeProgramConfig,
        mode: XdpMode,
        prog_name: &'static str,
        choice: &StampChoice,
    ) -> Result<Self, Error> {
        let ifindex = cfg.ifindex;
        let mut storage = MaybeUninit::uninit();
        let dev_bound = cfg.hw_rx_timestamp.then_some(ifindex);
        let skel = load_probe(
            &mut storage,
            (cfg.probe_port, cfg.probe_ports),
            prog_name,
            ifindex,
            dev_bound,
        )?;
        let prog = probe_prog(&skel, prog_name);
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
            stamp: choice.clone(),
        })
    }

    /// Where this program puts its stamp, and why.
    pub fn stamp(&self) -> &StampChoice {
        &self.stamp
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

/// Opens the probe object for probes to `ports` (the first port and how many) and loads only its program `prog_name`
/// (device-bound to `dev_bound` when given), libbpf's words captured into the error. `ifindex`
/// names the interface in errors (0: none). Shared by the attached program and [`crate::TestRun`].
pub(crate) fn load_probe<'obj>(
    storage: &'obj mut MaybeUninit<libbpf_rs::OpenObject>,
    ports: (u16, u16),
    prog_name: &'static str,
    ifindex: u32,
    dev_bound: Option<u32>,
) -> Result<ProbeSkel<'obj>, Error> {
    let mut open = ProbeSkelBuilder::default()
        .open(storage)
        .map_err(|e| Error::Open(Cause(e)))?;
    let Some(rodata) = open.maps.rodata_data.as_deref_mut() else {
        return Err(Error::no_rodata(ifindex));
    };
    rodata.probe_port = ports.0;
    rodata.probe_ports = ports.1.max(1);
    for mut p in open.open_object_mut().progs_mut() {
        let this = p.name() == prog_name;
        p.set_autoload(this);
        if let (true, Some(dev)) = (this, dev_bound) {
            p.set_ifindex(dev);
            p.set_flags(BPF_F_XDP_DEV_BOUND_ONLY);
        }
    }
    let (skel, load_log) = log::capture(|| open.load());
    skel.map_err(|e| Error::Load {
        ifindex,
        prog: prog_name,
        cause: Cause(e),
        log: load_log,
    })
}

/// The program of `skel` named `name` (one of [`Stamp::program`]'s names).
pub(crate) fn probe_prog<'a>(skel: &'a ProbeSkel<'_>, name: &str) -> &'a ProgramMut<'a> {
    match name {
        "xdplat_probe" => &skel.progs.xdplat_probe,
        "xdplat_probe_head" => &skel.progs.xdplat_probe_head,
        "xdplat_probe_bare" => &skel.progs.xdplat_probe_bare,
        "xdplat_probe_hw" => &skel.progs.xdplat_probe_hw,
        _ => &skel.progs.xdplat_probe_hw_head,
    }
}

/// Why a stamp was chosen, in words.
pub(crate) fn why_text(why: &Why) -> String {
    match why {
        Why::Best => "nothing refused".into(),
        Why::Forced => format!("forced by {}", crate::STAMP_ENV),
        Why::KernelRefused { helper, why } => format!("the kernel refuses {helper}: {why}"),
    }
}

// The probe roles move the program between threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<ProbeProgram>();
};
