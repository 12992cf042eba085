//! Who owns a guest, recorded on disk so that no QEMU outlives its owner for long.
//!
//! Each VM testbed has a state directory `/var/lib/xdplat/vm/NAME/` holding `record.json`
//! (written before QEMU starts, updated once it runs) and the files the guest reads. The
//! state directory's path is in the command line of every process of the guest (virtme-ng's
//! `vng`, `virtme-run`, QEMU: `-pidfile DIR/qemu.pid`), so [`processes`] finds them all by it,
//! whatever their pids. A guest whose owner process is gone (SIGKILLed `testbed up`, sweep or
//! test) is an orphan: the next `testbed up` or `testbed down` of any VM testbed reaps it.
//! `testbed up` hands its guest over to no one once it is ready: it stays until `testbed down`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::Error;

/// Where VM testbeds keep their state (not `$XDPLAT_STATE_DIR`: a testbed is machine-wide,
/// like the namespaces of the local testbed).
pub const STATE_ROOT: &str = "/var/lib/xdplat/vm";

/// The state directory of testbed `name`.
pub fn state_dir(name: &str) -> PathBuf {
    Path::new(STATE_ROOT).join(name)
}

/// A process, told apart from a later one with the same pid by its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcId {
    pub pid: i32,
    /// Field 22 of /proc/PID/stat (clock ticks since boot).
    pub start: u64,
}

impl ProcId {
    /// The calling process.
    pub fn me() -> Option<ProcId> {
        let pid = std::process::id() as i32;
        Some(ProcId {
            pid,
            start: start_time(pid)?,
        })
    }

    /// Still the same process?
    pub fn alive(&self) -> bool {
        start_time(self.pid) == Some(self.start)
    }
}

/// Process `pid` as it is now.
pub fn start_of(pid: i32) -> Option<ProcId> {
    Some(ProcId {
        pid,
        start: start_time(pid)?,
    })
}

fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may hold spaces and parentheses: the fields after the last ')'
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

/// `record.json`: what was started, how to reach it, and who owns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub name: String,
    /// The process that brought the guest up and will take it down; None once `testbed up`
    /// finished (the guest then stays until `testbed down`).
    pub owner: Option<ProcId>,
    /// virtme-ng's process, the leader of the guest's process group.
    pub leader: Option<ProcId>,
    pub nic: String,
    pub queues: u32,
    pub with_c: bool,
    pub accel: String,
    pub accel_note: Option<String>,
    pub qemu: String,
    pub kernel: String,
    pub kernel_release: String,
    /// Host port forwarded to the guest's sshd (127.0.0.1 only).
    pub ssh_port: u16,
    /// The xdplat binary the guest runs (the host's, through the shared root).
    pub xdplat: String,
    /// Seconds from start to a guest answering over ssh.
    pub boot_s: Option<f64>,
}

impl Record {
    pub fn path(name: &str) -> PathBuf {
        state_dir(name).join("record.json")
    }

    pub fn load(name: &str) -> Option<Record> {
        let text = std::fs::read_to_string(Self::path(name)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes atomically (temporary file + rename).
    pub fn save(&self) -> Result<(), Error> {
        let p = Self::path(&self.name);
        let tmp = p.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(self).map_err(|e| Error::Testbed {
            name: self.name.clone(),
            why: format!("record.json: {e}"),
        })?;
        std::fs::write(&tmp, body).map_err(|e| Error::io("write", tmp.display(), e))?;
        std::fs::rename(&tmp, &p).map_err(|e| Error::io("rename", p.display(), e))
    }

    /// The owner is gone while its guest may still run.
    pub fn orphaned(&self) -> bool {
        self.owner.is_some_and(|o| !o.alive())
    }
}

/// Whether `path` was last modified more than `age` ago (a path that cannot be read counts as
/// old).
pub fn older_than(path: &Path, age: std::time::Duration) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_none_or(|e| e > age)
}

/// The pids of every process whose command line names `dir` (the guest's processes).
pub fn processes(dir: &Path) -> Vec<i32> {
    let marker = format!("{}/", dir.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                c.split(|b| *b == 0)
                    .any(|arg| String::from_utf8_lossy(arg).contains(&marker))
            })
        })
        .collect()
}

/// Stops every process of the guest in `dir`: SIGTERM (QEMU quits at once), then SIGKILL for
/// whatever is left after `grace`. True when none is left.
pub fn stop_all(dir: &Path, grace: Duration) -> bool {
    for sig in [Signal::SIGTERM, Signal::SIGKILL] {
        let pids = processes(dir);
        if pids.is_empty() {
            return true;
        }
        for p in &pids {
            let _ = kill(Pid::from_raw(*p), sig);
        }
        let t0 = Instant::now();
        while t0.elapsed() < grace {
            if processes(dir).is_empty() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    processes(dir).is_empty()
}

/// The names of every VM testbed with a state directory.
pub fn all_names() -> Vec<String> {
    let Ok(d) = std::fs::read_dir(STATE_ROOT) else {
        return Vec::new();
    };
    let mut v: Vec<String> = d
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn me_is_alive_and_a_made_up_start_is_not() {
        let me = ProcId::me().unwrap();
        assert!(me.alive());
        assert!(
            !ProcId {
                pid: me.pid,
                start: me.start + 1
            }
            .alive()
        );
    }

    #[test]
    fn finds_processes_by_their_command_line() {
        let dir = std::env::temp_dir().join(format!("xdplat-vm-owner-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let arg = format!("{}/marker", dir.display());
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30", &arg])
            .spawn()
            .unwrap();
        // until the shell's own fork of itself (the same command line, before it execs sleep)
        // is gone
        let t0 = Instant::now();
        while processes(&dir) != vec![child.id() as i32] && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(processes(&dir), vec![child.id() as i32]);
        assert!(stop_all(&dir, Duration::from_secs(2)) || child.try_wait().unwrap().is_some());
        let _ = child.wait();
        assert!(processes(&dir).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
