//! One interface: what the kernel says of it (state, queues, attached XDP program, the netdev
//! feature sets, NAPI ids, coalescing), read only, and the tries when asked ([`super::tries`]).

use serde::Serialize;

use host::doctor::{self as hd, AttachedXdp, DevFeatures};

use super::tries::{self, Tries};
use super::{Findings, Level};

/// An interface, or why it could not be examined.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Examined {
    Interface(Box<Interface>),
    Failed { name: String, error: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct Interface {
    pub name: String,
    pub ifindex: u32,
    pub driver: Option<String>,
    pub up: bool,
    pub mtu: u32,
    pub rx_queues: u32,
    pub tx_queues: u32,
    pub xdp_attached: Option<AttachedXdp>,
    pub features: Option<DevFeatures>,
    pub features_error: Option<String>,
    pub napi_ids: Option<Vec<u32>>,
    pub napi_error: Option<String>,
    /// The NAPI serving each RX and TX queue (netdev queue-get).
    pub queue_napis: Option<Vec<host::doctor::QueueNapi>>,
    pub queue_napis_error: Option<String>,
    pub coalescing: bool,
    pub coalescing_error: Option<String>,
    pub tries: Option<Tries>,
}

/// `Ok(Ok(v))` to `Ok(v)`, any error to its text.
fn flat<T, E: ToString>(r: Result<Result<T, String>, E>) -> Result<T, String> {
    r.map_err(|e| e.to_string()).and_then(|r| r)
}

pub(super) fn interface(
    name: &str,
    link: Option<&hd::Link>,
    try_it: bool,
    queue: u32,
    f: &mut Findings,
) -> Examined {
    let topic = format!("interface {name}");
    let info = match host::iface::info(name) {
        Ok(i) => i,
        Err(e) => {
            f.add(Level::Warn, &topic, e.to_string(), "not examined");
            return Examined::Failed {
                name: name.into(),
                error: e.to_string(),
            };
        }
    };
    let attached = link.and_then(|l| l.xdp.clone());
    let features = flat(hd::dev_features(info.ifindex));
    let napis = flat(hd::napi_ids(info.ifindex));
    let coalescing = flat(hd::coalescing(name));
    let queue_napis = flat(hd::queue_napis(info.ifindex));
    let driver = info.driver.clone().unwrap_or_else(|| "unknown".into());
    if !info.up {
        f.add_fix(
            Level::Warn,
            &topic,
            "the interface is down",
            "nothing will flow",
            format!("bring it up: ip link set dev {name} up"),
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
    let zc_advertised = features.as_ref().ok().and_then(DevFeatures::zero_copy);
    match &features {
        Ok(d) => advertised(d, &driver, &topic, f),
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
    super::txwake::findings(name, &driver, queue, &queue_napis, &topic, f);
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
    let tries = (try_it && attached.is_none())
        .then(|| tries::tries(&info, queue, zc_advertised, &topic, f));
    Examined::Interface(Box::new(Interface {
        name: name.into(),
        ifindex: info.ifindex,
        driver: info.driver,
        up: info.up,
        mtu: info.mtu,
        rx_queues: info.num_rx_queues,
        tx_queues: info.num_tx_queues,
        xdp_attached: attached,
        features: features.as_ref().ok().cloned(),
        features_error: features.err(),
        napi_ids: napis.as_ref().ok().cloned(),
        napi_error: napis.err(),
        queue_napis: queue_napis.as_ref().ok().cloned(),
        queue_napis_error: queue_napis.err(),
        coalescing: coalescing.is_ok(),
        coalescing_error: coalescing.err(),
        tries,
    }))
}

/// Findings on what the device advertises (netdev dev-get).
fn advertised(d: &DevFeatures, driver: &str, topic: &str, f: &mut Findings) {
    let native = d.xdp_features.as_ref().map(|v| !v.is_empty());
    if native == Some(false) {
        f.add(
            Level::Warn,
            topic,
            format!("{driver} advertises no native XDP (xdp-features empty)"),
            "only generic (skb) mode: probes reach XDP after the sk_buff is built, in copy mode; expect higher latencies than native mode",
        );
    } else if d.zero_copy() == Some(false) {
        f.add(
            Level::Warn,
            topic,
            format!("{driver} does not advertise AF_XDP zero-copy (xdp-features)"),
            "no zero-copy: expect copy-mode latencies (every packet copied to the UMEM); --bind zero-copy fails, --bind auto falls back to copy",
        );
    }
    let has = |set: &Option<Vec<String>>, name: &str| {
        set.as_ref().is_some_and(|v| v.iter().any(|n| n == name))
    };
    if has(&d.xdp_rx_metadata_features, "timestamp") {
        f.add(
            Level::Info,
            topic,
            "the driver implements the XDP RX-timestamp kfunc (xdp-rx-metadata-features)",
            "the device-bound XDP program can read NIC RX stamps; they exist only when the device timestamps packets (veth never does: the kfunc returns none)",
        );
    } else {
        f.add(
            Level::Info,
            topic,
            "no XDP RX-metadata timestamp (xdp-rx-metadata-features)",
            "no NIC RX timestamps: the XDP-hook stamp (bpf_ktime_get_ns) is the earliest stamp; the wire-to-XDP stage is not measured",
        );
    }
    if !has(&d.xsk_features, "tx-timestamp") {
        f.add(
            Level::Info,
            topic,
            "no AF_XDP TX timestamp (xsk-features)",
            "no NIC TX completion timestamps: the send stamp is taken in user space",
        );
    }
}
