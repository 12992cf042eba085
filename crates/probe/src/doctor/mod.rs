//! `xdplat doctor`: what this machine and its interfaces can and cannot do for AF_XDP latency
//! measurements, and what each gap means for a result. One typed [`Report`], serialized for
//! `--json` (schema 1) and rendered for people ([`std::fmt::Display`], in [`render`]); its
//! [`Finding`]s carry the fact, what it means for a measurement and, where there is one, the fix.
//!
//! Interfaces are probed read-only (netdev and ethtool netlink, rtnetlink), except the one named
//! with `--iface`, which is also tried for real ([`tries`]): the probe program attached in drv
//! and skb mode (bpf_link, detached at once), the device-bound RX-timestamp program, a zero-copy
//! and a copy AF_XDP bind on the queue. An interface with an XDP program already attached is
//! left alone and reported as in use. `passive` skips the tries.
//!
//! Each area ([`kernel`], [`bpf`], [`process`], [`tools`], [`iface`]) adds its facts to the report and its
//! findings to one list: a new area is a module and one call in [`run`].

use serde::Serialize;

mod bpf;
mod iface;
mod kernel;
mod process;
mod render;
mod tools;
mod tries;
mod txwake;

pub use bpf::Bpf;
pub use iface::{Examined, Interface};
pub use kernel::{Feature, KERNEL_FEATURES, Kernel};
pub use process::{Memlock, MissingCap, Process};
pub use tools::{TOOLS, Tool};
pub use tries::{Attach, Bind, Tries};

use crate::error::Result;

/// What to examine (in the calling thread's network namespace).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The namespace the caller entered, for the report.
    pub netns: Option<String>,
    /// Examine this interface only, and try XDP attach and AF_XDP binds on it.
    pub iface: Option<String>,
    /// Queue for the AF_XDP bind tries.
    pub queue: u32,
    /// Read only: no attach or bind tries.
    pub passive: bool,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    pub netns: Option<String>,
    pub kernel: Kernel,
    /// The BPF helpers and kfuncs the XDP programs use, as this kernel answers for them.
    pub bpf: Bpf,
    pub process: Process,
    pub tools: Vec<Tool>,
    pub interfaces: Vec<Examined>,
    pub findings: Vec<Finding>,
}

/// How a finding bears on a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Info,
    Warn,
    Missing,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Missing => "missing",
        }
    }
}

/// One line of the report: a fact, what it means for a measurement, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub level: Level,
    /// `kernel`, `process`, `tools`, `interface IF`, ...
    pub topic: String,
    pub fact: String,
    pub meaning: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The findings of one report, as its areas add them.
#[derive(Debug, Default)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    pub fn add(&mut self, level: Level, topic: &str, fact: impl Into<String>, meaning: &str) {
        self.push(level, topic, fact, meaning, None);
    }

    /// As [`Findings::add`], with what to change.
    pub fn add_fix(
        &mut self,
        level: Level,
        topic: &str,
        fact: impl Into<String>,
        meaning: &str,
        fix: impl Into<String>,
    ) {
        self.push(level, topic, fact, meaning, Some(fix.into()));
    }

    fn push(
        &mut self,
        level: Level,
        topic: &str,
        fact: impl Into<String>,
        meaning: &str,
        fix: Option<String>,
    ) {
        self.0.push(Finding {
            level,
            topic: topic.into(),
            fact: fact.into(),
            meaning: meaning.into(),
            fix,
        });
    }
}

/// Examines the machine and the interfaces of the current namespace. Fails (bad input) only for
/// a `--iface` that does not exist, or a `--queue` it lacks.
pub fn run(opts: &Options) -> Result<Report> {
    let mut findings = Findings::default();
    let kernel = kernel::kernel(&mut findings);
    let bpf = bpf::bpf(&mut findings);
    let process = process::process(&mut findings);
    let tools = tools::tools(&mut findings);
    let links = host::doctor::links()?;
    let names: Vec<String> = match &opts.iface {
        Some(name) => {
            let info = host::iface::info(name)?;
            if !opts.passive {
                crate::check::queues(&info, opts.queue, 1, "--queue")?;
            }
            vec![name.clone()]
        }
        None => links
            .iter()
            .filter(|l| !l.loopback)
            .map(|l| l.name.clone())
            .collect(),
    };
    let try_it = opts.iface.is_some() && !opts.passive;
    let interfaces = names
        .iter()
        .map(|name| {
            let link = links.iter().find(|l| &l.name == name);
            iface::interface(name, link, try_it, opts.queue, &mut findings)
        })
        .collect();
    if opts.iface.is_none() && !opts.passive {
        findings.add_fix(
            Level::Info,
            "interfaces",
            "interfaces were only read, not tried",
            "XDP attach and AF_XDP binds were not tested",
            "pass --iface IF to also try XDP attach (drv, skb) and AF_XDP binds (zero-copy, copy) on it",
        );
    }
    Ok(Report {
        schema: 1,
        netns: opts.netns.clone(),
        kernel,
        bpf,
        process,
        tools,
        interfaces,
        findings: findings.0,
    })
}
