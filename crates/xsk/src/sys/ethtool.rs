//! The SIOCETHTOOL ioctl for RX flow-classification (ntuple) rules,
//! ETHTOOL_{G,S}RXCLS*: the one host setting with no netlink message. The
//! host crate encodes `struct ethtool_rxnfc` as bytes; this module only
//! checks that the buffer covers what the kernel will touch and runs the
//! ioctl in the calling thread's network namespace.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// sizeof(struct ethtool_rxnfc) (without the flexible rule_locs).
pub const RXNFC_LEN: usize = 192;
/// Offset of `rule_cnt` in struct ethtool_rxnfc.
pub const RXNFC_RULE_CNT: usize = 184;
/// Offset of `rule_locs`, where ETHTOOL_GRXCLSRLALL writes `rule_cnt` u32s.
pub const RXNFC_RULE_LOCS: usize = 188;

/// Rule count and table size (in `data`).
pub const ETHTOOL_GRXCLSRLCNT: u32 = 0x2e;
/// One rule, by `fs.location`.
pub const ETHTOOL_GRXCLSRULE: u32 = 0x2f;
/// Every rule's location, into `rule_locs`.
pub const ETHTOOL_GRXCLSRLALL: u32 = 0x30;
/// Delete the rule at `fs.location`.
pub const ETHTOOL_SRXCLSRLDEL: u32 = 0x31;
/// Insert `fs`.
pub const ETHTOOL_SRXCLSRLINS: u32 = 0x32;

fn u32_at(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_ne_bytes(b)
}

/// Runs the rule command written at the start of `buf` (a native-endian
/// struct ethtool_rxnfc) on device `ifname`; the kernel's answer is written
/// back into `buf`.
pub fn ethtool_rxnfc(ifname: &str, buf: &mut [u8]) -> io::Result<()> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, why.to_string());
    if buf.len() < RXNFC_LEN {
        return Err(invalid(
            "ethtool_rxnfc buffer shorter than struct ethtool_rxnfc",
        ));
    }
    let cmd = u32_at(buf, 0);
    if !(ETHTOOL_GRXCLSRLCNT..=ETHTOOL_SRXCLSRLINS).contains(&cmd) {
        return Err(invalid("not an ETHTOOL_*RXCLS* rule command"));
    }
    if cmd == ETHTOOL_GRXCLSRLALL {
        let cnt = u32_at(buf, RXNFC_RULE_CNT) as usize;
        if buf.len() < RXNFC_RULE_LOCS + 4 * cnt {
            return Err(invalid(
                "ethtool_rxnfc buffer has no room for rule_cnt rule_locs",
            ));
        }
    }
    let name = ifname.as_bytes();
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(&0) {
        return Err(invalid("bad interface name"));
    }
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by socket(2) and is owned by nobody else.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain C data for which all-zero bytes are valid.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(name) {
        *dst = *src as libc::c_char;
    }
    ifr.ifr_ifru.ifru_data = buf.as_mut_ptr().cast();
    // SAFETY: ifr is a valid ifreq whose NUL-terminated name and data pointer
    // live across the call; the kernel reads and writes at most RXNFC_LEN
    // bytes of `buf` for these commands, plus rule_cnt u32s at
    // RXNFC_RULE_LOCS for ETHTOOL_GRXCLSRLALL, all checked above.
    let ret = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCETHTOOL, &mut ifr) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
