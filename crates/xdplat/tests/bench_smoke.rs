//! The CI smoke form of the benchmark suite: `xdplat bench --quick --json` runs in seconds on
//! a testbed of its own and prints one object with the benchmarks, each with value,
//! baseline, ratio and unit (or a reason it was skipped), and leaves no namespace behind.

mod common;

use common::{text, xdplat};
use serde_json::Value;

const KEYS: [&str; 7] = [
    "rtt_vs_udp",
    "udp_vs_sockperf",
    "fwd_batch_rtt",
    "fwd_vs_xdp_tx",
    "timestamp_cost",
    "analysis_vs_numpy",
    "sweep_efficiency",
];

fn namespaces() -> String {
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn quick_json_has_every_benchmark_as_a_ratio() {
    if !host::test_support::require_root("bench_smoke") {
        return;
    }
    let started = std::time::Instant::now();
    let child = xdplat()
        .args(["bench", "--quick", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run xdplat bench");
    let pid = child.id();
    let out = child.wait_with_output().expect("xdplat bench output");
    assert!(out.status.success(), "xdplat bench failed: {}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON object ({e}): {}", text(&out)));
    let obj = v.as_object().expect("a JSON object");
    for key in KEYS {
        let b = obj.get(key).unwrap_or_else(|| panic!("{key} missing: {v}"));
        for field in ["value", "baseline", "ratio", "unit"] {
            assert!(b.get(field).is_some(), "{key}.{field} missing: {b}");
        }
        assert!(b["unit"].is_string(), "{key}.unit: {b}");
        if b.get("skipped").is_some() {
            assert!(
                b["ratio"].is_null(),
                "a skipped benchmark has no ratio: {b}"
            );
            continue;
        }
        let (value, base, ratio) = (
            b["value"].as_f64().expect("value"),
            b["baseline"].as_f64().expect("baseline"),
            b["ratio"].as_f64().expect("ratio"),
        );
        assert!(value > 0.0 && base > 0.0, "{key}: {b}");
        assert!(
            (ratio - value / base).abs() <= 1e-9 * ratio.abs().max(1.0),
            "{key}: {b}"
        );
    }
    // sockperf is a test dependency (scripts/setup.sh --with-test-deps): where it is installed
    // the comparison ran, in every wait mode
    if std::process::Command::new("sockperf")
        .arg("--version")
        .output()
        .is_ok()
    {
        let s = &obj["udp_vs_sockperf"];
        assert!(s.get("skipped").is_none(), "{s}");
        for mode in ["sleeping", "spinning", "busy_poll"] {
            assert!(
                s["modes"][mode]["ratio"].as_f64().is_some_and(|r| r > 0.0),
                "{s}"
            );
        }
    }
    // the quick form never needs Python
    assert!(obj["analysis_vs_numpy"].get("skipped").is_some());
    let pid_prefix = format!("xb{}-", pid % 100_000_000);
    assert!(
        !namespaces().contains(&pid_prefix),
        "bench left a namespace behind"
    );
    println!("bench --quick took {:?}", started.elapsed());
}

/// Maximum-rate ping: no interval, a window in flight, the RTT of every probe in the summary
/// (from the histogram) and a raw row for every 100th only; counts stay exact.
#[test]
fn max_rate_ping_keeps_every_nth_row_and_exact_counts() {
    let Some(tb) = common::TestTestbed::new("bmr", 1) else {
        return;
    };
    let fwd = common::Forwarder::start(&tb, &["--batch", "32"]);
    let dir = common::out_dir("maxrate");
    let out = common::ping(
        &tb,
        &dir,
        &[
            "--interval",
            "0",
            "--count",
            "20000",
            "--batch",
            "32",
            "--window",
            "64",
            "--sample-every",
            "100",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let s = common::summary(&dir);
    let p = &s.packets;
    assert_eq!(p.sent, 20_000, "{p:?}");
    assert_eq!(p.received + p.lost, p.sent, "{p:?}");
    assert!(p.received > 19_000, "a clean veth loses little: {p:?}");
    let rtt = s.rtt_ns.expect("rtt statistics");
    assert_eq!(rtt.count, p.received, "every reply is in the statistics");
    assert_eq!(s.extra["sample_every"], 100);
    let rows = results::read_samples(&dir.join(results::SAMPLES_FILE)).expect("samples");
    assert_eq!(rows.len(), 200, "one raw row per 100 probes");
    assert!(s.extra["received_pps"].as_f64().unwrap_or(0.0) > 0.0);
    drop(fwd);
    let _ = std::fs::remove_dir_all(&dir);
}
