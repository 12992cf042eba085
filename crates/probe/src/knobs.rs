//! The socket knobs of DESIGN.md, shared by ping and fwd, with the same spelling as the CLI flags
//! and the experiment-file keys (`xdp-mode`, `bind`, `need-wakeup`, ...).

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Knobs {
    pub xdp_mode: xdp::XdpMode,
    pub bind: xsk::BindMode,
    pub need_wakeup: bool,
    pub busy_poll: bool,
    pub busy_poll_usecs: u32,
    pub busy_poll_budget: u32,
    /// Wait for packets with poll() (as the paper's `-p`) instead of spinning on the ring.
    pub poll: bool,
    /// Pin the role's thread to this CPU.
    pub cpu: Option<usize>,
    pub frame_size: u32,
    pub frames: u32,
    pub ring_size: u32,
    /// Packets handled per ring operation (and sent per interval by ping).
    pub batch: u32,
    /// Ask the device for timestamps: RX through the device-bound XDP program, TX through AF_XDP
    /// TX metadata (in copy mode the kernel answers with a software stamp, recorded as such).
    pub hw_timestamps: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            xdp_mode: xdp::XdpMode::Auto,
            bind: xsk::BindMode::Auto,
            need_wakeup: true,
            busy_poll: false,
            busy_poll_usecs: 20,
            busy_poll_budget: 64,
            poll: false,
            cpu: None,
            frame_size: 4096,
            frames: 4096,
            ring_size: 2048,
            batch: 1,
            hw_timestamps: false,
        }
    }
}

impl Knobs {
    pub fn validate(&self) -> Result<()> {
        if self.batch == 0 || self.batch > self.ring_size {
            return Err(Error::config(
                "--batch",
                self.batch,
                format!("must be 1..={} (the ring size)", self.ring_size),
            ));
        }
        if self.frames < 2 * self.batch {
            return Err(Error::config(
                "--frames",
                self.frames,
                "must hold at least two batches",
            ));
        }
        if self.hw_timestamps && self.xdp_mode == xdp::XdpMode::Skb {
            return Err(Error::config(
                "--hw-timestamps",
                true,
                "the device-bound program that reads NIC RX timestamps attaches in driver mode only: use --xdp-mode drv (or auto), or drop --hw-timestamps",
            ));
        }
        if let Some(cpu) = self.cpu {
            let allowed = allowed_cpus()?;
            if !allowed.contains(&cpu) {
                return Err(Error::config(
                    "--cpu",
                    cpu,
                    format!("this process may run on CPUs {allowed:?} only"),
                ));
            }
        }
        self.umem().validate()?;
        self.socket(0, 0).validate()?;
        Ok(())
    }

    pub fn umem(&self) -> xsk::UmemConfig {
        let ring2 = (self.ring_size * 2).next_power_of_two();
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
                usecs: self.busy_poll_usecs,
                budget: self.busy_poll_budget,
            }),
            ..xsk::SocketConfig::new(ifindex, queue)
        }
    }

    /// The knobs as the `params` of a run summary (snake_case keys, as DESIGN.md's example).
    pub fn to_params(&self) -> Map<String, Value> {
        let v = json!({
            "xdp_mode": self.xdp_mode.to_string(),
            "bind": self.bind.to_string(),
            "need_wakeup": self.need_wakeup,
            "busy_poll": self.busy_poll,
            "busy_poll_usecs": self.busy_poll_usecs,
            "busy_poll_budget": self.busy_poll_budget,
            "poll": self.poll,
            "cpu": self.cpu,
            "frame_size": self.frame_size,
            "frames": self.frames,
            "ring_size": self.ring_size,
            "batch": self.batch,
            "hw_timestamps": self.hw_timestamps,
        });
        match v {
            Value::Object(m) => m,
            _ => unreachable!("json! of an object literal"),
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
        .map_err(|e| Error::config("--cpu", cpu, e.to_string()))?;
    sched_setaffinity(Pid::from_raw(0), &set)
        .map_err(|e| Error::io(format!("sched_setaffinity(cpu {cpu})"), e.into()))?;
    allowed_cpus()
}
