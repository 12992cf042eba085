//! Named network namespaces (`/run/netns/NAME`, as `ip netns add` makes them).
//!
//! `setns(2)` with `CLONE_NEWNET` moves only the calling *thread*, so the
//! guard returned by [`enter`] is neither `Send` nor `Sync`: it must be
//! dropped on the thread that entered. [`run_in`] runs a closure on a fresh
//! thread inside a namespace, which leaves the caller's thread untouched.

use std::fs::File;
use std::marker::PhantomData;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use nix::sched::{CloneFlags, setns};

use crate::Error;

/// Where `ip netns` keeps its namespace handles.
pub const NETNS_DIR: &str = "/run/netns";

/// The current thread's namespace, as seen through procfs.
const SELF_NS: &str = "/proc/thread-self/ns/net";

fn path(name: &str) -> PathBuf {
    PathBuf::from(NETNS_DIR).join(name)
}

/// Checks a namespace name (parameter `--netns`): what `ip netns add` accepts, a file name
/// under /run/netns (not `.`, `..`, nothing with a `/`).
pub fn validate_name(name: &str) -> Result<(), Error> {
    let why = if name.is_empty() {
        "is empty"
    } else if name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        "is not a namespace name (no '/', not '.' or '..')"
    } else if name.len() > 255 {
        "is longer than 255 bytes"
    } else {
        return Ok(());
    };
    Err(Error::BadInput {
        param: "--netns",
        value: name.into(),
        why: format!("{why}: give a name from `ip netns list`"),
    })
}

/// True when `/run/netns/NAME` exists (and NAME is a namespace name).
pub fn exists(name: &str) -> bool {
    validate_name(name).is_ok() && path(name).is_file()
}

/// While alive, the thread that called [`enter`] is in the named namespace;
/// on drop it goes back to the namespace it was in before.
#[derive(Debug)]
pub struct NetnsGuard {
    original: File,
    name: String,
    /// setns moved this thread only: the guard must stay on it.
    _not_send: PhantomData<*const ()>,
}

impl NetnsGuard {
    /// The namespace entered.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        if let Err(e) = setns(&self.original, CloneFlags::CLONE_NEWNET) {
            // Leaving the thread in the wrong namespace would silently
            // misdirect everything it does next.
            let msg = format!("setns back from network namespace {}: {e}", self.name);
            if std::thread::panicking() {
                eprintln!("{msg}");
            } else {
                panic!("{msg}");
            }
        }
    }
}

/// Moves the calling thread into network namespace `name`; the guard moves
/// it back on drop.
pub fn enter(name: &str) -> Result<NetnsGuard, Error> {
    validate_name(name)?;
    if !exists(name) {
        return Err(Error::NoNetns { name: name.into() });
    }
    let p = path(name);
    let target = File::open(&p).map_err(|e| Error::io("open", p.display(), e))?;
    let original = File::open(SELF_NS).map_err(|e| Error::io("open", SELF_NS, e))?;
    setns(&target, CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::sys("setns", format!("{}, CLONE_NEWNET", p.display()), e))?;
    Ok(NetnsGuard {
        original,
        name: name.into(),
        _not_send: PhantomData,
    })
}

/// Runs `f` on a new thread inside namespace `name` and returns its result.
pub fn run_in<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    if !exists(name) {
        return Err(Error::NoNetns { name: name.into() });
    }
    let owned = name.to_string();
    let handle = std::thread::Builder::new()
        .name(format!("netns-{name}"))
        .spawn(move || -> Result<T, Error> {
            let _guard = enter(&owned)?;
            Ok(f())
        })
        .map_err(|e| Error::io("spawn thread for", format!("netns {name}"), e))?;
    handle
        .join()
        .map_err(|_| Error::ThreadPanicked { netns: name.into() })?
}

/// A human name for the calling thread's network namespace: its `ip netns`
/// name when it has one, "the initial namespace", or `net:[INODE]`.
pub fn current_name() -> String {
    let Ok(me) = std::fs::metadata(SELF_NS) else {
        return "(unknown)".into();
    };
    if let Ok(dir) = std::fs::read_dir(NETNS_DIR) {
        for entry in dir.flatten() {
            if let Ok(m) = std::fs::metadata(entry.path())
                && m.dev() == me.dev()
                && m.ino() == me.ino()
            {
                return entry.file_name().to_string_lossy().into_owned();
            }
        }
    }
    if let Ok(init) = std::fs::metadata("/proc/1/ns/net")
        && init.ino() == me.ino()
    {
        return "the initial namespace".into();
    }
    format!("net:[{}]", me.ino())
}
