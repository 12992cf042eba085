//! A minimal synchronous generic-netlink client: family lookup, one
//! request (or dump) and its answers, encoding and decoding attributes by
//! hand (only flat u8/u32/u64 attributes are needed). On top of it, the
//! ethtool family (ETHTOOL_MSG_*_GET / _SET with a device-name header);
//! the netdev family is in `crate::netdev`.
//!
//! The socket is opened per request in the calling thread's network
//! namespace. Kernel extended-ack messages are put into errors.

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_GENERIC};

use crate::Error;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_CAPPED: u16 = 0x100;
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;
const NLA_F_NESTED: u16 = 1 << 15;
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// ETHTOOL_A_*_HEADER is attribute 1 of every ethtool message.
const ETHTOOL_A_HEADER: u16 = 1;
const ETHTOOL_A_HEADER_DEV_NAME: u16 = 2;

pub(crate) const ETHTOOL_MSG_CHANNELS_GET: u8 = 17;
pub(crate) const ETHTOOL_MSG_CHANNELS_SET: u8 = 18;
pub(crate) const ETHTOOL_MSG_COALESCE_GET: u8 = 19;
pub(crate) const ETHTOOL_MSG_COALESCE_SET: u8 = 20;

/// A flat attribute value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Val {
    U8(u8),
    U32(u32),
    U64(u64),
}

impl Val {
    pub(crate) fn as_u64(self) -> u64 {
        match self {
            Val::U8(v) => v.into(),
            Val::U32(v) => v.into(),
            Val::U64(v) => v,
        }
    }
}

/// A failed request: the errno and the kernel's message, if any.
#[derive(Debug, Clone)]
pub(crate) struct GenlError {
    pub errno: nix::errno::Errno,
    pub msg: Option<String>,
}

impl std::fmt::Display for GenlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.errno)?;
        if let Some(m) = &self.msg {
            write!(f, " ({m})")?;
        }
        Ok(())
    }
}

pub(crate) fn push_attr(buf: &mut Vec<u8>, ty: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(payload);
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
}

/// Iterates (type without flags, payload) over an attribute stream.
fn attrs(mut data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let len = u16::from_ne_bytes([data[0], data[1]]) as usize;
        let ty = u16::from_ne_bytes([data[2], data[3]]) & 0x3fff;
        if len < 4 || len > data.len() {
            break;
        }
        out.push((ty, &data[4..len]));
        let next = len.div_ceil(4) * 4;
        data = &data[next.min(data.len())..];
    }
    out
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

/// Flat attributes of one answer, by payload size (1: u8, 4: u32, 8: u64).
pub(crate) fn flat(answer: &[u8]) -> Vec<(u16, Val)> {
    attrs(answer)
        .into_iter()
        .filter_map(|(ty, p)| match p.len() {
            1 => Some((ty, Val::U8(p[0]))),
            4 => Some((ty, Val::U32(u32_at(p, 0)))),
            8 => Some((
                ty,
                Val::U64(u64::from_ne_bytes(p[..8].try_into().unwrap_or([0; 8]))),
            )),
            _ => None,
        })
        .collect()
}

/// Sends one generic-netlink request; returns the attribute payloads of
/// each answer, or the kernel's error.
fn transact(family: u16, cmd: u8, body: &[u8]) -> Result<Result<Vec<Vec<u8>>, GenlError>, String> {
    transact_with(family, cmd, false, body)
}

/// As `transact`, as a dump request when `dump`.
pub(crate) fn transact_with(
    family: u16,
    cmd: u8,
    dump: bool,
    body: &[u8],
) -> Result<Result<Vec<Vec<u8>>, GenlError>, String> {
    let mut socket = Socket::new(NETLINK_GENERIC).map_err(|e| format!("socket: {e}"))?;
    socket.bind_auto().map_err(|e| format!("bind: {e}"))?;
    socket
        .connect(&SocketAddr::new(0, 0))
        .map_err(|e| format!("connect: {e}"))?;
    let _ = socket.set_ext_ack(true);

    let mut msg = Vec::with_capacity(20 + body.len());
    let total = (16 + 4 + body.len()) as u32;
    msg.extend_from_slice(&total.to_ne_bytes());
    msg.extend_from_slice(&family.to_ne_bytes());
    let flags = NLM_F_REQUEST | if dump { NLM_F_DUMP } else { NLM_F_ACK };
    msg.extend_from_slice(&flags.to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&[cmd, 1, 0, 0]);
    msg.extend_from_slice(body);
    socket.send(&msg, 0).map_err(|e| format!("send: {e}"))?;

    let mut answers = Vec::new();
    loop {
        let (data, _) = socket.recv_from_full().map_err(|e| format!("recv: {e}"))?;
        if data.is_empty() {
            return Err("kernel closed the socket".into());
        }
        let mut off = 0;
        while off + 16 <= data.len() {
            let len = u32_at(&data, off) as usize;
            if len < 16 || off + len > data.len() {
                return Err(format!("truncated answer ({len} bytes at {off})"));
            }
            let m = &data[off..off + len];
            let ty = u16_at(m, 4);
            let flags = u16_at(m, 6);
            match ty {
                NLMSG_DONE => return Ok(Ok(answers)),
                NLMSG_ERROR => {
                    if m.len() < 20 {
                        return Err("short NLMSG_ERROR".into());
                    }
                    let code = u32_at(m, 16) as i32;
                    if code == 0 {
                        return Ok(Ok(answers));
                    }
                    let mut text = None;
                    if flags & NLM_F_ACK_TLVS != 0 && m.len() >= 36 {
                        let orig_len = u32_at(m, 20) as usize;
                        let skip = if flags & NLM_F_CAPPED != 0 {
                            16
                        } else {
                            orig_len
                        };
                        if let Some(tlvs) = m.get(20 + skip..) {
                            text = attrs(tlvs)
                                .into_iter()
                                .find(|(t, _)| *t == NLMSGERR_ATTR_MSG)
                                .map(|(_, p)| {
                                    String::from_utf8_lossy(p)
                                        .trim_end_matches('\0')
                                        .to_string()
                                });
                        }
                    }
                    return Ok(Err(GenlError {
                        errno: nix::errno::Errno::from_raw(-code),
                        msg: text,
                    }));
                }
                _ => answers.push(m.get(20..).unwrap_or_default().to_vec()),
            }
            off += len.div_ceil(4) * 4;
        }
    }
}

/// The id of generic-netlink family `name`; None when the kernel has no
/// such family (ENOENT).
pub(crate) fn family(name: &'static str) -> Result<Option<u16>, Error> {
    let fail = |why: String| Error::Netlink {
        request: "CTRL_CMD_GETFAMILY",
        why: format!("{name}: {why}"),
    };
    let mut body = Vec::new();
    let mut cname = name.as_bytes().to_vec();
    cname.push(0);
    push_attr(&mut body, CTRL_ATTR_FAMILY_NAME, &cname);
    let answers = match transact(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, &body).map_err(fail)? {
        Ok(a) => a,
        Err(e) if e.errno == nix::errno::Errno::ENOENT => return Ok(None),
        Err(e) => return Err(fail(e.to_string())),
    };
    for a in &answers {
        for (ty, p) in attrs(a) {
            if ty == CTRL_ATTR_FAMILY_ID && p.len() >= 2 {
                return Ok(Some(u16_at(p, 0)));
            }
        }
    }
    Err(fail("no family id in the answer".into()))
}

/// The ethtool family's id.
fn ethtool_family() -> Result<u16, Error> {
    family("ethtool")?.ok_or_else(|| Error::Netlink {
        request: "CTRL_CMD_GETFAMILY",
        why: "ethtool: no such family (kernel without CONFIG_ETHTOOL_NETLINK?)".into(),
    })
}

fn header(dev: &str) -> Vec<u8> {
    let mut name = dev.as_bytes().to_vec();
    name.push(0);
    let mut inner = Vec::new();
    push_attr(&mut inner, ETHTOOL_A_HEADER_DEV_NAME, &name);
    let mut out = Vec::new();
    push_attr(&mut out, ETHTOOL_A_HEADER | NLA_F_NESTED, &inner);
    out
}

/// ETHTOOL_MSG_*_GET for `dev`: the reply's flat attributes (u32 and u8
/// by payload size), or the kernel's error (e.g. EOPNOTSUPP).
pub(crate) fn get(
    request: &'static str,
    cmd: u8,
    dev: &str,
) -> Result<Result<Vec<(u16, Val)>, GenlError>, Error> {
    let family = ethtool_family()?;
    let answers =
        match transact(family, cmd, &header(dev)).map_err(|why| Error::Netlink { request, why })? {
            Ok(a) => a,
            Err(e) => return Ok(Err(e)),
        };
    Ok(Ok(answers.iter().flat_map(|a| flat(a)).collect()))
}

/// ETHTOOL_MSG_*_SET for `dev` with the given flat attributes.
pub(crate) fn set(
    request: &'static str,
    cmd: u8,
    dev: &str,
    values: &[(u16, Val)],
) -> Result<Result<(), GenlError>, Error> {
    let family = ethtool_family()?;
    let mut body = header(dev);
    for (ty, v) in values {
        match v {
            Val::U8(b) => push_attr(&mut body, *ty, &[*b]),
            Val::U32(n) => push_attr(&mut body, *ty, &n.to_ne_bytes()),
            Val::U64(n) => push_attr(&mut body, *ty, &n.to_ne_bytes()),
        }
    }
    Ok(transact(family, cmd, &body)
        .map_err(|why| Error::Netlink { request, why })?
        .map(|_| ()))
}
