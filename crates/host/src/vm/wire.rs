//! The cables between the guest's NICs, on the host. QEMU gives each NIC a multi-queue tap
//! (`-netdev tap,queues=N`: one file per queue pair, so the guest's virtio-net has N real
//! queues; `-netdev hubport` or `socket` have one). QEMU creates the taps in the host's initial
//! namespace; they are then moved into a namespace of their own, `xdplat-vm-NAME`, and each pair
//! is joined by two tc `mirred` redirects (ingress of one tap → egress of the other): a
//! point-to-point wire with no bridge, no learning and nothing of the host's stack on it (IPv6
//! is off there). The taps vanish with QEMU; the namespace is removed by `testbed down`.

use std::time::{Duration, Instant};

use crate::{Error, cmd, netns};

/// The host namespace holding the taps of testbed `name`.
pub fn wire_netns(name: &str) -> String {
    format!("xdplat-vm-{name}")
}

/// The tap of end `end` (0, 1) of link `link` (1, 2): `x` + NAME + link + end, at most 15
/// bytes (NAME has at most 12).
pub fn tap_name(name: &str, link: u8, end: u8) -> String {
    format!("x{name}{link}{}", (b'a' + end) as char)
}

fn ip(args: &[&str]) -> Result<(), Error> {
    cmd::run("ip", args).map(|_| ())
}

/// Waits for QEMU to create `taps` (while `alive`), moves them into the wire namespace and
/// joins each pair.
pub fn connect(
    name: &str,
    pairs: &[(String, String)],
    timeout: Duration,
    alive: &dyn Fn() -> bool,
) -> Result<(), Error> {
    let ns = wire_netns(name);
    if !netns::exists(&ns) {
        ip(&["netns", "add", &ns])?;
    }
    cmd::run(
        "ip",
        &[
            "netns",
            "exec",
            &ns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ],
    )?;
    let t0 = Instant::now();
    for (a, b) in pairs {
        for tap in [a, b] {
            // QEMU opens the taps early in its start-up
            while !std::path::Path::new(&format!("/sys/class/net/{tap}")).exists() {
                if !alive() {
                    return Err(Error::Testbed {
                        name: name.into(),
                        why: format!(
                            "the guest ended (or the start was interrupted) before QEMU created tap {tap}"
                        ),
                    });
                }
                if t0.elapsed() > timeout {
                    return Err(Error::Testbed {
                        name: name.into(),
                        why: format!("QEMU did not create tap {tap} within {timeout:?}"),
                    });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            ip(&["link", "set", "dev", tap, "netns", &ns])?;
            ip(&["-n", &ns, "link", "set", "dev", tap, "up"])?;
        }
        for (from, to) in [(a, b), (b, a)] {
            let tc = |args: &[&str]| {
                let mut all = vec!["netns", "exec", ns.as_str(), "tc"];
                all.extend_from_slice(args);
                cmd::run("ip", &all).map(|_| ())
            };
            tc(&["qdisc", "add", "dev", from, "ingress"])?;
            tc(&[
                "filter", "add", "dev", from, "parent", "ffff:", "protocol", "all", "u32", "match",
                "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", to,
            ])?;
        }
    }
    Ok(())
}

/// Removes the wire namespace (with whatever taps are still in it).
pub fn remove(name: &str) -> Result<(), Error> {
    let ns = wire_netns(name);
    match ip(&["netns", "del", &ns]) {
        // another `down` of the same testbed may have removed it meanwhile
        Err(_) if !netns::exists(&ns) => Ok(()),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tap_names_fit_ifnamsiz() {
        assert_eq!(tap_name("abcdefghijkl", 2, 1), "xabcdefghijkl2b");
        assert!(tap_name("abcdefghijkl", 2, 1).len() <= 15);
    }
}
