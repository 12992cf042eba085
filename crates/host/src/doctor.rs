//! Read-only probing for `xdplat doctor`: what a device advertises to XDP and
//! AF_XDP (the netdev family's dev-get: xdp-features, xdp-rx-metadata-features,
//! xsk-features), which XDP program is attached to it (rtnetlink IFLA_XDP), its
//! NAPI instances, and whether the driver answers the ethtool coalescing
//! request; the process's capabilities and memlock limit. Nothing here
//! changes the machine; every netlink function works in the calling
//! thread's network namespace.

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkMessage, LinkXdp, XdpAttached};

use crate::genl::{self, Val};
use crate::{Error, netdev, nl};

const NETDEV_CMD_DEV_GET: u8 = 1;
const NETDEV_A_DEV_IFINDEX: u16 = 1;
const NETDEV_A_DEV_XDP_FEATURES: u16 = 3;
const NETDEV_A_DEV_XDP_ZC_MAX_SEGS: u16 = 4;
const NETDEV_A_DEV_XDP_RX_METADATA_FEATURES: u16 = 5;
const NETDEV_A_DEV_XSK_FEATURES: u16 = 6;

/// enum netdev_xdp_act, as the netdev spec names the bits.
const XDP_ACT: &[(u64, &str)] = &[
    (1, "basic"),
    (2, "redirect"),
    (4, "ndo-xmit"),
    (8, "xsk-zerocopy"),
    (16, "hw-offload"),
    (32, "rx-sg"),
    (64, "ndo-xmit-sg"),
];
/// enum netdev_xdp_rx_metadata.
const RX_METADATA: &[(u64, &str)] = &[(1, "timestamp"), (2, "hash"), (4, "vlan-tag")];
/// enum netdev_xsk_flags.
const XSK_FLAGS: &[(u64, &str)] = &[
    (1, "tx-timestamp"),
    (2, "tx-checksum"),
    (4, "tx-launch-time-fifo"),
];

/// What a device advertises through the netdev family (kernel 6.3+; the
/// metadata and XSK sets since 6.3 and 6.8). `None` fields: the kernel did
/// not send the attribute (too old to know it).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DevFeatures {
    pub xdp_features: Option<Vec<String>>,
    pub xdp_zc_max_segs: Option<u32>,
    pub xdp_rx_metadata_features: Option<Vec<String>>,
    pub xsk_features: Option<Vec<String>>,
}

impl DevFeatures {
    /// True when the device advertises AF_XDP zero-copy (NETDEV_XDP_ACT_XSK_ZEROCOPY).
    pub fn zero_copy(&self) -> Option<bool> {
        self.xdp_features
            .as_ref()
            .map(|f| f.iter().any(|n| n == "xsk-zerocopy"))
    }
}

/// Names of the set bits of `value` (unknown bits as `bitN`).
fn names(value: u64, table: &[(u64, &str)]) -> Vec<String> {
    (0..64)
        .map(|b| 1u64 << b)
        .filter(|bit| value & bit != 0)
        .map(|bit| {
            table.iter().find(|(v, _)| *v == bit).map_or_else(
                || format!("bit{}", bit.trailing_zeros()),
                |(_, n)| n.to_string(),
            )
        })
        .collect()
}

/// NETDEV_CMD_DEV_GET for `ifindex`: Ok(Err(why)) when the kernel has no
/// netdev family or refuses the request.
pub fn dev_features(ifindex: u32) -> Result<Result<DevFeatures, String>, Error> {
    let Some(fam) = genl::family("netdev")? else {
        return Ok(Err(
            "the kernel has no netdev generic-netlink family (before 6.3)".into(),
        ));
    };
    let mut body = Vec::new();
    genl::push_attr(&mut body, NETDEV_A_DEV_IFINDEX, &ifindex.to_ne_bytes());
    let answers = genl::transact_with(fam, NETDEV_CMD_DEV_GET, false, &body).map_err(|why| {
        Error::Netlink {
            request: "NETDEV_CMD_DEV_GET",
            why,
        }
    })?;
    let answers = match answers {
        Ok(a) => a,
        Err(e) => return Ok(Err(format!("NETDEV_CMD_DEV_GET: {e}"))),
    };
    let attrs: Vec<(u16, Val)> = answers.iter().flat_map(|a| genl::flat(a)).collect();
    let get = |t: u16| attrs.iter().find(|(a, _)| *a == t).map(|(_, v)| v.as_u64());
    Ok(Ok(DevFeatures {
        xdp_features: get(NETDEV_A_DEV_XDP_FEATURES).map(|v| names(v, XDP_ACT)),
        xdp_zc_max_segs: get(NETDEV_A_DEV_XDP_ZC_MAX_SEGS).map(|v| v as u32),
        xdp_rx_metadata_features: get(NETDEV_A_DEV_XDP_RX_METADATA_FEATURES)
            .map(|v| names(v, RX_METADATA)),
        xsk_features: get(NETDEV_A_DEV_XSK_FEATURES).map(|v| names(v, XSK_FLAGS)),
    }))
}

/// An XDP program attached to a device.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttachedXdp {
    /// drv, skb, hw or multi.
    pub mode: String,
    pub prog_id: Option<u32>,
}

/// One interface of the namespace: its name, index and attached XDP program.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Link {
    pub name: String,
    pub ifindex: u32,
    pub loopback: bool,
    pub xdp: Option<AttachedXdp>,
}

fn attached(xdp: &[LinkXdp]) -> Option<AttachedXdp> {
    let mode = xdp.iter().find_map(|a| match a {
        LinkXdp::Attached(m) => Some(m),
        _ => None,
    })?;
    let mode = match mode {
        XdpAttached::None => return None,
        XdpAttached::Driver => "drv".to_string(),
        XdpAttached::SocketBuffer => "skb".to_string(),
        XdpAttached::Hardware => "hw".to_string(),
        XdpAttached::Multiple => "multi".to_string(),
        XdpAttached::Other(n) => format!("mode {n}"),
        _ => "unknown".to_string(),
    };
    let prog_id = xdp.iter().find_map(|a| match a {
        LinkXdp::ProgId(id) => Some(*id),
        _ => None,
    });
    Some(AttachedXdp { mode, prog_id })
}

fn to_link(l: &LinkMessage) -> Option<Link> {
    let name = l.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.clone()),
        _ => None,
    })?;
    let xdp = l.attributes.iter().find_map(|a| match a {
        LinkAttribute::Xdp(x) => attached(x),
        _ => None,
    });
    Some(Link {
        name,
        ifindex: l.header.index,
        loopback: l
            .header
            .flags
            .contains(netlink_packet_route::link::LinkFlags::Loopback),
        xdp,
    })
}

/// Every interface of the calling thread's namespace, by ifindex.
pub fn links() -> Result<Vec<Link>, Error> {
    let answers = nl::request(
        "RTM_GETLINK dump",
        RouteNetlinkMessage::GetLink(LinkMessage::default()),
        true,
    )?;
    let mut out: Vec<Link> = answers
        .iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => to_link(l),
            _ => None,
        })
        .collect();
    out.sort_by_key(|l| l.ifindex);
    Ok(out)
}

/// The XDP program attached to interface `name`, if any (None also when
/// there is no such interface: check with [`crate::iface::info`] first).
pub fn attached_xdp(name: &str) -> Result<Option<AttachedXdp>, Error> {
    Ok(links()?
        .into_iter()
        .find(|l| l.name == name)
        .and_then(|l| l.xdp))
}

/// The NAPI ids of device `ifindex` (netdev napi-get, kernel 6.9+); Ok(Err)
/// says why they cannot be listed.
pub fn napi_ids(ifindex: u32) -> Result<Result<Vec<u32>, String>, Error> {
    Ok(match netdev::napis(ifindex)? {
        Ok(n) => Ok(n.iter().map(|n| n.id).collect()),
        Err(netdev::Missing::Family) => {
            Err("the kernel has no netdev generic-netlink family (before 6.5)".into())
        }
        Err(netdev::Missing::NapiGet(e)) => Err(format!("NETDEV_CMD_NAPI_GET: {e}")),
    })
}

pub use crate::netdev::QueueNapi;

/// The queues of device `ifindex` with the NAPI serving each (netdev queue-get, kernel 6.9+);
/// Ok(Err) says why they cannot be listed.
pub fn queue_napis(ifindex: u32) -> Result<Result<Vec<QueueNapi>, String>, Error> {
    Ok(match netdev::queues(ifindex)? {
        Ok(q) => Ok(q),
        Err(netdev::Missing::Family) => {
            Err("the kernel has no netdev generic-netlink family (before 6.5)".into())
        }
        Err(netdev::Missing::NapiGet(e)) => Err(format!("NETDEV_CMD_QUEUE_GET: {e}")),
    })
}

/// Whether the driver of `dev` answers ETHTOOL_MSG_COALESCE_GET: Ok(Err)
/// holds the kernel's refusal (EOPNOTSUPP: no interrupt coalescing to tune).
pub fn coalescing(dev: &str) -> Result<Result<(), String>, Error> {
    Ok(genl::get(
        "ETHTOOL_MSG_COALESCE_GET",
        genl::ETHTOOL_MSG_COALESCE_GET,
        dev,
    )?
    .map(|_| ())
    .map_err(|e| e.to_string()))
}

/// Capability numbers of `linux/capability.h` that xdplat's roles use.
pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;
pub const CAP_IPC_LOCK: u32 = 14;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_PERFMON: u32 = 38;
pub const CAP_BPF: u32 = 39;

const CAP_NAMES: [&str; 41] = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// `CAP_NET_ADMIN` for 12 (`CAP_43` for numbers this table does not know).
pub fn cap_name(cap: u32) -> String {
    CAP_NAMES.get(cap as usize).map_or_else(
        || format!("CAP_{cap}"),
        |n| format!("CAP_{}", n.to_uppercase()),
    )
}

/// The capability sets of a process, as `/proc/PID/status` shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub bounding: u64,
    pub ambient: u64,
}

impl Capabilities {
    /// The calling process's sets (`/proc/self/status`).
    pub fn of_self() -> Result<Capabilities, Error> {
        const PATH: &str = "/proc/self/status";
        let text = std::fs::read_to_string(PATH).map_err(|e| Error::io("read", PATH, e))?;
        Capabilities::parse(&text).ok_or_else(|| Error::Io {
            op: "parse CapEff in",
            path: PATH.into(),
            source: std::io::Error::from(std::io::ErrorKind::InvalidData),
        })
    }

    /// Parses the `Cap*:` lines of a status file (None without CapEff).
    pub fn parse(status: &str) -> Option<Capabilities> {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        };
        Some(Capabilities {
            effective: field("CapEff")?,
            permitted: field("CapPrm").unwrap_or(0),
            inheritable: field("CapInh").unwrap_or(0),
            bounding: field("CapBnd").unwrap_or(0),
            ambient: field("CapAmb").unwrap_or(0),
        })
    }

    /// True when `cap` is in the effective set.
    pub fn has(&self, cap: u32) -> bool {
        cap < 64 && self.effective & (1 << cap) != 0
    }

    /// Names of the effective capabilities.
    pub fn effective_names(&self) -> Vec<String> {
        (0..64).filter(|c| self.has(*c)).map(cap_name).collect()
    }
}

/// RLIMIT_MEMLOCK of the calling process (soft, hard) in bytes; None is
/// unlimited. Read from `/proc/self/limits`.
pub fn memlock_limit() -> Result<(Option<u64>, Option<u64>), Error> {
    const PATH: &str = "/proc/self/limits";
    let text = std::fs::read_to_string(PATH).map_err(|e| Error::io("read", PATH, e))?;
    parse_memlock(&text).ok_or_else(|| Error::Io {
        op: "parse Max locked memory in",
        path: PATH.into(),
        source: std::io::Error::from(std::io::ErrorKind::InvalidData),
    })
}

fn parse_memlock(limits: &str) -> Option<(Option<u64>, Option<u64>)> {
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max locked memory"))?;
    let mut words = line["Max locked memory".len()..].split_whitespace();
    let value = |w: Option<&str>| match w? {
        "unlimited" => Some(None),
        n => n.parse().ok().map(Some),
    };
    Some((value(words.next())?, value(words.next())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_bits_are_named() {
        assert_eq!(
            names(0b1011, XDP_ACT),
            ["basic", "redirect", "xsk-zerocopy"]
        );
        assert_eq!(names(1 << 9, RX_METADATA), ["bit9"]);
        assert!(names(0, XSK_FLAGS).is_empty());
    }

    #[test]
    fn capabilities_and_memlock_parse() {
        let c = Capabilities::parse("Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000003000\n")
            .expect("parse");
        assert!(c.has(CAP_NET_ADMIN) && c.has(CAP_NET_RAW) && !c.has(CAP_BPF));
        assert_eq!(c.effective_names(), ["CAP_NET_ADMIN", "CAP_NET_RAW"]);
        assert_eq!(cap_name(CAP_BPF), "CAP_BPF");
        assert_eq!(cap_name(63), "CAP_63");
        assert_eq!(Capabilities::parse("Name: x"), None);
        let l = "Max open files            1024                 4096                 files\nMax locked memory         8388608              unlimited            bytes\n";
        assert_eq!(parse_memlock(l), Some((Some(8388608), None)));
        assert!(Capabilities::of_self().is_ok());
        assert!(memlock_limit().is_ok());
    }

    #[test]
    fn veth_features_in_a_fresh_testbed() {
        let Some(tb) = crate::test_support::TestTestbed::new("doc", 1) else {
            return;
        };
        let a = tb.ab().a.clone();
        let got = crate::netns::run_in(&a.netns, move || {
            let info = crate::iface::info(&a.iface)?;
            let f = dev_features(info.ifindex)?;
            let l = links()?;
            let x = attached_xdp(&a.iface)?;
            let c = coalescing(&a.iface)?;
            Ok::<_, Error>((f, l, x, c))
        })
        .expect("run in netns")
        .expect("probe");
        let (f, l, x, _c) = got;
        let f = f.expect("netdev dev-get on kernel 6.18");
        assert!(
            f.xdp_features
                .as_ref()
                .is_some_and(|v| v.iter().any(|n| n == "basic")),
            "{f:?}"
        );
        assert_eq!(f.zero_copy(), Some(false), "veth has no zero-copy: {f:?}");
        assert!(l.iter().any(|l| l.loopback), "{l:?}");
        assert!(l.iter().any(|l| l.name == tb.ab().a.iface), "{l:?}");
        assert_eq!(x, None);
    }
}
