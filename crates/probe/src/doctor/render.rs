//! The report for people: a summary line per area and interface, then every finding with what
//! it means and the fix.

use std::fmt;

use super::{Examined, Interface, Report};

/// `a,b,c`, `none` for an empty list, `unknown` when not known.
fn list<T: ToString>(v: Option<&[T]>) -> String {
    match v {
        None => "unknown".into(),
        Some([]) => "none".into(),
        Some(v) => v
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
    }
}

fn or_unknown<T: ToString>(v: Option<T>) -> String {
    v.map_or("?".into(), |v| v.to_string())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "kernel: Linux {}", self.kernel.release)?;
        let verdicts: Vec<String> = self
            .bpf
            .needs
            .iter()
            .map(|n| match &n.verdict {
                xdp::Verdict::Given => format!("{} ok", n.name),
                xdp::Verdict::Refused { .. } => format!("{} REFUSED", n.name),
                xdp::Verdict::Unknown { .. } => format!("{} unknown", n.name),
            })
            .collect();
        writeln!(
            f,
            "bpf: {}; XDP-hook stamp: {}{}",
            verdicts.join(", "),
            self.bpf.stamp,
            if self.bpf.forced.is_some() {
                " (forced)"
            } else {
                ""
            }
        )?;
        let p = &self.process;
        let mut missing: Vec<&str> = p
            .missing_for_roles
            .iter()
            .map(|m| m.capability.as_str())
            .collect();
        missing.sort_unstable();
        missing.dedup();
        writeln!(
            f,
            "process: euid {}, CapEff {} ({} capabilities; {}), memlock soft {} hard {}",
            p.euid,
            p.cap_eff.as_deref().unwrap_or("?"),
            p.capabilities.as_ref().map_or(0, Vec::len),
            if missing.is_empty() {
                "all the roles need".to_string()
            } else {
                format!("missing {}", missing.join(", "))
            },
            or_unknown(p.memlock_soft),
            or_unknown(p.memlock_hard)
        )?;
        let found: Vec<String> = self
            .tools
            .iter()
            .filter(|t| t.path.is_some())
            .map(|t| match &t.version {
                Some(v) => format!("{} ({v})", t.tool),
                None => t.tool.to_string(),
            })
            .collect();
        writeln!(f, "tools: {}", found.join(", "))?;
        for i in &self.interfaces {
            match i {
                Examined::Interface(i) => interface(f, i)?,
                Examined::Failed { name, error } => writeln!(f, "interface {name}: {error}")?,
            }
        }
        writeln!(f, "findings:")?;
        for x in &self.findings {
            writeln!(
                f,
                "  [{}] {}: {}\n      -> {}",
                x.level.as_str(),
                x.topic,
                x.fact,
                x.meaning
            )?;
            if let Some(fix) = &x.fix {
                writeln!(f, "      fix: {fix}")?;
            }
        }
        Ok(())
    }
}

fn interface(f: &mut fmt::Formatter<'_>, i: &Interface) -> fmt::Result {
    writeln!(
        f,
        "interface {}: driver {}, {}, {} rx / {} tx queues, mtu {}",
        i.name,
        i.driver.as_deref().unwrap_or("unknown"),
        if i.up { "up" } else { "down" },
        i.rx_queues,
        i.tx_queues,
        i.mtu
    )?;
    let ft = i.features.as_ref();
    writeln!(
        f,
        "  xdp-features {}; xdp-rx-metadata {}; xsk-features {}",
        list(ft.and_then(|d| d.xdp_features.as_deref())),
        list(ft.and_then(|d| d.xdp_rx_metadata_features.as_deref())),
        list(ft.and_then(|d| d.xsk_features.as_deref()))
    )?;
    writeln!(
        f,
        "  napi ids {}; coalescing {}",
        list(i.napi_ids.as_deref()),
        if i.coalescing {
            "supported"
        } else {
            "unsupported"
        }
    )?;
    if let Some(t) = &i.tries {
        writeln!(
            f,
            "  attach drv {}, skb {}, device-bound {}; bind queue {}: zero-copy {}, copy {}",
            t.attach_drv.result(),
            t.attach_skb.result(),
            t.attach_drv_rx_timestamp.result(),
            t.queue,
            t.bind_zero_copy.result(),
            t.bind_copy.as_ref().map_or("-", |b| b.result())
        )?;
    }
    Ok(())
}
