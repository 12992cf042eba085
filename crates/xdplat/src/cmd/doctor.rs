//! `xdplat doctor`: what this machine and its interfaces can and cannot do for AF_XDP latency
//! measurements, and what each gap means for a result. A report: it exits 0 whatever is
//! missing, 2 only for a bad `--iface`/`--netns`.
//!
//! Interfaces are probed read-only (netdev and ethtool netlink, rtnetlink), except the one
//! named with `--iface`, which is also tried for real: the probe program attached in drv and
//! skb mode (bpf_link, detached at once), the device-bound RX-timestamp program, a zero-copy
//! and a copy AF_XDP bind on `--queue`. An interface with an XDP program already attached, or a
//! queue already bound, is left alone and reported as in use. `--passive` skips the tries.

use std::path::{Path, PathBuf};

use host::doctor::{self as hd, Capabilities};
use serde_json::{Value, json};

use crate::cmd::common::{ROLE_NEEDS, enter_netns, unmet};
use crate::exit::classify;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Network namespace whose interfaces to examine.
    #[arg(long)]
    pub netns: Option<String>,
    /// Examine this interface only, and try XDP attach and AF_XDP binds on it.
    #[arg(long)]
    pub iface: Option<String>,
    /// Queue for the AF_XDP bind tries.
    #[arg(long, default_value_t = 0)]
    pub queue: u32,
    /// Read only: no attach or bind tries (a drv-mode attach resets the rings of some NICs).
    #[arg(long)]
    pub passive: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// How a finding bears on a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Ok,
    Info,
    Warn,
    Missing,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Missing => "missing",
        }
    }
}

/// One line of the report: a fact and what it means for a measurement.
#[derive(Debug, Default)]
struct Findings(Vec<Value>);

impl Findings {
    fn add(&mut self, level: Level, topic: &str, fact: impl Into<String>, meaning: &str) {
        self.0.push(json!({
            "level": level.as_str(),
            "topic": topic,
            "fact": fact.into(),
            "meaning": meaning,
        }));
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut findings = Findings::default();
    let kernel = kernel(&mut findings);
    let process = process(&mut findings);
    let tools = tools(&mut findings);
    let _ns = enter_netns(args.netns.as_deref())?;
    let links = hd::links().map_err(classify)?;
    let names: Vec<String> = match &args.iface {
        Some(name) => {
            // a bad --iface is bad input: exit 2
            host::iface::info(name).map_err(classify)?;
            vec![name.clone()]
        }
        None => links
            .iter()
            .filter(|l| !l.loopback)
            .map(|l| l.name.clone())
            .collect(),
    };
    let try_it = args.iface.is_some() && !args.passive;
    let mut ifaces = Vec::new();
    for name in &names {
        let link = links.iter().find(|l| &l.name == name);
        ifaces.push(interface(name, link, try_it, args.queue, &mut findings));
    }
    if args.iface.is_none() && !args.passive {
        findings.add(
            Level::Info,
            "interfaces",
            "interfaces were only read, not tried",
            "pass --iface IF to also try XDP attach (drv, skb) and AF_XDP binds (zero-copy, copy) on it",
        );
    }
    let report = json!({
        "schema": 1,
        "netns": args.netns,
        "kernel": kernel,
        "process": process,
        "tools": tools,
        "interfaces": ifaces,
        "findings": findings.0,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(())
}

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// (major, minor) of a release like `6.18.44-foo`.
fn version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Kernel features by the version that brought them, and what lacking one means.
const KERNEL_FEATURES: &[((u32, u32), &str, &str)] = &[
    (
        (4, 18),
        "AF_XDP sockets",
        "no AF_XDP at all: only --backend udp can run",
    ),
    (
        (5, 4),
        "AF_XDP need_wakeup (XDP_USE_NEED_WAKEUP)",
        "--need-wakeup true is ignored: every batch costs a syscall",
    ),
    (
        (5, 9),
        "XDP attach through bpf_link",
        "xdplat cannot attach its program (it uses bpf_link so that a crash leaves nothing behind)",
    ),
    (
        (5, 11),
        "AF_XDP busy polling (SO_PREFER_BUSY_POLL, SO_BUSY_POLL_BUDGET)",
        "--busy-poll cannot be measured",
    ),
    (
        (6, 3),
        "XDP RX metadata kfuncs and netdev xdp-features",
        "no NIC RX timestamps in XDP; device features cannot be listed",
    ),
    (
        (6, 6),
        "AF_XDP multi-buffer (XDP_USE_SG)",
        "probes larger than one frame cannot be sent",
    ),
    (
        (6, 8),
        "AF_XDP TX metadata (tx_metadata_len, TX timestamps)",
        "no NIC TX completion timestamps",
    ),
    (
        (6, 9),
        "netdev napi-get (NAPI ids per device)",
        "busy-poll readiness is only seen on a bound socket",
    ),
    (
        (6, 13),
        "per-NAPI defer-hard-irqs, gro-flush-timeout, irq-suspend-timeout",
        "these host settings fall back to the per-device sysfs files (no irq-suspend-timeout)",
    ),
];

fn kernel(f: &mut Findings) -> Value {
    let release = read_trim("/proc/sys/kernel/osrelease").unwrap_or_default();
    let ver = version(&release);
    let mut features = Vec::new();
    for (min, name, lack) in KERNEL_FEATURES {
        let has = ver.is_some_and(|v| v >= *min);
        features.push(
            json!({ "feature": name, "since": format!("{}.{}", min.0, min.1), "present": has }),
        );
        if !has {
            f.add(
                Level::Missing,
                "kernel",
                format!("{name} needs Linux {}.{} (this is {release})", min.0, min.1),
                lack,
            );
        }
    }
    let jit = read_trim("/proc/sys/net/core/bpf_jit_enable");
    if jit.as_deref() == Some("0") {
        f.add(
            Level::Warn,
            "kernel",
            "net.core.bpf_jit_enable = 0",
            "the XDP program runs in the BPF interpreter: every packet pays extra nanoseconds",
        );
    }
    let btf = Path::new("/sys/kernel/btf/vmlinux").exists();
    if !btf {
        f.add(
            Level::Missing,
            "kernel",
            "no /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF off)",
            "the device-bound RX-timestamp program (kfuncs) cannot load",
        );
    }
    let busy_poll = read_trim("/proc/sys/net/core/busy_poll");
    let busy_read = read_trim("/proc/sys/net/core/busy_read");
    f.add(
        Level::Ok,
        "kernel",
        format!("Linux {release}"),
        "the features listed as present can be measured",
    );
    json!({
        "release": release,
        "features": features,
        "bpf_jit_enable": jit,
        "btf_vmlinux": btf,
        "sysctl_busy_poll": busy_poll,
        "sysctl_busy_read": busy_read,
    })
}

fn process(f: &mut Findings) -> Value {
    let caps = Capabilities::of_self().ok();
    let memlock = hd::memlock_limit().ok();
    let euid = nix::unistd::geteuid().as_raw();
    let unmet = unmet(&ROLE_NEEDS).unwrap_or_else(|_| ROLE_NEEDS.to_vec());
    let missing: Vec<Value> = unmet
        .iter()
        .map(|n| {
            json!({
                "capability": hd::cap_name(n.caps[0]),
                "or": n.caps[1..].iter().map(|c| hd::cap_name(*c)).collect::<Vec<_>>(),
                "needed_to": n.why,
                "when": n.when.as_str(),
            })
        })
        .collect();
    for n in &unmet {
        f.add(
            Level::Missing,
            "process",
            format!("no {} in the effective set", hd::cap_name(n.caps[0])),
            &format!(
                "xdplat ping/fwd with {} will refuse to start: needed to {}",
                n.when.as_str(),
                n.why
            ),
        );
    }
    let soft = memlock.and_then(|m| m.0);
    if let Some(limit) = soft
        && !caps.is_some_and(|k| k.has(hd::CAP_IPC_LOCK))
    {
        f.add(
            Level::Warn,
            "process",
            format!("RLIMIT_MEMLOCK {limit} bytes and no CAP_IPC_LOCK"),
            &format!(
                "a UMEM above {limit} bytes fails with ENOBUFS: keep --frames x --frame-size below it"
            ),
        );
    }
    json!({
        "euid": euid,
        "capabilities": caps.map(|c| c.effective_names()),
        "cap_eff": caps.map(|c| format!("{:016x}", c.effective)),
        "missing_for_roles": missing,
        "memlock_soft": memlock.map(|m| m.0.map_or(json!("unlimited"), |v| json!(v))),
        "memlock_hard": memlock.map(|m| m.1.map_or(json!("unlimited"), |v| json!(v))),
    })
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Build and run tools, whether they are found, and why they matter.
const TOOLS: &[(&str, &str)] = &[
    (
        "clang",
        "building xdplat from source (it compiles the XDP program); the built binary does not need it",
    ),
    ("cargo", "building xdplat from source"),
    (
        "pkg-config",
        "building xdplat from source (libbpf-sys finds libelf and zlib with it)",
    ),
    ("make", "building xdplat from source (the vendored libbpf)"),
    ("ip", "`ip netns` names, which --netns and the testbed use"),
    (
        "ethtool",
        "inspecting a NIC by hand; xdplat itself uses netlink",
    ),
    ("bpftrace", "tracing the USDT probes of xdplat (stages)"),
    ("perf", "tracing the USDT probes of xdplat with perf"),
    ("capsh", "running the roles with the least capabilities"),
];

fn tools(f: &mut Findings) -> Value {
    let mut out = Vec::new();
    for (tool, why) in TOOLS {
        let path = which(tool);
        let version = match (tool, &path) {
            (&"clang", Some(p)) => std::process::Command::new(p)
                .arg("--version")
                .output()
                .ok()
                .and_then(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .next()
                        .map(str::to_string)
                }),
            _ => None,
        };
        if path.is_none() {
            f.add(
                Level::Info,
                "tools",
                format!("{tool} not found in PATH"),
                why,
            );
        }
        out.push(json!({ "tool": tool, "path": path, "version": version, "used_for": why }));
    }
    json!(out)
}

/// The facts of one interface; the tries when `try_it`.
fn interface(
    name: &str,
    link: Option<&hd::Link>,
    try_it: bool,
    queue: u32,
    f: &mut Findings,
) -> Value {
    let topic = format!("interface {name}");
    let info = match host::iface::info(name) {
        Ok(i) => i,
        Err(e) => {
            f.add(Level::Warn, &topic, e.to_string(), "not examined");
            return json!({ "name": name, "error": e.to_string() });
        }
    };
    let attached = link.and_then(|l| l.xdp.clone());
    let features = hd::dev_features(info.ifindex)
        .map_err(|e| e.to_string())
        .and_then(|r| r);
    let napis = hd::napi_ids(info.ifindex)
        .map_err(|e| e.to_string())
        .and_then(|r| r);
    let coalescing = hd::coalescing(name)
        .map_err(|e| e.to_string())
        .and_then(|r| r);
    let driver = info.driver.clone().unwrap_or_else(|| "unknown".into());
    if !info.up {
        f.add(
            Level::Warn,
            &topic,
            "the interface is down",
            "nothing will flow: bring it up (ip link set dev IF up)",
        );
    }
    if let Some(a) = &attached {
        f.add(
            Level::Warn,
            &topic,
            format!(
                "an XDP program is attached ({} mode, id {})",
                a.mode,
                a.prog_id.map_or("?".into(), |i| i.to_string())
            ),
            "in use: xdplat ping/fwd here fail (EBUSY) until it is detached; doctor did not try attaching",
        );
    }
    // what the device advertises
    let zc_advertised = features.as_ref().ok().and_then(|d| d.zero_copy());
    match &features {
        Ok(d) => {
            let native = d.xdp_features.as_ref().map(|v| !v.is_empty());
            if native == Some(false) {
                f.add(
                    Level::Warn,
                    &topic,
                    format!("{driver} advertises no native XDP (xdp-features empty)"),
                    "only generic (skb) mode: probes reach XDP after the sk_buff is built, in copy mode; expect higher latencies than native mode",
                );
            } else if zc_advertised == Some(false) {
                f.add(
                    Level::Warn,
                    &topic,
                    format!("{driver} does not advertise AF_XDP zero-copy (xdp-features)"),
                    "no zero-copy: expect copy-mode latencies (every packet copied to the UMEM); --bind zero-copy fails, --bind auto falls back to copy",
                );
            }
            let rx_ts = d
                .xdp_rx_metadata_features
                .as_ref()
                .is_some_and(|v| v.iter().any(|n| n == "timestamp"));
            if rx_ts {
                f.add(
                    Level::Info,
                    &topic,
                    "the driver implements the XDP RX-timestamp kfunc (xdp-rx-metadata-features)",
                    "the device-bound XDP program can read NIC RX stamps; they exist only when the device timestamps packets (veth never does: the kfunc returns none)",
                );
            } else {
                f.add(
                    Level::Info,
                    &topic,
                    "no XDP RX-metadata timestamp (xdp-rx-metadata-features)",
                    "no NIC RX timestamps: the XDP-hook stamp (bpf_ktime_get_ns) is the earliest stamp; the wire-to-XDP stage is not measured",
                );
            }
            let tx_ts = d
                .xsk_features
                .as_ref()
                .is_some_and(|v| v.iter().any(|n| n == "tx-timestamp"));
            if !tx_ts {
                f.add(
                    Level::Info,
                    &topic,
                    "no AF_XDP TX timestamp (xsk-features)",
                    "no NIC TX completion timestamps: the send stamp is taken in user space",
                );
            }
        }
        Err(why) => f.add(
            Level::Info,
            &topic,
            format!("device features unknown ({why})"),
            "zero-copy and RX-metadata support are only known by trying",
        ),
    }
    match &napis {
        Ok(ids) if ids.is_empty() => f.add(
            Level::Warn,
            &topic,
            "the device has no NAPI instance with an id (netdev napi-get)",
            "busy polling will be a no-op on this interface: --busy-poll true changes nothing (the run's summary warns)",
        ),
        Ok(_) => {}
        Err(why) => f.add(
            Level::Info,
            &topic,
            format!("NAPI ids unknown ({why})"),
            "busy-poll readiness is only seen on a bound socket",
        ),
    }
    if let Err(why) = &coalescing {
        f.add(
            Level::Info,
            &topic,
            format!("no interrupt coalescing ({why})"),
            "rx-usecs, tx-usecs and adaptive coalescing cannot be swept on this interface",
        );
    }
    if info.num_rx_queues <= 1 {
        f.add(
            Level::Info,
            &topic,
            "one RX queue",
            "the probe shares its queue with all other traffic on the interface: their interference shows up as latency",
        );
    }
    let tries = if try_it && attached.is_none() {
        Some(tries(&info, queue, zc_advertised, &topic, f))
    } else {
        None
    };
    json!({
        "name": name,
        "ifindex": info.ifindex,
        "driver": info.driver,
        "up": info.up,
        "mtu": info.mtu,
        "rx_queues": info.num_rx_queues,
        "tx_queues": info.num_tx_queues,
        "xdp_attached": attached,
        "features": features.as_ref().ok(),
        "features_error": features.as_ref().err(),
        "napi_ids": napis.as_ref().ok(),
        "napi_error": napis.as_ref().err(),
        "coalescing": coalescing.is_ok(),
        "coalescing_error": coalescing.as_ref().err(),
        "tries": tries,
    })
}

fn attach(ifindex: u32, mode: xdp::XdpMode, hw: bool) -> Result<xdp::XdpMode, String> {
    xdp::ProbeProgram::attach(&xdp::ProbeProgramConfig {
        ifindex,
        mode,
        probe_port: probe::DEFAULT_PROBE_PORT,
        hw_rx_timestamp: hw,
    })
    .map(|p| p.mode())
    .map_err(|e| e.to_string())
}

/// What an AF_XDP bind on one queue gave.
enum Bind {
    Ok { zero_copy: bool, napi_id: u32 },
    Unsupported(String),
    InUse(String),
    Failed(String),
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
        Err(e @ xsk::Error::ZeroCopyUnsupported { .. }) => Bind::Unsupported(e.to_string()),
        Err(e) if e.errno() == Some(libc_ebusy()) => Bind::InUse(e.to_string()),
        Err(e) if e.errno() == Some(95) => Bind::Unsupported(e.to_string()),
        Err(e) => Bind::Failed(e.to_string()),
    }
}

fn libc_ebusy() -> i32 {
    nix::errno::Errno::EBUSY as i32
}

fn tries(
    info: &host::iface::IfaceInfo,
    queue: u32,
    zc_advertised: Option<bool>,
    topic: &str,
    f: &mut Findings,
) -> Value {
    let drv = attach(info.ifindex, xdp::XdpMode::Drv, false);
    let skb = attach(info.ifindex, xdp::XdpMode::Skb, false);
    let hw = attach(info.ifindex, xdp::XdpMode::Drv, true);
    match (&drv, &skb) {
        (Ok(_), _) => f.add(
            Level::Ok,
            topic,
            "XDP attaches in native (drv) mode",
            "probes reach the program before the kernel builds an sk_buff: --xdp-mode drv (auto picks it)",
        ),
        (Err(e), Ok(_)) => f.add(
            Level::Warn,
            topic,
            format!("XDP attaches in generic (skb) mode only (drv: {e})"),
            "generic mode runs after the sk_buff is built: higher latency, not comparable with native-mode results",
        ),
        (Err(d), Err(s)) => f.add(
            Level::Missing,
            topic,
            format!("XDP does not attach (drv: {d}; skb: {s})"),
            "xdplat ping/fwd cannot run with --backend afxdp here; --backend udp can",
        ),
    }
    if let Err(e) = &hw
        && drv.is_ok()
    {
        f.add(
            Level::Info,
            topic,
            format!("the device-bound RX-timestamp program does not load ({e})"),
            "no NIC RX timestamps from XDP on this interface",
        );
    }
    let zc = bind(info.ifindex, queue, xsk::BindMode::ZeroCopy);
    let copy = match &zc {
        Bind::InUse(_) | Bind::Ok { .. } => None,
        _ => Some(bind(info.ifindex, queue, xsk::BindMode::Copy)),
    };
    let describe = |b: &Bind| match b {
        Bind::Ok { zero_copy, napi_id } => {
            json!({ "result": "ok", "zero_copy": zero_copy, "napi_id": napi_id })
        }
        Bind::Unsupported(e) => json!({ "result": "unsupported", "error": e }),
        Bind::InUse(e) => json!({ "result": "in-use", "error": e }),
        Bind::Failed(e) => json!({ "result": "failed", "error": e }),
    };
    match &zc {
        Bind::Ok { napi_id, .. } => {
            f.add(
                Level::Ok,
                topic,
                format!("zero-copy AF_XDP bind works on queue {queue}"),
                "--bind zero-copy (or auto) measures the fast path",
            );
            napi_finding(*napi_id, true, topic, f);
        }
        Bind::InUse(e) => f.add(
            Level::Warn,
            topic,
            format!("queue {queue} is in use by another AF_XDP socket ({e})"),
            "not tried further; a role on this queue fails until that socket closes: pick another --queue",
        ),
        Bind::Unsupported(e) => {
            if zc_advertised != Some(false) {
                f.add(
                    Level::Warn,
                    topic,
                    format!("zero-copy bind refused ({e})"),
                    "no zero-copy: expect copy-mode latencies; --bind auto falls back to copy",
                );
            }
        }
        Bind::Failed(e) => f.add(
            Level::Warn,
            topic,
            format!("zero-copy bind failed ({e})"),
            "zero-copy could not be tested",
        ),
    }
    match &copy {
        Some(Bind::Ok { napi_id, .. }) => {
            f.add(
                Level::Ok,
                topic,
                format!("copy-mode AF_XDP bind works on queue {queue}"),
                "xdplat ping/fwd run here with --bind copy (or auto)",
            );
            napi_finding(*napi_id, false, topic, f);
        }
        Some(Bind::InUse(e)) => f.add(
            Level::Warn,
            topic,
            format!("queue {queue} is in use ({e})"),
            "pick another --queue",
        ),
        Some(Bind::Unsupported(e) | Bind::Failed(e)) => f.add(
            Level::Missing,
            topic,
            format!("copy-mode AF_XDP bind failed ({e})"),
            "xdplat ping/fwd cannot use AF_XDP here; --backend udp can",
        ),
        None => {}
    }
    json!({
        "queue": queue,
        "attach_drv": outcome(&drv),
        "attach_skb": outcome(&skb),
        "attach_drv_rx_timestamp": outcome(&hw),
        "bind_zero_copy": describe(&zc),
        "bind_copy": copy.as_ref().map(describe),
    })
}

/// `{"result": "ok", "mode": "drv"}` or `{"result": "failed", "error": ...}`.
fn outcome(r: &Result<xdp::XdpMode, String>) -> Value {
    match r {
        Ok(m) => json!({ "result": "ok", "mode": m.to_string() }),
        Err(e) => json!({ "result": "failed", "error": e }),
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

fn print_text(r: &Value) {
    let k = &r["kernel"];
    println!("kernel: Linux {}", k["release"].as_str().unwrap_or("?"));
    let p = &r["process"];
    let mut missing: Vec<&str> = p["missing_for_roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["capability"].as_str())
        .collect();
    missing.dedup();
    missing.sort_unstable();
    missing.dedup();
    println!(
        "process: euid {}, CapEff {} ({} capabilities; {}), memlock soft {} hard {}",
        p["euid"],
        p["cap_eff"].as_str().unwrap_or("?"),
        p["capabilities"].as_array().map_or(0, Vec::len),
        if missing.is_empty() {
            "all the roles need".to_string()
        } else {
            format!("missing {}", missing.join(", "))
        },
        p["memlock_soft"],
        p["memlock_hard"]
    );
    if let Some(tools) = r["tools"].as_array() {
        let found: Vec<String> = tools
            .iter()
            .filter(|t| !t["path"].is_null())
            .map(|t| match t["version"].as_str() {
                Some(v) => format!("{} ({v})", t["tool"].as_str().unwrap_or("?")),
                None => t["tool"].as_str().unwrap_or("?").to_string(),
            })
            .collect();
        println!("tools: {}", found.join(", "));
    }
    for i in r["interfaces"].as_array().into_iter().flatten() {
        let list = |v: &Value| {
            v.as_array().map_or("unknown".to_string(), |a| {
                let s: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
                if s.is_empty() {
                    "none".into()
                } else {
                    s.join(",")
                }
            })
        };
        println!(
            "interface {}: driver {}, {}, {} rx / {} tx queues, mtu {}",
            i["name"].as_str().unwrap_or("?"),
            i["driver"].as_str().unwrap_or("unknown"),
            if i["up"] == json!(true) { "up" } else { "down" },
            i["rx_queues"],
            i["tx_queues"],
            i["mtu"]
        );
        let ft = &i["features"];
        println!(
            "  xdp-features {}; xdp-rx-metadata {}; xsk-features {}",
            list(&ft["xdp_features"]),
            list(&ft["xdp_rx_metadata_features"]),
            list(&ft["xsk_features"])
        );
        println!(
            "  napi ids {}; coalescing {}",
            i["napi_ids"]
                .as_array()
                .map_or("unknown".into(), |a| if a.is_empty() {
                    "none".to_string()
                } else {
                    a.iter().map(Value::to_string).collect::<Vec<_>>().join(",")
                }),
            if i["coalescing"] == json!(true) {
                "supported"
            } else {
                "unsupported"
            }
        );
        let t = &i["tries"];
        if !t.is_null() {
            let res = |v: &Value| v["result"].as_str().unwrap_or("-").to_string();
            println!(
                "  attach drv {}, skb {}, device-bound {}; bind queue {}: zero-copy {}, copy {}",
                res(&t["attach_drv"]),
                res(&t["attach_skb"]),
                res(&t["attach_drv_rx_timestamp"]),
                t["queue"],
                t["bind_zero_copy"]["result"].as_str().unwrap_or("-"),
                t["bind_copy"]["result"].as_str().unwrap_or("-")
            );
        }
    }
    println!("findings:");
    for x in r["findings"].as_array().into_iter().flatten() {
        println!(
            "  [{}] {}: {}\n      -> {}",
            x["level"].as_str().unwrap_or("?"),
            x["topic"].as_str().unwrap_or("?"),
            x["fact"].as_str().unwrap_or("?"),
            x["meaning"].as_str().unwrap_or("?")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions_parse() {
        assert_eq!(version("6.18.44-fc-v782"), Some((6, 18)));
        assert_eq!(version("5.4.0"), Some((5, 4)));
        assert_eq!(version("garbage"), None);
    }
}
