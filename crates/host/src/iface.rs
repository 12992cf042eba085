//! Facts of a network interface and neighbour (ARP) resolution, read over
//! rtnetlink in the calling thread's network namespace.
//!
//! sysfs (`/sys/class/net`) is not used: it shows the namespace it was
//! mounted in, not the thread's. Human output of `ip` is never parsed.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkInfo, LinkMessage};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::{Error, genl, netns, nl};

/// What the kernel says about one interface.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IfaceInfo {
    pub name: String,
    pub ifindex: u32,
    pub mac: [u8; 6],
    /// The first IPv4 address and its prefix length.
    pub ipv4: Option<(Ipv4Addr, u8)>,
    pub mtu: u32,
    /// Receive queues in use: the ethtool channel counts (rx + combined)
    /// when the device reports them, else the queues it was created with
    /// (IFLA_NUM_RX_QUEUES). AF_XDP can bind queue ids below this.
    pub num_rx_queues: u32,
    /// Transmit queues in use, likewise (tx + combined).
    pub num_tx_queues: u32,
    /// Receive queues the device was created with (IFLA_NUM_RX_QUEUES).
    pub alloc_rx_queues: u32,
    /// Transmit queues the device was created with (IFLA_NUM_TX_QUEUES).
    pub alloc_tx_queues: u32,
    /// The link kind for virtual devices ("veth"), else the bound driver of
    /// the parent device (e.g. "ixgbe"), when known.
    pub driver: Option<String>,
    /// Administratively up (IFF_UP).
    pub up: bool,
}

/// Formats a MAC as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses `aa:bb:cc:dd:ee:ff` (or with `-`); `param` names the option for
/// the error (e.g. "--dst-mac").
pub fn parse_mac(param: &'static str, s: &str) -> Result<[u8; 6], Error> {
    let bad = || Error::BadInput {
        param,
        value: s.into(),
        why: "expected a MAC address like 02:00:00:00:00:01".into(),
    };
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(parts) {
        if p.len() != 2 {
            return Err(bad());
        }
        *m = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    Ok(mac)
}

fn find_link(name: &str) -> Result<LinkMessage, Error> {
    let answers = nl::request(
        "RTM_GETLINK dump",
        RouteNetlinkMessage::GetLink(LinkMessage::default()),
        true,
    )?;
    answers
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => Some(l),
            _ => None,
        })
        .find(|l| {
            l.attributes
                .iter()
                .any(|a| matches!(a, LinkAttribute::IfName(n) if n == name))
        })
        .ok_or_else(|| Error::NoIface {
            iface: name.into(),
            netns: netns::current_name(),
        })
}

fn first_ipv4(ifindex: u32) -> Result<Option<(Ipv4Addr, u8)>, Error> {
    let mut req = AddressMessage::default();
    req.header.family = AddressFamily::Inet;
    let answers = nl::request(
        "RTM_GETADDR dump",
        RouteNetlinkMessage::GetAddress(req),
        true,
    )?;
    for m in answers {
        let RouteNetlinkMessage::NewAddress(a) = m else {
            continue;
        };
        if a.header.index != ifindex || a.header.family != AddressFamily::Inet {
            continue;
        }
        let local = a.attributes.iter().find_map(|at| match at {
            AddressAttribute::Local(IpAddr::V4(ip)) => Some(*ip),
            _ => None,
        });
        let addr = local.or_else(|| {
            a.attributes.iter().find_map(|at| match at {
                AddressAttribute::Address(IpAddr::V4(ip)) => Some(*ip),
                _ => None,
            })
        });
        if let Some(ip) = addr {
            return Ok(Some((ip, a.header.prefix_len)));
        }
    }
    Ok(None)
}

/// The driver bound to a parent device, found through the bus's sysfs tree
/// (bus device paths are the same in every network namespace).
fn parent_driver(bus: &str, dev: &str) -> Option<String> {
    let link = std::fs::read_link(format!("/sys/bus/{bus}/devices/{dev}/driver")).ok()?;
    Some(link.file_name()?.to_string_lossy().into_owned())
}

/// Facts of interface `name` in the calling thread's network namespace.
pub fn info(name: &str) -> Result<IfaceInfo, Error> {
    let link = find_link(name)?;
    let mut out = IfaceInfo {
        name: name.into(),
        ifindex: link.header.index,
        mac: [0; 6],
        ipv4: None,
        mtu: 0,
        num_rx_queues: 1,
        num_tx_queues: 1,
        alloc_rx_queues: 1,
        alloc_tx_queues: 1,
        driver: None,
        up: link
            .header
            .flags
            .contains(netlink_packet_route::link::LinkFlags::Up),
    };
    let (mut bus, mut parent) = (None, None);
    for a in &link.attributes {
        match a {
            LinkAttribute::Address(m) if m.len() == 6 => out.mac.copy_from_slice(m),
            LinkAttribute::Mtu(v) => out.mtu = *v,
            LinkAttribute::NumRxQueues(v) => (out.num_rx_queues, out.alloc_rx_queues) = (*v, *v),
            LinkAttribute::NumTxQueues(v) => (out.num_tx_queues, out.alloc_tx_queues) = (*v, *v),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        out.driver = Some(k.to_string());
                    }
                }
            }
            LinkAttribute::ParentDevBusName(b) => bus = Some(b.clone()),
            LinkAttribute::ParentDevName(p) => parent = Some(p.clone()),
            _ => {}
        }
    }
    if out.driver.is_none()
        && let (Some(b), Some(p)) = (bus, parent)
    {
        out.driver = parent_driver(&b, &p);
    }
    out.ipv4 = first_ipv4(out.ifindex)?;
    if let Some((rx, tx)) = channel_counts(name)? {
        out.num_rx_queues = rx;
        out.num_tx_queues = tx;
    }
    Ok(out)
}

/// (rx, tx) queues in use per the ethtool channels, when reported.
fn channel_counts(name: &str) -> Result<Option<(u32, u32)>, Error> {
    const RX_COUNT: u16 = 6;
    const TX_COUNT: u16 = 7;
    const COMBINED_COUNT: u16 = 9;
    let Ok(attrs) = genl::get(
        "ETHTOOL_MSG_CHANNELS_GET",
        genl::ETHTOOL_MSG_CHANNELS_GET,
        name,
    )?
    else {
        return Ok(None);
    };
    let find = |ty| {
        attrs
            .iter()
            .find_map(|(t, v)| match v {
                genl::Val::U32(n) if *t == ty => Some(*n),
                _ => None,
            })
            .unwrap_or(0)
    };
    let (rx, tx, comb) = (find(RX_COUNT), find(TX_COUNT), find(COMBINED_COUNT));
    Ok((rx + comb > 0 && tx + comb > 0).then_some((rx + comb, tx + comb)))
}

/// A usable entry for `ip` on `ifindex` in the neighbour table, if any.
fn lookup_neigh(ifindex: u32, ip: Ipv4Addr) -> Result<Option<[u8; 6]>, Error> {
    let mut req = NeighbourMessage::default();
    req.header.family = AddressFamily::Inet;
    let answers = nl::request(
        "RTM_GETNEIGH dump",
        RouteNetlinkMessage::GetNeighbour(req),
        true,
    )?;
    for m in answers {
        let RouteNetlinkMessage::NewNeighbour(n) = m else {
            continue;
        };
        if n.header.ifindex != ifindex
            || matches!(
                n.header.state,
                NeighbourState::Incomplete | NeighbourState::Failed | NeighbourState::None
            )
        {
            continue;
        }
        let dst = n.attributes.iter().find_map(|a| match a {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(d)) => Some(*d),
            _ => None,
        });
        if dst != Some(ip) {
            continue;
        }
        if let Some(mac) = n.attributes.iter().find_map(|a| match a {
            NeighbourAttribute::LinkLayerAddress(m) if m.len() == 6 => {
                let mut mac = [0u8; 6];
                mac.copy_from_slice(m);
                Some(mac)
            }
            _ => None,
        }) {
            return Ok(Some(mac));
        }
    }
    Ok(None)
}

/// The UDP discard port: a datagram there only makes the kernel resolve.
const DISCARD_PORT: u16 = 9;
const RESOLVE_WAIT: Duration = Duration::from_secs(1);

/// Makes the kernel resolve `ip` on `iface` by sending it one UDP byte.
fn provoke_arp(iface: &str, ip: Ipv4Addr) -> Result<(), Error> {
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .map_err(|e| Error::io("bind UDP socket", "0.0.0.0:0", e))?;
    nix::sys::socket::setsockopt(
        &sock,
        nix::sys::socket::sockopt::BindToDevice,
        &std::ffi::OsString::from(iface),
    )
    .map_err(|e| Error::sys("setsockopt", format!("SO_BINDTODEVICE {iface}"), e))?;
    sock.connect((ip, DISCARD_PORT))
        .map_err(|e| Error::io("connect UDP socket to", format!("{ip}:{DISCARD_PORT}"), e))?;
    // The send itself may fail (e.g. EHOSTUNREACH once ARP gave up); the
    // neighbour table is what tells.
    let _ = sock.send(&[0]);
    Ok(())
}

/// The MAC of `ip` as seen from `iface` (calling thread's namespace), from
/// the kernel's neighbour table; resolution is triggered when the entry is
/// absent and waited for up to about 1 s.
pub fn resolve_mac(iface: &str, ip: Ipv4Addr) -> Result<[u8; 6], Error> {
    let ifindex = find_link(iface)?.header.index;
    if let Some(mac) = lookup_neigh(ifindex, ip)? {
        return Ok(mac);
    }
    provoke_arp(iface, ip)?;
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(10));
        if let Some(mac) = lookup_neigh(ifindex, ip)? {
            return Ok(mac);
        }
        if start.elapsed() >= RESOLVE_WAIT {
            return Err(Error::Unresolved {
                ip,
                iface: iface.into(),
                waited_ms: start.elapsed().as_millis() as u64,
            });
        }
    }
}
