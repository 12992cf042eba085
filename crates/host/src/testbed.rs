//! The local testbed: network namespaces joined by veth pairs, shaped like
//! the paper's Fig. 2 (generators A and optionally C, each linked to the
//! forwarder B).
//!
//! Naming and addressing (testbed `NAME`, 1 to 12 characters `[A-Za-z0-9_]`
//! starting with a letter, so that interface names fit in 15 bytes):
//!
//! | link | end | netns    | iface     | MAC               | IPv4          |
//! |------|-----|----------|-----------|-------------------|---------------|
//! | 1    | A   | NAME-a   | NAME-ab   | 02:78:64:00:01:01 | 10.77.1.1/24  |
//! | 1    | B   | NAME-b   | NAME-ba   | 02:78:64:00:01:02 | 10.77.1.2/24  |
//! | 2    | C   | NAME-c   | NAME-cb   | 02:78:64:00:02:01 | 10.77.2.1/24  |
//! | 2    | B   | NAME-b   | NAME-bc   | 02:78:64:00:02:02 | 10.77.2.2/24  |
//!
//! Every testbed uses the same addresses: they live in its own namespaces,
//! so testbeds never see each other. Each veth has `queues` rx and tx
//! queues and TX checksum offload off (veth leaves UDP checksums partial
//! otherwise). Creation runs `ip`/`ethtool`; reading state goes through
//! rtnetlink inside the namespaces ([`crate::iface::info`]).

use std::net::Ipv4Addr;

use crate::iface::{self, IfaceInfo};
use crate::{Error, cmd, netns};

/// What to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestbedSpec {
    pub name: String,
    pub queues: u32,
    pub with_c: bool,
}

/// What exists: the JSON of `xdplat testbed status --json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Status {
    pub name: String,
    /// Namespaces on this host, or the same inside a VM ([`crate::vm`]).
    #[serde(default)]
    pub kind: Kind,
    pub links: Vec<Link>,
    /// The guest and how to reach it, for a VM testbed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<crate::vm::VmInfo>,
}

/// The kind of a testbed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Network namespaces joined by veth pairs on this host.
    #[default]
    Netns,
    /// The same namespaces inside a QEMU guest, each owning an emulated NIC.
    Vm,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Netns => "netns",
            Kind::Vm => "vm",
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "netns" => Ok(Kind::Netns),
            "vm" => Ok(Kind::Vm),
            _ => Err(Error::BadInput {
                param: "--kind",
                value: s.into(),
                why: "expected netns (namespaces and veth pairs on this host) or vm (the same inside a QEMU guest with real NIC drivers)".into(),
            }),
        }
    }
}

/// One veth pair; `a` is the generator end (A or C), `b` the forwarder end.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Link {
    pub a: End,
    pub b: End,
}

/// One end of a link.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct End {
    pub netns: String,
    pub iface: String,
    pub mac: String,
    /// `"10.77.1.1/24"`
    pub ipv4: String,
    /// The device's driver ("veth", "virtio_net", "igb").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
}

impl End {
    /// The IPv4 address without its prefix.
    pub fn ip(&self) -> Option<Ipv4Addr> {
        self.ipv4.split('/').next()?.parse().ok()
    }

    /// The MAC as bytes.
    pub fn mac_bytes(&self) -> Option<[u8; 6]> {
        iface::parse_mac("mac", &self.mac).ok()
    }
}

/// Longest testbed name: NAME + "-ab" must fit IFNAMSIZ-1 = 15 bytes.
pub const MAX_NAME_LEN: usize = 12;
/// Most queues per veth accepted (the kernel's veth limit is far higher;
/// this catches typos).
pub const MAX_QUEUES: u32 = 64;

/// Checks a testbed name (parameter `--name`).
pub fn validate_name(name: &str) -> Result<(), Error> {
    let bad = |why: &str| Error::BadInput {
        param: "--name",
        value: name.into(),
        why: why.into(),
    };
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(bad(&format!(
            "must be 1 to {MAX_NAME_LEN} characters (interface names NAME-ab must fit 15)"
        )));
    }
    if !name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(bad(
            "must start with a letter and hold only letters, digits and _",
        ));
    }
    Ok(())
}

/// The planned shape of one end.
#[derive(Debug, Clone)]
struct EndPlan {
    netns: String,
    iface: String,
    mac: [u8; 6],
    ip: Ipv4Addr,
}

const PREFIX_LEN: u8 = 24;

fn end_plan(name: &str, link: u8, side: u8, here: char, there: char) -> EndPlan {
    EndPlan {
        netns: format!("{name}-{here}"),
        iface: format!("{name}-{here}{there}"),
        mac: [0x02, 0x78, 0x64, 0x00, link, side],
        ip: Ipv4Addr::new(10, 77, link, side),
    }
}

fn plan(name: &str, with_c: bool) -> Vec<(EndPlan, EndPlan)> {
    let mut links = vec![(
        end_plan(name, 1, 1, 'a', 'b'),
        end_plan(name, 1, 2, 'b', 'a'),
    )];
    if with_c {
        links.push((
            end_plan(name, 2, 1, 'c', 'b'),
            end_plan(name, 2, 2, 'b', 'c'),
        ));
    }
    links
}

fn namespaces(name: &str) -> [String; 3] {
    ["a", "b", "c"].map(|s| format!("{name}-{s}"))
}

/// Reads one interface inside a namespace; None when it is not there.
fn read_end(ns: &str, ifname: &str) -> Result<Option<IfaceInfo>, Error> {
    let owned = ifname.to_string();
    match netns::run_in(ns, move || iface::info(&owned))? {
        Ok(i) => Ok(Some(i)),
        Err(Error::NoIface { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn ip(ns: &str, args: &[&str]) -> Result<(), Error> {
    let mut all = vec!["-n", ns];
    all.extend_from_slice(args);
    cmd::run("ip", &all).map(|_| ())
}

fn ethtool(ns: &str, args: &[&str]) -> Result<(), Error> {
    let mut all = vec!["netns", "exec", ns, "ethtool"];
    all.extend_from_slice(args);
    cmd::run("ip", &all).map(|_| ())
}

fn create_pair(a: &EndPlan, b: &EndPlan, queues: u32) -> Result<(), Error> {
    let q = queues.to_string();
    let (amac, bmac) = (iface::format_mac(&a.mac), iface::format_mac(&b.mac));
    cmd::run(
        "ip",
        &[
            "link",
            "add",
            &a.iface,
            "netns",
            &a.netns,
            "address",
            &amac,
            "numrxqueues",
            &q,
            "numtxqueues",
            &q,
            "type",
            "veth",
            "peer",
            "name",
            &b.iface,
            "netns",
            &b.netns,
            "address",
            &bmac,
            "numrxqueues",
            &q,
            "numtxqueues",
            &q,
        ],
    )
    .map(|_| ())
}

/// Brings one end to its planned shape (MAC, address, offload, channels,
/// up).
fn shape_end(e: &EndPlan, have: &IfaceInfo, queues: u32) -> Result<(), Error> {
    if have.mac != e.mac {
        ip(
            &e.netns,
            &[
                "link",
                "set",
                "dev",
                &e.iface,
                "address",
                &iface::format_mac(&e.mac),
            ],
        )?;
    }
    if have.ipv4 != Some((e.ip, PREFIX_LEN)) {
        let addr = format!("{}/{PREFIX_LEN}", e.ip);
        ip(&e.netns, &["addr", "replace", &addr, "dev", &e.iface])?;
    }
    ethtool(&e.netns, &["-K", &e.iface, "tx", "off"])?;
    if have.num_rx_queues != queues || have.num_tx_queues != queues {
        let q = queues.to_string();
        ethtool(&e.netns, &["-L", &e.iface, "rx", &q, "tx", &q])?;
    }
    if !have.up {
        ip(&e.netns, &["link", "set", "dev", &e.iface, "up"])?;
    }
    Ok(())
}

/// Creates (or completes) the testbed; a no-op when it exists as asked.
pub fn up(spec: &TestbedSpec) -> Result<Status, Error> {
    validate_name(&spec.name)?;
    if crate::vm::exists(&spec.name) {
        return Err(Error::BadInput {
            param: "--name",
            value: spec.name.clone(),
            why: "a VM testbed of that name exists: take it down first or pick another name".into(),
        });
    }
    if spec.queues == 0 || spec.queues > MAX_QUEUES {
        return Err(Error::BadInput {
            param: "--queues",
            value: spec.queues.to_string(),
            why: format!("must be 1 to {MAX_QUEUES}"),
        });
    }
    let [na, nb, nc] = namespaces(&spec.name);
    let mut wanted = vec![na, nb];
    if spec.with_c {
        wanted.push(nc);
    }
    for ns in &wanted {
        if !netns::exists(ns) {
            cmd::run("ip", &["netns", "add", ns])?;
        }
        ip(ns, &["link", "set", "dev", "lo", "up"])?;
    }
    for (a, b) in plan(&spec.name, spec.with_c) {
        let (ha, hb) = (read_end(&a.netns, &a.iface)?, read_end(&b.netns, &b.iface)?);
        let same_shape = |h: &Option<IfaceInfo>| {
            h.as_ref().is_some_and(|i| {
                i.alloc_rx_queues == spec.queues && i.alloc_tx_queues == spec.queues
            })
        };
        if !(same_shape(&ha) && same_shape(&hb)) {
            // Missing, half made or of another queue count: (re)create.
            // Deleting one veth end deletes its peer too.
            if ha.is_some() {
                ip(&a.netns, &["link", "del", "dev", &a.iface])?;
            } else if hb.is_some() {
                ip(&b.netns, &["link", "del", "dev", &b.iface])?;
            }
            create_pair(&a, &b, spec.queues)?;
        }
        for e in [&a, &b] {
            let have = read_end(&e.netns, &e.iface)?.ok_or_else(|| Error::Testbed {
                name: spec.name.clone(),
                why: format!("{} vanished from {} right after creation", e.iface, e.netns),
            })?;
            shape_end(e, &have, spec.queues)?;
        }
    }
    netns_status(&spec.name)
}

/// Removes testbed `name`: a VM testbed's guest ([`crate::vm::down`]), or every namespace of
/// a namespace testbed (and so its veths); missing ones are fine.
pub fn down(name: &str) -> Result<(), Error> {
    validate_name(name)?;
    if crate::vm::exists(name) {
        return crate::vm::down(name);
    }
    for ns in namespaces(name) {
        if netns::exists(&ns) {
            cmd::run("ip", &["netns", "del", &ns])?;
        }
    }
    Ok(())
}

fn end_status(ns: &str, ifname: &str, name: &str) -> Result<End, Error> {
    let info = read_end(ns, ifname)?.ok_or_else(|| Error::Testbed {
        name: name.into(),
        why: format!(
            "interface {ifname} is missing from network namespace {ns}; run `xdplat testbed up --name {name}` to complete it"
        ),
    })?;
    Ok(End {
        netns: ns.into(),
        iface: ifname.into(),
        mac: iface::format_mac(&info.mac),
        ipv4: info
            .ipv4
            .map(|(ip, p)| format!("{ip}/{p}"))
            .unwrap_or_default(),
        driver: info.driver,
    })
}

/// The testbed as it is, of either kind; an error when it does not exist.
pub fn status(name: &str) -> Result<Status, Error> {
    if crate::vm::exists(name) {
        return crate::vm::status(name);
    }
    netns_status(name)
}

/// The namespace testbed `name` on this host (or, run inside a VM testbed's guest, the
/// guest's own namespaces).
pub fn netns_status(name: &str) -> Result<Status, Error> {
    validate_name(name)?;
    let [na, nb, nc] = namespaces(name);
    for ns in [&na, &nb] {
        if !netns::exists(ns) {
            return Err(Error::NoTestbed {
                name: name.into(),
                why: format!("network namespace {ns} does not exist"),
            });
        }
    }
    let with_c = netns::exists(&nc);
    let mut links = Vec::new();
    for (a, b) in plan(name, with_c) {
        links.push(Link {
            a: end_status(&a.netns, &a.iface, name)?,
            b: end_status(&b.netns, &b.iface, name)?,
        });
    }
    Ok(Status {
        name: name.into(),
        kind: Kind::Netns,
        links,
        vm: None,
    })
}

/// A testbed this process brought up, taken down when dropped (on success, error, panic, or
/// the unwinding after Ctrl-C). The guard exists before the testbed is made, so a half-made
/// one is removed too.
#[derive(Debug)]
pub struct Guard {
    pub status: Status,
    /// Say "testbed NAME removed" on stdout when it is.
    pub say_removed: bool,
}

impl Guard {
    /// Brings up `spec` under a guard.
    pub fn up(spec: &TestbedSpec) -> Result<Guard, Error> {
        let mut guard = Guard {
            status: Status {
                name: spec.name.clone(),
                kind: Kind::Netns,
                links: Vec::new(),
                vm: None,
            },
            say_removed: false,
        };
        guard.status = up(spec)?;
        Ok(guard)
    }

    pub fn name(&self) -> &str {
        &self.status.name
    }

    /// Leaves the testbed up (its removal is this guard's drop): it is the caller's now.
    pub fn keep(self) -> Status {
        let status = self.status.clone();
        std::mem::forget(self);
        status
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if validate_name(&self.status.name).is_err() {
            return;
        }
        match down(&self.status.name) {
            Ok(()) if self.say_removed => println!("testbed {} removed", self.status.name),
            Ok(()) => {}
            Err(e) => eprintln!("xdplat: removing testbed {}: {e}", self.status.name),
        }
    }
}
