//! What this kernel gives an XDP program: each BPF helper the probe program calls, loaded alone
//! in a tiny program of `bpf/helpers.bpf.c` (the verifier's answer, not the kernel version), and
//! each kfunc, looked up in the kernel's BTF. Probed once per process ([`probe`]) before the
//! probe program is chosen ([`crate::StampChoice`]), and listed by `xdplat doctor`.

use std::mem::MaybeUninit;
use std::sync::OnceLock;

use libbpf_rs::skel::{OpenSkel, SkelBuilder};

use crate::log::{self, LoadLog};
use crate::skel::HelpersSkelBuilder;

/// A helper or kfunc and what xdplat needs it for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub name: &'static str,
    pub kind: Kind,
    /// The program in `helpers.bpf.c` that calls it alone (helpers only).
    probe_prog: &'static str,
    /// What is lost without it.
    pub lost_without: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Helper,
    Kfunc,
}

/// Every helper and kfunc the probe programs use.
pub const NEEDS: &[Need] = &[
    Need {
        name: "bpf_ktime_get_ns",
        kind: Kind::Helper,
        probe_prog: "has_ktime_get_ns",
        lost_without: "every XDP-hook stamp (xdp_ns, fwd_xdp_ns)",
    },
    Need {
        name: "bpf_map_lookup_elem",
        kind: Kind::Helper,
        probe_prog: "has_map_lookup_elem",
        lost_without: "the probe program itself: AF_XDP cannot run",
    },
    Need {
        name: "bpf_redirect_map",
        kind: Kind::Helper,
        probe_prog: "has_redirect_map",
        lost_without: "the probe program itself: AF_XDP cannot run",
    },
    Need {
        name: "bpf_xdp_adjust_meta",
        kind: Kind::Helper,
        probe_prog: "has_xdp_adjust_meta",
        lost_without: "nothing measured: the XDP-hook stamp goes at the head of the frame (bpf_xdp_adjust_head)",
    },
    Need {
        name: "bpf_xdp_adjust_head",
        kind: Kind::Helper,
        probe_prog: "has_xdp_adjust_head",
        lost_without: "the head stamp, the fallback where bpf_xdp_adjust_meta is refused",
    },
    Need {
        name: "bpf_xdp_metadata_rx_timestamp",
        kind: Kind::Kfunc,
        probe_prog: "",
        lost_without: "NIC RX timestamps in XDP (--hw-timestamps)",
    },
];

/// The kernel's answer for one helper or kfunc.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    /// The verifier loaded a program calling it (helpers), or the kernel's BTF has it (kfuncs).
    Given,
    /// The verifier refused it, with its reason; or the kernel's BTF lacks the kfunc.
    Refused { why: String },
    /// The probe could not tell (no privilege, no BTF, ...), with why.
    Unknown { why: String },
}

impl Verdict {
    pub fn given(&self) -> bool {
        matches!(self, Verdict::Given)
    }
}

/// One line of [`Caps`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Probed {
    pub name: &'static str,
    pub kind: Kind,
    #[serde(flatten)]
    pub verdict: Verdict,
    pub lost_without: &'static str,
}

/// What the kernel gives an XDP program.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Caps(pub Vec<Probed>);

impl Caps {
    /// The verdict for `name` (`Unknown` when it was not probed).
    pub fn verdict(&self, name: &str) -> Verdict {
        self.0
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.verdict.clone())
            .unwrap_or(Verdict::Unknown {
                why: format!("{name} was not probed"),
            })
    }

    /// The ones the kernel refused.
    pub fn refused(&self) -> impl Iterator<Item = &Probed> {
        self.0
            .iter()
            .filter(|p| matches!(p.verdict, Verdict::Refused { .. }))
    }

    /// Every one of [`NEEDS`] with the verdict `verdict` gives it.
    fn from_fn(verdict: impl Fn(&Need) -> Verdict) -> Caps {
        Caps(
            NEEDS
                .iter()
                .map(|n| Probed {
                    name: n.name,
                    kind: n.kind,
                    verdict: verdict(n),
                    lost_without: n.lost_without,
                })
                .collect(),
        )
    }

    /// A kernel that gives everything (for tests of the choice).
    pub fn all_given() -> Caps {
        Caps::from_fn(|_| Verdict::Given)
    }

    /// As [`Caps::all_given`], with `name` refused for `why`.
    pub fn refusing(mut self, name: &str, why: &str) -> Caps {
        for p in self.0.iter_mut().filter(|p| p.name == name) {
            p.verdict = Verdict::Refused { why: why.into() };
        }
        self
    }
}

/// This kernel's answers, probed on first use and kept for the process.
pub fn probe() -> &'static Caps {
    static CAPS: OnceLock<Caps> = OnceLock::new();
    CAPS.get_or_init(|| {
        Caps::from_fn(|n| match n.kind {
            Kind::Helper => probe_helper(n.probe_prog),
            Kind::Kfunc => probe_kfunc(n.name),
        })
    })
}

/// Loads the one program of `helpers.bpf.c` that calls the helper.
fn probe_helper(prog: &str) -> Verdict {
    let mut storage = MaybeUninit::uninit();
    let open = match HelpersSkelBuilder::default().open(&mut storage) {
        Ok(o) => o,
        Err(e) => {
            return Verdict::Unknown {
                why: format!("opening the helper probes: {e}"),
            };
        }
    };
    let mut open = open;
    for mut p in open.open_object_mut().progs_mut() {
        let this = p.name() == prog;
        p.set_autoload(this);
    }
    let (loaded, log) = log::capture(|| open.load().map(drop));
    match loaded {
        Ok(()) => Verdict::Given,
        Err(e) => refusal(&e, &log),
    }
}

/// A failed load as a verdict: the verifier's reason when it gave one (a refusal), else why the
/// load could not be tried (privilege, memory: unknown).
fn refusal(e: &libbpf_rs::Error, log: &LoadLog) -> Verdict {
    match log.reason() {
        Some(why) => Verdict::Refused { why },
        None => Verdict::Unknown {
            why: format!("{e:#}"),
        },
    }
}

/// A kfunc is given when the kernel's BTF has a function of that name.
fn probe_kfunc(name: &str) -> Verdict {
    let btf = match libbpf_rs::btf::Btf::from_vmlinux() {
        Ok(b) => b,
        Err(e) => {
            return Verdict::Unknown {
                why: format!("no kernel BTF (/sys/kernel/btf/vmlinux): {e}"),
            };
        }
    };
    match btf.type_by_name::<libbpf_rs::btf::types::Func<'_>>(name) {
        Some(_) => Verdict::Given,
        None => Verdict::Refused {
            why: format!("{name} is not in the kernel's BTF"),
        },
    }
}
