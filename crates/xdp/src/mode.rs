//! The XDP attach mode: the `--xdp-mode skb|drv|auto` knob.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// How the XDP program is attached to the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XdpMode {
    /// Generic XDP (`XDP_FLAGS_SKB_MODE`): runs after the skb is built.
    Skb,
    /// Native XDP in the driver (`XDP_FLAGS_DRV_MODE`).
    Drv,
    /// Try drv, fall back to skb.
    Auto,
}

impl XdpMode {
    /// Every mode, in the order help texts list them.
    pub const ALL: [XdpMode; 3] = [XdpMode::Skb, XdpMode::Drv, XdpMode::Auto];

    /// The spelling used on the command line and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            XdpMode::Skb => "skb",
            XdpMode::Drv => "drv",
            XdpMode::Auto => "auto",
        }
    }
}

impl fmt::Display for XdpMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for XdpMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "skb" => Ok(XdpMode::Skb),
            "drv" => Ok(XdpMode::Drv),
            "auto" => Ok(XdpMode::Auto),
            other => Err(Error::ParseMode(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        for m in [XdpMode::Skb, XdpMode::Drv, XdpMode::Auto] {
            assert_eq!(m.to_string().parse::<XdpMode>().unwrap(), m);
        }
        let err = "native".parse::<XdpMode>().unwrap_err().to_string();
        assert!(
            err.contains("native") && err.contains("skb|drv|auto"),
            "{err}"
        );
    }
}
