//! The flags shared by `ping` and `fwd`: where the role runs ([`PlaceArgs`]) and the socket knobs
//! ([`KnobArgs`]; DESIGN.md: same spelling as experiment keys).

use clap::ArgAction;

/// Where a role runs and what traffic it handles.
#[derive(Debug, Clone, clap::Args)]
pub struct PlaceArgs {
    /// Network namespace to run in (lab-a or lab-b from `xdplat testbed up`).
    #[arg(long)]
    pub netns: Option<String>,
    #[arg(long)]
    pub iface: String,
    #[arg(long, default_value_t = 0)]
    pub queue: u32,
    /// afxdp (our AF_XDP path) or udp (kernel sockets: the baseline).
    #[arg(long, default_value = "afxdp")]
    pub backend: String,
    /// UDP port of the probe traffic.
    #[arg(long, default_value_t = probe::DEFAULT_PROBE_PORT)]
    pub port: u16,
}

#[derive(Debug, Clone, clap::Args)]
pub struct KnobArgs {
    /// XDP attach mode: skb (generic), drv (native) or auto (drv where the driver has it).
    #[arg(long, default_value = "auto")]
    pub xdp_mode: String,
    /// AF_XDP bind: copy, zero-copy, or auto (zero-copy, falling back to copy).
    #[arg(long, default_value = "auto")]
    pub bind: String,
    /// XDP_USE_NEED_WAKEUP: the kernel says when it needs a syscall.
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub need_wakeup: bool,
    /// Busy polling (SO_PREFER_BUSY_POLL, SO_BUSY_POLL, SO_BUSY_POLL_BUDGET).
    #[arg(long, default_value_t = false, action = ArgAction::Set)]
    pub busy_poll: bool,
    #[arg(long, default_value_t = 20)]
    pub busy_poll_usecs: u32,
    #[arg(long, default_value_t = 64)]
    pub busy_poll_budget: u32,
    /// Wait in poll() (true) or spin on the ring (false).
    #[arg(long, default_value_t = false, action = ArgAction::Set)]
    pub poll: bool,
    /// Pin the role's thread to this CPU.
    #[arg(long)]
    pub cpu: Option<usize>,
    /// UMEM frame size in bytes (2048 or 4096 in aligned mode).
    #[arg(long, default_value_t = 4096)]
    pub frame_size: u32,
    /// UMEM frames.
    #[arg(long, default_value_t = 4096)]
    pub frames: u32,
    /// RX and TX ring size (a power of two); fill and completion rings get twice that.
    #[arg(long, default_value_t = 2048)]
    pub ring_size: u32,
    /// Packets per batch (ping: sent per interval; fwd: handled per ring operation).
    #[arg(long, default_value_t = 1)]
    pub batch: u32,
    /// Device timestamps: NIC RX stamps through a device-bound XDP program (drv mode), TX stamps
    /// through AF_XDP TX metadata (copy mode: the kernel's software stamp). Refused where the
    /// device offers no RX timestamps to XDP; the summary says which stages each source measured.
    #[arg(long, default_value_t = false, action = ArgAction::Set)]
    pub hw_timestamps: bool,
}

impl KnobArgs {
    pub fn to_knobs(&self) -> anyhow::Result<probe::Knobs> {
        let xdp_mode = self
            .xdp_mode
            .parse::<xdp::XdpMode>()
            .map_err(crate::exit::classify)?;
        let bind = self
            .bind
            .parse::<xsk::BindMode>()
            .map_err(crate::exit::classify)?;
        let knobs = probe::Knobs {
            xdp_mode,
            bind,
            need_wakeup: self.need_wakeup,
            busy_poll: self.busy_poll,
            busy_poll_usecs: self.busy_poll_usecs,
            busy_poll_budget: self.busy_poll_budget,
            poll: self.poll,
            cpu: self.cpu,
            frame_size: self.frame_size,
            frames: self.frames,
            ring_size: self.ring_size,
            batch: self.batch,
            hw_timestamps: self.hw_timestamps,
        };
        knobs.validate().map_err(crate::exit::classify)?;
        Ok(knobs)
    }
}
