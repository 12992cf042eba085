//! `irq-affinity=CPULIST`: the CPUs that serve the device's interrupts
//! (/proc/irq/N/smp_affinity_list for every IRQ in
//! /sys/class/net/IF/device/msi_irqs, read through the sysfs of the
//! device's namespace; a virtio device's vectors belong to the PCI function
//! above it, /sys/class/net/IF/device/../msi_irqs, one virtio device per
//! function). Virtual devices (veth) have no interrupts.

use std::collections::BTreeMap;

use super::{Held, Setting, bad_value, iface, unsupported};
use crate::state::Target;
use crate::{Error, sysfs};

const KEY: &str = "irq-affinity";
const ACCEPTS: &str = "a CPU list such as 0, 0-1 or 0,2";

/// `irq-affinity`.
#[derive(Debug, Clone, Copy)]
pub struct IrqAffinity;

fn irqs(t: &Target) -> Result<Vec<u32>, Error> {
    let dev = format!("/sys/class/net/{}/device", iface(KEY, t)?);
    let target = t.clone();
    let found = sysfs::with_sysfs_of(t.netns.as_deref(), move || {
        let read = |dir: String| -> Vec<u32> {
            let mut v: Vec<u32> = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
                .collect();
            v.sort();
            v
        };
        let own = read(format!("{dev}/msi_irqs"));
        let virtio =
            std::fs::read_link(format!("{dev}/subsystem")).is_ok_and(|s| s.ends_with("virtio"));
        Ok(if own.is_empty() && virtio {
            read(format!("{dev}/../msi_irqs"))
        } else {
            own
        })
    })?;
    if found.is_empty() {
        return Err(unsupported(
            KEY,
            &target,
            format!(
                "has no interrupts of its own (no MSI IRQs under /sys/class/net/{}/device; virtual devices such as veth have none)",
                iface(KEY, t)?
            ),
        ));
    }
    Ok(found)
}

fn path(irq: u32) -> String {
    format!("/proc/irq/{irq}/smp_affinity_list")
}

impl Setting for IrqAffinity {
    fn key(&self) -> &'static str {
        KEY
    }
    fn accepts(&self) -> &'static str {
        ACCEPTS
    }
    fn per_device(&self) -> bool {
        true
    }
    fn parse(&self, value: &str) -> Result<String, Error> {
        let cpu = |s: &str| s.parse::<u32>().is_ok_and(|n| n < 8192);
        let ok = !value.is_empty()
            && value.split(',').all(|part| match part.split_once('-') {
                Some((a, b)) => cpu(a) && cpu(b) && a.parse::<u32>().ok() <= b.parse::<u32>().ok(),
                None => cpu(part),
            });
        if ok {
            Ok(value.into())
        } else {
            Err(bad_value(KEY, value, ACCEPTS))
        }
    }
    fn check_supported(&self, t: &Target) -> Result<(), Error> {
        irqs(t).map(|_| ())
    }
    fn read(&self, t: &Target) -> Result<String, Error> {
        let mut vals = Vec::new();
        for irq in irqs(t)? {
            vals.push(sysfs::read(&path(irq))?);
        }
        vals.dedup();
        Ok(if vals.len() == 1 {
            vals.remove(0)
        } else {
            format!("mixed: {}", vals.join(" | "))
        })
    }
    fn snapshot(&self, t: &Target) -> Result<String, Error> {
        let mut map = BTreeMap::new();
        for irq in irqs(t)? {
            map.insert(irq, sysfs::read(&path(irq))?);
        }
        serde_json::to_string(&map).map_err(|e| Error::Journal {
            path: KEY.into(),
            why: e.to_string(),
        })
    }
    fn apply(&self, t: &Target, value: &str) -> Result<Held, Error> {
        for irq in irqs(t)? {
            sysfs::write(&path(irq), value)?;
        }
        Ok(None)
    }
    fn restore(&self, _t: &Target, old: &str) -> Result<(), Error> {
        let map: BTreeMap<u32, String> = serde_json::from_str(old).map_err(|e| Error::Journal {
            path: KEY.into(),
            why: format!("bad IRQ affinity snapshot: {e}"),
        })?;
        for (irq, v) in map {
            sysfs::write(&path(irq), &v)?;
        }
        Ok(())
    }
}
