//! The `[hosts.NAME]` entries of an experiment file (or of an Ansible inventory): how commands
//! reach each host (a local process, a namespace, ssh) and its interface facts.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::Deserialize;

use crate::inventory::InvHost;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawHost {
    netns: Option<String>,
    #[serde(default)]
    local: bool,
    ssh: Option<String>,
    #[serde(default)]
    ssh_options: Vec<String>,
    xdplat: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    iface: Option<String>,
    #[serde(default)]
    queue: u32,
    cpu: Option<usize>,
    ip: Option<Ipv4Addr>,
    mac: Option<String>,
}

/// How commands reach a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exec {
    /// A process on this machine.
    Local,
    /// The system `ssh` client: destination and extra client options.
    Ssh { dest: String, options: Vec<String> },
}

/// One `[hosts.NAME]` entry, with the testbed facts filled in.
#[derive(Debug, Clone)]
pub struct HostSpec {
    pub name: String,
    pub exec: Exec,
    /// Network namespace the roles enter (`--netns`).
    pub netns: Option<String>,
    /// The xdplat binary on that host (None: this binary, for local hosts; `xdplat` over ssh).
    pub xdplat: Option<String>,
    /// Environment variables for the xdplat processes there (`env` over ssh).
    pub env: BTreeMap<String, String>,
    pub iface: Option<String>,
    pub queue: u32,
    pub cpu: Option<usize>,
    pub ip: Option<Ipv4Addr>,
    pub mac: Option<String>,
}

pub(super) fn netns_host(name: &str, netns: &str) -> HostSpec {
    HostSpec {
        name: name.to_string(),
        exec: Exec::Local,
        netns: Some(netns.to_string()),
        xdplat: None,
        env: BTreeMap::new(),
        iface: None,
        queue: 0,
        cpu: None,
        ip: None,
        mac: None,
    }
}

pub(super) fn host_spec(
    name: &str,
    mut h: RawHost,
    inv: Option<&InvHost>,
) -> Result<HostSpec, String> {
    // host names appear in run ids and directory names
    if name.is_empty()
        || name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "host name {name:?}: use letters, digits, '-', '_' and '.' only"
        ));
    }
    let ways = h.netns.is_some() as u8 + h.local as u8 + h.ssh.is_some() as u8;
    if let (0, Some(inv)) = (ways, inv) {
        h.ssh = Some(inv.dest());
        if let Some(p) = inv.port {
            h.ssh_options
                .splice(0..0, ["-p".to_string(), p.to_string()]);
        }
        return host_spec(name, h, None);
    }
    if ways == 0 {
        return Err(
            "say where the host is: netns = \"NS\", local = true or ssh = \"user@server\"".into(),
        );
    }
    if h.local && ways > 1 {
        return Err("local = true cannot be combined with netns or ssh".into());
    }
    let exec = match h.ssh {
        Some(dest) => {
            if dest.is_empty() || dest.starts_with('-') || dest.contains(char::is_whitespace) {
                return Err(format!("ssh = {dest:?}: expected user@server"));
            }
            Exec::Ssh {
                dest,
                options: h.ssh_options,
            }
        }
        None => {
            if !h.ssh_options.is_empty() {
                return Err("ssh-options without ssh".into());
            }
            Exec::Local
        }
    };
    if exec == Exec::Local && h.netns.is_none() && h.iface.is_none() {
        return Err("a local host needs iface".into());
    }
    if let Some(k) = h
        .env
        .keys()
        .find(|k| k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return Err(format!("env: {k:?} is not a variable name"));
    }
    if let Some(m) = h.mac.as_ref().filter(|m| *m != "auto") {
        host::iface::parse_mac("mac", m).map_err(|e| e.to_string())?;
    }
    Ok(HostSpec {
        name: name.to_string(),
        exec,
        netns: h.netns,
        xdplat: h.xdplat,
        env: h.env,
        iface: h.iface,
        queue: h.queue,
        cpu: h.cpu,
        ip: h.ip,
        mac: h.mac,
    })
}
