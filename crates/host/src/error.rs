//! The crate's one error type; every message names what failed (syscall,
//! path, command, parameter) so that a user can act on it.

use std::net::Ipv4Addr;

/// Errors of the host crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter given by the user is invalid (the CLI maps this to exit 2).
    #[error("{param} {value:?}: {why}")]
    BadInput {
        param: &'static str,
        value: String,
        why: String,
    },
    #[error(
        "network namespace {name}: no such network namespace: create it with `xdplat testbed up` or `ip netns add`"
    )]
    NoNetns { name: String },
    #[error("no interface {iface} in network namespace {netns}")]
    NoIface { iface: String, netns: String },
    #[error(
        "{ip} did not resolve to a MAC address on {iface} (no neighbour entry after {waited_ms} ms): pass --dst-mac"
    )]
    Unresolved {
        ip: Ipv4Addr,
        iface: String,
        waited_ms: u64,
    },
    #[error("no testbed {name}: {why}; create it with `xdplat testbed up --name {name}`")]
    NoTestbed { name: String, why: String },
    #[error("testbed {name}: {why}")]
    Testbed { name: String, why: String },
    /// A syscall failed.
    #[error("{call}({arg}): {errno}")]
    Sys {
        call: &'static str,
        arg: String,
        errno: nix::errno::Errno,
    },
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        source: std::io::Error,
    },
    /// A netlink request failed or its answer could not be read.
    #[error("netlink {request}: {why}")]
    Netlink { request: &'static str, why: String },
    /// An external command (ip, ethtool) failed.
    #[error("`{cmd}` failed ({status}): {stderr}")]
    Command {
        cmd: String,
        status: String,
        stderr: String,
    },
    /// The device (or machine) cannot take this setting.
    #[error("{key}: {device} {lacks}")]
    Unsupported {
        key: String,
        device: String,
        lacks: String,
    },
    /// Another process holds the host lock.
    #[error(
        "another xdplat process (pid {pid}) holds the host lock {path}: wait until it ends (a `xdplat host apply --hold` ends with Ctrl-C)"
    )]
    Locked { pid: String, path: String },
    /// A setting was written but the kernel reads back something else.
    #[error("{key} on {device}: wrote {wanted} but the kernel reads back {got}")]
    NotApplied {
        key: String,
        device: String,
        wanted: String,
        got: String,
    },
    /// Restoring journaled settings failed for some of them.
    #[error(
        "restore failed for {count} setting(s): {details} (they stay in the journal for `xdplat host restore`)"
    )]
    RestoreFailed { count: usize, details: String },
    /// Another live process holds a directory's lease (`owner::Lease`).
    #[error(
        "{path} is in use by {what} (pid {pid}), still running: wait for it to end or stop it (kill -INT {pid}); nothing was changed"
    )]
    Held {
        what: String,
        pid: String,
        path: String,
    },
    #[error("journal {path}: {why}")]
    Journal { path: String, why: String },
    #[error("thread running in network namespace {netns} panicked")]
    ThreadPanicked { netns: String },
}

impl Error {
    /// True when the user must change the request (CLI exit code 2): a bad
    /// value, a namespace, interface or testbed that does not exist, a
    /// setting the device cannot take, or a directory another live process
    /// holds.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::BadInput { .. }
                | Error::NoNetns { .. }
                | Error::NoIface { .. }
                | Error::NoTestbed { .. }
                | Error::Unsupported { .. }
                | Error::Held { .. }
        )
    }

    pub(crate) fn io(
        op: &'static str,
        path: impl std::fmt::Display,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            op,
            path: path.to_string(),
            source,
        }
    }

    pub(crate) fn sys(
        call: &'static str,
        arg: impl std::fmt::Display,
        errno: nix::errno::Errno,
    ) -> Self {
        Error::Sys {
            call,
            arg: arg.to_string(),
            errno,
        }
    }
}
