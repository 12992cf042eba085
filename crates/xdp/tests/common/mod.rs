//! Test bed for the attach tests: a fresh pair of network namespaces joined
//! by a veth pair, deleted by a Drop guard even when the test panics.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::fs::File;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use nix::sched::{CloneFlags, setns};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Whether the tests can create namespaces and attach XDP; skips (counted) otherwise.
pub fn root_or_skip(test: &str) -> bool {
    host::test_support::require_root(test)
}

/// Runs `ip ARGS`, panicking with its stderr on failure; returns stdout.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("running ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("ip prints UTF-8")
}

/// Namespaces `a` and `b`, veth `if_a` (in a, 10.x.y.1/24) <-> `if_b` (in b, .2).
#[derive(Debug)]
pub struct VethPair {
    pub ns_a: String,
    pub ns_b: String,
    pub if_a: String,
    pub if_b: String,
    pub ip_a: String,
    pub ip_b: String,
}

impl VethPair {
    pub fn new() -> VethPair {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let tag = format!("{pid}x{n}");
        let subnet = format!("10.{}.{}", 100 + (pid % 100), n % 250);
        let pair = VethPair {
            ns_a: format!("xdpt{tag}a"),
            ns_b: format!("xdpt{tag}b"),
            if_a: format!("xv{tag}a"),
            if_b: format!("xv{tag}b"),
            ip_a: format!("{subnet}.1"),
            ip_b: format!("{subnet}.2"),
        };
        assert!(
            pair.if_a.len() <= 15,
            "interface name too long: {}",
            pair.if_a
        );
        // The guard exists from here on: a failure below still cleans up.
        ip(&["netns", "add", &pair.ns_a]);
        ip(&["netns", "add", &pair.ns_b]);
        ip(&[
            "link", "add", &pair.if_a, "netns", &pair.ns_a, "type", "veth", "peer", "name",
            &pair.if_b, "netns", &pair.ns_b,
        ]);
        for (ns, dev, addr) in [
            (&pair.ns_a, &pair.if_a, &pair.ip_a),
            (&pair.ns_b, &pair.if_b, &pair.ip_b),
        ] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        pair
    }

    /// Moves the calling thread (only it) into namespace `ns`.
    pub fn enter(ns: &str) {
        let f = File::open(format!("/run/netns/{ns}")).expect("opening the netns file");
        setns(f, CloneFlags::CLONE_NEWNET).expect("setns(CLONE_NEWNET)");
    }

    /// The ifindex of `if_a` (call after entering `ns_a`).
    pub fn ifindex_a(&self) -> u32 {
        nix::net::if_::if_nametoindex(self.if_a.as_str()).expect("if_nametoindex")
    }

    /// The `xdp` object of `ip -j link show` for `if_a`, if a program is attached.
    pub fn xdp_of_a(&self) -> Option<serde_json::Value> {
        let out = ip(&["-n", &self.ns_a, "-j", "link", "show", "dev", &self.if_a]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("ip -j prints JSON");
        v.get(0)?.get("xdp").cloned()
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        for ns in [&self.ns_a, &self.ns_b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}
