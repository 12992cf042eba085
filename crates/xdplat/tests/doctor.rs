//! `xdplat doctor` against a fresh namespace testbed: what it finds on veth (native XDP, no
//! zero-copy, no NAPI id), that its tries leave nothing attached, that it leaves an interface in
//! use alone, and that it is a report (exit 0) except for a bad --iface or --netns (exit 2).

mod common;

use common::*;
use serde_json::Value;

fn doctor(args: &[&str]) -> (std::process::Output, Value) {
    let out = xdplat()
        .arg("doctor")
        .args(args)
        .arg("--json")
        .output()
        .expect("run xdplat doctor");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, v)
}

fn has_finding(v: &Value, level: &str, needle: &str) -> bool {
    v["findings"].as_array().into_iter().flatten().any(|f| {
        f["level"] == level
            && (f["fact"].as_str().unwrap_or("").contains(needle)
                || f["meaning"].as_str().unwrap_or("").contains(needle))
    })
}

#[test]
fn veth_is_native_xdp_copy_mode_without_napi() {
    let Some(tb) = TestTestbed::new("doc", 1) else {
        return;
    };
    let a = &tb.ab().a;
    let (out, v) = doctor(&["--netns", &a.netns, "--iface", &a.iface]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        v["kernel"]["release"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    let i = &v["interfaces"][0];
    assert_eq!(i["name"], a.iface.as_str());
    assert_eq!(i["driver"], "veth");
    let t = &i["tries"];
    assert_eq!(t["attach_drv"]["result"], "ok", "{t}");
    assert_eq!(t["attach_skb"]["result"], "ok", "{t}");
    assert_eq!(t["bind_zero_copy"]["result"], "unsupported", "{t}");
    assert_eq!(t["bind_copy"]["result"], "ok", "{t}");
    assert_eq!(t["bind_copy"]["napi_id"], 0, "{t}");
    assert!(
        has_finding(&v, "warn", "no zero-copy: expect copy-mode latencies"),
        "{v:#}"
    );
    assert!(
        has_finding(
            &v,
            "warn",
            "busy polling will be a no-op on this interface in copy mode"
        ),
        "{v:#}"
    );
    assert!(has_finding(&v, "ok", "native (drv) mode"), "{v:#}");
    assert!(
        !xdp_attached(&a.netns, &a.iface),
        "doctor left XDP attached"
    );
    // the tries left the queue free: a measurement works right after
    let fwd = Forwarder::start(&tb, &[]);
    let dir = out_dir("doc");
    let res = ping(&tb, &dir, &["--count", "20", "--interval", "1ms"]);
    drop(fwd);
    assert!(res.status.success(), "{}", text(&res));
    assert_eq!(summary(&dir).packets.lost, 0);
    // the text form says the same
    let out = xdplat()
        .args(["doctor", "--netns", &a.netns, "--iface", &a.iface])
        .output()
        .expect("run");
    assert!(out.status.success());
    let t = text(&out);
    assert!(
        t.contains("driver veth") && t.contains("zero-copy unsupported, copy ok"),
        "{t}"
    );
}

#[test]
fn an_interface_in_use_is_left_alone() {
    let Some(tb) = TestTestbed::new("docu", 1) else {
        return;
    };
    let b = &tb.ab().b;
    let fwd = Forwarder::start(&tb, &[]);
    let (out, v) = doctor(&["--netns", &b.netns, "--iface", &b.iface]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        has_finding(&v, "warn", "an XDP program is attached"),
        "{v:#}"
    );
    assert!(v["interfaces"][0]["tries"].is_null(), "{v:#}");
    // the forwarder still forwards
    let dir = out_dir("docu");
    let res = ping(&tb, &dir, &["--count", "20", "--interval", "1ms"]);
    assert!(res.status.success(), "{}", text(&res));
    assert_eq!(summary(&dir).packets.received, 20);
    drop(fwd);
}

#[test]
fn read_only_listing_and_passive() {
    let Some(tb) = TestTestbed::new("docp", 1) else {
        return;
    };
    let a = &tb.ab().a;
    let (out, v) = doctor(&["--netns", &a.netns]);
    assert!(out.status.success(), "{}", text(&out));
    let names: Vec<&str> = v["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(names, [a.iface.as_str()], "loopback is skipped");
    assert!(v["interfaces"][0]["tries"].is_null());
    let (out, v) = doctor(&["--netns", &a.netns, "--iface", &a.iface, "--passive"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(v["interfaces"][0]["tries"].is_null());
    assert_eq!(v["interfaces"][0]["features"]["xdp_features"][0], "basic");
}

#[test]
fn bad_iface_or_netns_exit_2() {
    let Some(tb) = TestTestbed::new("docb", 1) else {
        return;
    };
    let (out, _) = doctor(&["--netns", &tb.ab().a.netns, "--iface", "nosuch0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("nosuch0"), "{}", text(&out));
    let (out, _) = doctor(&["--netns", "no-such-ns-doc"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no-such-ns-doc"), "{}", text(&out));
}

/// `xdplat ... | head`: stdout closed before the first line. The exit is quiet with 141 (as a
/// shell reports SIGPIPE), not a panic with 101.
#[test]
fn a_closed_stdout_exits_quietly() {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let res = xdplat()
        .args(["doctor", "--passive"])
        .stdout(writer)
        .output()
        .expect("run xdplat");
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `bpf`: every helper and kfunc the XDP programs use, each with the kernel's answer, the stamp
/// that follows, and a finding for each one refused, agreeing with the library's own probe.
#[test]
fn every_helper_and_kfunc_is_listed_with_the_kernels_answer() {
    if !host::test_support::require_root(
        "doctor::every_helper_and_kfunc_is_listed_with_the_kernels_answer",
    ) {
        return;
    }
    let (out, v) = doctor(&["--passive"]);
    assert!(out.status.success(), "{}", text(&out));
    let needs = v["bpf"]["needs"].as_array().expect("bpf.needs");
    let names: Vec<&str> = needs.iter().filter_map(|n| n["name"].as_str()).collect();
    for name in [
        "bpf_ktime_get_ns",
        "bpf_map_lookup_elem",
        "bpf_redirect_map",
        "bpf_xdp_adjust_meta",
        "bpf_xdp_adjust_head",
        "bpf_xdp_metadata_rx_timestamp",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let caps = xdp::caps::probe();
    for n in needs {
        let name = n["name"].as_str().expect("name");
        let verdict = n["verdict"].as_str().expect("verdict");
        assert_eq!(verdict == "given", caps.verdict(name).given(), "{n}");
        if verdict == "refused" {
            assert!(n["why"].as_str().is_some_and(|w| !w.is_empty()), "{n}");
            assert!(has_finding(&v, "warn", &format!("refuses {name}")), "{v:#}");
        }
    }
    assert_eq!(
        v["bpf"]["stamp"],
        xdp::choose(caps, None).stamp.as_str(),
        "{}",
        v["bpf"]
    );
    assert!(text(&out).is_empty() || !text(&out).contains("libbpf: "));
}
