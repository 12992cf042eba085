//! The probe program under BPF_PROG_TEST_RUN: the kernel runs one program of one [`Stamp`] on a
//! frame user space gives, with an AF_XDP socket in its map so that the run goes all the way to
//! the stamp and the redirect. Two uses:
//! - [`stamp_cost`]: what each stamp costs in the hook, timed by the kernel. Each run is its own
//!   syscall (`repeat = 1`): with a repeat count the kernel reruns the program on the same
//!   buffer, so a second `bpf_xdp_adjust_head` would stamp the stamp. The kernel's per-run time
//!   includes its two clock reads, the same for every stamp: differences are the stamps' costs.
//! - [`TestRun::run`] with `meta_in`: the frame arrives with that many bytes of metadata already
//!   in place, so the program's `bpf_xdp_adjust_meta` fails at run time as a driver without
//!   metadata support makes it fail (the area would pass 32 bytes): the per-packet fallback to
//!   the head of the frame runs on any kernel that loads the metadata program.

use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd};

use libbpf_rs::{MapCore, MapFlags, MapHandle, ProgramInput};

use crate::Error;
use crate::counters::{self, ProgramCounters};
use crate::error::Cause;
use crate::skel::ProbeSkel;
use crate::stamp::Stamp;

/// `XDP_REDIRECT`: what the program returns for a probe it hands to a socket.
pub const XDP_REDIRECT: u32 = 4;

/// The kernel's time for one run of a stamp's program.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StampCost {
    pub stamp: Stamp,
    /// Mean ns per run over the runs.
    pub mean_ns: f64,
    /// Median ns per run (the kernel reports whole ns).
    pub median_ns: f64,
    pub runs: u32,
}

/// What one run gave back.
#[derive(Debug, Clone)]
pub struct RunOut {
    /// The program's verdict (`XDP_REDIRECT` for a probe with a socket).
    pub action: u32,
    /// The frame as the program left it (with the head stamp when it put one there).
    pub data: Vec<u8>,
    /// The kernel's time for the run.
    pub ns: u64,
}

/// A loaded (not attached) probe program of one stamp, with a socket in its map at queue 0.
pub struct TestRun {
    // declared first: the skeleton borrows `_storage`
    skel: Box<ProbeSkel<'static>>,
    counters: MapHandle,
    stamp: Stamp,
}

impl std::fmt::Debug for TestRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestRun")
            .field("stamp", &self.stamp)
            .finish_non_exhaustive()
    }
}

impl TestRun {
    /// Loads the program of `stamp` for probes to `probe_port`, with `xsk` (a bound AF_XDP
    /// socket) at queue 0 of its map. Errors when the kernel refuses it (the verifier's reason).
    pub fn load(stamp: Stamp, xsk: BorrowedFd<'_>, probe_port: u16) -> Result<TestRun, Error> {
        let prog_name = stamp
            .program(false)
            .expect("every stamp has a generic program");
        // the skeleton lives as long as the TestRun: its storage is leaked once per load, a
        // few hundred bytes, for benchmarks and tests only
        let storage: &'static mut MaybeUninit<_> = Box::leak(Box::new(MaybeUninit::uninit()));
        let skel = crate::program::load_probe(storage, (probe_port, 1), prog_name, 0, None)?;
        let fd = u32::try_from(xsk.as_raw_fd()).expect("a BorrowedFd is never negative");
        skel.maps
            .xsks_map
            .update(&0u32.to_ne_bytes(), &fd.to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| Error::InsertSocket {
                ifindex: 0,
                queue_id: 0,
                cause: Cause(e),
            })?;
        let counters = MapHandle::try_from(&skel.maps.counters).map_err(|e| Error::Prepare {
            ifindex: 0,
            call: "dup(counters fd)",
            cause: Cause(e),
        })?;
        Ok(TestRun {
            skel: Box::new(skel),
            counters,
            stamp,
        })
    }

    /// Runs the program once on `frame`, which arrives with `meta_in` bytes of metadata already
    /// in front of it (0: none; a multiple of 4 the kernel accepts as metadata).
    pub fn run(&self, frame: &[u8], meta_in: u32) -> Result<RunOut, Error> {
        let name = self
            .stamp
            .program(false)
            .expect("every stamp has a generic program");
        let prog = crate::program::probe_prog(&self.skel, name);
        let mut data_in = vec![0u8; meta_in as usize];
        data_in.extend_from_slice(frame);
        // struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index,
        // egress_ifindex; the kernel takes the metadata as [0, data) of data_in
        let mut ctx = [0u8; 24];
        ctx[0..4].copy_from_slice(&meta_in.to_ne_bytes());
        ctx[4..8].copy_from_slice(&(data_in.len() as u32).to_ne_bytes());
        let mut out = vec![0u8; data_in.len() + 64];
        let input = ProgramInput {
            data_in: Some(&data_in),
            data_out: Some(&mut out),
            context_in: (meta_in > 0).then_some(&mut ctx[..]),
            repeat: 1,
            ..ProgramInput::default()
        };
        let o = prog.test_run(input).map_err(|e| Error::Prepare {
            ifindex: 0,
            call: "bpf_prog_test_run_opts",
            cause: Cause(e),
        })?;
        let action = o.return_value;
        let ns = o.duration.as_nanos() as u64;
        let data = o.data.map(|d| d.to_vec()).unwrap_or_default();
        Ok(RunOut { action, data, ns })
    }

    /// The program's counters since it was loaded.
    pub fn counters(&self) -> Result<ProgramCounters, Error> {
        counters::read(&self.counters).map_err(|cause| Error::Counters { ifindex: 0, cause })
    }
}

/// Runs the program of `stamp` `runs` times on `frame` (an Ethernet frame of a probe to
/// `probe_port`), with `xsk` (a bound AF_XDP socket) in its map. Errors when the kernel refuses
/// the program or the program does not redirect the frame.
pub fn stamp_cost(
    stamp: Stamp,
    xsk: BorrowedFd<'_>,
    frame: &[u8],
    probe_port: u16,
    runs: u32,
) -> Result<StampCost, Error> {
    let t = TestRun::load(stamp, xsk, probe_port)?;
    let mut ns = Vec::with_capacity(runs as usize);
    for _ in 0..runs {
        let o = t.run(frame, 0)?;
        if o.action != XDP_REDIRECT {
            return Err(Error::Prepare {
                ifindex: 0,
                call: "bpf_prog_test_run_opts (the probe was not redirected)",
                cause: Cause(libbpf_rs::Error::from(std::io::Error::other(format!(
                    "the program returned {}, not XDP_REDIRECT: the frame is no probe to port {probe_port}",
                    o.action
                )))),
            });
        }
        ns.push(o.ns as f64);
    }
    ns.sort_by(f64::total_cmp);
    let mean_ns = ns.iter().sum::<f64>() / ns.len().max(1) as f64;
    let median_ns = ns.get(ns.len() / 2).copied().unwrap_or(0.0);
    Ok(StampCost {
        stamp,
        mean_ns,
        median_ns,
        runs,
    })
}
