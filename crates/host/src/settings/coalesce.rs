//! Interrupt coalescing through the ethtool generic-netlink family
//! (ETHTOOL_MSG_COALESCE_*): `rx-usecs`, `rx-frames`, `tx-usecs`,
//! `tx-frames`, `adaptive-rx`, `adaptive-tx`. veth has none: the kernel
//! answers EOPNOTSUPP, reported as unsupported.

use super::{Held, Setting, bad_value, iface, in_netns, parse_uint, unsupported};
use crate::Error;
use crate::genl::{self, Val};
use crate::state::Target;

/// One coalescing parameter.
#[derive(Debug, Clone, Copy)]
pub struct Coalesce {
    key: &'static str,
    attr: u16,
    boolean: bool,
}

impl Coalesce {
    pub const ALL: [Coalesce; 6] = [
        Coalesce {
            key: "rx-usecs",
            attr: 2,
            boolean: false,
        },
        Coalesce {
            key: "rx-frames",
            attr: 3,
            boolean: false,
        },
        Coalesce {
            key: "tx-usecs",
            attr: 6,
            boolean: false,
        },
        Coalesce {
            key: "tx-frames",
            attr: 7,
            boolean: false,
        },
        Coalesce {
            key: "adaptive-rx",
            attr: 12,
            boolean: true,
        },
        Coalesce {
            key: "adaptive-tx",
            attr: 13,
            boolean: true,
        },
    ];

    fn get(&self, t: &Target) -> Result<String, Error> {
        let dev = iface(self.key, t)?.to_string();
        let (key, attr, target) = (self.key, self.attr, t.clone());
        in_netns(t, move || {
            let attrs = genl::get(
                "ETHTOOL_MSG_COALESCE_GET",
                genl::ETHTOOL_MSG_COALESCE_GET,
                &dev,
            )?
            .map_err(|e| {
                unsupported(
                    key,
                    &target,
                    format!("has no interrupt coalescing (ETHTOOL_MSG_COALESCE_GET: {e})"),
                )
            })?;
            let v = attrs.iter().find(|(t, _)| *t == attr).map(|(_, v)| *v);
            match v {
                Some(Val::U32(n)) => Ok(n.to_string()),
                Some(Val::U64(n)) => Ok(n.to_string()),
                Some(Val::U8(b)) => Ok(if b != 0 { "on" } else { "off" }.into()),
                None => Err(unsupported(
                    key,
                    &target,
                    format!(
                        "does not report {key} (attribute {attr} absent from ETHTOOL_MSG_COALESCE_GET)"
                    ),
                )),
            }
        })
    }
}

impl Setting for Coalesce {
    fn key(&self) -> &'static str {
        self.key
    }
    fn accepts(&self) -> &'static str {
        if self.boolean {
            "on or off"
        } else {
            "an integer, 0 to 4294967295"
        }
    }
    fn per_device(&self) -> bool {
        true
    }
    fn parse(&self, value: &str) -> Result<String, Error> {
        if self.boolean {
            match value {
                "on" | "true" | "1" => Ok("on".into()),
                "off" | "false" | "0" => Ok("off".into()),
                _ => Err(bad_value(self.key, value, self.accepts())),
            }
        } else {
            parse_uint(self.key, value, u32::MAX as u64, self.accepts())
        }
    }
    fn check_supported(&self, t: &Target) -> Result<(), Error> {
        self.get(t).map(|_| ())
    }
    fn read(&self, t: &Target) -> Result<String, Error> {
        self.get(t)
    }
    fn snapshot(&self, t: &Target) -> Result<String, Error> {
        self.get(t)
    }
    fn apply(&self, t: &Target, value: &str) -> Result<Held, Error> {
        let value = self.parse(value)?;
        let v = if self.boolean {
            Val::U8(u8::from(value == "on"))
        } else {
            Val::U32(value.parse().unwrap_or(0))
        };
        let dev = iface(self.key, t)?.to_string();
        let (key, attr, target) = (self.key, self.attr, t.clone());
        in_netns(t, move || {
            genl::set(
                "ETHTOOL_MSG_COALESCE_SET",
                genl::ETHTOOL_MSG_COALESCE_SET,
                &dev,
                &[(attr, v)],
            )?
            .map_err(|e| match e.errno {
                nix::errno::Errno::EOPNOTSUPP => unsupported(
                    key,
                    &target,
                    format!("cannot set {key} (ETHTOOL_MSG_COALESCE_SET: {e})"),
                ),
                _ => Error::Netlink {
                    request: "ETHTOOL_MSG_COALESCE_SET",
                    why: format!("{key}={value} on {}: {e}", target.describe()),
                },
            })
        })?;
        Ok(None)
    }
    fn restore(&self, t: &Target, old: &str) -> Result<(), Error> {
        self.apply(t, old).map(|_| ())
    }
}
