//! What a command creates, owned on disk so that nothing is left behind and nobody else's is
//! touched.
//!
//! - [`check_out_dir`]: an output directory checked before anything is made: a directory or
//!   nothing yet, under a writable parent, not on a kernel pseudo-filesystem (`/proc`, `/sys`).
//! - [`Lease`]: the exclusive right to a directory: `flock(LOCK_EX)` on `DIR/.lock` (the holder's
//!   pid and start time inside, for messages), and the record `DIR/.owner.json` of what the
//!   holder made there or on the host ([`Owned`]: testbeds, directories, processes), written
//!   durably *before* each thing is made. The lock dies with its process, even by SIGKILL: a new
//!   holder that finds a record left by an earlier one knows that one is gone, and cleans or
//!   adopts what it made ([`Lease::previous`]); a second process while the first lives is
//!   refused ([`Error::Held`], bad input) and never touches the first one's things.
//!
//! A command that makes something records it here; another kind of thing (a VM testbed) is a
//! new [`Owned`] variant.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::Error;

const LOCK: &str = ".lock";
const RECORD: &str = ".owner.json";

/// Where a thing lives: this machine, or another one that the holder reaches (by ssh; a VM
/// testbed's guest is one more variant when it comes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Place {
    Here,
    /// An ssh destination (`user@server`, or a `Host` of ssh_config).
    Ssh(String),
}

/// One thing a holder made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Owned {
    /// A namespace testbed on this machine (`host::testbed`), by name.
    Testbed(String),
    /// One network namespace, here or on another host: what a testbed made of remote
    /// machines (or of guests) records, one per namespace it adds there.
    Netns { name: String, at: Place },
    /// A directory the holder created.
    Dir(PathBuf),
    /// A process it started: pid and start time (clock ticks since boot, against pid reuse).
    Process { pid: u32, start: u64 },
}

/// Who holds (or held) a lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub start: u64,
    /// The command, for messages (`xdplat sweep run`).
    pub what: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Record {
    holder: Option<Holder>,
    owned: Vec<Owned>,
}

/// The exclusive right to a directory and the record of what its holder made; released (the
/// lock, not the record) on drop.
#[derive(Debug)]
pub struct Lease {
    dir: PathBuf,
    _lock: Flock<File>,
    record: Record,
    previous: Vec<Owned>,
    created: bool,
}

impl Lease {
    /// Creates `dir` if needed and takes its lock without waiting. Fails with [`Error::Held`]
    /// while another live process holds it.
    pub fn acquire(dir: &Path, what: &str) -> Result<Lease, Error> {
        let created = !dir.exists();
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io("create directory", dir.display(), e))?;
        let path = dir.join(LOCK);
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
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder: Option<Holder> = serde_json::from_str(&text).ok();
                return Err(Error::Held {
                    what: holder
                        .as_ref()
                        .map_or("another xdplat process".into(), |h| h.what.clone()),
                    pid: holder.map_or("unknown".into(), |h| h.pid.to_string()),
                    path: dir.display().to_string(),
                });
            }
            Err((_, errno)) => return Err(Error::sys("flock", path.display(), errno)),
        };
        let me = Holder {
            pid: std::process::id(),
            start: start_time(std::process::id()).unwrap_or(0),
            what: what.to_string(),
        };
        let body = serde_json::to_vec(&me).unwrap_or_default();
        let write = |f: &mut File| -> std::io::Result<()> {
            f.set_len(0)?;
            f.rewind()?;
            f.write_all(&body)?;
            f.sync_data()
        };
        write(&mut lock).map_err(|e| Error::io("write holder to", path.display(), e))?;
        let old: Record = match std::fs::read(dir.join(RECORD)) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
            Err(_) => Record::default(),
        };
        let lease = Lease {
            dir: dir.to_path_buf(),
            _lock: lock,
            record: Record {
                holder: Some(me),
                owned: Vec::new(),
            },
            previous: old.owned,
            created,
        };
        lease.save()?;
        Ok(lease)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True when [`Lease::acquire`] created the directory.
    pub fn created_dir(&self) -> bool {
        self.created
    }

    /// What an earlier holder recorded and never released (it is gone: this process holds the
    /// lock). The caller cleans each thing up, or [`Lease::adopt`]s it.
    pub fn previous(&self) -> &[Owned] {
        &self.previous
    }

    /// Takes over `o` from the earlier holder: from now on it is this holder's.
    pub fn adopt(&mut self, o: &Owned) -> Result<(), Error> {
        self.previous.retain(|p| p != o);
        self.record(o.clone())
    }

    /// Forgets `o` of the earlier holder (cleaned up, or found gone).
    pub fn forget_previous(&mut self, o: &Owned) -> Result<(), Error> {
        self.previous.retain(|p| p != o);
        self.save()
    }

    /// Records `o` durably; call it *before* making the thing, so a crash in between still
    /// leaves it on record.
    pub fn record(&mut self, o: Owned) -> Result<(), Error> {
        if !self.record.owned.contains(&o) {
            self.record.owned.push(o);
        }
        self.save()
    }

    /// Forgets `o` once it is gone.
    pub fn release(&mut self, o: &Owned) -> Result<(), Error> {
        self.record.owned.retain(|x| x != o);
        self.save()
    }

    /// What this holder owns now.
    pub fn owned(&self) -> &[Owned] {
        &self.record.owned
    }

    /// Both lists go to disk: what is still the earlier holder's stays on record until cleaned.
    fn save(&self) -> Result<(), Error> {
        let mut all = self.record.clone();
        all.owned.extend(self.previous.iter().cloned());
        let body = serde_json::to_vec_pretty(&all).unwrap_or_default();
        write_atomic(&self.dir.join(RECORD), &body)
    }
}

/// Writes `path` atomically and durably: temporary file, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, body: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = File::create(&tmp).map_err(|e| Error::io("create", tmp.display(), e))?;
    f.write_all(body)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io("write", tmp.display(), e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| Error::io("rename", path.display(), e))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync", dir.display(), e))
}

/// The start time (clock ticks since boot) of process `pid`, from /proc/PID/stat; None when
/// it does not exist or is a zombie (as good as gone).
pub fn start_time(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    // fields after the command: state(3) ... starttime(22)
    let mut f = rest.split_whitespace();
    if f.next()? == "Z" {
        return None;
    }
    f.nth(18)?.parse().ok()
}

/// True when the process of `pid` with that start time still runs.
pub fn alive(pid: u32, start: u64) -> bool {
    start_time(pid) == Some(start)
}

/// Kernel pseudo-filesystems: nothing of a result belongs there.
const PSEUDO_FS: [(i64, &str); 9] = [
    (0x9fa0, "procfs"),
    (0x6265_6572, "sysfs"),
    (0x6367_7270, "cgroup2"),
    (0x0027_e0eb, "cgroup"),
    (0x6462_6720, "debugfs"),
    (0x7472_6163, "tracefs"),
    (0xcafe_4a11, "bpffs"),
    (0x7363_6673, "securityfs"),
    (0x1cd1, "devpts"),
];

/// Checks an output directory before anything is made (parameter `param`, e.g. `--out`): it
/// is a directory or does not exist yet; its nearest existing ancestor is a directory this
/// process may write into, on a writable filesystem that is not a kernel pseudo-filesystem.
/// Reads only; Err is the message (bad input).
pub fn check_out_dir(param: &str, dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    if dir.as_os_str().is_empty() {
        return Err(format!("{param} is empty: give a directory"));
    }
    if dir.exists() && !dir.is_dir() {
        return Err(format!(
            "{param} {shown} is not a directory: choose a directory (it is created if missing)"
        ));
    }
    let mut at: PathBuf = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("{param} {shown}: the current directory is unreadable: {e}"))?
            .join(dir)
    };
    while !at.exists() {
        if !at.pop() {
            break;
        }
    }
    if !at.is_dir() {
        return Err(format!(
            "{param} {shown}: {} is not a directory, so nothing can be created below it: choose another path",
            at.display()
        ));
    }
    if let Ok(st) = nix::sys::statfs::statfs(&at) {
        // f_type is a C long here, narrower on some architectures
        #[allow(clippy::unnecessary_cast)]
        let t = st.filesystem_type().0 as i64;
        if let Some((_, name)) = PSEUDO_FS.iter().find(|(m, _)| *m == t) {
            return Err(format!(
                "{param} {shown}: {} is on {name}, a kernel filesystem that holds no files of ours: choose a directory on a disk",
                at.display()
            ));
        }
    }
    use nix::unistd::{AccessFlags, access};
    if let Err(e) = access(&at, AccessFlags::W_OK | AccessFlags::X_OK) {
        return Err(format!(
            "{param} {shown}: cannot write into {} ({}): choose a writable directory",
            at.display(),
            e.desc()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xdplat-owner-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn out_dirs_that_cannot_hold_results_are_refused() {
        let d = tmp("out");
        assert!(check_out_dir("--out", &d.join("a/b")).is_ok());
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("file");
        std::fs::write(&f, "x").unwrap();
        assert!(
            check_out_dir("--out", &f)
                .unwrap_err()
                .contains("not a directory")
        );
        assert!(
            check_out_dir("--out", &f.join("below"))
                .unwrap_err()
                .contains("not a directory")
        );
        assert!(
            check_out_dir("--out", Path::new("/proc/xdplat"))
                .unwrap_err()
                .contains("procfs")
        );
        assert!(
            check_out_dir("--out", Path::new("/sys/x/y"))
                .unwrap_err()
                .contains("sysfs")
        );
        assert!(check_out_dir("--out", Path::new("")).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_lease_is_exclusive_and_its_record_outlives_its_holder() {
        let d = tmp("lease");
        let mut first = Lease::acquire(&d, "test").unwrap();
        assert!(first.created_dir());
        first.record(Owned::Testbed("tb".into())).unwrap();
        // flock is per open file description: a second open in this process conflicts too
        match Lease::acquire(&d, "test") {
            Err(Error::Held { pid, .. }) => assert_eq!(pid, std::process::id().to_string()),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        let mut second = Lease::acquire(&d, "test").unwrap();
        assert!(!second.created_dir());
        assert_eq!(second.previous(), &[Owned::Testbed("tb".into())]);
        second.adopt(&Owned::Testbed("tb".into())).unwrap();
        assert!(second.previous().is_empty());
        second.release(&Owned::Testbed("tb".into())).unwrap();
        drop(second);
        // a namespace on another host is recorded as such, and read back
        let remote = Owned::Netns {
            name: "tb-a".into(),
            at: Place::Ssh("root@server".into()),
        };
        let mut third = Lease::acquire(&d, "test").unwrap();
        third.record(remote.clone()).unwrap();
        drop(third);
        let mut fourth = Lease::acquire(&d, "test").unwrap();
        assert_eq!(fourth.previous(), std::slice::from_ref(&remote));
        fourth.forget_previous(&remote).unwrap();
        drop(fourth);
        let third = Lease::acquire(&d, "test").unwrap();
        assert!(third.previous().is_empty());
        drop(third);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
