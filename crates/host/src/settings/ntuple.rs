//! `ntuple-udp-dport-to-queue=PORT:QUEUE`: an ntuple flow-steering rule
//! that sends the probe flow (UDP over IPv4, by destination port) to the
//! application's queue, through the ethtool ioctl (no netlink message
//! exists for these rules; see `crate::rxnfc`).
//!
//! The snapshot is the list of rule locations in use before; restoring
//! deletes every UDP destination-port rule at a location not in it, so a
//! crashed process's rule is found again without knowing where the driver
//! put it. `none` adds no rule. veth and virtio-net have no rule table (EOPNOTSUPP); QEMU's igb
//! (82576) has one but refuses the insert of a UDP rule (EOPNOTSUPP), which is a refusal too.
//! Many drivers also need the ntuple feature on (`ethtool -K IF ntuple on`).

use super::{Held, Setting, bad_value, iface, in_netns, unsupported};
use crate::state::Target;
use crate::{Error, rxnfc};

const KEY: &str = "ntuple-udp-dport-to-queue";
const ACCEPTS: &str = "PORT:QUEUE (UDP destination port 1-65535, rx queue index), or none";

/// `ntuple-udp-dport-to-queue`.
#[derive(Debug, Clone, Copy)]
pub struct NtupleUdpDport;

fn split(value: &str) -> Option<(u16, u64)> {
    let (p, q) = value.split_once(':')?;
    let p = p.parse::<u16>().ok().filter(|p| *p > 0)?;
    Some((p, q.parse::<u32>().ok()?.into()))
}

/// Runs `f` on the target's device in its namespace; EOPNOTSUPP from the
/// rule table is reported as unsupported.
fn on_dev<T: Send + 'static>(
    t: &Target,
    f: impl FnOnce(&str) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let dev = iface(KEY, t)?.to_string();
    let target = t.clone();
    in_netns(t, move || {
        rxnfc::table(&dev).map_err(|e| match e {
            Error::Sys {
                errno: nix::errno::Errno::EOPNOTSUPP,
                ..
            } => unsupported(KEY, &target, format!("has no ntuple flow steering ({e})")),
            e => e,
        })?;
        f(&dev)
    })
}

impl Setting for NtupleUdpDport {
    fn key(&self) -> &'static str {
        KEY
    }
    fn accepts(&self) -> &'static str {
        ACCEPTS
    }
    fn per_device(&self) -> bool {
        true
    }
    fn parse(&self, value: &str) -> Result<String, Error> {
        if value == "none" || split(value).is_some() {
            Ok(value.into())
        } else {
            Err(bad_value(KEY, value, ACCEPTS))
        }
    }
    fn check_supported(&self, t: &Target) -> Result<(), Error> {
        on_dev(t, |_| Ok(()))
    }
    /// The UDP destination-port rules in force, `PORT:QUEUE,...`, or none.
    fn read(&self, t: &Target) -> Result<String, Error> {
        on_dev(t, |dev| {
            let rules = rxnfc::udp_rules(dev)?;
            Ok(if rules.is_empty() {
                "none".into()
            } else {
                let each: Vec<String> = rules
                    .iter()
                    .map(|r| format!("{}:{}", r.port, r.queue))
                    .collect();
                each.join(",")
            })
        })
    }
    fn snapshot(&self, t: &Target) -> Result<String, Error> {
        let locs = on_dev(t, rxnfc::locations)?;
        serde_json::to_string(&locs).map_err(|e| Error::Journal {
            path: KEY.into(),
            why: e.to_string(),
        })
    }
    fn apply(&self, t: &Target, value: &str) -> Result<Held, Error> {
        let Some((port, queue)) = split(value) else {
            return Ok(None);
        };
        on_dev(t, move |dev| rxnfc::insert(dev, port, queue)).map_err(|e| match e {
            // a rule table that takes no UDP rule (QEMU's igb 82576: the table answers, the
            // insert does not)
            Error::Sys {
                errno: nix::errno::Errno::EOPNOTSUPP,
                ..
            } => unsupported(KEY, t, format!("takes no UDP destination-port rule ({e})")),
            Error::Sys { call, arg, errno } => Error::Sys {
                call,
                arg: format!("{arg} (is the ntuple feature on? `ethtool -K IF ntuple on`)"),
                errno,
            },
            e => e,
        })?;
        Ok(None)
    }
    fn restore(&self, t: &Target, old: &str) -> Result<(), Error> {
        let before: Vec<u32> = serde_json::from_str(old).map_err(|e| Error::Journal {
            path: KEY.into(),
            why: format!("bad ntuple snapshot: {e}"),
        })?;
        on_dev(t, move |dev| {
            for r in rxnfc::udp_rules(dev)? {
                if !before.contains(&r.location) {
                    rxnfc::delete(dev, r.location)?;
                }
            }
            Ok(())
        })
    }
    fn confirms(&self, wanted: &str, read_back: &str) -> bool {
        wanted == "none" || read_back.split(',').any(|r| r == wanted)
    }
}
