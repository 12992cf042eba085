//! Build and run tools: whether they are found, and why they matter.

use std::path::PathBuf;

use serde::Serialize;

use super::{Findings, Level};

/// Each tool and what it is used for.
pub const TOOLS: &[(&str, &str)] = &[
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

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub tool: &'static str,
    pub path: Option<PathBuf>,
    pub version: Option<String>,
    pub used_for: &'static str,
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// The first line of `clang --version`.
fn clang_version(path: &PathBuf) -> Option<String> {
    let out = std::process::Command::new(path)
        .arg("--version")
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(str::to_string)
}

pub(super) fn tools(f: &mut Findings) -> Vec<Tool> {
    TOOLS
        .iter()
        .map(|(tool, why)| {
            let path = which(tool);
            let version = match (*tool, &path) {
                ("clang", Some(p)) => clang_version(p),
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
            Tool {
                tool,
                path,
                version,
                used_for: why,
            }
        })
        .collect()
}
