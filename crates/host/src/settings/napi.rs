//! Per-NAPI settings through the netdev generic-netlink family:
//! `per-napi-defer-hard-irqs`, `per-napi-gro-flush-timeout` and
//! `per-napi-irq-suspend-timeout`, set on every NAPI instance of the device
//! (NETDEV_CMD_NAPI_SET, kernel 6.13+; irq-suspend-timeout 6.14+).
//!
//! A device whose driver links no NAPI instance to it (veth without XDP or
//! GRO, for example) has nothing to set: that is reported as unsupported,
//! naming the device, rather than as a no-op success.

use std::collections::BTreeMap;

use super::{Held, Setting, iface, in_netns, parse_uint, unsupported};
use crate::genl::Val;
use crate::netdev::{self, Missing, Napi};
use crate::state::Target;
use crate::{Error, iface as ifaces};

/// One per-NAPI attribute.
#[derive(Debug, Clone, Copy)]
pub struct PerNapi {
    key: &'static str,
    attr: u16,
    /// The attribute is a u32 (else a kernel "uint", sent as u64).
    small: bool,
    max: u64,
    accepts: &'static str,
}

impl PerNapi {
    pub const ALL: [PerNapi; 3] = [
        PerNapi {
            key: "per-napi-defer-hard-irqs",
            attr: netdev::NETDEV_A_NAPI_DEFER_HARD_IRQS,
            small: true,
            max: i32::MAX as u64,
            accepts: "a count, 0 to 2147483647, set on every NAPI instance of the device",
        },
        PerNapi {
            key: "per-napi-gro-flush-timeout",
            attr: netdev::NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT,
            small: false,
            max: u64::MAX,
            accepts: "nanoseconds, set on every NAPI instance of the device",
        },
        PerNapi {
            key: "per-napi-irq-suspend-timeout",
            attr: netdev::NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT,
            small: false,
            max: u64::MAX,
            accepts: "nanoseconds, set on every NAPI instance of the device (0: off)",
        },
    ];

    /// The device's NAPI instances, each with this attribute, or why not.
    fn napis(&self, t: &Target) -> Result<Vec<(u32, u64)>, Error> {
        let dev = iface(self.key, t)?.to_string();
        let (me, target) = (*self, t.clone());
        in_netns(t, move || {
            let ifindex = ifaces::info(&dev)?.ifindex;
            let list: Vec<Napi> = match netdev::napis(ifindex)? {
                Ok(l) => l,
                Err(Missing::Family) => {
                    return Err(unsupported(
                        me.key,
                        &target,
                        "cannot be asked: the kernel has no netdev generic-netlink family (6.5+)",
                    ));
                }
                Err(Missing::NapiGet(e)) => {
                    return Err(unsupported(
                        me.key,
                        &target,
                        format!(
                            "cannot be asked for its NAPI instances (NETDEV_CMD_NAPI_GET: {e}; kernel 6.9+)"
                        ),
                    ));
                }
            };
            if list.is_empty() {
                return Err(unsupported(
                    me.key,
                    &target,
                    "has no NAPI instances with an id (NETDEV_CMD_NAPI_GET lists none: its driver links no NAPI to it; veth has NAPI only with XDP or GRO on)",
                ));
            }
            list.iter()
                .map(|n| {
                    n.get(me.attr).map(|v| (n.id, v)).ok_or_else(|| {
                        unsupported(
                            me.key,
                            &target,
                            format!(
                                "NAPI {} reports no attribute {} (kernel without this per-NAPI setting: 6.13+, irq-suspend-timeout 6.14+)",
                                n.id, me.attr
                            ),
                        )
                    })
                })
                .collect()
        })
    }

    fn set(&self, t: &Target, values: Vec<(u32, u64)>) -> Result<(), Error> {
        let (me, target) = (*self, t.clone());
        in_netns(t, move || {
            for (id, v) in values {
                let val = if me.small {
                    Val::U32(v as u32)
                } else {
                    Val::U64(v)
                };
                match netdev::napi_set(id, me.attr, val)? {
                    Ok(()) => {}
                    // The instance went away, and its setting with it.
                    Err(e) if e.errno == nix::errno::Errno::ENOENT => {}
                    Err(e) => {
                        return Err(Error::Netlink {
                            request: "NETDEV_CMD_NAPI_SET",
                            why: format!(
                                "{}={v} on NAPI {id} of {}: {e}",
                                me.key,
                                target.describe()
                            ),
                        });
                    }
                }
            }
            Ok(())
        })
    }
}

impl Setting for PerNapi {
    fn key(&self) -> &'static str {
        self.key
    }
    fn accepts(&self) -> &'static str {
        self.accepts
    }
    fn per_device(&self) -> bool {
        true
    }
    fn parse(&self, value: &str) -> Result<String, Error> {
        parse_uint(self.key, value, self.max, self.accepts)
    }
    fn check_supported(&self, t: &Target) -> Result<(), Error> {
        self.napis(t).map(|_| ())
    }
    /// The value when every instance has the same, else `mixed: ID=V,...`.
    fn read(&self, t: &Target) -> Result<String, Error> {
        let napis = self.napis(t)?;
        let mut vals: Vec<u64> = napis.iter().map(|(_, v)| *v).collect();
        vals.dedup();
        Ok(if vals.len() == 1 {
            vals[0].to_string()
        } else {
            let each: Vec<String> = napis.iter().map(|(id, v)| format!("{id}={v}")).collect();
            format!("mixed: {}", each.join(","))
        })
    }
    /// JSON map NAPI id → value.
    fn snapshot(&self, t: &Target) -> Result<String, Error> {
        let map: BTreeMap<u32, u64> = self.napis(t)?.into_iter().collect();
        serde_json::to_string(&map).map_err(|e| Error::Journal {
            path: self.key.into(),
            why: e.to_string(),
        })
    }
    fn apply(&self, t: &Target, value: &str) -> Result<Held, Error> {
        let v: u64 = value
            .parse()
            .map_err(|_| super::bad_value(self.key, value, self.accepts))?;
        let values = self.napis(t)?.into_iter().map(|(id, _)| (id, v)).collect();
        self.set(t, values)?;
        Ok(None)
    }
    fn restore(&self, t: &Target, old: &str) -> Result<(), Error> {
        let map: BTreeMap<u32, u64> = serde_json::from_str(old).map_err(|e| Error::Journal {
            path: self.key.into(),
            why: format!("bad per-NAPI snapshot: {e}"),
        })?;
        self.set(t, map.into_iter().collect())
    }
}
