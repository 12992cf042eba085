//! The host state directory: the journal of host changes not yet undone and
//! the lock that keeps two xdplat processes from configuring one host.
//!
//! Directory: `$XDPLAT_STATE_DIR`, else `/var/lib/xdplat`. Files:
//! - `host.lock`: `flock(LOCK_EX)` held while a process changes the host;
//!   it holds the holder's pid, for the error message.
//! - `journal.json`: every change made and not yet undone, with the old
//!   value, written (tmp file, fsync, rename, fsync dir) *before* the change.
//!
//! An entry is either *kept* (left in force on purpose by `xdplat host
//! apply`) or owned by the process holding the lock. So an entry that is
//! not kept, found by a process that has just taken the lock, was left by
//! a process that died: the lock makes that inference safe.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::Error;

/// Default state directory.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/xdplat";
/// Environment variable that overrides it (tests use a temp dir).
pub const STATE_DIR_ENV: &str = "XDPLAT_STATE_DIR";

/// Where the journal and the lock live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir(pub PathBuf);

impl StateDir {
    /// `$XDPLAT_STATE_DIR` or `/var/lib/xdplat`.
    pub fn from_env() -> Self {
        StateDir(
            std::env::var_os(STATE_DIR_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR)),
        )
    }

    pub fn journal_path(&self) -> PathBuf {
        self.0.join("journal.json")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.0.join("host.lock")
    }

    fn ensure(&self) -> Result<(), Error> {
        std::fs::create_dir_all(&self.0)
            .map_err(|e| Error::io("create directory", self.0.display(), e))
    }
}

/// Exclusive right to change this host, released on drop.
#[derive(Debug)]
pub struct HostLock {
    _lock: Flock<File>,
    path: PathBuf,
}

impl HostLock {
    /// Takes the lock without waiting; fails naming the holder's pid.
    pub fn acquire(dir: &StateDir) -> Result<HostLock, Error> {
        dir.ensure()?;
        let path = dir.lock_path();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io("open", path.display(), e))?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(l) => l,
            Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(Error::Locked {
                    pid: if pid.is_empty() {
                        "unknown".into()
                    } else {
                        pid.into()
                    },
                    path: path.display().to_string(),
                });
            }
            Err((_, errno)) => return Err(Error::sys("flock", path.display(), errno)),
        };
        let pid = std::process::id().to_string();
        let write = |f: &mut File| -> std::io::Result<()> {
            f.set_len(0)?;
            f.rewind()?;
            f.write_all(pid.as_bytes())?;
            f.sync_data()
        };
        write(&mut lock).map_err(|e| Error::io("write pid to", path.display(), e))?;
        Ok(HostLock { _lock: lock, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Where a setting applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Network namespace (`ip netns` name); None: the caller's own.
    pub netns: Option<String>,
    /// Interface, for per-device settings.
    pub iface: Option<String>,
}

impl Target {
    pub fn new(netns: Option<&str>, iface: Option<&str>) -> Self {
        Target {
            netns: netns.map(str::to_string),
            iface: iface.map(str::to_string),
        }
    }

    /// "IF in netns NS", for messages.
    pub fn describe(&self) -> String {
        let ns = self.netns.as_deref().unwrap_or("the current namespace");
        match &self.iface {
            Some(i) => format!("device {i} (network namespace {ns})"),
            None => "this host".into(),
        }
    }
}

/// One change made and not yet undone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Unique within the journal.
    pub id: u64,
    /// The process that made it.
    pub pid: u32,
    pub key: String,
    pub target: Target,
    /// The value asked for.
    pub value: String,
    /// The setting's own encoding of what was there before.
    pub old: String,
    /// Left in force on purpose (`xdplat host apply`): undone only by an
    /// explicit restore, not by the crash recovery of the next process.
    #[serde(default)]
    pub kept: bool,
}

/// The on-disk journal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub schema: u32,
    pub entries: Vec<Entry>,
}

impl Journal {
    /// Reads the journal; a missing file is an empty journal.
    pub fn load(dir: &StateDir) -> Result<Journal, Error> {
        let path = dir.journal_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Journal::empty()),
            Err(e) => return Err(Error::io("read", path.display(), e)),
        };
        serde_json::from_str(&text).map_err(|e| Error::Journal {
            path: path.display().to_string(),
            why: format!(
                "not a valid journal ({e}); fix or remove it by hand after checking the host"
            ),
        })
    }

    pub fn empty() -> Journal {
        Journal {
            schema: 1,
            entries: Vec::new(),
        }
    }

    /// Writes atomically and durably: tmp file, fsync, rename, fsync dir.
    pub fn save(&self, dir: &StateDir) -> Result<(), Error> {
        dir.ensure()?;
        let path = dir.journal_path();
        let tmp = dir.0.join("journal.json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Journal {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        let mut f = File::create(&tmp).map_err(|e| Error::io("create", tmp.display(), e))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io("write", tmp.display(), e))?;
        drop(f);
        std::fs::rename(&tmp, &path)
            .map_err(|e| Error::io("rename to journal", tmp.display(), e))?;
        File::open(&dir.0)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io("fsync directory", dir.0.display(), e))
    }

    /// Next free entry id.
    pub fn next_id(&self) -> u64 {
        self.entries.iter().map(|e| e.id + 1).max().unwrap_or(0)
    }
}
