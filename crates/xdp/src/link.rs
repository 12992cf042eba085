//! Attaching a loaded program to an interface through a bpf_link in an
//! explicit mode (BPF_LINK_CREATE with XDP_FLAGS_SKB_MODE or _DRV_MODE; a
//! killed process leaves nothing attached), and reading back the mode the
//! kernel reports for it.

use std::os::fd::{AsFd, OwnedFd};

use libbpf_rs::{Program, ProgramMut, Xdp, XdpFlags};

use crate::error::Cause;
use crate::{Error, XdpMode};

/// An attachment; dropping it closes the link fd, which detaches the program.
#[derive(Debug)]
pub(crate) struct XdpLink {
    _fd: OwnedFd,
}

/// Attaches `prog` to `ifindex` in `mode` (`Skb` or `Drv`, never `Auto`).
pub(crate) fn attach(prog: &ProgramMut<'_>, ifindex: u32, mode: XdpMode) -> Result<XdpLink, Error> {
    let flags = match mode {
        XdpMode::Skb => xsk::XDP_FLAGS_SKB_MODE,
        XdpMode::Drv => xsk::XDP_FLAGS_DRV_MODE,
        XdpMode::Auto => unreachable!("ProbeProgram::attach resolves Auto into Drv or Skb"),
    };
    let fd = xsk::bpf_link_create_xdp(prog.as_fd(), ifindex, flags).map_err(|e| Error::Attach {
        ifindex,
        mode,
        call: "bpf(BPF_LINK_CREATE)",
        errno: e.raw_os_error().unwrap_or(0),
    })?;
    let link = XdpLink { _fd: fd };
    match attached_mode(prog, ifindex)? {
        Some(got) if got == mode => Ok(link),
        got => Err(Error::ModeUnavailable {
            ifindex,
            mode,
            why: format!(
                "the kernel reports the program attached {}",
                got.map_or("nowhere".to_owned(), |m| format!("in {m} mode"))
            ),
        }),
    }
}

/// The mode `prog` is attached in on `ifindex` (bpf_xdp_query over netlink),
/// or `None` if it is not attached there.
fn attached_mode(prog: &ProgramMut<'_>, ifindex: u32) -> Result<Option<XdpMode>, Error> {
    let query_err = |e| Error::Query {
        ifindex,
        cause: Cause(e),
    };
    let id = Program::id_from_fd(prog.as_fd()).map_err(query_err)?;
    let ifindex_i32 = i32::try_from(ifindex).map_err(|_| {
        query_err(libbpf_rs::Error::from(std::io::Error::from_raw_os_error(
            nix::libc::ENODEV,
        )))
    })?;
    let opts = Xdp::new(prog.as_fd())
        .query(ifindex_i32, XdpFlags::NONE)
        .map_err(query_err)?;
    Ok(if opts.drv_prog_id == id {
        Some(XdpMode::Drv)
    } else if opts.skb_prog_id == id {
        Some(XdpMode::Skb)
    } else {
        None
    })
}
