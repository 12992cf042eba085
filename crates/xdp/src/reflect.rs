//! `ReflectProgram`: the XDP_TX reflector of `bpf/reflect.bpf.c`, the in-kernel baseline the
//! forwarder's throughput is compared with (`xdplat bench`): it turns probes around in the
//! driver's XDP hook, so no user-space forwarder on the same port can beat it.

use std::mem::MaybeUninit;

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, MapHandle};

use crate::error::Cause;
use crate::link::{self, XdpLink};
use crate::skel::ReflectSkelBuilder;
use crate::{Error, XdpMode};

/// An attached reflector; dropping it detaches the program.
#[derive(Debug)]
pub struct ReflectProgram {
    _link: XdpLink,
    counters: MapHandle,
    ifindex: u32,
    mode: XdpMode,
}

impl ReflectProgram {
    /// Loads the reflector for UDP port `probe_port` and attaches it to `ifindex` in `mode`
    /// (`Auto`: drv, else skb).
    pub fn attach(ifindex: u32, mode: XdpMode, probe_port: u16) -> Result<Self, Error> {
        match mode {
            XdpMode::Auto => Self::attach_in(ifindex, XdpMode::Drv, probe_port).or_else(|drv| {
                Self::attach_in(ifindex, XdpMode::Skb, probe_port).map_err(|skb| {
                    Error::AutoFailed {
                        ifindex,
                        drv: Box::new(drv),
                        skb: Box::new(skb),
                    }
                })
            }),
            m => Self::attach_in(ifindex, m, probe_port),
        }
    }

    fn attach_in(ifindex: u32, mode: XdpMode, probe_port: u16) -> Result<Self, Error> {
        let mut storage = MaybeUninit::uninit();
        let mut open = ReflectSkelBuilder::default()
            .open(&mut storage)
            .map_err(|e| Error::Open(Cause(e)))?;
        let Some(rodata) = open.maps.rodata_data.as_deref_mut() else {
            return Err(Error::no_rodata(ifindex));
        };
        rodata.probe_port = probe_port;
        let (skel, log) = crate::log::capture(|| open.load());
        let skel = skel.map_err(|e| Error::Load {
            ifindex,
            prog: "xdplat_reflect",
            cause: Cause(e),
            log,
        })?;
        let link = link::attach(&skel.progs.xdplat_reflect, ifindex, mode)?;
        let counters =
            MapHandle::try_from(&skel.maps.reflect_counters).map_err(|e| Error::Prepare {
                ifindex,
                call: "dup(reflect_counters fd)",
                cause: Cause(e),
            })?;
        Ok(ReflectProgram {
            _link: link,
            counters,
            ifindex,
            mode,
        })
    }

    /// The mode really in effect.
    pub fn mode(&self) -> XdpMode {
        self.mode
    }

    /// Probes reflected (XDP_TX returned) since load, summed over CPUs.
    pub fn reflected(&self) -> Result<u64, Error> {
        let per_cpu = self
            .counters
            .lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| Error::Counters {
                ifindex: self.ifindex,
                cause: Cause(e),
            })?
            .unwrap_or_default();
        Ok(per_cpu
            .iter()
            .filter_map(|v| v.get(..8).and_then(|b| b.try_into().ok()))
            .map(u64::from_ne_bytes)
            .sum())
    }
}
