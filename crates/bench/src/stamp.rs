//! `xdp_stamp_cost`: what the XDP-hook stamp costs in the hook, per stamp the kernel allows
//! (metadata, the head of the frame), against the same program stamping nothing; the kernel
//! times each run (BPF_PROG_TEST_RUN, [`xdp::stamp_cost`]). A stamp this kernel refuses is
//! listed with the verifier's reason instead of a figure.

use crate::bed::Bed;
use crate::error::{Error, Result};
use crate::figure::Figure;

/// The probe port of the frame the programs run on.
const PORT: u16 = 47_123;

pub fn xdp_stamp_cost(bed: &Bed, quick: bool) -> Result<Figure> {
    let runs = if quick { 2_000 } else { 50_000 };
    let link = bed.link().a.clone();
    let frame = wire::sample_probe(PORT, 1);
    // a socket bound to A's interface, in A's namespace, only to fill the program's map
    let costs = std::thread::scope(|s| {
        s.spawn(
            || -> Result<Vec<(xdp::Stamp, std::result::Result<xdp::StampCost, String>)>> {
                let _ns = host::netns::enter(&link.netns)?;
                let ifindex = host::iface::info(&link.iface)?.ifindex;
                let umem = xsk::UmemConfig {
                    frame_count: 64,
                    fill_size: 64,
                    completion_size: 64,
                    ..Default::default()
                };
                let mut cfg = xsk::SocketConfig::new(ifindex, 0);
                cfg.rx_size = 64;
                cfg.tx_size = 64;
                let sock = xsk::Socket::new(&umem, &cfg).map_err(|e| {
                    Error::Input(format!("an AF_XDP socket on {}: {e}", link.iface))
                })?;
                Ok([xdp::Stamp::None, xdp::Stamp::Meta, xdp::Stamp::Head]
                    .into_iter()
                    .map(|st| {
                        let c = xdp::stamp_cost(st, sock.ctl.fd(), &frame, PORT, runs)
                            .map_err(|e| e.to_string());
                        (st, c)
                    })
                    .collect())
            },
        )
        .join()
        .expect("the stamp-cost thread does not panic")
    })?;
    let none = match &costs[0].1 {
        Ok(c) => c.median_ns,
        Err(e) => return Err(Error::Input(format!("the unstamped probe program: {e}"))),
    };
    let ok = |st| {
        costs
            .iter()
            .find(|(s, _)| *s == st)
            .and_then(|(_, c)| c.as_ref().ok())
    };
    // the figure: the stamp this kernel uses (head where metadata is refused)
    let used = ok(xdp::Stamp::Meta).or(ok(xdp::Stamp::Head)).copied();
    let Some(used) = used else {
        return Err(Error::Input(
            "the kernel refuses both stamps (bpf_xdp_adjust_meta and bpf_xdp_adjust_head)".into(),
        ));
    };
    let mut f = Figure::new(
        used.median_ns,
        none,
        "ns/run",
        "XDP hook run with the stamp / the same program stamping nothing (kernel-timed, BPF_PROG_TEST_RUN)",
    );
    f.extra
        .insert("stamp".into(), serde_json::json!(used.stamp.as_str()));
    for (st, c) in &costs {
        let v = match c {
            Ok(c) => serde_json::json!({ "median_ns": c.median_ns, "mean_ns": c.mean_ns,
                                         "runs": c.runs, "over_none_ns": c.median_ns - none }),
            Err(e) => serde_json::json!({ "refused": e }),
        };
        f.extra.insert(st.as_str().into(), v);
    }
    Ok(f)
}
