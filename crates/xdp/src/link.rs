//! Attaching a loaded program to an interface through a bpf_link (so that a
//! killed process leaves nothing attached), and reading back the mode the
//! kernel really put it in.

use std::os::fd::AsFd;

use libbpf_rs::{Link, Program, ProgramMut, Xdp, XdpFlags};

use crate::error::Cause;
use crate::{Error, XdpMode};

/// An attachment; dropping it closes the link fd, which detaches the program.
#[derive(Debug)]
pub(crate) struct XdpLink {
    _link: Link,
}

/// Attaches `prog` to `ifindex` in `mode` (`Skb` or `Drv`, never `Auto`).
pub(crate) fn attach(prog: &ProgramMut<'_>, ifindex: u32, mode: XdpMode) -> Result<XdpLink, Error> {
    let ifindex_i32 = i32::try_from(ifindex).map_err(|_| Error::ModeUnavailable {
        ifindex,
        mode,
        why: "interface index out of range".to_owned(),
    })?;
    match mode {
        XdpMode::Drv => {
            // bpf_program__attach_xdp creates the link with flags 0: the kernel
            // picks drv when the driver implements ndo_bpf, else skb. Check.
            let link = prog
                .attach_xdp(ifindex_i32)
                .map_err(|e| Error::AttachLibbpf {
                    ifindex,
                    mode,
                    call: "bpf_program__attach_xdp",
                    cause: Cause(e),
                })?;
            match attached_mode(prog, ifindex)? {
                Some(XdpMode::Drv) => Ok(XdpLink { _link: link }),
                got => Err(Error::ModeUnavailable {
                    ifindex,
                    mode,
                    why: format!(
                        "the driver has no native XDP (the kernel attached it as {})",
                        got.map_or("nothing".to_owned(), |m| m.to_string())
                    ),
                }),
            }
        }
        XdpMode::Skb => Err(Error::ModeUnavailable {
            ifindex,
            mode,
            why: "an explicit skb-mode bpf_link needs BPF_LINK_CREATE with \
                  XDP_FLAGS_SKB_MODE, which libbpf-rs does not expose"
                .to_owned(),
        }),
        XdpMode::Auto => unreachable!("attach() resolves Auto into Drv or Skb"),
    }
}

/// The mode `prog` is attached in on `ifindex`, or `None` if it is not.
pub(crate) fn attached_mode(prog: &ProgramMut<'_>, ifindex: u32) -> Result<Option<XdpMode>, Error> {
    let query_err = |e| Error::Query {
        ifindex,
        cause: Cause(e),
    };
    let id = Program::id_from_fd(prog.as_fd()).map_err(query_err)?;
    let opts = Xdp::new(prog.as_fd())
        .query(ifindex as i32, XdpFlags::NONE)
        .map_err(query_err)?;
    Ok(if opts.drv_prog_id == id {
        Some(XdpMode::Drv)
    } else if opts.skb_prog_id == id {
        Some(XdpMode::Skb)
    } else {
        None
    })
}
