//! `ntuple-udp-dport-to-queue=PORT:QUEUE`: an ntuple flow-steering rule
//! that sends the probe flow to the application's queue.
//!
//! Support is checked by asking the device for its rule table
//! (`ethtool -n IF`, exit status only, run in the device's namespace);
//! veth answers EOPNOTSUPP. Inserting and removing rules is not done yet:
//! no netlink interface exists for them (only the ethtool ioctl), and no
//! hardware here to test on, so on a capable device it is reported as
//! unsupported by xdplat rather than half done.

use super::{Held, Setting, bad_value, iface, in_netns, unsupported};
use crate::Error;
use crate::state::Target;

const KEY: &str = "ntuple-udp-dport-to-queue";
const ACCEPTS: &str = "PORT:QUEUE (UDP destination port 1-65535, rx queue index), or none";

/// `ntuple-udp-dport-to-queue`.
#[derive(Debug, Clone, Copy)]
pub struct NtupleUdpDport;

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
        if value == "none" {
            return Ok(value.into());
        }
        let ok = value.split_once(':').is_some_and(|(p, q)| {
            p.parse::<u16>().is_ok_and(|p| p > 0) && q.parse::<u32>().is_ok()
        });
        if ok {
            Ok(value.into())
        } else {
            Err(bad_value(KEY, value, ACCEPTS))
        }
    }
    fn check_supported(&self, t: &Target) -> Result<(), Error> {
        let dev = iface(KEY, t)?.to_string();
        let target = t.clone();
        let capable = in_netns(t, move || {
            let out = std::process::Command::new("ethtool")
                .args(["-n", &dev])
                .output()
                .map_err(|e| Error::io("run", "ethtool -n", e))?;
            Ok(out.status.success())
        })?;
        if capable {
            Err(unsupported(
                KEY,
                &target,
                "has ntuple rules, but xdplat cannot insert them yet (not implemented)",
            ))
        } else {
            Err(unsupported(
                KEY,
                &target,
                "has no ntuple flow steering (`ethtool -n` fails: no RX classification rules)",
            ))
        }
    }
    fn read(&self, t: &Target) -> Result<String, Error> {
        self.check_supported(t).map(|_| "none".into())
    }
    fn snapshot(&self, _t: &Target) -> Result<String, Error> {
        Ok(String::new())
    }
    fn apply(&self, t: &Target, _value: &str) -> Result<Held, Error> {
        self.check_supported(t).map(|_| None)
    }
    fn restore(&self, _t: &Target, _old: &str) -> Result<(), Error> {
        Ok(())
    }
}
