//! The netdev generic-netlink family: the NAPI instances of a device
//! (NETDEV_CMD_NAPI_GET, kernel 6.9+), the NAPI of each of its queues
//! (NETDEV_CMD_QUEUE_GET, kernel 6.9+) and their per-NAPI settings
//! (NETDEV_CMD_NAPI_SET: defer-hard-irqs, gro-flush-timeout,
//! irq-suspend-timeout; kernel 6.13+). Attribute numbers are those of
//! include/uapi/linux/netdev.h.

use crate::Error;
use crate::genl::{self, GenlError, Val};

const NETDEV_CMD_QUEUE_GET: u8 = 10;
const NETDEV_CMD_NAPI_GET: u8 = 11;
const NETDEV_A_QUEUE_ID: u16 = 1;
const NETDEV_A_QUEUE_IFINDEX: u16 = 2;
const NETDEV_A_QUEUE_TYPE: u16 = 3;
const NETDEV_A_QUEUE_NAPI_ID: u16 = 4;
/// enum netdev_queue_type: NETDEV_QUEUE_TYPE_RX = 0, NETDEV_QUEUE_TYPE_TX = 1.
const NETDEV_QUEUE_TYPE_TX: u64 = 1;
const NETDEV_CMD_NAPI_SET: u8 = 14;
const NETDEV_A_NAPI_IFINDEX: u16 = 1;
const NETDEV_A_NAPI_ID: u16 = 2;
pub(crate) const NETDEV_A_NAPI_DEFER_HARD_IRQS: u16 = 5;
pub(crate) const NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT: u16 = 6;
pub(crate) const NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT: u16 = 7;

/// One NAPI instance and its flat attributes.
#[derive(Debug, Clone)]
pub(crate) struct Napi {
    pub id: u32,
    pub attrs: Vec<(u16, Val)>,
}

impl Napi {
    pub(crate) fn get(&self, attr: u16) -> Option<u64> {
        self.attrs
            .iter()
            .find(|(t, _)| *t == attr)
            .map(|(_, v)| v.as_u64())
    }
}

/// Why the kernel cannot list NAPI instances.
#[derive(Debug, Clone)]
pub(crate) enum Missing {
    /// No netdev family (kernel before 6.5).
    Family,
    /// The family has no napi-get (kernel before 6.9) or refused it.
    NapiGet(GenlError),
}

fn family() -> Result<Result<u16, Missing>, Error> {
    Ok(genl::family("netdev")?.ok_or(Missing::Family))
}

/// The NAPI instances of device `ifindex` in the calling thread's
/// namespace (empty when the device has none with an id).
pub(crate) fn napis(ifindex: u32) -> Result<Result<Vec<Napi>, Missing>, Error> {
    let fam = match family()? {
        Ok(f) => f,
        Err(m) => return Ok(Err(m)),
    };
    let mut body = Vec::new();
    genl::push_attr(&mut body, NETDEV_A_NAPI_IFINDEX, &ifindex.to_ne_bytes());
    let answers = genl::transact_with(fam, NETDEV_CMD_NAPI_GET, true, &body).map_err(|why| {
        Error::Netlink {
            request: "NETDEV_CMD_NAPI_GET",
            why,
        }
    })?;
    let answers = match answers {
        Ok(a) => a,
        Err(e) => return Ok(Err(Missing::NapiGet(e))),
    };
    let mut out: Vec<Napi> = answers
        .iter()
        .map(|a| genl::flat(a))
        .filter(|attrs| {
            attrs
                .iter()
                .any(|(t, v)| *t == NETDEV_A_NAPI_IFINDEX && v.as_u64() == u64::from(ifindex))
        })
        .filter_map(|attrs| {
            let id = attrs
                .iter()
                .find(|(t, _)| *t == NETDEV_A_NAPI_ID)
                .map(|(_, v)| v.as_u64() as u32)?;
            Some(Napi { id, attrs })
        })
        .collect();
    out.sort_by_key(|n| n.id);
    Ok(Ok(out))
}

/// NETDEV_CMD_NAPI_SET of one attribute on NAPI `id`.
pub(crate) fn napi_set(id: u32, attr: u16, value: Val) -> Result<Result<(), GenlError>, Error> {
    let fam = match family()? {
        Ok(f) => f,
        Err(_) => {
            return Err(Error::Netlink {
                request: "NETDEV_CMD_NAPI_SET",
                why: "the kernel has no netdev generic-netlink family".into(),
            });
        }
    };
    let mut body = Vec::new();
    genl::push_attr(&mut body, NETDEV_A_NAPI_ID, &id.to_ne_bytes());
    match value {
        Val::U8(v) => genl::push_attr(&mut body, attr, &[v]),
        Val::U32(v) => genl::push_attr(&mut body, attr, &v.to_ne_bytes()),
        Val::U64(v) => genl::push_attr(&mut body, attr, &v.to_ne_bytes()),
    }
    genl::transact_with(fam, NETDEV_CMD_NAPI_SET, false, &body)
        .map(|r| r.map(|_| ()))
        .map_err(|why| Error::Netlink {
            request: "NETDEV_CMD_NAPI_SET",
            why,
        })
}

/// One queue of a device and the NAPI instance serving it (None: the driver linked none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct QueueNapi {
    pub id: u32,
    pub tx: bool,
    pub napi_id: Option<u32>,
}

/// The RX and TX queues of device `ifindex` with their NAPI ids (NETDEV_CMD_QUEUE_GET dump).
pub(crate) fn queues(ifindex: u32) -> Result<Result<Vec<QueueNapi>, Missing>, Error> {
    let fam = match family()? {
        Ok(f) => f,
        Err(m) => return Ok(Err(m)),
    };
    let mut body = Vec::new();
    genl::push_attr(&mut body, NETDEV_A_QUEUE_IFINDEX, &ifindex.to_ne_bytes());
    let answers = genl::transact_with(fam, NETDEV_CMD_QUEUE_GET, true, &body).map_err(|why| {
        Error::Netlink {
            request: "NETDEV_CMD_QUEUE_GET",
            why,
        }
    })?;
    let answers = match answers {
        Ok(a) => a,
        Err(e) => return Ok(Err(Missing::NapiGet(e))),
    };
    let mut out: Vec<QueueNapi> = answers
        .iter()
        .map(|a| genl::flat(a))
        .filter(|attrs| {
            attrs
                .iter()
                .any(|(t, v)| *t == NETDEV_A_QUEUE_IFINDEX && v.as_u64() == u64::from(ifindex))
        })
        .filter_map(|attrs| {
            let get = |attr| {
                attrs
                    .iter()
                    .find(|(t, _)| *t == attr)
                    .map(|(_, v)| v.as_u64())
            };
            Some(QueueNapi {
                id: get(NETDEV_A_QUEUE_ID)? as u32,
                tx: get(NETDEV_A_QUEUE_TYPE)? == NETDEV_QUEUE_TYPE_TX,
                napi_id: get(NETDEV_A_QUEUE_NAPI_ID).map(|n| n as u32),
            })
        })
        .collect();
    out.sort_by_key(|q| (q.tx, q.id));
    Ok(Ok(out))
}
