//! Busy polling and TX in zero-copy mode: which NAPI serves the RX and which the TX side of the
//! probe's queue (netdev queue-get), and what each driver needs to transmit.
//!
//! With zero-copy, SO_PREFER_BUSY_POLL (`--prefer-busy-poll`), SO_BUSY_POLL and a NAPI id, the
//! kernel's sendto() busy-polls the socket's NAPI, the RX queue's, and returns without waking the
//! driver's TX (net/xdp/xsk.c, `__xsk_sendmsg`: `if (xs->zc && xsk_no_wakeup(sk)) return 0;`).
//! Where another NAPI transmits, nothing is sent until something wakes it. xdplat's roles then
//! call poll() after each sendto (`effective.tx_wakeup = "sendto+poll"`); other AF_XDP
//! applications must do the same or drop SO_PREFER_BUSY_POLL.

use host::doctor::QueueNapi;

use super::{Findings, Level};

/// Findings on queue `queue` of interface `name` (driver `driver`) from its queues' NAPI ids.
pub(super) fn findings(
    name: &str,
    driver: &str,
    queue: u32,
    queues: &Result<Vec<QueueNapi>, String>,
    topic: &str,
    f: &mut Findings,
) {
    let napi = |tx: bool| {
        queues
            .as_ref()
            .ok()?
            .iter()
            .find(|q| q.tx == tx && q.id == queue)?
            .napi_id
    };
    let separate = match (napi(false), napi(true)) {
        (Some(rx), Some(tx)) if rx != tx => {
            f.add_fix(
                Level::Info,
                topic,
                format!("queue {queue}: RX is served by NAPI {rx}, TX by NAPI {tx} (netdev queue-get)"),
                "with zero-copy and --busy-poll true --prefer-busy-poll true, sendto() busy-polls only the RX NAPI and does not wake TX: xdplat's roles wake it with poll() after each sendto (the summary's effective.tx_wakeup = \"sendto+poll\"); another AF_XDP application loses every packet it sends unless it does the same",
                "in another AF_XDP application: poll() after each sendto(), or SO_PREFER_BUSY_POLL off (xdplat: --prefer-busy-poll false)",
            );
            true
        }
        (Some(_), Some(_)) => false,
        _ => hint(driver).is_some(),
    };
    if let (true, Some(h)) = (separate, hint(driver)) {
        f.add(
            Level::Info,
            topic,
            format!("{driver} ({name}): {h}"),
            "--prefer-busy-poll on a zero-copy socket needs that wake-up",
        );
    }
}

/// What the driver needs to transmit AF_XDP zero-copy frames.
fn hint(driver: &str) -> Option<&'static str> {
    match driver {
        "virtio_net" => Some(
            "TX needs a wake-up: XSK frames are sent from the TX queue's own NAPI (virtnet_poll_tx), scheduled by ndo_xsk_wakeup or a TX interrupt only",
        ),
        "igb" => Some(
            "with 4 queues or fewer RX and TX get separate MSI-X vectors (NAPIs), and XSK frames are sent from the TX vector's NAPI; more queues pair them (TxRx vectors: ethtool -L IFACE combined 8 on QEMU's 82576)",
        ),
        _ => None,
    }
}

/// Why a zero-copy bind failed, by driver, when the kernel's errno does not say it.
pub(super) fn zero_copy_hint(driver: &str) -> Option<&'static str> {
    match driver {
        "virtio_net" => Some(
            "virtio-net binds zero-copy only when the device uses the DMA API and XDP runs in native mode: in QEMU -device virtio-net-pci,iommu_platform=on,disable-legacy=on (without it the bind fails with EINVAL)",
        ),
        "igb" => Some("igb has AF_XDP zero-copy since Linux 6.14"),
        "veth" => Some("veth has no zero-copy: --bind copy (or auto)"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(id: u32, tx: bool, napi: u32) -> QueueNapi {
        QueueNapi {
            id,
            tx,
            napi_id: Some(napi),
        }
    }

    #[test]
    fn separate_rx_and_tx_napis_are_named_with_the_knob_and_the_driver() {
        let mut f = Findings::default();
        let queues = Ok(vec![q(0, false, 8194), q(0, true, 8195)]);
        findings("eth1", "igb", 0, &queues, "interface eth1", &mut f);
        let text = format!("{:?}", f);
        assert!(
            text.contains("RX is served by NAPI 8194, TX by NAPI 8195"),
            "{text}"
        );
        assert!(text.contains("--prefer-busy-poll"), "{text}");
        assert!(text.contains("separate MSI-X vectors"), "{text}");
    }

    #[test]
    fn one_napi_for_both_says_nothing() {
        let mut f = Findings::default();
        let queues = Ok(vec![q(0, false, 8194), q(0, true, 8194)]);
        findings("eth1", "igb", 0, &queues, "interface eth1", &mut f);
        assert_eq!(format!("{:?}", f), format!("{:?}", Findings::default()));
    }

    #[test]
    fn unknown_queues_fall_back_to_the_driver_hint() {
        let mut f = Findings::default();
        findings(
            "eth1",
            "virtio_net",
            0,
            &Err("old kernel".into()),
            "t",
            &mut f,
        );
        assert!(format!("{:?}", f).contains("TX needs a wake-up"));
        let mut f = Findings::default();
        findings("veth0", "veth", 0, &Err("old kernel".into()), "t", &mut f);
        assert_eq!(format!("{:?}", f), format!("{:?}", Findings::default()));
    }
}
