//! Quiet control traffic: where the sweep's own control runs (ssh to each remote host, the ssh
//! session this sweep itself was started from, as Ansible starts it, and the sweep's process),
//! checked against what the run probes (the roles' interfaces and addresses, their pinned CPUs),
//! and written in each run's summary (`control`). A control connection to an address of a
//! probed interface would put its packets in the measurement: it is named, and `quiet` is false.
//! While the roles measure, the sweep's process only waits for them.

use std::collections::BTreeSet;
use std::net::{IpAddr, ToSocketAddrs};

use serde::Serialize;

use crate::experiment::{Exec, Experiment};

/// One control channel.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Channel {
    /// `ssh to HOST`, `the sweep's own ssh session`.
    pub what: String,
    /// The address it reaches (or arrived on), when known.
    pub address: Option<String>,
    /// It reaches an address of a probed interface.
    pub on_probed: bool,
}

/// The `control` section of a run's summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Control {
    pub quiet: bool,
    pub channels: Vec<Channel>,
    /// The probed interfaces, `host:iface` with their addresses.
    pub probed: Vec<String>,
    /// The CPUs the roles are pinned to on this machine, and the CPUs the sweep's process may
    /// run on (it sleeps while the roles measure).
    pub role_cpus: Vec<usize>,
    pub sweep_cpus: Vec<usize>,
    /// What is wrong, in words, when not quiet.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

fn resolve(host: &str) -> Option<IpAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(ip);
    }
    (host, 22).to_socket_addrs().ok()?.next().map(|a| a.ip())
}

/// The host part of an ssh destination (`user@host`, `host`, `[v6]`).
fn dest_host(dest: &str) -> &str {
    let h = dest.rsplit('@').next().unwrap_or(dest);
    h.trim_start_matches('[').trim_end_matches(']')
}

/// The control of a run of `exp` (the experiment as run from its pinger).
pub fn check(exp: &Experiment) -> Control {
    let mut probed_ips: BTreeSet<IpAddr> = BTreeSet::new();
    let mut probed = Vec::new();
    for name in exp.pingers.iter().chain([&exp.fwd_host]) {
        let h = &exp.hosts[name];
        if let Some(ip) = h.ip {
            probed_ips.insert(IpAddr::V4(ip));
        }
        probed.push(format!(
            "{name}:{}{}",
            h.iface.as_deref().unwrap_or("?"),
            h.ip.map(|i| format!(" ({i})")).unwrap_or_default()
        ));
    }
    for (_, ip, _) in exp.fwd_links.values() {
        if let Some(ip) = ip {
            probed_ips.insert(IpAddr::V4(*ip));
        }
    }
    let mut channels = Vec::new();
    for h in exp.hosts.values() {
        if let Exec::Ssh { dest, .. } = &h.exec {
            let ip = resolve(dest_host(dest));
            channels.push(Channel {
                what: format!("ssh to host {} ({dest})", h.name),
                address: ip.map(|i| i.to_string()),
                on_probed: ip.is_some_and(|i| probed_ips.contains(&i)),
            });
        }
    }
    // SSH_CONNECTION: client address, client port, server address, server port
    if let Ok(conn) = std::env::var("SSH_CONNECTION") {
        let server = conn.split_whitespace().nth(2).map(str::to_string);
        let ip = server.as_deref().and_then(|s| s.parse::<IpAddr>().ok());
        channels.push(Channel {
            what: "the ssh session the sweep runs in (Ansible's)".into(),
            address: server,
            on_probed: ip.is_some_and(|i| probed_ips.contains(&i)),
        });
    }
    let role_cpus: Vec<usize> = exp
        .pingers
        .iter()
        .chain([&exp.fwd_host])
        .filter_map(|n| {
            let h = &exp.hosts[n];
            (h.exec == Exec::Local).then_some(h.cpu).flatten()
        })
        .collect();
    let sweep_cpus = probe::knobs::allowed_cpus().unwrap_or_default();
    let mut problems: Vec<String> = channels
        .iter()
        .filter(|c| c.on_probed)
        .map(|c| {
            format!(
                "{} reaches {}, an address of a probed interface: give the host a management address in its ssh destination",
                c.what,
                c.address.as_deref().unwrap_or("?")
            )
        })
        .collect();
    problems.dedup();
    Control {
        quiet: problems.is_empty(),
        channels,
        probed,
        role_cpus,
        sweep_cpus,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_destinations_are_read_like_ssh() {
        assert_eq!(dest_host("root@10.0.0.2"), "10.0.0.2");
        assert_eq!(dest_host("gen"), "gen");
        assert_eq!(dest_host("u@[fe80::1]"), "fe80::1");
        assert_eq!(resolve("10.1.2.3"), Some("10.1.2.3".parse().unwrap()));
    }

    #[test]
    fn control_over_a_probed_address_is_not_quiet() {
        let text = "[hosts.a]\nssh = \"root@10.9.0.1\"\niface = \"eth1\"\nip = \"10.9.0.1\"\n[hosts.b]\nssh = \"root@192.168.5.2\"\niface = \"eth1\"\nip = \"10.9.0.2\"\n[probe]\ninterval = \"1ms\"\n";
        let exp = Experiment::parse(text, "t.toml").expect("parses");
        let c = check(&exp);
        assert!(!c.quiet, "{c:?}");
        assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
        assert!(c.problems[0].contains("host a") && c.problems[0].contains("10.9.0.1"));
        assert!(
            c.channels
                .iter()
                .any(|ch| ch.what.contains("host b") && !ch.on_probed)
        );
    }
}
