//! What an AF_XDP port reports: what was really in effect (read back from the kernel: bind
//! mode, XDP mode, NAPI id, busy polling, the kernel's and the XDP program's counters, device
//! timestamps) and a [`Warning`] for each knob that was a no-op.

use serde_json::{Map, Value, json};

use super::{AfXdpPort, TxStampSource};
use crate::clock::Clock;
use crate::protocol::QueueState;
use crate::warning::{Silence, Warning};

impl<C: Clock> AfXdpPort<C> {
    /// True when the socket is bound in zero-copy mode.
    pub fn zero_copy(&self) -> bool {
        let info = self.sock.ctl.info();
        self.sock.ctl.is_zero_copy().unwrap_or(info.zero_copy)
    }

    /// Why the port takes no TX timestamps, when `hw_timestamps` asked for them.
    pub fn tx_stamps_off(&self) -> Option<String> {
        match &self.hw.as_ref()?.tx {
            TxStampSource::Off(why) => Some(why.clone()),
            TxStampSource::Kernel | TxStampSource::Nic => None,
        }
    }

    /// The port as the kernel confirmed it, for the forwarder's readiness announcement.
    pub fn queue_state(&self, cpu: Option<usize>) -> QueueState {
        QueueState {
            queue: self.sock.ctl.queue_id(),
            cpu,
            xdp_mode: self.prog.mode().to_string(),
            bind: if self.zero_copy() {
                "zero-copy"
            } else {
                "copy"
            }
            .into(),
            napi_id: self.sock.ctl.napi_id().ok(),
        }
    }

    /// What was really in effect, and a warning for each knob that was a no-op.
    pub fn effective(&self) -> (Map<String, Value>, Vec<Warning>) {
        let mut warnings = Vec::new();
        let info = self.sock.ctl.info();
        let zero_copy = self.sock.ctl.is_zero_copy().unwrap_or(info.zero_copy);
        let napi_id = self.sock.ctl.napi_id().ok();
        let bp = self.sock.ctl.busy_poll().ok();
        let mode = self.prog.mode();
        if let Some(why) = &info.zero_copy_error {
            warnings.push(Warning::ZeroCopyRefused { why: why.clone() });
        }
        if self.knobs.busy_poll && napi_id.unwrap_or(0) == 0 {
            warnings.push(Warning::BusyPollNoNapi);
        }
        if !self.knobs.need_wakeup && !zero_copy {
            warnings.push(Warning::NeedWakeupCopyMode);
        }
        if self.knobs.xdp_mode != xdp::XdpMode::Auto && self.knobs.xdp_mode != mode {
            warnings.push(Warning::XdpModeDiffers {
                asked: self.knobs.xdp_mode,
                got: mode,
            });
        }
        let m = json!({
            "backend": "afxdp",
            "bind": if zero_copy { "zero-copy" } else { "copy" },
            "xdp_mode": mode.to_string(),
            "need_wakeup": info.need_wakeup,
            "napi_id": napi_id,
            "busy_poll_prefer": bp.map(|b| b.0),
            "busy_poll_usecs": bp.map(|b| b.1),
            "busy_poll_budget": bp.and_then(|b| b.2).or(self.knobs.busy_poll.then_some(self.knobs.busy_poll_budget)),
            "busy_poll_active": self.knobs.busy_poll && napi_id.unwrap_or(0) != 0,
            "poll": self.knobs.poll,
            "queue": self.sock.ctl.queue_id(),
            "tx_kicks": self.counters.tx_kicks,
            "rx_wakeups": self.counters.rx_wakeups,
            "polls": self.counters.polls,
            "fill_needed_wakeup": self.counters.fill_needed_wakeup,
            "tx_needed_wakeup": self.counters.tx_needed_wakeup,
            "tx_wakeup": if self.tx_wake_by_poll { "sendto+poll" } else { "sendto" },
            "tx_poll_wakeups": self.counters.tx_poll_wakeups,
            "fill_before_bind": info.prefilled,
        });
        let Value::Object(mut m) = m else {
            unreachable!("object literal")
        };
        if let Some(hw) = &self.hw {
            let c = &self.counters;
            let drift = crate::clock::tai_minus_monotonic() - hw.tai_offset;
            m.insert(
                "hw_timestamps".into(),
                json!({
                    "rx": "device-bound XDP program (bpf_xdp_metadata_rx_timestamp)",
                    "rx_stamped": c.hw_rx_stamps,
                    "rx_packets": c.rx_packets,
                    "tx": match &hw.tx {
                        TxStampSource::Kernel => "kernel software stamp (copy mode; CLOCK_TAI converted to CLOCK_MONOTONIC)".to_string(),
                        TxStampSource::Nic => "NIC (zero-copy TX metadata)".to_string(),
                        TxStampSource::Off(why) => format!("off: {why}"),
                    },
                    "tx_stamped": c.tx_stamps,
                    "tai_offset_drift_ns": drift,
                }),
            );
            if c.rx_packets > 0 && c.hw_rx_stamps == 0 {
                warnings.push(Warning::NoHwRxStamps {
                    iface: hw.iface.clone(),
                    packets: c.rx_packets,
                });
            }
            if let TxStampSource::Off(why) = &hw.tx {
                warnings.push(Warning::NoTxStamps { why: why.clone() });
            }
            if drift.abs() > 10_000 {
                warnings.push(Warning::ClockStepped { drift_ns: drift });
            }
        }
        let stats = self.sock.ctl.statistics().ok();
        if let Some(s) = &stats {
            m.insert(
                "xdp_statistics".into(),
                json!({
                    "rx_dropped": s.rx_dropped,
                    "rx_invalid_descs": s.rx_invalid_descs,
                    "tx_invalid_descs": s.tx_invalid_descs,
                    "rx_ring_full": s.rx_ring_full,
                    "rx_fill_ring_empty_descs": s.rx_fill_ring_empty_descs,
                    "tx_ring_empty_descs": s.tx_ring_empty_descs,
                }),
            );
        }
        let stamp = self.prog.stamp();
        m.insert("xdp_stamp".into(), json!(stamp.stamp.as_str()));
        if stamp.why != xdp::Why::Best {
            warnings.push(Warning::StampFallback {
                stamp: stamp.stamp,
                why: stamp.why.clone(),
            });
        }
        let prog = self.prog.counters().ok();
        if self.counters.rx_packets == 0 && self.counters.tx_published > 0 {
            let stats = stats.unwrap_or_default();
            warnings.push(Warning::NothingReceived(Box::new(Silence {
                published: self.counters.tx_published,
                completed: self.counters.tx_completed,
                redirected: prog.as_ref().map(|c| c.redirected),
                rx_dropped: stats.rx_dropped,
                fill_empty: stats.rx_fill_ring_empty_descs,
            })));
        }
        if let Some(c) = prog {
            m.insert(
                "xdp_program".into(),
                json!({ "redirected": c.redirected, "passed": c.passed, "meta_failed": c.meta_failed,
                        "no_socket": c.no_socket, "head": c.head, "unstamped": c.unstamped }),
            );
            if c.meta_failed > 0 {
                warnings.push(Warning::DriverRefusedMeta {
                    probes: c.meta_failed,
                    head: c.head.min(c.meta_failed),
                });
            }
            if c.unstamped > 0 && stamp.stamp != xdp::Stamp::None {
                warnings.push(Warning::MetaMissing {
                    probes: c.unstamped,
                });
            }
        }
        (m, warnings)
    }
}
