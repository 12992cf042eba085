//! RX flow-classification (ntuple) rules through the ethtool ioctl
//! (`xsk::ethtool`): encoding and decoding `struct ethtool_rxnfc` for UDP
//! destination-port rules, in the calling thread's network namespace.
//! Offsets are those of include/uapi/linux/ethtool.h (checked against the
//! C layout in the tests).

use xsk::ethtool::{self as sys, RXNFC_LEN, RXNFC_RULE_CNT, RXNFC_RULE_LOCS};

use crate::Error;

/// Offset of `fs` (struct ethtool_rx_flow_spec) and its fields.
const FS: usize = 16;
const FS_FLOW_TYPE: usize = FS;
const FS_H_U: usize = FS + 4;
const FS_M_U: usize = FS + 76;
const FS_M_EXT: usize = FS + 128;
/// Size of struct ethtool_flow_ext.
const FLOW_EXT_LEN: usize = 20;
const FS_RING_COOKIE: usize = FS + 152;
const FS_LOCATION: usize = FS + 160;
/// `data` (the table size for ETHTOOL_GRXCLSRLCNT).
const DATA: usize = 8;
/// Size of union ethtool_flow_union.
const FLOW_UNION: usize = 52;
/// `pdst` within struct ethtool_tcpip4_spec (udp_ip4_spec).
const PDST: usize = 10;
const UDP_V4_FLOW: u32 = 0x02;
/// FLOW_EXT | FLOW_MAC_EXT | FLOW_RSS: flags, not the flow type.
const FLOW_FLAGS: u32 = 0x8000_0000 | 0x4000_0000 | 0x2000_0000;
/// `data` flag of ETHTOOL_GRXCLSRLCNT: the driver picks locations itself.
const RX_CLS_LOC_SPECIAL: u64 = 0x8000_0000;
const RX_CLS_LOC_ANY: u32 = 0xffff_ffff;

/// A rule that steers one UDP destination port to one queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UdpRule {
    pub location: u32,
    pub port: u16,
    pub queue: u64,
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

fn get32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn get64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_ne_bytes(a)
}

fn request(cmd: u32, extra: usize) -> Vec<u8> {
    let mut b = vec![0u8; RXNFC_LEN + extra];
    put32(&mut b, 0, cmd);
    b
}

/// The ETHTOOL_SRXCLSRLINS request for `port` → `queue` at `location`.
pub(crate) fn insert_request(port: u16, queue: u64, location: u32) -> Vec<u8> {
    let mut b = request(sys::ETHTOOL_SRXCLSRLINS, 0);
    put32(&mut b, FS_FLOW_TYPE, UDP_V4_FLOW);
    b[FS_H_U + PDST..FS_H_U + PDST + 2].copy_from_slice(&port.to_be_bytes());
    b[FS_M_U + PDST..FS_M_U + PDST + 2].copy_from_slice(&[0xff, 0xff]);
    b[FS_RING_COOKIE..FS_RING_COOKIE + 8].copy_from_slice(&queue.to_ne_bytes());
    put32(&mut b, FS_LOCATION, location);
    b
}

/// A rule answer (ETHTOOL_GRXCLSRULE) as a UDP destination-port rule, if
/// it is exactly that (UDP over IPv4, only the destination port matched).
pub(crate) fn decode_udp_rule(b: &[u8]) -> Option<UdpRule> {
    if get32(b, FS_FLOW_TYPE) & !FLOW_FLAGS != UDP_V4_FLOW {
        return None;
    }
    let mask = &b[FS_M_U..FS_M_U + FLOW_UNION];
    let only_pdst = mask.iter().enumerate().all(|(i, m)| {
        if i == PDST || i == PDST + 1 {
            *m == 0xff
        } else {
            *m == 0
        }
    });
    let no_ext = b[FS_M_EXT..FS_M_EXT + FLOW_EXT_LEN].iter().all(|m| *m == 0);
    if !only_pdst || !no_ext {
        return None;
    }
    Some(UdpRule {
        location: get32(b, FS_LOCATION),
        port: u16::from_be_bytes([b[FS_H_U + PDST], b[FS_H_U + PDST + 1]]),
        queue: get64(b, FS_RING_COOKIE),
    })
}

fn run(dev: &str, what: &'static str, buf: &mut [u8]) -> Result<(), Error> {
    sys::ethtool_rxnfc(dev, buf).map_err(|e| {
        Error::sys(
            "ioctl",
            format!("SIOCETHTOOL {what} on {dev}"),
            nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EINVAL)),
        )
    })
}

/// The rule table: (rule count, table size, whether the driver chooses
/// locations itself). EOPNOTSUPP: the device has no ntuple rules.
pub(crate) fn table(dev: &str) -> Result<(u32, u32, bool), Error> {
    let mut b = request(sys::ETHTOOL_GRXCLSRLCNT, 0);
    run(dev, "ETHTOOL_GRXCLSRLCNT", &mut b)?;
    let data = get64(&b, DATA);
    Ok((
        get32(&b, RXNFC_RULE_CNT),
        data as u32 & 0x7fff_ffff,
        data & RX_CLS_LOC_SPECIAL != 0,
    ))
}

/// Every rule's location.
pub(crate) fn locations(dev: &str) -> Result<Vec<u32>, Error> {
    let (count, _, _) = table(dev)?;
    let mut b = request(sys::ETHTOOL_GRXCLSRLALL, 4 * count as usize);
    put32(&mut b, RXNFC_RULE_CNT, count);
    run(dev, "ETHTOOL_GRXCLSRLALL", &mut b)?;
    let n = get32(&b, RXNFC_RULE_CNT).min(count) as usize;
    Ok((0..n).map(|i| get32(&b, RXNFC_RULE_LOCS + 4 * i)).collect())
}

/// The UDP destination-port rules in force.
pub(crate) fn udp_rules(dev: &str) -> Result<Vec<UdpRule>, Error> {
    let mut out = Vec::new();
    for loc in locations(dev)? {
        let mut b = request(sys::ETHTOOL_GRXCLSRULE, 0);
        put32(&mut b, FS_LOCATION, loc);
        run(dev, "ETHTOOL_GRXCLSRULE", &mut b)?;
        out.extend(decode_udp_rule(&b));
    }
    Ok(out)
}

/// Inserts `port` → `queue` at the last free location (as ethtool does),
/// or where the driver likes when it picks locations itself. A driver that
/// reports no table size (igb and igc fill only `rule_cnt`: ethtool itself
/// then needs `loc N`) gets the lowest free location and checks it.
pub(crate) fn insert(dev: &str, port: u16, queue: u64) -> Result<u32, Error> {
    let (_, size, special) = table(dev)?;
    let location = if special {
        RX_CLS_LOC_ANY
    } else if size == 0 {
        let used = locations(dev)?;
        (0..).find(|l| !used.contains(l)).unwrap_or(0)
    } else {
        let used = locations(dev)?;
        (0..size)
            .rev()
            .find(|l| !used.contains(l))
            .ok_or_else(|| Error::Unsupported {
                key: "ntuple-udp-dport-to-queue".into(),
                device: dev.into(),
                lacks: format!("has no free rule location (table of {size})"),
            })?
    };
    let mut b = insert_request(port, queue, location);
    run(dev, "ETHTOOL_SRXCLSRLINS", &mut b)?;
    Ok(get32(&b, FS_LOCATION))
}

/// Deletes the rule at `location`.
pub(crate) fn delete(dev: &str, location: u32) -> Result<(), Error> {
    let mut b = request(sys::ETHTOOL_SRXCLSRLDEL, 0);
    put32(&mut b, FS_LOCATION, location);
    run(dev, "ETHTOOL_SRXCLSRLDEL", &mut b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The non-zero bytes of a C `struct ethtool_rxnfc` filled for
    /// ETHTOOL_SRXCLSRLINS, UDP_V4_FLOW, pdst htons(5555) with mask 0xffff,
    /// ring_cookie 3, location 7 (x86-64, little-endian).
    #[test]
    #[cfg(target_endian = "little")]
    fn insert_request_matches_the_c_layout() {
        let b = insert_request(5555, 3, 7);
        assert_eq!(b.len(), 192);
        let nonzero: Vec<(usize, u8)> = b
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0)
            .map(|(i, v)| (i, *v))
            .collect();
        assert_eq!(
            nonzero,
            [
                (0, 0x32),
                (16, 0x02),
                (30, 0x15),
                (31, 0xb3),
                (102, 0xff),
                (103, 0xff),
                (168, 0x03),
                (176, 0x07)
            ]
        );
        assert_eq!(
            decode_udp_rule(&b),
            Some(UdpRule {
                location: 7,
                port: 5555,
                queue: 3
            })
        );
        let mut other = b.clone();
        other[FS_M_U] = 0xff; // also matches a source address byte
        assert_eq!(decode_udp_rule(&other), None);
    }
}
