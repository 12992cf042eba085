//! The one table of knobs. Each entry: its doc (the flag's help), its field in [`Knobs`] and
//! type, `name` (the flag `--name` and the experiment key), `kind` (the values it takes, with
//! their range), `default` for (ping, fwd), the `roles` that take it, and whether an experiment
//! `axis` may set it. Adding a knob is one entry here, plus its implementation (where the
//! field is used); the flags, experiment keys, validation and summary params follow.

use xdp::XdpMode;
use xsk::BindMode;

use super::{BOTH, Backend, Kind, Knob, KnobType, Pace, Role};

/// SO_BUSY_POLL takes a C int.
const I32: u64 = i32::MAX as u64;

knobs! {
    /// afxdp (our AF_XDP path) or udp (kernel sockets: the baseline).
    backend: Backend {
        name: "backend",
        kind: Kind::choice::<Backend>(),
        default: (Backend::Afxdp, Backend::Afxdp),
        roles: BOTH,
        axis: false,
    },
    /// XDP attach mode: skb (generic), drv (native) or auto (drv where the driver has it).
    xdp_mode: XdpMode {
        name: "xdp-mode",
        kind: Kind::choice::<XdpMode>(),
        default: (XdpMode::Auto, XdpMode::Auto),
        roles: BOTH,
        axis: true,
    },
    /// AF_XDP bind: copy, zero-copy, or auto (zero-copy, falling back to copy).
    bind: BindMode {
        name: "bind",
        kind: Kind::choice::<BindMode>(),
        default: (BindMode::Auto, BindMode::Auto),
        roles: BOTH,
        axis: true,
    },
    /// XDP_USE_NEED_WAKEUP: the kernel says when it needs a syscall.
    need_wakeup: bool {
        name: "need-wakeup",
        kind: Kind::Bool,
        default: (true, true),
        roles: BOTH,
        axis: true,
    },
    /// Busy polling (SO_BUSY_POLL, SO_BUSY_POLL_BUDGET, and SO_PREFER_BUSY_POLL as
    /// --prefer-busy-poll says).
    busy_poll: bool {
        name: "busy-poll",
        kind: Kind::Bool,
        default: (false, false),
        roles: BOTH,
        axis: true,
    },
    /// SO_PREFER_BUSY_POLL with --busy-poll true (the paper's xdpsock sets it): the NAPI stays
    /// with the socket, interrupts deferred. In zero-copy mode sendto() then skips the driver's
    /// TX wake-up, so the role wakes TX with poll() after each sendto.
    prefer_busy_poll: bool {
        name: "prefer-busy-poll",
        kind: Kind::Bool,
        default: (true, true),
        roles: BOTH,
        axis: true,
    },
    /// SO_BUSY_POLL: microseconds to busy poll for packets (with --busy-poll true).
    busy_poll_usecs: u32 {
        name: "busy-poll-usecs",
        kind: Kind::Int { min: 0, max: I32 },
        default: (20, 20),
        roles: BOTH,
        axis: true,
    },
    /// SO_BUSY_POLL_BUDGET: packets one busy poll handles (with --busy-poll true).
    busy_poll_budget: u32 {
        name: "busy-poll-budget",
        kind: Kind::Int { min: 1, max: 65_535 },
        default: (64, 64),
        roles: BOTH,
        axis: true,
    },
    /// Wait in poll() (true, as the paper's `-p`) or spin on the ring (false).
    poll: bool {
        name: "poll",
        kind: Kind::Bool,
        default: (false, false),
        roles: BOTH,
        axis: true,
    },
    /// How the ping waits for its next send while no probe is in flight: sleep (in the port's
    /// wait, as --poll says) or spin on the clock (as sockperf's client does; the CPU then never
    /// idles between probes). Replies are awaited as --poll says either way.
    pace: Pace {
        name: "pace",
        kind: Kind::choice::<Pace>(),
        default: (Pace::Sleep, Pace::Sleep),
        roles: &[Role::Ping],
        axis: true,
    },
    /// Pin the role's thread to this CPU.
    cpu: Option<usize> {
        name: "cpu",
        kind: Kind::Int { min: 0, max: 1023 },
        default: (None, None),
        roles: BOTH,
        axis: true,
    },
    /// UMEM frame size in bytes (2048 or 4096 in aligned mode).
    frame_size: u32 {
        name: "frame-size",
        kind: Kind::Int { min: 2048, max: 65_536 },
        default: (4096, 4096),
        roles: BOTH,
        axis: true,
    },
    /// UMEM frames.
    frames: u32 {
        name: "frames",
        kind: Kind::Int { min: 2, max: 1 << 20 },
        default: (4096, 4096),
        roles: BOTH,
        axis: true,
    },
    /// RX and TX ring size (a power of two); fill and completion rings get twice that.
    ring_size: u32 {
        name: "ring-size",
        kind: Kind::Int { min: 2, max: 1 << 19 },
        default: (2048, 2048),
        roles: BOTH,
        axis: true,
    },
    /// Packets per batch (ping: sent per interval; fwd: at most this many handled per ring
    /// operation, taking what is there without waiting for more, as xdpsock's l2fwd does).
    batch: u32 {
        name: "batch",
        kind: Kind::Int { min: 1, max: 1 << 19 },
        default: (1, 64),
        roles: BOTH,
        axis: true,
    },
    /// UDP flows: probe k goes out on port `--port` + k mod N (as source and destination), so
    /// RSS and the driver's queue selection spread probes over queues; each role's XDP program
    /// takes probes to ports `--port`..`--port` + N - 1 (give both roles the same N).
    flows: u32 {
        name: "flows",
        kind: Kind::Int { min: 1, max: 1024 },
        default: (1, 1),
        roles: BOTH,
        axis: true,
    },
    /// Device timestamps: NIC RX stamps through a device-bound XDP program (drv mode), TX stamps
    /// through AF_XDP TX metadata (copy mode: the kernel's software stamp). Refused where the
    /// device offers no RX timestamps to XDP; the summary says which stages each source measured.
    hw_timestamps: bool {
        name: "hw-timestamps",
        kind: Kind::Bool,
        default: (false, false),
        roles: BOTH,
        axis: true,
    },
}
