//! The kernel: its release, the AF_XDP/XDP features it has by the version that brought them, the
//! BPF JIT, BTF and the busy-poll sysctls.

use std::path::Path;

use serde::Serialize;

use super::{Findings, Level};

/// Kernel features by the version that brought them, and what lacking one means.
pub const KERNEL_FEATURES: &[((u32, u32), &str, &str)] = &[
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

#[derive(Debug, Clone, Serialize)]
pub struct Kernel {
    pub release: String,
    pub features: Vec<Feature>,
    pub bpf_jit_enable: Option<String>,
    pub btf_vmlinux: bool,
    pub sysctl_busy_poll: Option<String>,
    pub sysctl_busy_read: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Feature {
    pub feature: &'static str,
    /// `major.minor`.
    pub since: String,
    pub present: bool,
}

pub(super) fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// (major, minor) of a release like `6.18.44-foo`.
pub fn version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

pub(super) fn kernel(f: &mut Findings) -> Kernel {
    let release = read_trim("/proc/sys/kernel/osrelease").unwrap_or_default();
    let ver = version(&release);
    let mut features = Vec::new();
    for (min, name, lack) in KERNEL_FEATURES {
        let present = ver.is_some_and(|v| v >= *min);
        features.push(Feature {
            feature: name,
            since: format!("{}.{}", min.0, min.1),
            present,
        });
        if !present {
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
        f.add_fix(
            Level::Warn,
            "kernel",
            "net.core.bpf_jit_enable = 0",
            "the XDP program runs in the BPF interpreter: every packet pays extra nanoseconds",
            "sysctl -w net.core.bpf_jit_enable=1",
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
    f.add(
        Level::Ok,
        "kernel",
        format!("Linux {release}"),
        "the features listed as present can be measured",
    );
    Kernel {
        release,
        features,
        bpf_jit_enable: jit,
        btf_vmlinux: btf,
        sysctl_busy_poll: read_trim("/proc/sys/net/core/busy_poll"),
        sysctl_busy_read: read_trim("/proc/sys/net/core/busy_read"),
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
