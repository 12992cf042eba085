//! The search space of `xdplat tune`: the axes worth trying on a link, derived from what doctor
//! and `host show` say its interfaces and kernel support, each axis listing the value in force
//! first (so the first value of every axis is the default configuration), with the combinations
//! that change nothing (prefer or budget without busy polling, half of a NAPI deferral) excluded.
//! What is left out, and why, is said.

use std::collections::BTreeMap;

use serde_json::Value;

/// What a link supports, read from `xdplat doctor --json` and `xdplat host show --json` of the
/// forwarder's (and the pinger's) interface.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Support {
    pub release: String,
    /// Native XDP attaches on every role's interface.
    pub drv: bool,
    /// An AF_XDP zero-copy bind succeeds on every role's interface.
    pub zero_copy: bool,
    /// The sockets get a NAPI id (busy polling has something to poll).
    pub napi: bool,
    /// The kernel has AF_XDP busy polling (SO_PREFER_BUSY_POLL, SO_BUSY_POLL_BUDGET).
    pub busy_poll: bool,
    /// The forwarder's device has NAPI instances now (threaded NAPI can be switched).
    pub device_napi: bool,
    /// The forwarder's host settings its device supports, with the value in force.
    pub host: BTreeMap<String, String>,
    /// The CPUs the roles may be pinned to (local roles only; empty: no placement axis).
    pub cpus: Vec<usize>,
}

/// One derived axis: its key as in `[axes]` and its values as TOML literals, the value in force
/// first.
#[derive(Debug, Clone, PartialEq)]
pub struct Dim {
    pub key: String,
    pub values: Vec<String>,
}

/// A derived `[[exclude]]`: (axis key, TOML literal) conditions and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Exclude {
    pub conds: Vec<(String, String)>,
    pub why: String,
}

/// The derived space.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Space {
    pub dims: Vec<Dim>,
    pub excludes: Vec<Exclude>,
    /// Knobs and settings not in the space, each with why.
    pub left_out: Vec<String>,
}

fn tries_ok(iface: &Value, what: &str) -> bool {
    iface["tries"][what]["result"] == "ok"
}

impl Support {
    /// Reads the doctor reports of the pinger's and the forwarder's interfaces (the forwarder's
    /// first) and the forwarder's `host show` report.
    pub fn from_reports(doctors: &[Value], show: &Value, cpus: Vec<usize>) -> Support {
        let ifaces: Vec<&Value> = doctors
            .iter()
            .filter_map(|d| d["interfaces"].as_array()?.first())
            .collect();
        let all = |f: &dyn Fn(&Value) -> bool| !ifaces.is_empty() && ifaces.iter().all(|i| f(i));
        let napi_id = |i: &Value, t: &str| i["tries"][t]["napi_id"].as_u64().unwrap_or(0) > 0;
        let busy_poll = doctors.iter().all(|d| {
            d["kernel"]["features"].as_array().is_some_and(|f| {
                f.iter().any(|x| {
                    x["feature"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("AF_XDP busy polling"))
                        && x["present"] == true
                })
            })
        });
        let host = show["settings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["status"] == "supported")
            .filter_map(|s| Some((s["key"].as_str()?.to_string(), s["value"].as_str()?.into())))
            .collect();
        Support {
            release: doctors
                .first()
                .and_then(|d| d["kernel"]["release"].as_str())
                .unwrap_or_default()
                .into(),
            drv: all(&|i| tries_ok(i, "attach_drv")),
            zero_copy: all(&|i| tries_ok(i, "bind_zero_copy")),
            napi: all(&|i| napi_id(i, "bind_zero_copy") || napi_id(i, "bind_copy")),
            busy_poll: !doctors.is_empty() && busy_poll,
            device_napi: ifaces
                .first()
                .and_then(|i| i["napi_ids"].as_array())
                .is_some_and(|n| !n.is_empty()),
            host,
            cpus,
        }
    }
}

fn dim(key: &str, values: &[&str]) -> Dim {
    Dim {
        key: key.into(),
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

fn quoted(v: &str) -> String {
    format!("{v:?}")
}

/// The space of a link that supports `s`; `fwd` is the forwarder's host name (the scope of
/// its host settings).
pub fn derive(s: &Support, fwd: &str) -> Space {
    let mut sp = Space::default();
    let mut skip = |what: &str| sp.left_out.push(what.to_string());
    let mut dims = Vec::new();
    let mut excludes = Vec::new();
    if s.drv {
        dims.push(dim("xdp-mode", &["\"drv\"", "\"skb\""]));
    } else {
        skip("xdp-mode drv: native XDP does not attach (doctor); skb only");
    }
    if s.zero_copy {
        dims.push(dim("bind", &["\"copy\"", "\"zero-copy\""]));
    } else {
        skip("bind zero-copy: the driver refuses it (doctor); copy only");
    }
    dims.push(dim("need-wakeup", &["true", "false"]));
    dims.push(dim("ping.poll", &["false", "true"]));
    dims.push(dim("fwd.poll", &["false", "true"]));
    if !s.busy_poll {
        skip(&format!(
            "busy-poll: Linux {} has no AF_XDP busy polling (5.11+)",
            s.release
        ));
    } else if !s.napi {
        skip(
            "busy-poll: the sockets get no NAPI id here (doctor's binds), so busy polling is a no-op",
        );
    } else {
        dims.push(dim("busy-poll", &["false", "true"]));
        dims.push(dim("prefer-busy-poll", &["true", "false"]));
        dims.push(dim("busy-poll-budget", &["64", "8"]));
        for (k, v) in [("prefer-busy-poll", "false"), ("busy-poll-budget", "8")] {
            excludes.push(Exclude {
                conds: vec![("busy-poll".into(), "false".into()), (k.into(), v.into())],
                why: format!("{k} does nothing without busy polling"),
            });
        }
    }
    dims.push(dim("fwd.batch", &["64", "1"]));
    dims.push(dim("ring-size", &["2048", "256"]));
    if s.cpus.len() >= 2 {
        let (a, b) = (s.cpus[0].to_string(), s.cpus[1].to_string());
        dims.push(Dim {
            key: "fwd.cpu".into(),
            values: vec![b, a],
        });
    } else {
        skip(
            "fwd.cpu: the roles are not local or fewer than 2 CPUs are allowed: no placement axis",
        );
    }
    let h = |k: &str| format!("{fwd}.{k}");
    let cur = |k: &str| s.host.get(k).cloned();
    match (cur("napi-defer-hard-irqs"), cur("gro-flush-timeout")) {
        (Some(d), Some(g)) => {
            let (d2, g2) = if d == "0" {
                ("2".to_string(), "200000".to_string())
            } else {
                ("0".into(), "0".into())
            };
            dims.push(Dim {
                key: h("napi-defer-hard-irqs"),
                values: vec![d.clone(), d2.clone()],
            });
            dims.push(Dim {
                key: h("gro-flush-timeout"),
                values: vec![g.clone(), g2.clone()],
            });
            for (dv, gv) in [(d, g2), (d2, g)] {
                excludes.push(Exclude {
                    conds: vec![
                        (h("napi-defer-hard-irqs"), dv),
                        (h("gro-flush-timeout"), gv),
                    ],
                    why: "NAPI deferral is the two settings together".into(),
                });
            }
        }
        _ => skip("napi-defer-hard-irqs / gro-flush-timeout: the device has none"),
    }
    match cur("per-napi-irq-suspend-timeout") {
        Some(v) if s.busy_poll && s.napi && dims.iter().any(|d| d.key == "busy-poll") => {
            let alt = if v == "0" { "20000000" } else { "0" };
            dims.push(Dim {
                key: h("per-napi-irq-suspend-timeout"),
                values: vec![v, alt.into()],
            });
            excludes.push(Exclude {
                conds: vec![
                    ("busy-poll".into(), "false".into()),
                    (h("per-napi-irq-suspend-timeout"), alt.into()),
                ],
                why: "IRQ suspension works with preferred busy polling only".into(),
            });
        }
        Some(_) => skip("per-napi-irq-suspend-timeout: no busy polling here to go with it"),
        None => skip(
            "per-napi-irq-suspend-timeout: this kernel or device has no per-NAPI settings (6.13+)",
        ),
    }
    match cur("threaded-napi") {
        Some(_) if !s.device_napi => skip(
            "threaded-napi: the device has no NAPI instance while nothing runs (veth: only with GRO or XDP), so it refuses the switch",
        ),
        Some(v) => {
            let alt = if v == "0" { "1" } else { "0" };
            dims.push(Dim {
                key: h("threaded-napi"),
                values: vec![v, alt.into()],
            });
        }
        None => skip("threaded-napi: the device has none"),
    }
    match cur("rx-usecs") {
        Some(v) if v != "0" => dims.push(Dim {
            key: h("rx-usecs"),
            values: vec![v, "0".into()],
        }),
        Some(_) => skip("rx-usecs: already 0 (no interrupt coalescing to remove)"),
        None => skip("rx-usecs (coalescing): the device has none"),
    }
    match (
        cur("irq-affinity"),
        dims.iter().find(|d| d.key == "fwd.cpu"),
    ) {
        (Some(v), Some(cpu)) if v != cpu.values[0] => dims.push(Dim {
            key: h("irq-affinity"),
            values: vec![quoted(&v), quoted(&cpu.values[0])],
        }),
        (Some(_), Some(_)) => {
            skip("irq-affinity: the queue's interrupt is on the forwarder's CPU already")
        }
        (Some(_), None) => skip("irq-affinity: no placement axis to go with it"),
        (None, _) => skip("irq-affinity: the device has no interrupt of its own (virtual)"),
    }
    match cur("cpu-dma-latency-us") {
        Some(v) if v != "0" => dims.push(Dim {
            key: h("cpu-dma-latency-us"),
            values: vec![v, "0".into()],
        }),
        Some(_) => skip("cpu-dma-latency-us: already 0"),
        None => skip("cpu-dma-latency-us: /dev/cpu_dma_latency is missing"),
    }
    skip("cpuidle-disable: the C-state limit is tried through cpu-dma-latency-us");
    skip(
        "channels-combined: changing the queues changes the link under test; give it in a file's [axes]",
    );
    skip("frames, frame-size: they bound throughput, not the latency of one probe");
    sp.dims = dims;
    sp.excludes = excludes;
    sp
}

impl Space {
    /// The `[axes]` table and `[[exclude]]` entries, as experiment-file text.
    pub fn toml(&self) -> String {
        let mut t = String::from("[axes]\n");
        for d in &self.dims {
            t.push_str(&format!("{} = [{}]\n", d.key, d.values.join(", ")));
        }
        for e in &self.excludes {
            t.push_str("\n[[exclude]]\n");
            for (k, v) in &e.conds {
                t.push_str(&format!("{k} = {v}\n"));
            }
            t.push_str(&format!("why = {:?}\n", e.why));
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doctor(drv: bool, zc: bool, napi: u64) -> Value {
        let r = |ok: bool| if ok { "ok" } else { "unsupported" };
        json!({
            "kernel": { "release": "6.18.0", "features": [
                { "feature": "AF_XDP busy polling (SO_PREFER_BUSY_POLL, SO_BUSY_POLL_BUDGET)",
                  "since": "5.11", "present": true } ] },
            "interfaces": [ { "tries": {
                "attach_drv": { "result": r(drv) },
                "bind_zero_copy": { "result": r(zc), "napi_id": napi },
                "bind_copy": { "result": "ok", "napi_id": 0 } } } ]
        })
    }

    #[test]
    fn veth_has_no_zero_copy_nor_busy_polling() {
        let show = json!({ "settings": [
            { "key": "napi-defer-hard-irqs", "status": "supported", "value": "0" },
            { "key": "gro-flush-timeout", "status": "supported", "value": "0" },
            { "key": "rx-usecs", "status": "unsupported", "value": null } ] });
        let s = Support::from_reports(&[doctor(true, false, 0)], &show, vec![0, 1]);
        assert!(s.drv && !s.zero_copy && !s.napi && s.busy_poll);
        let sp = derive(&s, "b");
        let keys: Vec<&str> = sp.dims.iter().map(|d| d.key.as_str()).collect();
        assert!(keys.contains(&"xdp-mode") && !keys.contains(&"bind"));
        assert!(!keys.contains(&"busy-poll"));
        assert!(keys.contains(&"b.napi-defer-hard-irqs"));
        assert!(sp.left_out.iter().any(|l| l.contains("no NAPI id")));
        assert_eq!(
            sp.dims.iter().find(|d| d.key == "fwd.cpu").unwrap().values,
            ["1", "0"]
        );
        assert_eq!(sp.excludes.len(), 2, "the two halves of a NAPI deferral");
    }

    #[test]
    fn virtio_net_gets_zero_copy_and_busy_polling() {
        let s = Support::from_reports(&[doctor(true, true, 8193)], &json!({}), vec![]);
        let sp = derive(&s, "b");
        let text = sp.toml();
        assert!(text.contains("bind = [\"copy\", \"zero-copy\"]"), "{text}");
        assert!(text.contains("busy-poll = [false, true]"), "{text}");
        assert!(text.contains("[[exclude]]\nbusy-poll = false\nprefer-busy-poll = false\n"));
        assert!(!text.contains("fwd.cpu"));
    }

    #[test]
    fn one_role_without_drv_means_no_drv_axis() {
        let s = Support::from_reports(
            &[doctor(true, true, 1), doctor(false, true, 1)],
            &json!({}),
            vec![0, 1],
        );
        assert!(!s.drv && s.zero_copy);
        assert!(derive(&s, "b").dims.iter().all(|d| d.key != "xdp-mode"));
    }
}
