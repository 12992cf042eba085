//! Helpers for tests of this and other crates: a root check and a testbed
//! with a unique name that is torn down on drop, even when a test panics.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::testbed::{self, Status, TestbedSpec};

/// True when running as root; otherwise prints
/// "skipping: needs root (TEST)" and returns false.
pub fn require_root(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        true
    } else {
        println!("skipping: needs root ({test})");
        false
    }
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
        // Guard first, so that a half-made testbed is removed too.
        let mut tb = TestTestbed {
            status: Status {
                name: spec.name.clone(),
                kind: testbed::Kind::Netns,
                links: Vec::new(),
                vm: None,
            },
            spec,
        };
        match testbed::up(&tb.spec) {
            Ok(s) => tb.status = s,
            Err(e) => panic!("testbed up {}: {e}", tb.spec.name),
        }
        Some(tb)
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

impl Drop for TestTestbed {
    fn drop(&mut self) {
        if let Err(e) = testbed::down(&self.spec.name) {
            eprintln!("TestTestbed {}: teardown failed: {e}", self.spec.name);
        }
    }
}
