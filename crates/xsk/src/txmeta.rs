//! AF_XDP TX metadata (kernel 6.8+, `Documentation/networking/xsk-tx-metadata.rst`): with a UMEM
//! registered with `tx_metadata_len`, a TX descriptor flagged `XDP_TX_METADATA` carries a
//! `struct xsk_tx_metadata` right before its packet. Setting `XDP_TXMD_FLAGS_TIMESTAMP` there
//! asks for the time the frame left to be written into the same place, readable once the frame
//! is back on the completion ring. Which clock that is depends on the mode (measured on 6.18):
//! a zero-copy driver with TX timestamps writes the NIC's hardware clock; in copy mode the kernel
//! writes a software stamp in CLOCK_TAI when it frees the frame's skb after transmission (veth
//! included). A zero means no stamp and is reported as None, never as a time.

use crate::ring::Desc;
use crate::sys::Frames;
use crate::sys::abi::{XDP_TX_METADATA, XDP_TXMD_FLAGS_TIMESTAMP};

/// Bytes of `struct xsk_tx_metadata` this module uses: `flags` (u64) and the completion
/// timestamp (u64) that follows it.
pub const TIMESTAMP_METADATA_LEN: u32 = 16;

const FLAGS: usize = 0;
const TX_TIMESTAMP: usize = 8;

/// The metadata area of the packet at `addr`, when the UMEM has room for a timestamp request.
fn area(frames: &Frames, addr: u64) -> Option<u64> {
    let len = frames.tx_metadata_len();
    (len >= TIMESTAMP_METADATA_LEN)
        .then(|| addr.checked_sub(len as u64))
        .flatten()
}

/// Asks for a TX completion timestamp for `desc` (its packet already written): fills the
/// metadata and flags the descriptor. False when the UMEM has no metadata room.
pub fn request_timestamp(frames: &mut Frames, desc: &mut Desc) -> bool {
    let Some(at) = area(frames, desc.addr) else {
        return false;
    };
    let Some(meta) = frames.get_mut(at, TIMESTAMP_METADATA_LEN as usize) else {
        return false;
    };
    meta[FLAGS..FLAGS + 8].copy_from_slice(&XDP_TXMD_FLAGS_TIMESTAMP.to_ne_bytes());
    meta[TX_TIMESTAMP..TX_TIMESTAMP + 8].fill(0);
    desc.options |= XDP_TX_METADATA;
    true
}

/// The TX timestamp of the completed frame whose packet started at `addr` (see the module doc
/// for its clock); None when none was written.
pub fn completion_timestamp(frames: &Frames, addr: u64) -> Option<u64> {
    let meta = frames.get(area(frames, addr)?, TIMESTAMP_METADATA_LEN as usize)?;
    let ts = u64::from_ne_bytes(meta[TX_TIMESTAMP..TX_TIMESTAMP + 8].try_into().ok()?);
    (ts != 0).then_some(ts)
}
