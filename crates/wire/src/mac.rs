//! The Ethernet MAC address: printed and parsed as `aa:bb:cc:dd:ee:ff`, the
//! form `ip link` shows and the CLI takes (`--dst-mac`).

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A six-octet Ethernet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// The six octets, in wire order.
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// Whether the group (multicast) bit of the first octet is set.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(octets: [u8; 6]) -> Self {
        MacAddr(octets)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl FromStr for MacAddr {
    type Err = Error;

    /// Parses six colon-separated groups of two hex digits (either case).
    fn from_str(input: &str) -> Result<Self, Error> {
        let bad = |why| Error::BadMac {
            input: input.to_owned(),
            why,
        };
        let mut octets = [0u8; 6];
        let mut groups = input.split(':');
        for octet in &mut octets {
            let group = groups.next().ok_or_else(|| bad("fewer than 6 groups"))?;
            if group.len() != 2 {
                return Err(bad("each group must be exactly 2 hex digits"));
            }
            if !group.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad("not a hex digit"));
            }
            *octet = u8::from_str_radix(group, 16).map_err(|_| bad("not a hex digit"))?;
        }
        if groups.next().is_some() {
            return Err(bad("more than 6 groups"));
        }
        Ok(MacAddr(octets))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        let mac = MacAddr([0x02, 0x00, 0x0a, 0xbc, 0xde, 0xff]);
        assert_eq!(mac.to_string(), "02:00:0a:bc:de:ff");
        assert_eq!("02:00:0A:bc:DE:ff".parse::<MacAddr>(), Ok(mac));
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        for (input, why) in [
            ("", "each group must be exactly 2 hex digits"),
            ("02:00:00:00:00", "fewer than 6 groups"),
            ("02:00:00:00:00:00:00", "more than 6 groups"),
            ("02:00:00:00:00:0g", "not a hex digit"),
            (
                "2:00:00:00:00:00",
                "each group must be exactly 2 hex digits",
            ),
            (
                "02-00-00-00-00-00",
                "each group must be exactly 2 hex digits",
            ),
            ("+1:00:00:00:00:00", "not a hex digit"),
        ] {
            let err = input.parse::<MacAddr>().unwrap_err();
            assert_eq!(
                err,
                Error::BadMac {
                    input: input.to_owned(),
                    why
                },
                "{input:?}"
            );
            assert!(err.to_string().contains("aa:bb:cc:dd:ee:ff"));
        }
    }
}
