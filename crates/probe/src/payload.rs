//! The probe header alone, as the UDP backend sees it: the kernel has already checked the
//! Ethernet, IPv4 and UDP layers (and their checksums), so only the probe header is parsed here.

use wire::{FwdStamps, ProbeHeader, ProbeRepr};

pub fn parse(payload: &[u8]) -> Result<ProbeRepr, wire::Error> {
    ProbeRepr::parse(&ProbeHeader::new_checked(payload)?)
}

/// Writes the forwarder stamps when the sender reserved room; Ok(false) otherwise.
pub fn stamp(payload: &mut [u8], stamps: &FwdStamps) -> Result<bool, wire::Error> {
    let mut header = ProbeHeader::new_checked(payload)?;
    if header.flags() & wire::probe::flags::STAMP_ROOM == 0 {
        return Ok(false);
    }
    header.set_flags(header.flags() | wire::probe::flags::FWD_STAMPED);
    header.set_stamps(stamps);
    Ok(true)
}
