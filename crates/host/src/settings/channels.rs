//! Channel (queue) counts through the ethtool generic-netlink family:
//! `channels-combined`, `channels-rx`, `channels-tx` (ETHTOOL_MSG_CHANNELS_*).
//! veth has separate rx and tx channels and no combined ones.

use super::{Held, Setting, bad_value, iface, in_netns, unsupported};
use crate::Error;
use crate::genl::{self, Val};
use crate::state::Target;

const A_RX_MAX: u16 = 2;
const A_TX_MAX: u16 = 3;
const A_COMBINED_MAX: u16 = 5;
const A_RX_COUNT: u16 = 6;
const A_TX_COUNT: u16 = 7;
const A_COMBINED_COUNT: u16 = 9;

/// One channel count.
#[derive(Debug, Clone, Copy)]
pub struct Channels {
    key: &'static str,
    what: &'static str,
    count: u16,
    max: u16,
}

impl Channels {
    pub const ALL: [Channels; 3] = [
        Channels {
            key: "channels-combined",
            what: "combined",
            count: A_COMBINED_COUNT,
            max: A_COMBINED_MAX,
        },
        Channels {
            key: "channels-rx",
            what: "rx",
            count: A_RX_COUNT,
            max: A_RX_MAX,
        },
        Channels {
            key: "channels-tx",
            what: "tx",
            count: A_TX_COUNT,
            max: A_TX_MAX,
        },
    ];

    /// (count, max) of this kind of channel.
    fn get(&self, t: &Target) -> Result<(u32, u32), Error> {
        let dev = iface(self.key, t)?.to_string();
        let (key, count, max, target) = (self.key, self.count, self.max, t.clone());
        in_netns(t, move || {
            let attrs = genl::get(
                "ETHTOOL_MSG_CHANNELS_GET",
                genl::ETHTOOL_MSG_CHANNELS_GET,
                &dev,
            )?
            .map_err(|e| {
                unsupported(
                    key,
                    &target,
                    format!("has no channel control (ETHTOOL_MSG_CHANNELS_GET: {e})"),
                )
            })?;
            let find = |ty| {
                attrs.iter().find_map(|(t, v)| match v {
                    Val::U32(n) if *t == ty => Some(*n),
                    _ => None,
                })
            };
            Ok((find(count).unwrap_or(0), find(max).unwrap_or(0)))
        })
    }
}

impl Setting for Channels {
    fn key(&self) -> &'static str {
        self.key
    }
    fn accepts(&self) -> &'static str {
        "a queue count, 1 to the device's maximum"
    }
    fn per_device(&self) -> bool {
        true
    }
    fn parse(&self, value: &str) -> Result<String, Error> {
        match value.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n.to_string()),
            _ => Err(bad_value(self.key, value, self.accepts())),
        }
    }
    fn check_supported(&self, t: &Target) -> Result<(), Error> {
        let (_, max) = self.get(t)?;
        if max == 0 {
            return Err(unsupported(
                self.key,
                t,
                format!("has no {} channels (maximum 0)", self.what),
            ));
        }
        Ok(())
    }
    fn read(&self, t: &Target) -> Result<String, Error> {
        Ok(self.get(t)?.0.to_string())
    }
    fn snapshot(&self, t: &Target) -> Result<String, Error> {
        self.read(t)
    }
    fn apply(&self, t: &Target, value: &str) -> Result<Held, Error> {
        let n: u32 = self.parse(value)?.parse().unwrap_or(1);
        let (_, max) = self.get(t)?;
        if n > max {
            return Err(bad_value(
                self.key,
                value,
                &format!("a queue count, 1 to {max} on {}", t.describe()),
            ));
        }
        let dev = iface(self.key, t)?.to_string();
        let (key, attr, target) = (self.key, self.count, t.clone());
        in_netns(t, move || {
            genl::set(
                "ETHTOOL_MSG_CHANNELS_SET",
                genl::ETHTOOL_MSG_CHANNELS_SET,
                &dev,
                &[(attr, Val::U32(n))],
            )?
            .map_err(|e| Error::Netlink {
                request: "ETHTOOL_MSG_CHANNELS_SET",
                why: format!("{key}={n} on {}: {e}", target.describe()),
            })
        })?;
        Ok(None)
    }
    fn restore(&self, t: &Target, old: &str) -> Result<(), Error> {
        if old == "0" {
            return Ok(());
        }
        self.apply(t, old).map(|_| ())
    }
}
