//! The stall watch, one for both roles: work that waits with no progress for longer than a
//! bound becomes a typed [`Stall`] in the run's summary, with the state of the socket's rings
//! and the kernel's XDP_STATISTICS at the moment it was seen, and how the machine's CPUs were
//! shared while it lasted. What waits, and what counts as progress:
//!
//! | [`Waiting`] | outstanding | progress |
//! |---|---|---|
//! | `TxRing` | descriptors published on the TX ring | the kernel's TX consumer moves |
//! | `Completion` | frames the kernel took off the TX ring | completion entries appear |
//! | `Replies` (ping) | probes in flight while more are to be sent | a reply comes back |
//!
//! A missed TX kick leaves descriptors on the TX ring (`TxRing`); a device that never sends
//! (zero-copy with busy polling on some devices) does too, or leaves frames uncompleted
//! (`Completion`); a missed fill-ring wake-up on either side, a forwarder that stopped, or a
//! peer that is gone leaves probes unanswered (`Replies`). A stall that ends (progress resumed)
//! was a stall with the peer alive; one that lasts to the end of the run may also be a peer that
//! went away, and says so.
//!
//! The check costs a few loads of ring indices; the ring states, XDP_STATISTICS and the
//! scheduling facts are read only when a stall begins and ends.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::port::Port;

/// How long work may wait without progress before it is a stall, unless a role says otherwise.
pub const BOUND: Duration = Duration::from_millis(500);

/// Stalls kept in full per run; later ones are only counted.
const KEPT: usize = 8;

/// What waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Waiting {
    /// Descriptors on the TX ring the kernel did not consume.
    TxRing,
    /// Frames the kernel took off the TX ring and did not complete.
    Completion,
    /// Probes in flight with no reply.
    Replies,
}

impl fmt::Display for Waiting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Waiting::TxRing => "TX ring descriptors not consumed by the kernel",
            Waiting::Completion => "sent frames not completed",
            Waiting::Replies => "probes in flight with no reply",
        })
    }
}

/// One ring's indices: entries between consumer and producer are waiting on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ring {
    /// Entries waiting (produced, not consumed).
    pub entries: u32,
    pub size: u32,
    /// The ring's XDP_RING_NEED_WAKEUP flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs_wakeup: Option<bool>,
}

/// The kernel's XDP_STATISTICS of the socket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct XdpStats {
    pub rx_dropped: u64,
    pub rx_invalid_descs: u64,
    pub tx_invalid_descs: u64,
    pub rx_ring_full: u64,
    pub rx_fill_ring_empty_descs: u64,
    pub tx_ring_empty_descs: u64,
}

/// A socket's rings at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rings {
    /// Descriptors published, not yet consumed by the kernel.
    pub tx: Ring,
    /// Completed frames user space has not read.
    pub completion: Ring,
    /// Frames given to the kernel for receiving.
    pub fill: Ring,
    /// Received descriptors user space has not read.
    pub rx: Ring,
    pub xdp_statistics: Option<XdpStats>,
}

/// A port's sending so far, for the TX stages of the watch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxWork {
    /// Descriptors ever published on the TX ring.
    pub published: u64,
    /// Of those, still on the ring.
    pub on_ring: u64,
    /// Frames ever read back from the completion ring.
    pub completed: u64,
}

/// How the CPUs were shared while a stall lasted (Linux schedstat and PSI), to tell a machine
/// that did not run us from a wake-up that never came.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sched {
    /// Time the watching thread waited on a run queue (runnable, not running).
    pub thread_waited_ns: u64,
    /// Time the watching thread ran.
    pub thread_ran_ns: u64,
    /// Time at least one task of the machine waited for a CPU (/proc/pressure/cpu `some`).
    pub cpu_pressure_ns: Option<u64>,
}

impl Sched {
    fn now() -> Sched {
        let thread = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
        let mut f = thread.split_whitespace().map(|v| v.parse::<u64>().ok());
        let ran = f.next().flatten().unwrap_or(0);
        let waited = f.next().flatten().unwrap_or(0);
        let psi = std::fs::read_to_string("/proc/pressure/cpu")
            .ok()
            .and_then(|s| {
                let some = s.lines().find(|l| l.starts_with("some"))?;
                let total = some
                    .split_whitespace()
                    .find_map(|kv| kv.strip_prefix("total="))?;
                total.parse::<u64>().ok().map(|us| us * 1000)
            });
        Sched {
            thread_waited_ns: waited,
            thread_ran_ns: ran,
            cpu_pressure_ns: psi,
        }
    }

    fn since(self, start: Sched) -> Sched {
        Sched {
            thread_waited_ns: self.thread_waited_ns.saturating_sub(start.thread_waited_ns),
            thread_ran_ns: self.thread_ran_ns.saturating_sub(start.thread_ran_ns),
            cpu_pressure_ns: self
                .cpu_pressure_ns
                .zip(start.cpu_pressure_ns)
                .map(|(b, a)| b.saturating_sub(a)),
        }
    }
}

/// Work that waited with no progress for longer than the bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stall {
    pub waiting: Waiting,
    /// When progress stopped, from the start of the run.
    pub from_ns: u64,
    /// How long it lasted (until progress resumed, or the run ended).
    pub lasted_ns: u64,
    /// When the watch saw it, from the start of the run (at least the bound after `from_ns`;
    /// later when the watching thread itself did not run).
    #[serde(default)]
    pub seen_ns: u64,
    /// Progress resumed: the peer and the kernel were alive, the work was late.
    pub recovered: bool,
    /// Work waiting when the stall was seen.
    pub outstanding: u64,
    /// The rings when the stall was seen (None: the backend has none).
    pub rings: Option<Rings>,
    /// How the CPUs were shared from when it was seen until it ended (schedstat and PSI are read
    /// then, not continuously).
    pub sched: Option<Sched>,
}

impl Stall {
    /// The machine, not a missed wake-up, can explain the stall: for at least half of the time
    /// it was watched (from when it was seen to its end) the watching thread waited for a CPU,
    /// or some task of the machine did (CPU pressure). A stall seen only as it ended was not
    /// watched at all: the watching thread itself did not run.
    pub fn machine_busy(&self) -> bool {
        // the figures cover the stall from when it was seen
        let watched = (self.from_ns + self.lasted_ns).saturating_sub(self.seen_ns);
        self.sched.is_some_and(|s| {
            let half = watched / 2;
            s.thread_waited_ns >= half || s.cpu_pressure_ns.is_some_and(|p| p >= half)
        })
    }
}

impl fmt::Display for Stall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stall: {} {} for {:.3} s from {:.3} s into the run ({})",
            self.outstanding,
            self.waiting,
            self.lasted_ns as f64 / 1e9,
            self.from_ns as f64 / 1e9,
            if self.recovered {
                "then progress resumed"
            } else {
                "until the end"
            }
        )?;
        if let Some(r) = &self.rings {
            let wake = |r: &Ring| match r.needs_wakeup {
                Some(true) => ", needs wakeup",
                _ => "",
            };
            write!(
                f,
                "; rings: tx {}/{}{}, completion {}/{}, fill {}/{}{}, rx {}/{}",
                r.tx.entries,
                r.tx.size,
                wake(&r.tx),
                r.completion.entries,
                r.completion.size,
                r.fill.entries,
                r.fill.size,
                wake(&r.fill),
                r.rx.entries,
                r.rx.size
            )?;
            if let Some(s) = &r.xdp_statistics {
                write!(
                    f,
                    "; xdp_statistics rx_dropped {} rx_ring_full {} rx_fill_ring_empty_descs {} tx_ring_empty_descs {} invalid rx/tx {}/{}",
                    s.rx_dropped,
                    s.rx_ring_full,
                    s.rx_fill_ring_empty_descs,
                    s.tx_ring_empty_descs,
                    s.rx_invalid_descs,
                    s.tx_invalid_descs
                )?;
            }
        }
        if let Some(s) = &self.sched {
            write!(
                f,
                "; from {:.3} s (seen) to its end this thread ran {:.3} s and waited {:.3} s for a CPU",
                self.seen_ns as f64 / 1e9,
                s.thread_ran_ns as f64 / 1e9,
                s.thread_waited_ns as f64 / 1e9
            )?;
            if let Some(p) = s.cpu_pressure_ns {
                write!(f, ", some task waited for a CPU {:.3} s", p as f64 / 1e9)?;
            }
        }
        Ok(())
    }
}

/// One kind of waiting work, as the watch last saw it.
#[derive(Debug, Clone, Copy)]
struct Stage {
    waiting: Waiting,
    done: u64,
    /// Since when no progress was made with work waiting.
    since_ns: u64,
    /// The open stall: its index in `kept` (None once only counted) and its start's scheduling.
    open: Option<(Option<usize>, Sched)>,
}

/// Watches the waiting work of one port (and, for a ping, its probes).
#[derive(Debug, Clone)]
pub struct StallWatch {
    bound_ns: u64,
    start_ns: u64,
    stages: Vec<Stage>,
    kept: Vec<Stall>,
    /// Every stall seen, kept or not.
    pub seen: u64,
}

impl StallWatch {
    pub fn new(bound: Duration, start_ns: u64) -> StallWatch {
        StallWatch {
            bound_ns: bound.as_nanos() as u64,
            start_ns,
            stages: Vec::new(),
            kept: Vec::new(),
            seen: 0,
        }
    }

    /// Looks at one kind of work: `outstanding` waiting, `done` a count that grows with each
    /// piece of progress. `rings` is asked only when a stall begins.
    pub fn check(
        &mut self,
        now_ns: u64,
        waiting: Waiting,
        outstanding: u64,
        done: u64,
        rings: &mut dyn FnMut() -> Option<Rings>,
    ) {
        let i = match self.stages.iter().position(|s| s.waiting == waiting) {
            Some(i) => i,
            None => {
                self.stages.push(Stage {
                    waiting,
                    done,
                    since_ns: now_ns,
                    open: None,
                });
                self.stages.len() - 1
            }
        };
        let stage = &mut self.stages[i];
        if done != stage.done || outstanding == 0 {
            if let Some((kept, sched)) = stage.open.take()
                && let Some(stall) = kept.and_then(|k| self.kept.get_mut(k))
            {
                stall.lasted_ns = now_ns - stage.since_ns;
                stall.recovered = done != stage.done;
                stall.sched = Some(Sched::now().since(sched));
            }
            stage.done = done;
            stage.since_ns = now_ns;
            return;
        }
        if stage.open.is_some() || now_ns - stage.since_ns <= self.bound_ns {
            return;
        }
        self.seen += 1;
        let sched = Sched::now();
        let kept = (self.kept.len() < KEPT).then(|| {
            self.kept.push(Stall {
                waiting,
                from_ns: stage.since_ns.saturating_sub(self.start_ns),
                lasted_ns: now_ns - stage.since_ns,
                seen_ns: now_ns.saturating_sub(self.start_ns),
                recovered: false,
                outstanding,
                rings: rings(),
                sched: None,
            });
            self.kept.len() - 1
        });
        stage.open = Some((kept, sched));
    }

    /// Looks at the port's TX ring and completions.
    pub fn check_port<P: Port + ?Sized>(&mut self, now_ns: u64, port: &mut P) {
        let Some(tx) = port.tx_work() else { return };
        let consumed = tx.published.saturating_sub(tx.on_ring);
        self.check(now_ns, Waiting::TxRing, tx.on_ring, consumed, &mut || {
            port.rings()
        });
        self.check(
            now_ns,
            Waiting::Completion,
            consumed.saturating_sub(tx.completed),
            tx.completed,
            &mut || port.rings(),
        );
    }

    /// The stalls of the run; one still open lasted until `now_ns`.
    pub fn finish(mut self, now_ns: u64) -> Vec<Stall> {
        for stage in &self.stages {
            if let Some((Some(k), sched)) = stage.open {
                let stall = &mut self.kept[k];
                stall.lasted_ns = now_ns - stage.since_ns;
                stall.sched = Some(Sched::now().since(sched));
            }
        }
        self.kept
    }
}

#[cfg(test)]
#[path = "stall_tests.rs"]
mod tests;
