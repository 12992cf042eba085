//! The tries on the interface named with `--iface`: the probe program attached in drv and skb
//! mode and the device-bound RX-timestamp program (each detached at once), then a zero-copy and a
//! copy AF_XDP bind on one queue (each closed at once).

use serde::Serialize;

use super::{Findings, Level};

/// What an XDP attach gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Attach {
    Ok { mode: String },
    Failed { error: String },
}

/// What an AF_XDP bind on one queue gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Bind {
    Ok { zero_copy: bool, napi_id: u32 },
    Unsupported { error: String },
    InUse { error: String },
    Failed { error: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct Tries {
    pub queue: u32,
    pub attach_drv: Attach,
    pub attach_skb: Attach,
    pub attach_drv_rx_timestamp: Attach,
    pub bind_zero_copy: Bind,
    /// Not tried when the zero-copy bind worked or found the queue in use.
    pub bind_copy: Option<Bind>,
}

impl Attach {
    pub fn result(&self) -> &'static str {
        match self {
            Attach::Ok { .. } => "ok",
            Attach::Failed { .. } => "failed",
        }
    }
}

impl Bind {
    pub fn result(&self) -> &'static str {
        match self {
            Bind::Ok { .. } => "ok",
            Bind::Unsupported { .. } => "unsupported",
            Bind::InUse { .. } => "in-use",
            Bind::Failed { .. } => "failed",
        }
    }
}

fn attach(ifindex: u32, mode: xdp::XdpMode, hw: bool) -> Attach {
    let prog = xdp::ProbeProgram::attach(&xdp::ProbeProgramConfig {
        ifindex,
        mode,
        probe_port: crate::DEFAULT_PROBE_PORT,
        hw_rx_timestamp: hw,
        stamp: xdp::forced_from_env().ok().flatten(),
        probe_ports: 1,
    });
    match prog {
        Ok(p) => Attach::Ok {
            mode: p.mode().to_string(),
        },
        Err(e) => Attach::Failed {
            error: e.to_string(),
        },
    }
}

fn bind(ifindex: u32, queue: u32, mode: xsk::BindMode) -> Bind {
    let umem = xsk::UmemConfig {
        frame_count: 64,
        fill_size: 64,
        completion_size: 64,
        ..xsk::UmemConfig::default()
    };
    let mut cfg = xsk::SocketConfig::new(ifindex, queue);
    cfg.rx_size = 64;
    cfg.tx_size = 64;
    cfg.bind = mode;
    match xsk::Socket::new(&umem, &cfg) {
        Ok(s) => Bind::Ok {
            zero_copy: s.ctl.is_zero_copy().unwrap_or(false),
            napi_id: s.ctl.napi_id().unwrap_or(0),
        },
        Err(e @ xsk::Error::ZeroCopyUnsupported { .. }) => Bind::Unsupported {
            error: e.to_string(),
        },
        Err(e) if e.errno() == Some(nix::errno::Errno::EBUSY as i32) => Bind::InUse {
            error: e.to_string(),
        },
        Err(e) if e.errno() == Some(nix::errno::Errno::EOPNOTSUPP as i32) => Bind::Unsupported {
            error: e.to_string(),
        },
        Err(e) => Bind::Failed {
            error: e.to_string(),
        },
    }
}

pub(super) fn tries(
    info: &host::iface::IfaceInfo,
    queue: u32,
    zc_advertised: Option<bool>,
    topic: &str,
    f: &mut Findings,
) -> Tries {
    let drv = attach(info.ifindex, xdp::XdpMode::Drv, false);
    let skb = attach(info.ifindex, xdp::XdpMode::Skb, false);
    let hw = attach(info.ifindex, xdp::XdpMode::Drv, true);
    attach_findings(&drv, &skb, &hw, topic, f);
    let zc = bind(info.ifindex, queue, xsk::BindMode::ZeroCopy);
    let copy = match &zc {
        Bind::InUse { .. } | Bind::Ok { .. } => None,
        _ => Some(bind(info.ifindex, queue, xsk::BindMode::Copy)),
    };
    let driver = info.driver.as_deref().unwrap_or("");
    bind_findings(&zc, copy.as_ref(), queue, zc_advertised, driver, topic, f);
    Tries {
        queue,
        attach_drv: drv,
        attach_skb: skb,
        attach_drv_rx_timestamp: hw,
        bind_zero_copy: zc,
        bind_copy: copy,
    }
}

fn attach_findings(drv: &Attach, skb: &Attach, hw: &Attach, topic: &str, f: &mut Findings) {
    match (drv, skb) {
        (Attach::Ok { .. }, _) => f.add(
            Level::Ok,
            topic,
            "XDP attaches in native (drv) mode",
            "probes reach the program before the kernel builds an sk_buff: --xdp-mode drv (auto picks it)",
        ),
        (Attach::Failed { error }, Attach::Ok { .. }) => f.add(
            Level::Warn,
            topic,
            format!("XDP attaches in generic (skb) mode only (drv: {error})"),
            "generic mode runs after the sk_buff is built: higher latency, not comparable with native-mode results",
        ),
        (Attach::Failed { error: d }, Attach::Failed { error: s }) => f.add_fix(
            Level::Missing,
            topic,
            format!("XDP does not attach (drv: {d}; skb: {s})"),
            "xdplat ping/fwd cannot run with --backend afxdp here",
            "--backend udp can",
        ),
    }
    if let (Attach::Failed { error }, Attach::Ok { .. }) = (hw, drv) {
        f.add(
            Level::Info,
            topic,
            format!("the device-bound RX-timestamp program does not load ({error})"),
            "no NIC RX timestamps from XDP on this interface",
        );
    }
}

fn bind_findings(
    zc: &Bind,
    copy: Option<&Bind>,
    queue: u32,
    zc_advertised: Option<bool>,
    driver: &str,
    topic: &str,
    f: &mut Findings,
) {
    let zc_hint = super::txwake::zero_copy_hint(driver);
    match zc {
        Bind::Ok { napi_id, .. } => {
            f.add(
                Level::Ok,
                topic,
                format!("zero-copy AF_XDP bind works on queue {queue}"),
                "--bind zero-copy (or auto) measures the fast path",
            );
            napi_finding(*napi_id, true, topic, f);
        }
        Bind::InUse { error } => f.add_fix(
            Level::Warn,
            topic,
            format!("queue {queue} is in use by another AF_XDP socket ({error})"),
            "not tried further; a role on this queue fails until that socket closes",
            "pick another --queue",
        ),
        Bind::Unsupported { error } => {
            if zc_advertised != Some(false) {
                let fact = format!("zero-copy bind refused ({error})");
                let meaning =
                    "no zero-copy: expect copy-mode latencies; --bind auto falls back to copy";
                match zc_hint {
                    Some(h) => f.add_fix(Level::Warn, topic, fact, meaning, h),
                    None => f.add(Level::Warn, topic, fact, meaning),
                }
            }
        }
        Bind::Failed { error } => {
            let fact = format!("zero-copy bind failed ({error})");
            match zc_hint {
                Some(h) => f.add_fix(Level::Warn, topic, fact, "zero-copy could not be tested", h),
                None => f.add(Level::Warn, topic, fact, "zero-copy could not be tested"),
            }
        }
    }
    match copy {
        Some(Bind::Ok { napi_id, .. }) => {
            f.add(
                Level::Ok,
                topic,
                format!("copy-mode AF_XDP bind works on queue {queue}"),
                "xdplat ping/fwd run here with --bind copy (or auto)",
            );
            napi_finding(*napi_id, false, topic, f);
        }
        Some(Bind::InUse { error }) => f.add_fix(
            Level::Warn,
            topic,
            format!("queue {queue} is in use ({error})"),
            "a role on this queue fails until that socket closes",
            "pick another --queue",
        ),
        Some(Bind::Unsupported { error } | Bind::Failed { error }) => f.add_fix(
            Level::Missing,
            topic,
            format!("copy-mode AF_XDP bind failed ({error})"),
            "xdplat ping/fwd cannot use AF_XDP here",
            "--backend udp can",
        ),
        None => {}
    }
}

fn napi_finding(napi_id: u32, zero_copy: bool, topic: &str, f: &mut Findings) {
    let mode = if zero_copy { "zero-copy" } else { "copy" };
    if napi_id == 0 {
        f.add(
            Level::Warn,
            topic,
            format!("a {mode}-mode socket gets no NAPI id (SO_INCOMING_NAPI_ID = 0)"),
            &format!(
                "busy polling will be a no-op on this interface in {mode} mode: --busy-poll true changes nothing"
            ),
        );
    } else {
        f.add(
            Level::Ok,
            topic,
            format!("a {mode}-mode socket gets NAPI id {napi_id}"),
            "busy polling (--busy-poll true) really polls the device",
        );
    }
}
