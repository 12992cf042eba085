//! What a run's summary warns about, typed (in hyperfine's spirit): each warning knows the fact,
//! what it means for the measurement, and what to change, if anything. A summary stores them
//! rendered ([`std::fmt::Display`]: `fact: meaning; fix`), as strings, so the file format stays
//! as DESIGN.md has it.

use std::fmt;

use crate::stall::{Stall, Waiting};

/// One thing about a run that its numbers alone do not say.
#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    /// `--bind auto` fell back to copy mode.
    ZeroCopyRefused { why: String },
    /// Busy polling asked for on a socket without a NAPI id.
    BusyPollNoNapi,
    /// `need-wakeup=false` changes nothing in copy mode.
    NeedWakeupCopyMode,
    /// The XDP program runs in another mode than asked.
    XdpModeDiffers {
        asked: xdp::XdpMode,
        got: xdp::XdpMode,
    },
    /// `--hw-timestamps` on a device that stamped no received packet.
    NoHwRxStamps { iface: String, packets: u64 },
    /// `--hw-timestamps` without TX stamps, and why.
    NoTxStamps { why: String },
    /// CLOCK_TAI moved against CLOCK_MONOTONIC during the run.
    ClockStepped { drift_ns: i64 },
    /// Probes that reached user space without the XDP program's stamp.
    MetaMissing { probes: u64 },
    /// The XDP program stamps elsewhere than in the metadata area (the head of the frame, or nowhere), and
    /// why: the kernel refused a helper at load, or `XDPLAT_XDP_STAMP` forced it.
    StampFallback { stamp: xdp::Stamp, why: xdp::Why },
    /// The driver failed `bpf_xdp_adjust_meta` on probes at run time; `head` of them were
    /// stamped at the head of the frame instead.
    DriverRefusedMeta { probes: u64, head: u64 },
    /// A's and B's stamps come from two clocks.
    TwoClocks,
    /// The window stayed full with no reply for the linger time.
    Stalled,
    /// Stopped by a signal before the end.
    Interrupted,
    /// The sender fell behind its schedule (p99 of the lateness, ns).
    LateSender { p99_ns: f64 },
    /// Work waited with no progress for longer than the stall bound ([`crate::stall`]).
    Stall(Box<Stall>),
    /// Measured in a guest whose CPU is emulated in software (`results::Environment::emulation`).
    Emulated { engine: String },
    /// The socket sent probes and received nothing at all; where they stopped.
    NothingReceived(Box<Silence>),
}

/// A socket's counters at the end of a run that received nothing: enough to tell where the
/// probes stopped (the device, this host's receive path, or the peer and the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    pub published: u64,
    pub completed: u64,
    /// Replies this interface's XDP program redirected to the socket (None: unreadable).
    pub redirected: Option<u64>,
    pub rx_dropped: u64,
    pub fill_empty: u64,
}

impl Warning {
    /// What happened.
    pub fn fact(&self) -> String {
        match self {
            Warning::ZeroCopyRefused { why } => {
                format!("zero-copy asked (--bind auto) but refused ({why})")
            }
            Warning::BusyPollNoNapi => {
                "busy-poll requested but the socket has no NAPI id (SO_INCOMING_NAPI_ID = 0)".into()
            }
            Warning::NeedWakeupCopyMode => "need-wakeup=false in copy mode".into(),
            Warning::XdpModeDiffers { asked, got } => {
                format!("xdp-mode {asked} asked, {got} in effect")
            }
            Warning::NoHwRxStamps { iface, packets } => format!(
                "--hw-timestamps: {iface} gave no hardware RX timestamp for any of {packets} packets (the device-bound program loaded; the device does not timestamp received packets, as veth never does)"
            ),
            Warning::NoTxStamps { .. } => "--hw-timestamps: no TX timestamps".into(),
            Warning::ClockStepped { drift_ns } => format!(
                "the wall clock was stepped during the run (CLOCK_TAI moved {drift_ns} ns against CLOCK_MONOTONIC)"
            ),
            Warning::MetaMissing { probes } => {
                format!("{probes} probes reached user space without an XDP-hook stamp")
            }
            Warning::StampFallback { stamp, why } => {
                let place = match stamp {
                    xdp::Stamp::Meta => "in the metadata area",
                    xdp::Stamp::Head => "at the head of the frame (bpf_xdp_adjust_head)",
                    xdp::Stamp::None => "nowhere: the XDP program stamps nothing",
                };
                let cause = match why {
                    xdp::Why::Best => "nothing was refused".to_owned(),
                    xdp::Why::Forced => format!("{} forced it", xdp::STAMP_ENV),
                    xdp::Why::KernelRefused { helper, why } => {
                        format!("the kernel refuses {helper} at load ({why})")
                    }
                };
                format!("XDP-hook stamps {place}: {cause}")
            }
            Warning::DriverRefusedMeta { probes, .. } => {
                format!("the driver refused bpf_xdp_adjust_meta at run time on {probes} probes")
            }
            Warning::TwoClocks => {
                "A's and B's stamps are not in causal order (two hosts, two clocks)".into()
            }
            Warning::Stalled => "stopped early".into(),
            Warning::Interrupted => "interrupted before the end".into(),
            Warning::LateSender { p99_ns } => format!(
                "the sender was late by up to {:.0} µs (p99) against its schedule",
                p99_ns / 1000.0
            ),
            Warning::Stall(s) => s.to_string(),
            Warning::Emulated { engine } => {
                format!("measured in a {engine} guest (software-emulated CPU and NICs)")
            }
            Warning::NothingReceived(s) => format!(
                "the socket received nothing: {} frames published, {} completed, XDP program redirected {}, XDP_STATISTICS rx_dropped {} rx_fill_ring_empty_descs {}",
                s.published,
                s.completed,
                s.redirected.map_or("(unread)".into(), |r| r.to_string()),
                s.rx_dropped,
                s.fill_empty
            ),
        }
    }

    /// What it means for the measurement.
    pub fn meaning(&self) -> String {
        match self {
            Warning::ZeroCopyRefused { .. } => "ran in copy mode".into(),
            Warning::BusyPollNoNapi => "busy polling was a no-op".into(),
            Warning::NeedWakeupCopyMode => {
                "copy-mode TX is driven only by sendto(), so every batch is kicked anyway".into()
            }
            Warning::XdpModeDiffers { got, .. } => {
                format!("the probes met the program in {got} mode")
            }
            Warning::NoHwRxStamps { .. } => "the NIC stages are not measured".into(),
            Warning::NoTxStamps { why } => why.clone(),
            Warning::ClockStepped { .. } => "the kernel TX stamps may be off by that much".into(),
            Warning::MetaMissing { .. } => "their XDP stage is missing".into(),
            Warning::StampFallback { stamp, .. } => match stamp {
                xdp::Stamp::None => "xdp_ns and fwd_xdp_ns are not measured: no XDP stage".into(),
                _ => "the XDP stages are measured as with metadata (the packet is unchanged; the stamp is cut off before use)".into(),
            },
            Warning::DriverRefusedMeta { probes, head } if probes == head => {
                "their XDP-hook stamps went at the head of the frame instead: nothing is lost".into()
            }
            Warning::DriverRefusedMeta { probes, head } => format!(
                "{head} of them were stamped at the head of the frame instead; the other {} have no XDP stage",
                probes - head
            ),
            Warning::TwoClocks => {
                "only intervals measured on one host's clock are reported".into()
            }
            Warning::Stalled => {
                "the window stayed full with no reply for the linger time (is the forwarder still running?)".into()
            }
            Warning::Interrupted => "the run holds the probes sent until then".into(),
            Warning::LateSender { .. } => "the sending thread was descheduled".into(),
            Warning::Stall(s) => match (s.waiting, s.recovered) {
                (_, true) if s.machine_busy() => "tasks waited for a CPU for at least half of the time it was watched: the machine was too busy to run the roles".into(),
                (Waiting::Replies, true) => "the CPUs were free: a missed TX kick or fill-ring wake-up on either side, or probes lost on the way and given up after the linger time (see the packet counts)".into(),
                (_, true) => "the CPUs were free: a missed TX kick, or a device slow to send".into(),
                (Waiting::TxRing, false) => "the kernel never took these descriptors: a missed TX kick, or a TX path the driver does not drive (zero-copy with busy polling)".into(),
                (Waiting::Completion, false) => "the kernel took these frames and never completed them: the device did not send them".into(),
                (Waiting::Replies, false) => "no reply came back until the end: the peer went away, or its receive path stalled".into(),
            },
            Warning::Emulated { .. } => {
                "absolute latencies are emulation's, not a machine's".into()
            }
            Warning::NothingReceived(s) => s.cause().into(),
        }
    }

    /// What to change, where the fact itself does not say.
    pub fn fix(&self) -> Option<String> {
        match self {
            Warning::LateSender { .. } => Some("pin it (--cpu) or lower the rate".into()),
            Warning::Emulated { .. } => Some("compare configurations with each other only".into()),
            Warning::StampFallback {
                why: xdp::Why::Forced,
                ..
            } => Some(format!(
                "unset {} to stamp as the kernel allows",
                xdp::STAMP_ENV
            )),
            _ => None,
        }
    }
}

impl Silence {
    /// Where the probes stopped, from the first stage whose counters show it.
    pub fn cause(&self) -> &'static str {
        if self.completed < self.published {
            "not every frame left this host's device (the kernel did not complete them): a TX path the driver does not drive"
        } else if self.redirected.unwrap_or(0) > 0 {
            "replies reached this interface and its XDP program redirected them to the socket, which dropped them (see rx_dropped and rx_fill_ring_empty_descs)"
        } else {
            "every probe left and no reply reached this interface's XDP program: the peer did not answer, or the replies were lost between the hosts (the forwarder's counters say which)"
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.fact(), self.meaning())?;
        if let Some(fix) = self.fix() {
            write!(f, "; {fix}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_as_summaries_have_them() {
        assert_eq!(
            Warning::BusyPollNoNapi.to_string(),
            "busy-poll requested but the socket has no NAPI id (SO_INCOMING_NAPI_ID = 0): busy polling was a no-op"
        );
        assert_eq!(
            Warning::LateSender {
                p99_ns: 2_500_000.0
            }
            .to_string(),
            "the sender was late by up to 2500 µs (p99) against its schedule: the sending thread was descheduled; pin it (--cpu) or lower the rate"
        );
        assert_eq!(
            Warning::NoTxStamps {
                why: "the UMEM has no TX metadata room".into()
            }
            .to_string(),
            "--hw-timestamps: no TX timestamps: the UMEM has no TX metadata room"
        );
    }
    #[test]
    fn a_silent_socket_names_the_first_stage_that_stopped() {
        let base = Silence {
            published: 1000,
            completed: 1000,
            redirected: Some(0),
            rx_dropped: 0,
            fill_empty: 0,
        };
        let cause = |s: &Silence| s.cause().split(':').next().unwrap().to_owned();
        assert_eq!(
            cause(&Silence {
                completed: 3,
                ..base.clone()
            }),
            "not every frame left this host's device (the kernel did not complete them)"
        );
        assert!(
            base.cause()
                .starts_with("every probe left and no reply reached")
        );
        let dropped = Silence {
            redirected: Some(1000),
            rx_dropped: 1000,
            ..base.clone()
        };
        assert!(
            dropped
                .cause()
                .starts_with("replies reached this interface")
        );
        assert_eq!(
            Warning::NothingReceived(Box::new(dropped)).fact(),
            "the socket received nothing: 1000 frames published, 1000 completed, XDP program redirected 1000, XDP_STATISTICS rx_dropped 1000 rx_fill_ring_empty_descs 0"
        );
    }
}
