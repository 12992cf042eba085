//! What the knobs make of a socket and a UMEM, the checks that span several knobs, and CPU
//! pinning (`cpu`).

use crate::error::{Error, Result};

use super::Knobs;

impl Knobs {
    /// Checks the knobs together (each value alone was checked against its kind when read):
    /// the rings and the UMEM first (their own flags), then what spans several knobs, then
    /// what this process and machine allow (CPUs, memory for the UMEM). Reads only.
    pub fn validate(&self) -> Result<()> {
        self.socket(0, 0).validate()?;
        self.umem().validate()?;
        if self.batch == 0 || self.batch > self.ring_size {
            return Err(Error::knob(
                "batch",
                self.batch,
                format!("must be 1..={} (the ring size)", self.ring_size),
            ));
        }
        if u64::from(self.frames) < 2 * u64::from(self.batch) {
            return Err(Error::knob(
                "frames",
                self.frames,
                format!(
                    "must hold at least two batches ({} with --batch {}): raise --frames or lower --batch",
                    2 * u64::from(self.batch),
                    self.batch
                ),
            ));
        }
        if self.hw_timestamps && self.backend == super::Backend::Udp {
            return Err(Error::knob(
                "hw-timestamps",
                true,
                "the udp backend reads kernel sockets, which xdplat stamps in software only: drop --hw-timestamps, or use --backend afxdp",
            ));
        }
        if self.flows > 1 && self.backend == super::Backend::Udp {
            return Err(Error::knob(
                "flows",
                self.flows,
                "the udp backend's socket is bound to one port, so it has one flow: drop --flows, or use --backend afxdp",
            ));
        }
        if self.hw_timestamps && self.xdp_mode == xdp::XdpMode::Skb {
            return Err(Error::knob(
                "hw-timestamps",
                true,
                "the device-bound program that reads NIC RX timestamps attaches in driver mode only: use --xdp-mode drv (or auto), or drop --hw-timestamps",
            ));
        }
        if let Some(cpu) = self.cpu {
            let allowed = allowed_cpus()?;
            if !allowed.contains(&cpu) {
                return Err(Error::knob(
                    "cpu",
                    cpu,
                    format!("this process may run on CPUs {allowed:?} only"),
                ));
            }
        }
        if self.backend == super::Backend::Afxdp {
            let umem = u64::from(self.frames) * u64::from(self.frame_size);
            if let Some(avail) = crate::check::memory_available()
                && umem > avail / 2
            {
                return Err(Error::knob(
                    "frames",
                    self.frames,
                    format!(
                        "the UMEM (--frames x --frame-size = {} MiB) would pin more than half of the memory available ({} MiB): lower --frames",
                        umem >> 20,
                        avail >> 20
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn umem(&self) -> xsk::UmemConfig {
        let ring2 = self
            .ring_size
            .saturating_mul(2)
            .checked_next_power_of_two()
            .unwrap_or(u32::MAX);
        xsk::UmemConfig {
            frame_size: self.frame_size,
            frame_count: self.frames,
            fill_size: ring2,
            completion_size: ring2,
            tx_metadata_len: if self.hw_timestamps {
                xsk::txmeta::TIMESTAMP_METADATA_LEN
            } else {
                0
            },
            ..Default::default()
        }
    }

    pub fn socket(&self, ifindex: u32, queue: u32) -> xsk::SocketConfig {
        xsk::SocketConfig {
            rx_size: self.ring_size,
            tx_size: self.ring_size,
            bind: self.bind,
            need_wakeup: self.need_wakeup,
            busy_poll: self.busy_poll.then_some(xsk::BusyPoll {
                prefer: self.prefer_busy_poll,
                usecs: self.busy_poll_usecs,
                budget: self.busy_poll_budget,
            }),
            ..xsk::SocketConfig::new(ifindex, queue)
        }
    }
}

/// The CPUs this process may run on: its affinity mask (a cgroup quota limits CPU time, not
/// which CPUs exist, so `available_parallelism` is the wrong question here).
pub fn allowed_cpus() -> Result<Vec<usize>> {
    use nix::sched::{CpuSet, sched_getaffinity};
    let set = sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .map_err(|e| Error::io("sched_getaffinity", e.into()))?;
    Ok((0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect())
}

/// Pins the calling thread to `cpu` and reads the affinity back; returns the CPUs in effect.
pub fn pin_current_thread(cpu: usize) -> Result<Vec<usize>> {
    use nix::sched::{CpuSet, sched_setaffinity};
    use nix::unistd::Pid;
    let mut set = CpuSet::new();
    set.set(cpu)
        .map_err(|e| Error::knob("cpu", cpu, e.to_string()))?;
    sched_setaffinity(Pid::from_raw(0), &set)
        .map_err(|e| Error::io(format!("sched_setaffinity(cpu {cpu})"), e.into()))?;
    allowed_cpus()
}
