//! Where the probe program puts its XDP-hook stamp, and which program that means.
//!
//! In order of preference: the metadata area in front of the packet (`bpf_xdp_adjust_meta`,
//! falling back to the head per packet when the driver refuses it at run time), the head of the
//! frame (`bpf_xdp_adjust_head`: the same bytes inside the packet data, cut off by user space), or no stamp. [`choose`] picks the best one the
//! kernel's answers ([`Caps`]) allow; the loader tries it and, if the verifier still refuses it,
//! the next one (load and retry). `XDPLAT_XDP_STAMP=meta|head|none` forces one, so every
//! machine can run the fallbacks.

use std::fmt;

use crate::caps::{Caps, Verdict};

/// The environment variable that forces a stamp ([`forced_from_env`]).
pub const STAMP_ENV: &str = "XDPLAT_XDP_STAMP";

/// Where the XDP-hook stamp goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stamp {
    /// The metadata area (read at `data - META_LEN`); the head where the driver refuses it.
    Meta,
    /// `META_LEN` bytes at the head of the packet data, in front of the Ethernet header.
    Head,
    /// No stamp: `xdp_ns` and `fwd_xdp_ns` are lost.
    None,
}

impl Stamp {
    pub fn as_str(self) -> &'static str {
        match self {
            Stamp::Meta => "meta",
            Stamp::Head => "head",
            Stamp::None => "none",
        }
    }

    /// The helper this stamp needs, if any.
    pub fn helper(self) -> Option<&'static str> {
        match self {
            Stamp::Meta => Some("bpf_xdp_adjust_meta"),
            Stamp::Head => Some("bpf_xdp_adjust_head"),
            Stamp::None => None,
        }
    }

    /// The next stamp down when this one is refused.
    pub fn fallback(self) -> Option<Stamp> {
        match self {
            Stamp::Meta => Some(Stamp::Head),
            Stamp::Head => Some(Stamp::None),
            Stamp::None => None,
        }
    }

    /// The program of `bpf/probe.bpf.c` that stamps this way (`dev_bound`: the device-bound one
    /// that also reads the NIC's RX timestamp; it needs a place for that stamp, so not `None`).
    pub fn program(self, dev_bound: bool) -> Option<&'static str> {
        Some(match (self, dev_bound) {
            (Stamp::Meta, false) => "xdplat_probe",
            (Stamp::Head, false) => "xdplat_probe_head",
            (Stamp::None, false) => "xdplat_probe_bare",
            (Stamp::Meta, true) => "xdplat_probe_hw",
            (Stamp::Head, true) => "xdplat_probe_hw_head",
            (Stamp::None, true) => return None,
        })
    }

    /// Whether user space should look for a stamp at the head of the frame.
    pub fn may_head(self) -> bool {
        self != Stamp::None
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Stamp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "meta" => Ok(Stamp::Meta),
            "head" => Ok(Stamp::Head),
            "none" => Ok(Stamp::None),
            other => Err(format!(
                "{STAMP_ENV}={other:?}: expected meta, head or none (or leave it unset to choose by what the kernel gives)"
            )),
        }
    }
}

/// Why the program stamps the way it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// The best there is: nothing was refused.
    Best,
    /// `XDPLAT_XDP_STAMP` asked for it.
    Forced,
    /// The kernel refused the better stamp's helper (or, where the verifier named no helper,
    /// its program), with the verifier's reason.
    KernelRefused { helper: &'static str, why: String },
}

/// The chosen stamp and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StampChoice {
    pub stamp: Stamp,
    pub why: Why,
}

/// `XDPLAT_XDP_STAMP`, checked: `Err` names the variable and its values.
pub fn forced_from_env() -> Result<Option<Stamp>, String> {
    match std::env::var(STAMP_ENV) {
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => v.parse().map(Some),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!(
            "{STAMP_ENV} is not UTF-8: expected meta, head or none"
        )),
    }
}

/// The best stamp `caps` allow, or the forced one. A helper the probe could not judge
/// (`Unknown`) is tried: the loader falls back if the verifier refuses it.
pub fn choose(caps: &Caps, forced: Option<Stamp>) -> StampChoice {
    if let Some(stamp) = forced {
        return StampChoice {
            stamp,
            why: Why::Forced,
        };
    }
    let mut why = Why::Best;
    let mut stamp = Stamp::Meta;
    if let Verdict::Refused { why: w } = caps.verdict("bpf_ktime_get_ns") {
        return StampChoice {
            stamp: Stamp::None,
            why: Why::KernelRefused {
                helper: "bpf_ktime_get_ns",
                why: w,
            },
        };
    }
    while let Some(helper) = stamp.helper() {
        match caps.verdict(helper) {
            Verdict::Refused { why: w } => {
                if why == Why::Best {
                    why = Why::KernelRefused { helper, why: w };
                }
                stamp = stamp
                    .fallback()
                    .expect("a stamp with a helper has a fallback");
            }
            Verdict::Given | Verdict::Unknown { .. } => break,
        }
    }
    StampChoice { stamp, why }
}

#[cfg(test)]
mod tests {
    use super::*;

    const META_REFUSED: &str = "program of this type cannot use helper bpf_xdp_adjust_meta#54";

    #[test]
    fn a_kernel_that_gives_everything_gets_metadata() {
        let c = choose(&Caps::all_given(), None);
        assert_eq!(c.stamp, Stamp::Meta);
        assert_eq!(c.why, Why::Best);
        assert_eq!(c.stamp.program(false), Some("xdplat_probe"));
        assert_eq!(c.stamp.program(true), Some("xdplat_probe_hw"));
    }

    #[test]
    fn a_kernel_that_refuses_adjust_meta_gets_the_head_stamp_and_the_reason() {
        let caps = Caps::all_given().refusing("bpf_xdp_adjust_meta", META_REFUSED);
        let c = choose(&caps, None);
        assert_eq!(c.stamp, Stamp::Head);
        assert_eq!(
            c.why,
            Why::KernelRefused {
                helper: "bpf_xdp_adjust_meta",
                why: META_REFUSED.into()
            }
        );
        assert_eq!(c.stamp.program(false), Some("xdplat_probe_head"));
    }

    #[test]
    fn refusing_both_helpers_leaves_no_stamp_named_by_the_first_refusal() {
        let caps = Caps::all_given()
            .refusing("bpf_xdp_adjust_meta", META_REFUSED)
            .refusing("bpf_xdp_adjust_head", "no tail");
        let c = choose(&caps, None);
        assert_eq!(c.stamp, Stamp::None);
        assert!(matches!(
            c.why,
            Why::KernelRefused {
                helper: "bpf_xdp_adjust_meta",
                ..
            }
        ));
        assert_eq!(c.stamp.program(false), Some("xdplat_probe_bare"));
        assert_eq!(c.stamp.program(true), None);
    }

    #[test]
    fn no_clock_means_no_stamp() {
        let caps = Caps::all_given().refusing("bpf_ktime_get_ns", "no clock");
        assert_eq!(choose(&caps, None).stamp, Stamp::None);
    }

    #[test]
    fn forcing_wins_over_the_probe_both_ways() {
        let refusing = Caps::all_given().refusing("bpf_xdp_adjust_meta", META_REFUSED);
        for caps in [Caps::all_given(), refusing] {
            for s in [Stamp::Meta, Stamp::Head, Stamp::None] {
                assert_eq!(
                    choose(&caps, Some(s)),
                    StampChoice {
                        stamp: s,
                        why: Why::Forced
                    }
                );
            }
        }
    }

    #[test]
    fn the_variable_takes_three_values_and_names_itself_otherwise() {
        assert_eq!("head".parse::<Stamp>(), Ok(Stamp::Head));
        let e = "adjust".parse::<Stamp>().unwrap_err();
        assert!(
            e.contains(STAMP_ENV) && e.contains("meta, head or none"),
            "{e}"
        );
    }
}
