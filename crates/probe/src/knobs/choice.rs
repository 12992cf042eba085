//! The knobs whose value is one of a few names, each a typed enum: [`Backend`], and the XDP
//! attach mode and AF_XDP bind mode of the crates that implement them. Strings become these
//! enums once, where a flag or an experiment value is read.

use super::{KnobType, Value};

/// A knob value that is one of a few names.
pub trait Choice: Copy + PartialEq + Sized + 'static {
    /// What a value is, for messages ("XDP mode").
    const WHAT: &'static str;
    /// Every value, in the order help texts list them.
    const ALL: &'static [Self];

    /// The canonical spelling (flags, experiment files, summaries).
    fn name(self) -> &'static str;

    /// A command-line spelling, aliases included.
    fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == text)
    }
}

pub(super) fn names<T: Choice>() -> Vec<&'static str> {
    T::ALL.iter().map(|v| v.name()).collect()
}

pub(super) fn canonical<T: Choice>(text: &str) -> Option<&'static str> {
    T::parse(text).map(T::name)
}

/// The path the probes take through the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Our AF_XDP socket and XDP program.
    Afxdp,
    /// Ordinary kernel UDP sockets: the kernel-stack baseline.
    Udp,
}

impl Choice for Backend {
    const WHAT: &'static str = "backend";
    const ALL: &'static [Self] = &[Backend::Afxdp, Backend::Udp];

    fn name(self) -> &'static str {
        match self {
            Backend::Afxdp => "afxdp",
            Backend::Udp => "udp",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a ping waits for its next send time while no probe is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// In the port's wait (poll() with --poll true): the CPU may idle between probes.
    Sleep,
    /// Spinning on the clock, as sockperf's client does between its messages: the CPU stays
    /// awake, so a reply's wake-up finds it out of its idle states. The reply itself is still
    /// awaited as --poll says.
    Spin,
}

impl Choice for Pace {
    const WHAT: &'static str = "pace";
    const ALL: &'static [Self] = &[Pace::Sleep, Pace::Spin];

    fn name(self) -> &'static str {
        match self {
            Pace::Sleep => "sleep",
            Pace::Spin => "spin",
        }
    }
}

impl Choice for xdp::XdpMode {
    const WHAT: &'static str = "XDP mode";
    const ALL: &'static [Self] = &xdp::XdpMode::ALL;

    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Choice for xsk::BindMode {
    const WHAT: &'static str = "bind mode";
    const ALL: &'static [Self] = &xsk::BindMode::ALL;

    fn name(self) -> &'static str {
        self.as_str()
    }

    fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

impl<T: Choice> KnobType for T {
    fn to_value(&self) -> Option<Value> {
        Some(Value::Choice(self.name()))
    }

    fn from_value(v: Option<Value>) -> Result<Self, String> {
        match v {
            Some(Value::Choice(name)) => T::ALL
                .iter()
                .copied()
                .find(|c| c.name() == name)
                .ok_or_else(|| format!("{name:?} is not a valid {}", T::WHAT)),
            other => Err(format!("expected one {}, not {other:?}", T::WHAT)),
        }
    }
}
