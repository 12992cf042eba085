//! Ownership on disk (`host::owner`): a sweep directory's lease and the record of what its holder
//! made. A `--resume` while the sweep still runs is refused and touches nothing of it; a sweep
//! killed with SIGKILL leaves its testbed on record, and the resumed sweep takes it over and
//! removes it at its end.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::sweeps::*;
use common::*;

/// A sweep child process, SIGKILLed on drop if still running.
struct Sweep(Child);

impl Drop for Sweep {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Testbed namespaces of `name` removed on drop, whatever the test left.
struct Namespaces(String);

impl Drop for Namespaces {
    fn drop(&mut self) {
        let _ = host::testbed::down(&self.0);
    }
}

fn children(out: &Path) -> usize {
    std::fs::read_to_string(out.join(".children"))
        .unwrap_or_default()
        .lines()
        .count()
}

fn wait_until(what: &str, limit: Duration, f: impl Fn() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn file(name: &str, count: u32) -> String {
    format!(
        "[testbed]\nname = \"{name}\"\n\n[probe]\ninterval = \"1ms\"\ncount = {count}\nrepetitions = 1\nlinger = \"50ms\"\n\n[axes]\nfwd.poll = [false, true]\n"
    )
}

#[test]
fn resume_while_the_sweep_runs_is_refused_and_touches_nothing() {
    let Some(tb) = TestTestbed::new("own", 1) else {
        return;
    };
    let dir = out_dir("own-live");
    let state = dir.join("state");
    let exp = write(&dir, &file(tb.name(), 1500));
    let out = dir.join("out");
    let mut first = Sweep(
        sweep_cmd(&exp, &out, &state)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sweep"),
    );
    wait_until("a role of the first sweep", Duration::from_secs(60), || {
        children(&out) > 0
    });
    let o = sweep_cmd(&exp, &out, &state)
        .arg("--resume")
        .output()
        .expect("second sweep");
    let msg = text(&o);
    assert_eq!(o.status.code(), Some(2), "{msg}");
    assert!(
        msg.contains("still running") && msg.contains(&first.0.id().to_string()),
        "{msg}"
    );
    let status = first.0.wait().expect("first sweep");
    let mut err = String::new();
    if let Some(mut e) = first.0.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    assert!(status.success(), "the first sweep was disturbed: {err}");
    assert_eq!(complete_runs(&out).len(), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_resumed_sweep_removes_the_testbed_its_killed_session_made() {
    if !host::test_support::require_root(
        "a_resumed_sweep_removes_the_testbed_its_killed_session_made",
    ) {
        return;
    }
    let name = host::test_support::unique_name("ownk");
    let _cleanup = Namespaces(name.clone());
    let dir = out_dir("own-kill");
    let state = dir.join("state");
    let exp = write(&dir, &file(&name, 1500));
    let out = dir.join("out");
    let mut first = Sweep(
        sweep_cmd(&exp, &out, &state)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sweep"),
    );
    wait_until(
        "the sweep's testbed and a role",
        Duration::from_secs(60),
        || host::netns::exists(&format!("{name}-a")) && children(&out) > 0,
    );
    first.0.kill().expect("SIGKILL");
    let _ = first.0.wait();
    assert!(
        host::netns::exists(&format!("{name}-a")),
        "the killed sweep's testbed is still up"
    );
    let o = sweep_cmd(&exp, &out, &state)
        .arg("--resume")
        .output()
        .expect("resume");
    let msg = text(&o);
    assert!(o.status.success(), "{msg}");
    assert!(msg.contains("taken over"), "{msg}");
    assert_eq!(complete_runs(&out).len(), 3);
    for s in ["a", "b"] {
        assert!(
            !host::netns::exists(&format!("{name}-{s}")),
            "{name}-{s} left behind: {msg}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
