//! Testbed, netns and iface against real namespaces and veths (root only).

use std::process::Command;

use host::test_support::{TestTestbed, require_root, unique_name};
use host::testbed::{self, TestbedSpec};
use host::{Error, iface, netns};

#[test]
fn up_twice_is_idempotent_and_status_has_the_design_shape() {
    let Some(tb) = TestTestbed::new("idem", 1) else {
        return;
    };
    let again = testbed::up(&tb.spec).expect("second up");
    assert_eq!(again, tb.status);
    assert_eq!(testbed::status(tb.name()).expect("status"), tb.status);

    let json = serde_json::to_value(&tb.status).unwrap();
    let name = tb.name();
    assert_eq!(json["name"], name);
    assert_eq!(json["kind"], "netns");
    assert!(
        json.get("vm").is_none(),
        "no vm part for a namespace testbed"
    );
    let links = json["links"].as_array().unwrap();
    assert_eq!(links.len(), 1);
    let (a, b) = (&links[0]["a"], &links[0]["b"]);
    assert_eq!(a["netns"], format!("{name}-a"));
    assert_eq!(b["netns"], format!("{name}-b"));
    assert_eq!(a["iface"], format!("{name}-ab"));
    assert_eq!(a["mac"], "02:78:64:00:01:01");
    assert_eq!(a["ipv4"], "10.77.1.1/24");
    assert_eq!(b["mac"], "02:78:64:00:01:02");
    assert_eq!(b["ipv4"], "10.77.1.2/24");
    for end in [a, b] {
        let mut keys: Vec<_> = end.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["driver", "iface", "ipv4", "mac", "netns"]);
        assert_eq!(end["driver"], "veth");
    }
}

#[test]
fn ping_from_a_to_b_over_the_veth() {
    let Some(tb) = TestTestbed::new("ping", 1) else {
        return;
    };
    let b_ip = tb.ab().b.ip().unwrap().to_string();
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &tb.ab().a.netns,
            "ping",
            "-c",
            "2",
            "-i",
            "0.2",
            "-W",
            "1",
        ])
        .arg(&b_ip)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ping: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn queues_and_facts_read_inside_the_namespace() {
    let Some(tb) = TestTestbed::new("q", 2) else {
        return;
    };
    let a = tb.ab().a.clone();
    let info = netns::run_in(&a.netns, move || iface::info(&a.iface))
        .unwrap()
        .unwrap();
    assert_eq!(info.num_rx_queues, 2);
    assert_eq!(info.num_tx_queues, 2);
    assert_eq!(info.mac, tb.ab().a.mac_bytes().unwrap());
    assert_eq!(info.ipv4, Some(("10.77.1.1".parse().unwrap(), 24)));
    assert_eq!(info.mtu, 1500);
    assert_eq!(info.driver.as_deref(), Some("veth"));
    assert!(info.up);

    // Fewer channels in use (a half-shaped testbed): up puts them back.
    let a = tb.ab().a.clone();
    let ok = Command::new("ip")
        .args([
            "netns", "exec", &a.netns, "ethtool", "-L", &a.iface, "rx", "1", "tx", "1",
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    let a2 = a.clone();
    let info = netns::run_in(&a.netns, move || iface::info(&a2.iface))
        .unwrap()
        .unwrap();
    assert_eq!((info.num_rx_queues, info.alloc_rx_queues), (1, 2));
    testbed::up(&tb.spec).unwrap();
    let info = netns::run_in(&a.netns, move || iface::info(&a.iface))
        .unwrap()
        .unwrap();
    assert_eq!(info.num_rx_queues, 2);

    // Asking for other queues re-creates the pair.
    let mut spec = tb.spec.clone();
    spec.queues = 1;
    testbed::up(&spec).unwrap();
    let a = tb.ab().a.clone();
    let info = netns::run_in(&a.netns, move || iface::info(&a.iface))
        .unwrap()
        .unwrap();
    assert_eq!(info.num_rx_queues, 1);
}

#[test]
fn c_link_and_completing_a_half_made_testbed() {
    let Some(tb) = TestTestbed::with_spec("c", 1, true) else {
        return;
    };
    let st = &tb.status;
    assert_eq!(st.links.len(), 2);
    assert_eq!(st.links[1].a.netns, format!("{}-c", tb.name()));
    assert_eq!(st.links[1].b.netns, format!("{}-b", tb.name()));
    assert_eq!(st.links[1].a.ipv4, "10.77.2.1/24");

    // Break it: remove the C link; up completes it.
    let out = Command::new("ip")
        .args([
            "-n",
            &st.links[1].b.netns,
            "link",
            "del",
            "dev",
            &st.links[1].b.iface,
        ])
        .status()
        .unwrap();
    assert!(out.success());
    assert!(testbed::status(tb.name()).is_err());
    assert_eq!(&testbed::up(&tb.spec).unwrap(), st);
}

#[test]
fn down_removes_everything_and_missing_is_fine() {
    if !require_root("down") {
        return;
    }
    let name = unique_name("down");
    let spec = TestbedSpec {
        name: name.clone(),
        queues: 1,
        with_c: true,
    };
    let guard = scopeguard(&name);
    testbed::up(&spec).unwrap();
    testbed::down(&name).unwrap();
    for s in ["a", "b", "c"] {
        assert!(!netns::exists(&format!("{name}-{s}")));
    }
    testbed::down(&name).unwrap();
    match testbed::status(&name) {
        Err(Error::NoTestbed { .. }) => {}
        other => panic!("status of a removed testbed: {other:?}"),
    }
    drop(guard);
}

/// Removes the testbed on drop (for tests that manage up/down themselves).
fn scopeguard(name: &str) -> impl Drop {
    struct G(String);
    impl Drop for G {
        fn drop(&mut self) {
            let _ = testbed::down(&self.0);
        }
    }
    G(name.to_string())
}

#[test]
fn resolve_mac_finds_b_from_a() {
    let Some(tb) = TestTestbed::new("arp", 1) else {
        return;
    };
    let (a, b) = (tb.ab().a.clone(), tb.ab().b.clone());
    let b_ip = b.ip().unwrap();
    let mac = netns::run_in(&a.netns, move || iface::resolve_mac(&a.iface, b_ip))
        .unwrap()
        .unwrap();
    assert_eq!(mac, b.mac_bytes().unwrap());

    // An address nobody has does not resolve, with the clear message.
    let a = tb.ab().a.clone();
    let err = netns::run_in(&a.netns, move || {
        iface::resolve_mac(&a.iface, "10.77.1.9".parse().unwrap())
    })
    .unwrap()
    .unwrap_err();
    assert!(err.to_string().contains("--dst-mac"), "{err}");
}

#[test]
fn missing_namespace_and_interface_errors_name_them() {
    let err = netns::enter("xdplat-no-such-ns").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("xdplat-no-such-ns"), "{msg}");
    assert!(msg.contains("no such network namespace"), "{msg}");
    assert!(msg.contains("xdplat testbed up"), "{msg}");

    let Some(tb) = TestTestbed::new("nif", 1) else {
        return;
    };
    let ns = tb.ab().a.netns.clone();
    let err = netns::run_in(&ns, || iface::info("nosuchif0"))
        .unwrap()
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("nosuchif0") && msg.contains(&ns), "{msg}");
}

#[test]
fn enter_moves_only_this_thread_and_back() {
    let Some(tb) = TestTestbed::new("ent", 1) else {
        return;
    };
    let before = netns::current_name();
    {
        let g = netns::enter(&tb.ab().b.netns).unwrap();
        assert_eq!(netns::current_name(), g.name());
        assert!(iface::info(&tb.ab().b.iface).is_ok());
    }
    assert_eq!(netns::current_name(), before);
    assert!(iface::info(&tb.ab().b.iface).is_err());
}

#[test]
fn bad_names_are_rejected_naming_the_parameter() {
    for bad in ["", "toolongname123", "9abc", "a-b", "a/b"] {
        let err = testbed::status(bad).unwrap_err();
        assert!(err.is_bad_input(), "{bad}: {err}");
        assert!(err.to_string().contains("--name"), "{err}");
    }
    let spec = TestbedSpec {
        name: "ok".into(),
        queues: 0,
        with_c: false,
    };
    assert!(
        testbed::up(&spec)
            .unwrap_err()
            .to_string()
            .contains("--queues")
    );
    assert!(unique_name("averylongprefix").len() <= testbed::MAX_NAME_LEN);
}
