//! Issue 3's quality bar, run as a user runs xdplat: the real binary, a forwarder process in B
//! and a ping in A of a fresh namespace testbed, over AF_XDP (drv and skb, need_wakeup on and
//! off, poll() on and off) and over kernel UDP. Needs root; skips with a reason otherwise.

mod common;

use common::*;

/// Pings `count` probes through a forwarder started with `fwd_flags`, asserting no loss.
fn round_trip(
    prefix: &str,
    fwd_flags: &[&str],
    ping_flags: &[&str],
    count: u64,
) -> Option<results::Summary> {
    let tb = TestTestbed::new(prefix, 1)?;
    let fwd = Forwarder::start(&tb, fwd_flags);
    let out = out_dir(prefix);
    let n = count.to_string();
    let mut flags = vec!["--count", &n, "--interval", "1ms"];
    flags.extend_from_slice(ping_flags);
    let res = ping(&tb, &out, &flags);
    let fwd_out = fwd.stop();
    assert!(res.status.success(), "ping failed: {}", text(&res));
    let s = summary(&out);
    assert_eq!(s.packets.sent, count, "{}", text(&res));
    assert_eq!(
        s.packets.received,
        count,
        "lost probes: {}\nforwarder: {fwd_out}",
        text(&res)
    );
    assert_eq!(s.packets.lost, 0);
    assert_eq!(s.packets.duplicates, 0);
    let rtt = s.rtt_ns.expect("rtt statistics");
    assert!(
        rtt.min > 0.0 && rtt.median >= rtt.min && rtt.max >= rtt.p99,
        "{rtt:?}"
    );
    let cols = results::read_samples(&out.join("samples.parquet")).expect("samples.parquet");
    assert_eq!(cols.len() as u64, count);
    assert!(
        !xdp_attached(&tb.ab().a.netns, &tb.ab().a.iface),
        "ping left XDP attached"
    );
    assert!(
        !xdp_attached(&tb.ab().b.netns, &tb.ab().b.iface),
        "fwd left XDP attached"
    );
    Some(s)
}

#[test]
fn afxdp_drv_1000_probes_no_loss() {
    let Some(s) = round_trip("drv", &["--xdp-mode", "drv"], &["--xdp-mode", "drv"], 1000) else {
        return;
    };
    assert_eq!(s.effective["xdp_mode"], "drv");
    assert_eq!(s.effective["bind"], "copy");
    assert_eq!(s.params["backend"], "afxdp");
    // the XDP hook stamp arrived through the metadata area
    assert!(
        s.stages.contains_key("a_xdp_to_user"),
        "{:?}",
        s.stages.keys()
    );
}

#[test]
fn afxdp_skb_mode() {
    let Some(s) = round_trip("skb", &["--xdp-mode", "skb"], &["--xdp-mode", "skb"], 200) else {
        return;
    };
    assert_eq!(s.effective["xdp_mode"], "skb");
}

#[test]
fn afxdp_need_wakeup_off() {
    let f = ["--need-wakeup", "false", "--bind", "copy"];
    let Some(s) = round_trip("nwk", &f, &f, 200) else {
        return;
    };
    assert_eq!(s.effective["need_wakeup"], false);
    assert!(
        s.warnings.iter().any(|w| w.contains("need-wakeup=false")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn afxdp_poll_on_both_sides() {
    let f = ["--poll", "true"];
    let Some(s) = round_trip("poll", &f, &f, 200) else {
        return;
    };
    assert_eq!(s.effective["poll"], true);
    assert!(
        s.effective["polls"].as_u64().unwrap_or(0) > 0,
        "poll() was never called"
    );
}

#[test]
fn afxdp_forwarder_stamps() {
    let Some(s) = round_trip("stmp", &["--stamp"], &["--size", "88", "--stamp-room"], 200) else {
        return;
    };
    for stage in ["b_xdp_to_user", "b_processing"] {
        assert!(
            s.stages.contains_key(stage),
            "missing {stage}: {:?}",
            s.stages.keys()
        );
    }
}

#[test]
fn udp_backend_baseline() {
    let f = ["--backend", "udp"];
    let Some(s) = round_trip("udp", &f, &f, 300) else {
        return;
    };
    assert_eq!(s.effective["backend"], "udp");
}

#[test]
fn busy_poll_on_veth_is_reported_as_noop() {
    let f = ["--busy-poll", "true"];
    let Some(s) = round_trip("bpol", &f, &f, 100) else {
        return;
    };
    assert_eq!(s.effective["napi_id"], 0);
    assert_eq!(s.effective["busy_poll_active"], false);
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("busy polling was a no-op")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn zero_copy_on_veth_fails_clearly_and_auto_falls_back() {
    let Some(tb) = TestTestbed::new("zc", 1) else {
        return;
    };
    let out = out_dir("zc");
    let res = ping(&tb, &out, &["--count", "3", "--bind", "zero-copy"]);
    assert_eq!(res.status.code(), Some(2), "{}", text(&res));
    let msg = text(&res);
    assert!(msg.contains("zero-copy") && msg.contains("veth"), "{msg}");
    assert!(
        !xdp_attached(&tb.ab().a.netns, &tb.ab().a.iface),
        "left XDP attached after the error"
    );
    assert!(!out.join("summary.json").exists());

    let fwd = Forwarder::start(&tb, &[]);
    let out = out_dir("zcauto");
    let res = ping(
        &tb,
        &out,
        &["--count", "20", "--interval", "1ms", "--bind", "auto"],
    );
    drop(fwd);
    assert!(res.status.success(), "{}", text(&res));
    let s = summary(&out);
    assert_eq!(s.effective["bind"], "copy");
    assert!(
        s.warnings.iter().any(|w| w.contains("zero-copy asked")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn no_forwarder_means_all_lost_and_a_clean_exit() {
    let Some(tb) = TestTestbed::new("lost", 1) else {
        return;
    };
    let out = out_dir("lost");
    let res = ping(&tb, &out, &["--count", "50", "--interval", "1ms"]);
    assert!(res.status.success(), "{}", text(&res));
    let s = summary(&out);
    assert_eq!(
        (s.packets.sent, s.packets.received, s.packets.lost),
        (50, 0, 50)
    );
    assert!(s.rtt_ns.is_none());
    assert!(text(&res).contains("no reply"), "{}", text(&res));
}

#[test]
fn icmp_ping_keeps_working_while_xdplat_runs() {
    let Some(tb) = TestTestbed::new("icmp", 1) else {
        return;
    };
    let fwd = Forwarder::start(&tb, &[]);
    let (a, b) = (tb.ab().a.clone(), tb.ab().b.clone());
    let ip = b.ip().expect("B address").to_string();
    let out = out_dir("icmp");
    let tb_ref = &tb;
    let (xd, icmp) = std::thread::scope(|s| {
        let xd = s.spawn(|| ping(tb_ref, &out, &["--count", "1500", "--interval", "1ms"]));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let icmp = std::process::Command::new("ip")
            .args([
                "netns", "exec", &a.netns, "ping", "-c", "5", "-i", "0.2", "-W", "1", &ip,
            ])
            .output()
            .expect("run ping");
        (xd.join().expect("xdplat ping thread"), icmp)
    });
    drop(fwd);
    assert!(
        icmp.status.success(),
        "ICMP ping failed during the run: {}",
        text(&icmp)
    );
    assert!(xd.status.success(), "{}", text(&xd));
    assert_eq!(summary(&out).packets.lost, 0);
}

#[test]
fn ping_works_against_a_mac_only_forwarder_like_xdpsock_l2fwd() {
    // the reply keeps A->B addresses and ports, as xdpsock's l2fwd sends it back
    let Some(s) = round_trip("l2fw", &["--mac-only"], &[], 200) else {
        return;
    };
    assert_eq!(s.packets.foreign, 0);
}

#[test]
fn pinned_roles_on_separate_cpus() {
    let cpus = probe::knobs::allowed_cpus().expect("affinity");
    let (Some(&first), Some(&last)) = (cpus.first(), cpus.last()) else {
        return;
    };
    let (f, p) = (last.to_string(), first.to_string());
    let Some(s) = round_trip("pin", &["--cpu", &f], &["--cpu", &p], 200) else {
        return;
    };
    assert_eq!(s.effective["cpus"], serde_json::json!([first]));
}
