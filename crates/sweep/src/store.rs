//! The results store: `DIR/experiment.toml` (the file as run, then the xdplat version and host
//! facts as comments), `DIR/runs/<run-id>/` (written as `runs/.tmp-<run-id>` and renamed when
//! complete, so a run directory exists only when whole), `DIR/index.json` (every planned run
//! with its status, rewritten atomically after each run) and `DIR/.children` (the role
//! processes in flight, so that a sweep killed with SIGKILL leaves none behind once resumed).
//! With `rate = "auto"`, `DIR/calibration/` holds the calibration run (committed the same way).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::Error;
use crate::experiment::Search;

const EXPERIMENT: &str = "experiment.toml";
pub(crate) const INDEX: &str = "index.json";
const CHILDREN: &str = ".children";
const REMOTE: &str = ".remote-holders";
const CALIBRATION: &str = "calibration";
/// What `host::owner::Lease` keeps in a sweep directory.
const LEASE_FILES: [&str; 3] = [".lock", ".owner.json", "..owner.json.tmp"];
const RACE: &str = "race";
const SEARCH_FACT: &str = "search: ";

/// Set in the environment of every local role process of a sweep (the sweep directory), so that
/// a resumed sweep finds the roles a SIGKILL left even when they were started a moment before
/// `.children` could name them.
pub const OWNER_ENV: &str = "XDPLAT_SWEEP_DIR";
pub(crate) const AS_RUN: &str = "\n# --- as run ---\n";

/// A sweep's output directory.
#[derive(Debug)]
pub struct Store {
    pub dir: PathBuf,
}

/// Writes `path` atomically: temporary file, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, body: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    let mut f = File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    f.write_all(body).map_err(|e| Error::io("write", &tmp, e))?;
    f.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| Error::io("rename", path, e))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync", dir, e))
}

impl Store {
    /// Checks `dir` for a sweep of the file `text` before anything is made there: a writable
    /// place, and either a new (or empty) directory, or (with `resume`) one holding the same
    /// experiment. Anything else is refused (bad input). Reads only.
    pub fn check(dir: &Path, text: &str, resume: bool) -> Result<(), Error> {
        host::owner::check_out_dir("--out", dir).map_err(Error::BadInput)?;
        let exp = dir.join(EXPERIMENT);
        if exp.exists() {
            if !resume {
                return Err(Error::BadInput(format!(
                    "{} already holds a sweep: add --resume to continue it, or choose another --out",
                    dir.display()
                )));
            }
            let old = std::fs::read_to_string(&exp).map_err(|e| Error::io("read", &exp, e))?;
            let old = old.split(AS_RUN).next().unwrap_or_default();
            if old != text {
                return Err(Error::BadInput(format!(
                    "{}: the experiment file differs from the one this sweep began with; resume with that file, or choose another --out",
                    exp.display()
                )));
            }
            return Ok(());
        }
        // an empty runs/ and the temporary of experiment.toml are what a sweep killed before
        // its first complete write leaves, the lease files what one refused before it began
        let exp_tmp = format!(".{EXPERIMENT}.tmp");
        let ours = |e: &std::fs::DirEntry| {
            let name = e.file_name();
            (name == "runs" && std::fs::read_dir(e.path()).is_ok_and(|mut r| r.next().is_none()))
                || name == exp_tmp.as_str()
                || LEASE_FILES.iter().any(|f| name == *f)
        };
        let non_empty = std::fs::read_dir(dir).is_ok_and(|d| d.flatten().any(|e| !ours(&e)));
        if non_empty {
            return Err(Error::BadInput(format!(
                "{} exists and is not a sweep directory: choose another --out",
                dir.display()
            )));
        }
        Ok(())
    }

    /// Opens `dir` (checked by [`Store::check`], its lease held) for a sweep of the file `text`:
    /// writes `experiment.toml` with the host `facts` when it is new.
    pub fn open(dir: &Path, text: &str, facts: &str, resume: bool) -> Result<Store, Error> {
        Store::check(dir, text, resume)?;
        let store = Store {
            dir: dir.to_path_buf(),
        };
        let exp = dir.join(EXPERIMENT);
        if exp.exists() {
            return Ok(store);
        }
        std::fs::create_dir_all(dir.join("runs"))
            .map_err(|e| Error::io("create", dir.join("runs"), e))?;
        let mut body = text.to_string();
        body.push_str(AS_RUN);
        for l in facts.lines() {
            body.push_str("# ");
            body.push_str(l);
            body.push('\n');
        }
        write_atomic(&exp, body.as_bytes())?;
        Ok(store)
    }

    /// True when `dir` holds a sweep (its `experiment.toml`).
    pub fn holds_sweep(dir: &Path) -> bool {
        dir.join(EXPERIMENT).is_file()
    }

    /// Removes what a sweep refused before it began left in `dir` (the lease files, an empty
    /// `runs/`), and `dir` itself when `created` and empty. Never touches a sweep's results.
    pub fn remove_unbegun(dir: &Path, created: bool) {
        if Store::holds_sweep(dir) {
            return;
        }
        for f in LEASE_FILES {
            let _ = std::fs::remove_file(dir.join(f));
        }
        let _ = std::fs::remove_dir(dir.join("runs"));
        if created {
            let _ = std::fs::remove_dir(dir);
        }
    }

    /// The value of [`OWNER_ENV`] for this sweep's role processes.
    pub fn owner_mark(&self) -> String {
        std::fs::canonicalize(&self.dir)
            .unwrap_or_else(|_| self.dir.clone())
            .display()
            .to_string()
    }

    /// The as-run fact that records a sweep's strategy, order and seed.
    pub fn search_fact(s: &Search) -> String {
        format!(
            "{SEARCH_FACT}strategy {}, order {}, seed {}\n",
            s.strategy,
            s.order,
            s.seed.unwrap_or(0)
        )
    }

    /// The strategy, order and seed the first session of the sweep in `dir` recorded.
    pub fn recorded_search(dir: &Path) -> Option<Search> {
        let text = std::fs::read_to_string(dir.join(EXPERIMENT)).ok()?;
        let facts = text.split(AS_RUN).nth(1)?;
        let line = facts
            .lines()
            .find_map(|l| l.strip_prefix("# ")?.strip_prefix(SEARCH_FACT))?;
        let mut s = Search::default();
        for part in line.split(", ") {
            let (k, v) = part.split_once(' ')?;
            match k {
                "strategy" => s.strategy = v.parse().ok()?,
                "order" => s.order = v.parse().ok()?,
                "seed" => s.seed = Some(v.parse().ok()?),
                _ => {}
            }
        }
        Some(s)
    }

    /// Where the slices of a race live (`DIR/race/`), and the race's record.
    pub fn race_dir(&self) -> PathBuf {
        self.dir.join(RACE)
    }

    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.dir.join("runs").join(id)
    }

    pub fn tmp_dir(&self, id: &str) -> PathBuf {
        self.dir.join("runs").join(format!(".tmp-{id}"))
    }

    /// True when run `id` is complete.
    pub fn is_done(&self, id: &str) -> bool {
        self.run_dir(id).join(results::SUMMARY_FILE).is_file()
    }

    /// The calibration run of `rate = "auto"` (not a run of the sweep) and its temporary.
    pub fn calibration_dirs(&self) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!(".tmp-{CALIBRATION}")),
            self.dir.join(CALIBRATION),
        )
    }

    /// Makes the temporary directory `tmp` the run directory `dst` (atomically and durably).
    pub fn commit(&self, tmp: &Path, dst: &Path) -> Result<(), Error> {
        sync_dir(tmp)?;
        std::fs::rename(tmp, dst).map_err(|e| Error::io("rename", dst, e))?;
        sync_dir(dst.parent().unwrap_or(&self.dir))
    }

    /// Removes a directory a run left (a partial run, or a complete one redone).
    pub fn remove(&self, dir: &Path) -> Result<(), Error> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| Error::io("remove", dir, e))?;
        }
        Ok(())
    }

    /// Removes what an interrupted sweep left: its role processes and partial runs.
    pub fn clean_leftovers(&self) -> Result<Vec<String>, Error> {
        let mut notes = Vec::new();
        for (pid, start) in self.children() {
            if start_time(pid) == Some(start) {
                let p = nix::unistd::Pid::from_raw(pid as i32);
                let _ = nix::sys::signal::kill(p, nix::sys::signal::Signal::SIGKILL);
                for _ in 0..200 {
                    if start_time(pid) != Some(start) {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                notes.push(format!(
                    "killed role process {pid} left by an interrupted sweep"
                ));
            }
        }
        let mark = format!("{OWNER_ENV}={}", self.owner_mark());
        for pid in owned_by(mark.as_bytes()) {
            let p = nix::unistd::Pid::from_raw(pid as i32);
            let _ = nix::sys::signal::kill(p, nix::sys::signal::Signal::SIGKILL);
            for _ in 0..200 {
                if start_time(pid).is_none() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            notes.push(format!(
                "killed role process {pid} left by an interrupted sweep (found by {OWNER_ENV})"
            ));
        }
        self.set_children(&[])?;
        let (cal_tmp, _) = self.calibration_dirs();
        self.remove(&cal_tmp)?;
        let runs = self.dir.join("runs");
        std::fs::create_dir_all(&runs).map_err(|e| Error::io("create", &runs, e))?;
        let mut entries: Vec<std::fs::DirEntry> = std::fs::read_dir(&runs)
            .map_err(|e| Error::io("read", &runs, e))?
            .flatten()
            .collect();
        if let Ok(r) = std::fs::read_dir(self.race_dir()) {
            entries.extend(r.flatten());
        }
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_prefix(".tmp-") {
                std::fs::remove_dir_all(e.path())
                    .map_err(|err| Error::io("remove", e.path(), err))?;
                notes.push(format!("removed the partial run {id}; it will be redone"));
            }
        }
        Ok(notes)
    }

    fn children(&self) -> Vec<(u32, u64)> {
        std::fs::read_to_string(self.dir.join(CHILDREN))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (p, s) = l.split_once(' ')?;
                Some((p.parse().ok()?, s.parse().ok()?))
            })
            .collect()
    }

    /// Records the local role processes in flight (pid and start time, against pid reuse).
    pub fn set_children(&self, pids: &[u32]) -> Result<(), Error> {
        let body: String = pids
            .iter()
            .filter_map(|p| start_time(*p).map(|s| format!("{p} {s}\n")))
            .collect();
        write_atomic(&self.dir.join(CHILDREN), body.as_bytes())
    }

    /// Records the remote `host apply --hold` processes in force (host name, remote pid).
    pub fn set_remote(&self, holders: &[(String, u32)]) -> Result<(), Error> {
        let body: String = holders.iter().map(|(h, p)| format!("{h} {p}\n")).collect();
        write_atomic(&self.dir.join(REMOTE), body.as_bytes())
    }

    /// The remote holders a killed sweep left.
    pub fn remote(&self) -> Vec<(String, u32)> {
        std::fs::read_to_string(self.dir.join(REMOTE))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (h, p) = l.split_once(' ')?;
                Some((h.to_string(), p.parse().ok()?))
            })
            .collect()
    }

    /// Rewrites `index.json` with every planned run and its status.
    pub fn write_index(&self, runs: &[Value]) -> Result<(), Error> {
        let body = json!({ "schema": 1, "runs": runs });
        let mut text = serde_json::to_vec_pretty(&body).map_err(|source| Error::Json {
            path: self.dir.join(INDEX),
            source,
        })?;
        text.push(b'\n');
        write_atomic(&self.dir.join(INDEX), &text)
    }

    /// The index as last written (empty when there is none).
    pub fn read_index(&self) -> Vec<Value> {
        std::fs::read(self.dir.join(INDEX))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v.get("runs").and_then(Value::as_array).cloned())
            .unwrap_or_default()
    }
}

/// The processes whose environment holds `entry` (`NAME=value`), other than this one.
fn owned_by(entry: &[u8]) -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == entry))
        })
        .collect()
}

use host::owner::start_time;

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xdplat-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch dir");
        d
    }

    #[test]
    fn a_sweep_killed_before_its_first_write_can_be_resumed() {
        let d = scratch("killed");
        std::fs::create_dir_all(d.join("runs")).expect("runs");
        std::fs::write(d.join(format!(".{EXPERIMENT}.tmp")), "partial").expect("tmp");
        let s = Store::open(&d, "x = 1\n", "", true).expect("a leftover temporary is no obstacle");
        assert!(s.dir.join(EXPERIMENT).is_file());
        std::fs::remove_dir_all(&d).expect("cleanup");
    }

    #[test]
    fn a_foreign_directory_is_refused() {
        let d = scratch("foreign");
        std::fs::write(d.join("notes.txt"), "mine").expect("file");
        let e = Store::open(&d, "x = 1\n", "", true).expect_err("foreign");
        assert!(e.to_string().contains("not a sweep directory"), "{e}");
        std::fs::remove_dir_all(&d).expect("cleanup");
    }
}
