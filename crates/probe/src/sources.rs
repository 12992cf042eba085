//! Which stamps a run really has, and so which stages were measured by hardware (the NIC's
//! clock), by software (CLOCK_MONOTONIC in user space, in the XDP program or in the kernel), or
//! not at all, with the reason: the summary's `stage_sources`. A stage is measured when at least
//! one probe carries both of its stamps; a missing stamp is named with what would provide it.

use results::{Sample, StageSource, StageSources};

use crate::record::ClockRelation;

/// Who takes a stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Software,
    Hardware,
}

type Get = fn(&Sample) -> Option<i64>;

/// Every stamp of a sample, by column name.
const STAMPS: &[(&str, Get, Kind)] = &[
    ("sched_ns", |s| s.sched_ns, Kind::Software),
    ("tx_ns", |s| Some(s.tx_ns), Kind::Software),
    ("kick_ns", |s| s.kick_ns, Kind::Software),
    ("tx_done_ns", |s| s.tx_done_ns, Kind::Software),
    ("tx_stack_ns", |s| s.tx_stack_ns, Kind::Software),
    ("tx_hw_ns", |s| s.tx_hw_ns, Kind::Hardware),
    ("fwd_xdp_ns", |s| s.fwd_xdp_ns, Kind::Software),
    ("fwd_rx_ns", |s| s.fwd_rx_ns, Kind::Software),
    ("fwd_tx_ns", |s| s.fwd_tx_ns, Kind::Software),
    ("rx_hw_ns", |s| s.rx_hw_ns, Kind::Hardware),
    ("xdp_ns", |s| s.xdp_ns, Kind::Software),
    ("rx_ns", |s| s.rx_ns, Kind::Software),
];

/// Every stage the summary can report, with the stamps it is computed from (kept equal to
/// [`crate::record`]'s stage tables by a test).
pub const STAGE_STAMPS: &[(&str, &[&str])] = &[
    ("rtt", &["tx_ns", "rx_ns"]),
    ("schedule_lateness", &["sched_ns", "tx_ns"]),
    ("a_tx_kick", &["tx_ns", "kick_ns"]),
    ("a_tx_completion", &["tx_ns", "tx_done_ns"]),
    ("a_tx_to_stack", &["tx_ns", "tx_stack_ns"]),
    ("b_xdp_to_user", &["fwd_xdp_ns", "fwd_rx_ns"]),
    ("b_processing", &["fwd_rx_ns", "fwd_tx_ns"]),
    ("a_xdp_to_user", &["xdp_ns", "rx_ns"]),
    ("chain_a_to_b_xdp", &["tx_ns", "fwd_xdp_ns"]),
    ("chain_b_xdp_to_user", &["fwd_xdp_ns", "fwd_rx_ns"]),
    ("chain_b_processing", &["fwd_rx_ns", "fwd_tx_ns"]),
    ("chain_b_to_a_xdp", &["fwd_tx_ns", "xdp_ns"]),
    ("chain_a_xdp_to_user", &["xdp_ns", "rx_ns"]),
    ("a_nic_rtt", &["tx_hw_ns", "rx_hw_ns"]),
    ("a_host_part", &["tx_ns", "rx_ns", "tx_hw_ns", "rx_hw_ns"]),
];

/// What the run asked for and got, as far as stamps go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Asked {
    /// The udp backend (no XDP hook, no AF_XDP TX metadata).
    pub udp: bool,
    /// `--hw-timestamps true`.
    pub hw: bool,
    /// The socket was bound in zero-copy mode.
    pub zero_copy: bool,
    /// Why the port took no TX stamps, when it took none.
    pub tx_off: Option<String>,
}

impl Asked {
    /// Why no probe carries stamp `name`.
    fn why_missing(&self, name: &str) -> String {
        let not_asked = "not asked (--hw-timestamps false)";
        match name {
            "rx_ns" => "no reply was received".into(),
            "kick_ns" => "no send needed a kick (need_wakeup)".into(),
            "tx_done_ns" => "no frame came back on the completion ring".into(),
            "fwd_xdp_ns" | "fwd_rx_ns" | "fwd_tx_ns" => {
                "the replies carried no forwarder stamps: run ping with --stamp-room (--size 88 or more) and fwd with --stamp (fwd_xdp_ns also needs fwd's afxdp backend)".into()
            }
            "xdp_ns" | "tx_stack_ns" | "tx_hw_ns" | "rx_hw_ns" if self.udp => {
                "the udp backend has no XDP hook and no AF_XDP TX metadata".into()
            }
            "xdp_ns" => "the XDP program wrote no metadata".into(),
            "tx_stack_ns" | "tx_hw_ns" | "rx_hw_ns" if !self.hw => not_asked.into(),
            "tx_stack_ns" if self.zero_copy => {
                "zero-copy: TX is stamped by the NIC (tx_hw_ns), not the kernel".into()
            }
            "tx_hw_ns" if !self.zero_copy => {
                "copy mode: the kernel stamps TX in software (a_tx_to_stack), never the NIC".into()
            }
            "tx_stack_ns" | "tx_hw_ns" => match &self.tx_off {
                Some(why) => why.clone(),
                None => "the kernel wrote no TX timestamp".into(),
            },
            "rx_hw_ns" => {
                "the device gave no hardware RX timestamp (the device-bound program ran; veth never timestamps)".into()
            }
            _ => "no probe carried it".into(),
        }
    }
}

/// What measured each stage of [`STAGE_STAMPS`], or why nothing did.
pub fn stage_sources(samples: &[Sample], asked: &Asked, clock: ClockRelation) -> StageSources {
    let stamp = |name: &str| {
        STAMPS
            .iter()
            .find(|(n, _, _)| *n == name)
            .expect("every stage stamp is in STAMPS")
    };
    let mut out = StageSources::new();
    for (stage, names) in STAGE_STAMPS {
        let stamps: Vec<_> = names.iter().map(|n| stamp(n)).collect();
        let measured = samples
            .iter()
            .any(|s| stamps.iter().all(|(_, get, _)| get(s).is_some()));
        let verdict = if measured {
            let hw = stamps
                .iter()
                .filter(|(_, _, k)| *k == Kind::Hardware)
                .count();
            match hw {
                0 => StageSource::Software,
                n if n == stamps.len() => StageSource::Hardware,
                _ => StageSource::HardwareAndSoftware,
            }
        } else if stage.starts_with("chain_") && clock == ClockRelation::Separate {
            StageSource::NotMeasured("A's and B's stamps are on different clocks".into())
        } else {
            let missing: Vec<String> = stamps
                .iter()
                .filter(|(_, get, _)| !samples.iter().any(|s| get(s).is_some()))
                .map(|(n, _, _)| format!("{n}: {}", asked.why_missing(n)))
                .collect();
            StageSource::NotMeasured(if missing.is_empty() {
                "no probe carried all its stamps at once".to_string()
            } else {
                missing.join("; ")
            })
        };
        out.insert(stage.to_string(), verdict);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{CHAIN, NIC_STAGES, STAGES};

    fn text(m: &StageSources, stage: &str) -> String {
        m[stage].to_string()
    }

    fn full() -> Sample {
        Sample {
            seq: 0,
            tx_ns: 100,
            sched_ns: Some(90),
            kick_ns: Some(110),
            tx_done_ns: Some(140),
            tx_stack_ns: Some(130),
            tx_hw_ns: Some(5_000),
            fwd_xdp_ns: Some(200),
            fwd_rx_ns: Some(210),
            fwd_tx_ns: Some(220),
            rx_hw_ns: Some(5_300),
            xdp_ns: Some(390),
            rx_ns: Some(400),
            rtt_ns: Some(300),
        }
    }

    /// The names here and the getters of `record`'s tables describe the same intervals.
    #[test]
    fn stage_table_matches_the_record_tables() {
        let s = full();
        let by_names = |stage: &str| -> Option<i64> {
            let names = STAGE_STAMPS.iter().find(|(n, _)| *n == stage)?.1;
            let v: Vec<i64> = names
                .iter()
                .map(|n| STAMPS.iter().find(|(m, _, _)| m == n).unwrap().1(&s).unwrap())
                .collect();
            Some(v[1] - v[0])
        };
        for (name, start, end) in STAGES {
            assert_eq!(
                by_names(name),
                Some(end(&s).unwrap() - start(&s).unwrap()),
                "{name}"
            );
        }
        for (name, start, end) in CHAIN {
            let chain = format!("chain_{name}");
            assert_eq!(
                by_names(&chain),
                Some(end(&s).unwrap() - start(&s).unwrap())
            );
        }
        for (name, interval) in NIC_STAGES {
            assert!(STAGE_STAMPS.iter().any(|(n, _)| n == name), "{name}");
            assert!(interval(&s).is_some(), "{name}");
        }
        let nic = NIC_STAGES[0].1;
        assert_eq!(by_names("a_nic_rtt"), nic(&s));
    }

    #[test]
    fn veth_copy_mode_with_hw_timestamps() {
        let mut s = full();
        (s.tx_hw_ns, s.rx_hw_ns) = (None, None);
        let asked = Asked {
            hw: true,
            ..Asked::default()
        };
        let m = stage_sources(&[s], &asked, ClockRelation::Shared);
        assert_eq!(text(&m, "a_tx_to_stack"), "software");
        assert_eq!(m["chain_b_xdp_to_user"], StageSource::Software);
        let nic = text(&m, "a_nic_rtt");
        assert!(
            nic.starts_with("not measured: tx_hw_ns: copy mode"),
            "{nic}"
        );
        let part = text(&m, "a_host_part");
        assert!(
            part.contains("tx_hw_ns") && part.contains("rx_hw_ns: the device gave no"),
            "{part}"
        );
    }

    #[test]
    fn nic_stamps_are_hardware_and_reasons_name_the_flag() {
        let asked = Asked {
            hw: true,
            zero_copy: true,
            ..Asked::default()
        };
        let m = stage_sources(&[full()], &asked, ClockRelation::Shared);
        assert_eq!(text(&m, "a_nic_rtt"), "hardware");
        assert_eq!(text(&m, "a_host_part"), "hardware and software");

        let s = Sample {
            tx_ns: 1,
            rx_ns: Some(2),
            ..Default::default()
        };
        let off = Asked {
            zero_copy: true,
            ..Asked::default()
        };
        let m = stage_sources(std::slice::from_ref(&s), &off, ClockRelation::Unknown);
        assert_eq!(text(&m, "rtt"), "software");
        assert!(text(&m, "a_nic_rtt").contains("--hw-timestamps false"));
        assert!(text(&m, "b_processing").contains("--stamp-room"));
        let udp = Asked {
            udp: true,
            ..Asked::default()
        };
        let m = stage_sources(&[s], &udp, ClockRelation::Unknown);
        assert!(text(&m, "a_xdp_to_user").contains("udp backend"));
    }
}
