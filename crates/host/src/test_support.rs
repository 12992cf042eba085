//! Helpers for tests of this and other crates: the one way a test skips (counted by
//! `scripts/test.sh`), a root check, and a testbed with a unique name that is torn down on drop,
//! even when a test panics.
//!
//! A test that cannot run here calls [`skip`] with what it lacks ([`Missing`]): it prints why,
//! and when `XDPLAT_SKIP_LOG` names a file (scripts/test.sh sets it) appends one line,
//! `CATEGORY<TAB>WHAT<TAB>TEST`. The test command counts the lines per category at the end and
//! fails when a category the machine should have was skipped: `root` when it runs as root, and
//! every category named in `XDPLAT_REQUIRE` (comma-separated, e.g. `tool,qemu`). A new kind of
//! skip is a new [`Missing`] variant and its category.

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::testbed::{self, Guard, Status, TestbedSpec};

/// The file a test run's skips are appended to, named by scripts/test.sh.
pub const SKIP_LOG_ENV: &str = "XDPLAT_SKIP_LOG";

/// What a skipped test lacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Root (namespaces, XDP, AF_XDP, host settings).
    Root,
    /// A program the test drives (`bpftrace`, `capsh`, `python3 with pyarrow`, ...).
    Tool(&'static str),
    /// Something else of the machine (a tmpfs mount, ...).
    Machine(&'static str),
    /// The VM testbed (QEMU, virtme-ng, a guest kernel: `scripts/setup.sh --with-vm`).
    Qemu(&'static str),
}

impl Missing {
    /// The category scripts/test.sh counts.
    pub fn category(self) -> &'static str {
        match self {
            Missing::Root => "root",
            Missing::Tool(_) => "tool",
            Missing::Machine(_) => "machine",
            Missing::Qemu(_) => "qemu",
        }
    }

    pub fn what(self) -> &'static str {
        match self {
            Missing::Root => "root",
            Missing::Tool(w) | Missing::Machine(w) | Missing::Qemu(w) => w,
        }
    }
}

/// Says that `test` is skipped for want of `missing`, and records it for scripts/test.sh.
pub fn skip(test: &str, missing: Missing) {
    println!("skipping {test}: needs {}", missing.what());
    let Some(path) = std::env::var_os(SKIP_LOG_ENV) else {
        return;
    };
    let line = format!("{}\t{}\t{test}\n", missing.category(), missing.what());
    // one write of one short line to an O_APPEND file: lines of parallel tests do not mix
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        panic!(
            "recording the skip of {test} in {}: {e}",
            path.to_string_lossy()
        );
    }
}

/// True when running as root; otherwise skips `test` ([`Missing::Root`]) and returns false.
pub fn require_root(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        true
    } else {
        skip(test, Missing::Root);
        false
    }
}

/// True when `program` runs (`program ARG` exits 0); otherwise skips `test` and returns false.
pub fn require_tool(test: &str, program: &'static str, arg: &str) -> bool {
    let ok = std::process::Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip(test, Missing::Tool(program));
    }
    ok
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn base36(mut n: u32) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A unique testbed name: the prefix (its letters/digits, cut to 4, "t" if
/// empty) + the pid and a per-process counter in base 36, at most 12 chars.
pub fn unique_name(prefix: &str) -> String {
    let mut p: String = prefix
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(4)
        .collect();
    if !p.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        p.insert(0, 't');
        p.truncate(4);
    }
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{p}{}{}", base36(std::process::id()), base36(n))
}

/// A fresh testbed (A and B, no C) that is removed when dropped.
#[derive(Debug)]
pub struct TestTestbed {
    pub status: Status,
    pub spec: TestbedSpec,
    _guard: Guard,
}

impl TestTestbed {
    /// Creates `PREFIX<pid><n>` with `queues` queues per veth. None (with
    /// the reason printed) when not root; panics when creation fails.
    pub fn new(prefix: &str, queues: u32) -> Option<Self> {
        Self::with_spec(prefix, queues, false)
    }

    /// As [`TestTestbed::new`], with the C generator too when `with_c`.
    pub fn with_spec(prefix: &str, queues: u32, with_c: bool) -> Option<Self> {
        if !require_root(prefix) {
            return None;
        }
        let spec = TestbedSpec {
            name: unique_name(prefix),
            queues,
            with_c,
        };
        let guard = match Guard::up(&spec) {
            Ok(g) => g,
            Err(e) => panic!("testbed up {}: {e}", spec.name),
        };
        Some(TestTestbed {
            status: guard.status.clone(),
            spec,
            _guard: guard,
        })
    }

    /// The testbed's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The A–B link.
    pub fn ab(&self) -> &testbed::Link {
        &self.status.links[0]
    }
}
