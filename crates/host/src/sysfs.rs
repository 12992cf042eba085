//! Reading and writing sysfs as seen from a given network namespace.
//!
//! A sysfs mount shows the network devices of the namespace that mounted
//! it, not those of the reading thread. So per-device files
//! (`/sys/class/net/IF/...`) are reached on a short-lived thread that enters
//! the namespace, unshares its mount namespace (private, so nothing leaks
//! to the host), and mounts a fresh sysfs over `/sys`. The thread, and with
//! it the mount, ends when the closure returns. When /sys already shows
//! that namespace, the kernel refuses the same mount again (EBUSY) and the
//! existing /sys is used.

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};

use crate::{Error, netns};

/// Runs `f` with `/sys` showing network namespace `ns` (the caller's own
/// when None).
pub(crate) fn with_sysfs_of<T: Send + 'static>(
    ns: Option<&str>,
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let ns = ns.map(str::to_string);
    let label = ns.clone().unwrap_or_else(|| "current".into());
    std::thread::Builder::new()
        .name(format!("sysfs-{label}"))
        .spawn(move || -> Result<T, Error> {
            let _guard = match &ns {
                Some(n) => Some(netns::enter(n)?),
                None => None,
            };
            unshare(CloneFlags::CLONE_NEWNS)
                .map_err(|e| Error::sys("unshare", "CLONE_NEWNS", e))?;
            mount(
                None::<&str>,
                "/",
                None::<&str>,
                MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                None::<&str>,
            )
            .map_err(|e| Error::sys("mount", "/ MS_REC|MS_PRIVATE", e))?;
            match mount(
                Some("sysfs"),
                "/sys",
                Some("sysfs"),
                MsFlags::empty(),
                None::<&str>,
            ) {
                // EBUSY: this namespace's sysfs is the one already on /sys.
                Ok(()) | Err(nix::errno::Errno::EBUSY) => {}
                Err(e) => return Err(Error::sys("mount", "sysfs on /sys", e)),
            }
            f()
        })
        .map_err(|e| Error::io("spawn thread for sysfs of", &label, e))?
        .join()
        .map_err(|_| Error::ThreadPanicked { netns: label })?
}

/// Reads a sysfs/procfs file, trimmed.
pub(crate) fn read(path: &str) -> Result<String, Error> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| Error::io("read", path, e))
}

/// Writes a value to a sysfs/procfs file.
pub(crate) fn write(path: &str, value: &str) -> Result<(), Error> {
    std::fs::write(path, value).map_err(|e| Error::io("write", format!("{value:?} to {path}"), e))
}
