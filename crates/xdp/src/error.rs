//! The crate's error type: every message names the interface index, the
//! mode, the libbpf or kernel call, and the errno where there is one.

use std::fmt;

use crate::XdpMode;
use crate::log::LoadLog;

/// The verifier's reason with the errno, or libbpf's error where the verifier said nothing.
fn load_reason(log: &LoadLog, cause: &Cause) -> String {
    let errno = cause.errno().map(errno_name);
    match (log.reason(), errno) {
        (Some(r), Some(e)) => format!("{r} ({e})"),
        (Some(r), None) => r,
        (None, _) => cause.to_string(),
    }
}

/// A libbpf-rs failure, displayed with its errno name first
/// (e.g. `EOPNOTSUPP: failed to attach XDP program: Operation not supported (os error 95)`).
#[derive(Debug)]
pub struct Cause(pub libbpf_rs::Error);

impl Cause {
    /// The errno behind the failure, if libbpf reported one.
    pub fn errno(&self) -> Option<i32> {
        errno_of(&format!("{:#}", self.0))
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errno() {
            Some(n) => write!(f, "{}: {:#}", errno_name(n), self.0),
            None => write!(f, "{:#}", self.0),
        }
    }
}

impl std::error::Error for Cause {}

/// libbpf-rs keeps the `io::Error` private; its text ends in "(os error N)".
fn errno_of(text: &str) -> Option<i32> {
    let start = text.rfind("(os error ")? + "(os error ".len();
    let end = start + text[start..].find(')')?;
    text[start..end].parse().ok()
}

/// `EOPNOTSUPP` for 95, or `errno 1234` when unknown.
pub(crate) fn errno_name(n: i32) -> String {
    let e = nix::errno::Errno::from_raw(n);
    if e == nix::errno::Errno::UnknownErrno {
        format!("errno {n}")
    } else {
        format!("{e:?}")
    }
}

/// Errors of loading, attaching and using the probe program.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A mode string other than skb, drv or auto.
    #[error("invalid XDP mode {0:?}: expected skb|drv|auto")]
    ParseMode(String),
    /// The embedded BPF object could not be opened.
    #[error("opening the embedded XDP object (bpf_object__open_mem): {0}")]
    Open(Cause),
    /// Setting a value before load failed.
    #[error("preparing the XDP object for ifindex {ifindex} ({call}): {cause}")]
    Prepare {
        ifindex: u32,
        call: &'static str,
        cause: Cause,
    },
    /// The kernel refused the program (after every fallback the choice allowed). The verifier's
    /// log is in `log`, for a file; the message is one sentence with the verifier's reason.
    #[error(
        "the kernel refused the XDP program {prog} for ifindex {ifindex}: {}",
        load_reason(log, cause)
    )]
    Load {
        ifindex: u32,
        prog: &'static str,
        cause: Cause,
        log: LoadLog,
    },
    /// `XDPLAT_XDP_STAMP` forced a stamp whose program the kernel refuses: bad input.
    #[error("{env}={stamp} forces a stamp this kernel refuses: {source}; unset {env} to stamp as the kernel allows", env = crate::STAMP_ENV)]
    ForcedStampRefused {
        stamp: crate::Stamp,
        source: Box<Error>,
    },
    /// `XDPLAT_XDP_STAMP` holds no stamp name.
    #[error("{0}")]
    BadStamp(String),
    /// Hardware RX timestamps need the stamp's metadata area or the head of the frame to reach user space.
    #[error("--hw-timestamps: {0}")]
    HwNeedsStamp(String),
    /// Attaching failed in the kernel.
    #[error("attaching XDP in {mode} mode to ifindex {ifindex} ({call}): {errno}", errno = errno_name(*.errno))]
    Attach {
        ifindex: u32,
        mode: XdpMode,
        call: &'static str,
        errno: i32,
    },
    /// The mode cannot be had here (driver, kernel or request combination).
    #[error("attaching XDP in {mode} mode to ifindex {ifindex}: {why}")]
    ModeUnavailable {
        ifindex: u32,
        mode: XdpMode,
        why: String,
    },
    /// Both drv and skb failed for mode auto.
    #[error(
        "attaching XDP in auto mode to ifindex {ifindex}: drv failed ({drv}); skb failed ({skb})"
    )]
    AutoFailed {
        ifindex: u32,
        drv: Box<Error>,
        skb: Box<Error>,
    },
    /// Reading back which program is attached failed.
    #[error("querying XDP on ifindex {ifindex} (bpf_xdp_query): {cause}")]
    Query { ifindex: u32, cause: Cause },
    /// The queue id does not fit the XSKMAP.
    #[error("queue {queue_id} is out of range of xsks_map (max_entries {max_entries})")]
    QueueOutOfRange { queue_id: u32, max_entries: u32 },
    /// The kernel refused the socket (not an AF_XDP socket, not bound, ...).
    #[error(
        "inserting the AF_XDP socket of queue {queue_id} into xsks_map on ifindex {ifindex} (bpf_map_update_elem): {cause}"
    )]
    InsertSocket {
        ifindex: u32,
        queue_id: u32,
        cause: Cause,
    },
    /// Removing a socket from the map failed.
    #[error(
        "removing queue {queue_id} from xsks_map on ifindex {ifindex} (bpf_map_delete_elem): {cause}"
    )]
    RemoveSocket {
        ifindex: u32,
        queue_id: u32,
        cause: Cause,
    },
    /// Reading the per-CPU counters failed.
    #[error("reading the XDP counters on ifindex {ifindex} (bpf_map_lookup_elem): {cause}")]
    Counters { ifindex: u32, cause: Cause },
}

impl Error {
    /// The embedded object has no `.rodata` to write the probe port into (a build problem).
    pub(crate) fn no_rodata(ifindex: u32) -> Error {
        Error::Prepare {
            ifindex,
            call: "bpf_map__initial_value(.rodata)",
            cause: Cause(libbpf_rs::Error::from(std::io::Error::other(
                "no .rodata to set probe_port in",
            ))),
        }
    }

    /// True when the user must change an input (a mode name, a queue, a mode the driver lacks).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::ParseMode(_)
                | Error::QueueOutOfRange { .. }
                | Error::ModeUnavailable { .. }
                | Error::BadStamp(_)
                | Error::HwNeedsStamp(_)
                | Error::ForcedStampRefused { .. }
        )
    }

    /// What libbpf and the verifier said, for a refused load.
    pub fn load_log(&self) -> Option<&LoadLog> {
        match self {
            Error::Load { log, .. } => Some(log),
            Error::AutoFailed { drv, skb, .. } => drv.load_log().or_else(|| skb.load_log()),
            Error::ForcedStampRefused { source, .. } => source.load_log(),
            _ => None,
        }
    }

    /// The errno behind the error, when the kernel gave one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Attach { errno, .. } => Some(*errno),
            Error::Open(c)
            | Error::Prepare { cause: c, .. }
            | Error::Load { cause: c, .. }
            | Error::Query { cause: c, .. }
            | Error::InsertSocket { cause: c, .. }
            | Error::RemoveSocket { cause: c, .. }
            | Error::Counters { cause: c, .. } => c.errno(),
            Error::AutoFailed { drv, .. } => drv.errno(),
            Error::ForcedStampRefused { source, .. } => source.errno(),
            Error::ParseMode(_)
            | Error::ModeUnavailable { .. }
            | Error::QueueOutOfRange { .. }
            | Error::BadStamp(_)
            | Error::HwNeedsStamp(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_from_libbpf_text() {
        let e = libbpf_rs::Error::from(std::io::Error::from_raw_os_error(95));
        let c = Cause(e);
        assert_eq!(c.errno(), Some(95));
        assert!(c.to_string().starts_with("EOPNOTSUPP: "), "{c}");
        let a = Error::Attach {
            ifindex: 5,
            mode: XdpMode::Drv,
            call: "bpf_link_create",
            errno: 95,
        };
        assert_eq!(
            a.to_string(),
            "attaching XDP in drv mode to ifindex 5 (bpf_link_create): EOPNOTSUPP"
        );
    }
}
