//! The BPF helpers and kfuncs xdplat's XDP programs use, as this kernel answers for them
//! ([`xdp::caps`]: each helper loaded alone in a tiny XDP program, each kfunc looked up in the
//! kernel's BTF), and where the XDP-hook stamp will go as a result ([`xdp::choose`]).

use serde::Serialize;

use super::{Findings, Level};

/// What the kernel gives XDP programs, and the stamp that follows.
#[derive(Debug, Clone, Serialize)]
pub struct Bpf {
    /// One line per helper and kfunc: given, refused (with the verifier's reason) or unknown.
    pub needs: Vec<xdp::caps::Probed>,
    /// Where the probe program will put its XDP-hook stamp: meta, head or none.
    pub stamp: &'static str,
    /// `XDPLAT_XDP_STAMP`, when it forces the stamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forced: Option<&'static str>,
}

pub(super) fn bpf(findings: &mut Findings) -> Bpf {
    let caps = xdp::caps::probe();
    let forced = xdp::forced_from_env().ok().flatten();
    let choice = xdp::choose(caps, forced);
    for p in &caps.0 {
        match &p.verdict {
            xdp::Verdict::Given => {}
            xdp::Verdict::Refused { why } => {
                let level = match p.name {
                    "bpf_map_lookup_elem" | "bpf_redirect_map" => Level::Missing,
                    _ => Level::Warn,
                };
                findings.add(
                    level,
                    "bpf",
                    format!("the kernel refuses {} to XDP programs ({why})", p.name),
                    &format!("lost: {}", p.lost_without),
                );
            }
            xdp::Verdict::Unknown { why } => findings.add_fix(
                Level::Info,
                "bpf",
                format!("whether the kernel gives {} is unknown ({why})", p.name),
                "the loader tries it and falls back if the verifier refuses it",
                "run doctor as root (CAP_BPF and CAP_PERFMON) to probe it",
            ),
        }
    }
    if let xdp::Why::Forced = choice.why {
        findings.add_fix(
            Level::Info,
            "bpf",
            format!("{}={} forces the stamp", xdp::STAMP_ENV, choice.stamp),
            "runs stamp as forced, not as the kernel allows",
            format!("unset {}", xdp::STAMP_ENV),
        );
    }
    Bpf {
        needs: caps.0.clone(),
        stamp: choice.stamp.as_str(),
        forced: forced.map(xdp::Stamp::as_str),
    }
}
