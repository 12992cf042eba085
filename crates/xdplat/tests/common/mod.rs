//! Helpers for the CLI tests: run the real `xdplat` binary against a fresh namespace testbed,
//! the way a user would.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use host::test_support::TestTestbed;

pub mod ssh;
pub mod sweeps;
pub mod vm;
pub mod vm_host;

pub fn xdplat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xdplat"))
}

/// A fresh, empty directory under the target dir's tmp area, unique per test.
pub fn out_dir(test: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{test}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A forwarder child process, killed (SIGTERM, then SIGKILL) on drop.
pub struct Forwarder {
    child: Child,
    pub stdout: Option<std::process::ChildStdout>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Forwarder {
    /// Starts `xdplat fwd` in B of the testbed with `extra` flags and waits until it announces
    /// that it is ready (`probe::protocol`, as a sweep waits).
    pub fn start(tb: &TestTestbed, extra: &[&str]) -> Forwarder {
        let b = &tb.ab().b;
        let mut child = xdplat()
            .args([
                "fwd",
                "--netns",
                &b.netns,
                "--iface",
                &b.iface,
                "--duration",
                "60s",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn xdplat fwd");
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stderr).lines();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        loop {
            match lines.next() {
                Some(Ok(line)) => {
                    let ready = is_ready(&line);
                    seen.push(line);
                    if ready {
                        break;
                    }
                }
                _ => {
                    let status = child.wait().ok();
                    panic!("forwarder exited before ready ({status:?}): {seen:?}");
                }
            }
            assert!(Instant::now() < deadline, "forwarder not ready: {seen:?}");
        }
        // keep draining stderr so the child never blocks on a full pipe
        let stderr = std::thread::spawn(move || {
            lines
                .map_while(Result::ok)
                .fold(String::new(), |acc, l| acc + &l + "\n")
        });
        let stdout = child.stdout.take();
        Forwarder {
            child,
            stdout,
            stderr: Some(stderr),
        }
    }

    /// Stops the forwarder with SIGTERM and returns its stdout, then what it wrote to stderr
    /// after it was ready.
    pub fn stop(mut self) -> String {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::SIGTERM,
        );
        let mut out = String::new();
        if let Some(mut s) = self.stdout.take() {
            use std::io::Read;
            let _ = s.read_to_string(&mut out);
        }
        let _ = self.child.wait();
        if let Some(t) = self.stderr.take() {
            out += &t.join().unwrap_or_default();
        }
        out
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.child.id() as i32),
                nix::sys::signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// True for a forwarder's readiness announcement.
pub fn is_ready(line: &str) -> bool {
    matches!(
        probe::protocol::Event::parse(line),
        Some(probe::protocol::Event::Ready(_))
    )
}

/// The counters a forwarder announced as it stopped (`xdp_statistics`, `xdp_program`, ...),
/// from its output.
pub fn stopped_counters(text: &str) -> serde_json::Map<String, serde_json::Value> {
    text.lines()
        .find_map(|l| match probe::protocol::Event::parse(l) {
            Some(probe::protocol::Event::Stopped(s)) => Some(s.counters),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no stopped announcement: {text}"))
}

/// `xdplat ping` from A to B of the testbed, with `extra` flags, writing into `out`.
pub fn ping(tb: &TestTestbed, out: &Path, extra: &[&str]) -> Output {
    let (a, b) = (&tb.ab().a, &tb.ab().b);
    let ip = b.ip().expect("B has an address").to_string();
    xdplat()
        .args([
            "ping", "--netns", &a.netns, "--iface", &a.iface, "--dst-ip", &ip, "--quiet",
            "--linger", "300ms",
        ])
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("run xdplat ping")
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn summary(dir: &Path) -> results::Summary {
    results::read_summary(&dir.join(results::SUMMARY_FILE)).expect("summary.json readable")
}

/// True when an XDP program is attached to `iface` in `netns` (from `ip -j` JSON).
pub fn xdp_attached(netns: &str, iface: &str) -> bool {
    let out = Command::new("ip")
        .args(["-n", netns, "-j", "link", "show", "dev", iface])
        .output()
        .expect("ip link");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v.as_array()
        .and_then(|a| a.first())
        .is_some_and(|l| l.get("xdp").is_some())
}

/// Where tests that drop to an unprivileged user keep what that user must reach: the checkout
/// (and so the target dir) may sit below a directory only root may enter (`/root`, a
/// `mktemp -d` folder), as on a fresh machine or in CI.
pub fn nobody_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("xdplat-test-nobody");
    std::fs::create_dir_all(&dir).expect("mkdir nobody dir");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod nobody dir");
    dir
}

/// The xdplat binary where an unprivileged user can run it: a hard link (a copy across
/// filesystems) in [`nobody_dir`], replaced atomically, made once per test process.
pub fn nobody_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let dir = nobody_dir();
        let bin = dir.join("xdplat");
        let tmp = dir.join(format!(".xdplat-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let src = env!("CARGO_BIN_EXE_xdplat");
        if std::fs::hard_link(src, &tmp).is_err() {
            std::fs::copy(src, &tmp).expect("copy xdplat for the unprivileged user");
        }
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod xdplat");
        std::fs::rename(&tmp, &bin).expect("place xdplat");
        bin
    })
    .clone()
}

/// A fresh output directory (not yet created) inside a world-writable parent that an
/// unprivileged user can reach.
pub fn nobody_out(test: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let parent = nobody_dir().join(format!(
        "{test}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&parent);
    std::fs::create_dir_all(&parent).expect("mkdir");
    std::fs::set_permissions(&parent, std::os::unix::fs::PermissionsExt::from_mode(0o777))
        .expect("chmod");
    parent.join("run")
}
