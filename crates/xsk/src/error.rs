//! The crate's one error type. Each message names the syscall or parameter and, where the errno
//! has a well-known cause in AF_XDP, says what to change.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value the kernel would reject (or that makes no sense): bad input.
    #[error("invalid {param} = {value}: {why}")]
    Config {
        param: &'static str,
        value: String,
        why: String,
    },

    /// A zero-copy bind was asked for and the device cannot do it.
    #[error(
        "zero-copy bind of ifindex {ifindex} queue {queue} failed ({source}): the driver has no AF_XDP zero-copy support on Linux {kernel} (veth has none; virtio-net refuses it on Debian 6.12.118 and has it on 7.3.4 (measured), where the device uses the DMA API); use --bind copy, or --bind auto to fall back"
    )]
    ZeroCopyUnsupported {
        ifindex: u32,
        queue: u32,
        /// The running kernel's release.
        kernel: String,
        #[source]
        source: io::Error,
    },

    /// A syscall failed; `hint` says what usually causes that errno here.
    #[error("{call} failed: {source}{hint}")]
    Sys {
        call: &'static str,
        #[source]
        source: io::Error,
        hint: &'static str,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn sys(call: &'static str, source: io::Error) -> Error {
        let hint = hint(call, &source);
        Error::Sys { call, source, hint }
    }

    pub(crate) fn config(
        param: &'static str,
        value: impl ToString,
        why: impl Into<String>,
    ) -> Error {
        Error::Config {
            param,
            value: value.to_string(),
            why: why.into(),
        }
    }

    /// True when the user must change an input: a value that cannot work, or a zero-copy bind
    /// asked of a device that has none.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Config { .. } | Error::ZeroCopyUnsupported { .. }
        )
    }

    /// The OS error code behind the error, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Sys { source, .. } | Error::ZeroCopyUnsupported { source, .. } => {
                source.raw_os_error()
            }
            Error::Config { .. } => None,
        }
    }
}

fn hint(call: &str, err: &io::Error) -> &'static str {
    match (call, err.raw_os_error()) {
        (_, Some(libc::EPERM)) | (_, Some(libc::EACCES)) => {
            " (AF_XDP needs CAP_NET_RAW, and XDP_UMEM_REG CAP_IPC_LOCK above RLIMIT_MEMLOCK: run as root)"
        }
        ("setsockopt(XDP_UMEM_REG)", Some(libc::ENOBUFS))
        | ("setsockopt(XDP_UMEM_REG)", Some(libc::ENOMEM)) => {
            " (the UMEM exceeds RLIMIT_MEMLOCK and the process lacks CAP_IPC_LOCK: use fewer --frames or run as root)"
        }
        ("setsockopt(XDP_UMEM_REG)", Some(libc::EINVAL)) => {
            " (the kernel rejected the UMEM layout: frame size 2048..page size, a power of two unless unaligned, headroom smaller than the frame; tx_metadata_len needs kernel 6.8+)"
        }
        ("bind(AF_XDP)", Some(libc::EINVAL)) => {
            " (the queue does not exist on this interface, or the flags conflict)"
        }
        ("bind(AF_XDP)", Some(libc::EBUSY)) => {
            " (another AF_XDP socket is already bound to this interface queue)"
        }
        ("bind(AF_XDP)", Some(libc::ENODEV)) | ("bind(AF_XDP)", Some(libc::ENXIO)) => {
            " (no such interface in this network namespace)"
        }
        ("sendto(TX kick)", Some(libc::ENXIO)) | ("sendto(TX kick)", Some(libc::ENETDOWN)) => {
            " (the interface went down or was removed)"
        }
        _ => "",
    }
}
