//! The guest's NICs: their names and addresses (those of the namespace testbed) and the QEMU
//! options that make them (after virtme-ng's own): the management NIC on user networking
//! forwarding 127.0.0.1:PORT to sshd, and per link end a tap (multi-queue when asked) with a
//! virtio-net-pci (modern, DMA API, `mq`) or an igb on its own PCIe root port.

use std::path::Path;

use super::guest::{self, GuestNic};
use super::{Nic, VmSpec, wire};

pub(super) fn nics(name: &str, with_c: bool) -> Vec<(GuestNic, GuestNic)> {
    let end = |link: u8, side: u8, here: char, there: char| GuestNic {
        netns: format!("{name}-{here}"),
        iface: format!("{name}-{here}{there}"),
        mac: format!("02:78:64:00:{link:02x}:{side:02x}"),
        ipv4: format!("10.77.{link}.{side}/24"),
    };
    let mut v = vec![(end(1, 1, 'a', 'b'), end(1, 2, 'b', 'a'))];
    if with_c {
        v.push((end(2, 1, 'c', 'b'), end(2, 2, 'b', 'c')));
    }
    v
}

/// QEMU options of the NICs (after virtme-ng's own).
pub(super) fn qemu_opts(dir: &Path, spec: &VmSpec, port: u16) -> String {
    let mut o = vec![
        format!("-pidfile {}/qemu.pid", dir.display()),
        format!("-netdev user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:22"),
        format!("-device virtio-net-pci,netdev=mgmt,mac={}", guest::MGMT_MAC),
    ];
    let q = spec.queues;
    let mut port_no = 0;
    for (l, (a, b)) in nics(&spec.name, spec.with_c).iter().enumerate() {
        for (e, n) in [a, b].into_iter().enumerate() {
            let id = format!("n{}{}", l + 1, e);
            let tap = wire::tap_name(&spec.name, l as u8 + 1, e as u8);
            match spec.nic {
                Nic::VirtioNet => {
                    let mq = if q > 1 {
                        format!(",queues={q}")
                    } else {
                        String::new()
                    };
                    o.push(format!(
                        "-netdev tap,id={id},ifname={tap},script=no,downscript=no,vhost=off{mq}"
                    ));
                    let dmq = if q > 1 {
                        format!(",mq=on,vectors={}", 2 * q + 2)
                    } else {
                        String::new()
                    };
                    o.push(format!(
                        "-device virtio-net-pci,netdev={id},mac={},iommu_platform=on,disable-legacy=on{dmq}",
                        n.mac
                    ));
                }
                Nic::Igb => {
                    port_no += 1;
                    o.push(format!(
                        "-device pcie-root-port,id=rp{port_no},chassis={port_no}"
                    ));
                    o.push(format!(
                        "-netdev tap,id={id},ifname={tap},script=no,downscript=no,vhost=off"
                    ));
                    o.push(format!(
                        "-device igb,bus=rp{port_no},netdev={id},mac={}",
                        n.mac
                    ));
                }
            }
        }
    }
    o.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::install::AccelChoice;

    fn spec(nic: Nic, queues: u32) -> VmSpec {
        VmSpec {
            name: "t".into(),
            queues,
            with_c: true,
            nic,
            kernel: None,
            accel: AccelChoice::Auto,
            cpus: 2,
            memory_mb: 2048,
            xdplat: "/bin/true".into(),
        }
    }

    #[test]
    fn virtio_nics_are_modern_dma_api_and_multi_queue() {
        let o = qemu_opts(Path::new("/s"), &spec(Nic::VirtioNet, 2), 2222);
        assert!(o.contains("hostfwd=tcp:127.0.0.1:2222-:22"));
        assert!(o.contains("ifname=xt1a,script=no,downscript=no,vhost=off,queues=2"));
        assert!(
            o.contains("mac=02:78:64:00:02:02,iommu_platform=on,disable-legacy=on,mq=on,vectors=6")
        );
        assert_eq!(o.matches("-device virtio-net-pci").count(), 5);
    }

    #[test]
    fn igb_nics_sit_on_root_ports() {
        let o = qemu_opts(Path::new("/s"), &spec(Nic::Igb, 1), 2222);
        assert_eq!(o.matches("-device pcie-root-port").count(), 4);
        assert!(o.contains("-device igb,bus=rp4,netdev=n21,mac=02:78:64:00:02:02"));
    }

    #[test]
    fn names_and_addresses_match_the_namespace_testbed() {
        let l = nics("lab", false);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].0.iface, "lab-ab");
        assert_eq!(l[0].1.netns, "lab-b");
        assert_eq!(l[0].1.mac, "02:78:64:00:01:02");
        assert_eq!(l[0].1.ipv4, "10.77.1.2/24");
    }
}
