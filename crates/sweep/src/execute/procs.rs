//! The role processes of a run: waiting for a forwarder's readiness and for a holder's hold
//! (their `probe::protocol` announcements), waiting for a ping to end, stopping a role, and what
//! a role said before it ended.

use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use probe::protocol::Event;

use crate::Error;
use crate::transport::RoleProc;

/// How long a child may take to announce it is ready or holding.
const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(30);

/// The last three lines a role printed, for messages.
pub(super) fn tail(lines: &[String]) -> String {
    let n = lines.len().saturating_sub(3);
    lines[n..].join(" | ")
}

/// Waits until `p` announces an event `wanted` accepts. Err(exit status, its other lines) when it
/// exits first, stalls, or `stop` is set.
pub(super) fn wait_for(
    p: &mut RoleProc,
    stop: &AtomicBool,
    wanted: fn(&Event) -> bool,
) -> Result<Event, (Option<ExitStatus>, String)> {
    let deadline = Instant::now() + ANNOUNCE_TIMEOUT;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if stop.load(Ordering::Relaxed) {
            return Err((None, "interrupted".into()));
        }
        match p.lines.recv_timeout(Duration::from_millis(20)) {
            Ok(l) => match Event::parse(&l) {
                Some(e) if wanted(&e) => return Ok(e),
                Some(_) => {}
                None => seen.push(l),
            },
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                let st = p.child.wait().ok();
                return Err((st, tail(&seen)));
            }
        }
        if let Ok(Some(st)) = p.child.try_wait() {
            seen.extend(stderr_after_exit(p));
            return Err((Some(st), tail(&seen)));
        }
    }
    Err((
        None,
        format!(
            "no announcement within {} s: {}",
            ANNOUNCE_TIMEOUT.as_secs(),
            tail(&seen)
        ),
    ))
}

/// Waits for `p` to exit, polling `stop`; Ok(None) when interrupted.
pub(super) fn wait_or_stop(
    p: &mut RoleProc,
    stop: &AtomicBool,
) -> Result<Option<ExitStatus>, Error> {
    loop {
        if let Some(st) = p
            .child
            .try_wait()
            .map_err(|e| Error::io("wait", "role", e))?
        {
            return Ok(Some(st));
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Stops a role (SIGINT, then SIGKILL after 5 s) and reaps it; the exit status when the role
/// had already ended by itself. Over ssh the local client ends only when the remote session
/// does, so on return the role has exited on its host and its XDP link is gone with it (the
/// next run attaches to the same interface).
pub(super) fn stop_role(p: &mut RoleProc) -> Option<ExitStatus> {
    if let Ok(Some(st)) = p.child.try_wait() {
        return Some(st);
    }
    p.interrupt();
    if wait_until(p, Duration::from_secs(5)) {
        return None;
    }
    p.kill();
    if !wait_until(p, Duration::from_secs(10)) {
        // the host did not answer: do not hang the sweep on it
        let _ = p.child.kill();
        let _ = p.child.wait();
    }
    None
}

/// True when `p` exited within `limit`.
fn wait_until(p: &mut RoleProc, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if matches!(p.child.try_wait(), Ok(Some(_))) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

/// The lines a role printed as it ended (up to half a second after).
pub(super) fn stderr_after_exit(p: &RoleProc) -> Vec<String> {
    let mut v = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(500);
    while let Ok(l) = p
        .lines
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        v.push(l);
    }
    v
}

pub(super) fn local_pids(procs: &[&RoleProc]) -> Vec<u32> {
    procs.iter().map(|p| p.child.id()).collect()
}
