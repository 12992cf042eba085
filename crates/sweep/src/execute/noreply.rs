//! A run in which no probe came back is a failed run, not a result: its message says where the
//! probes stopped, from the forwarder's end counters (its `probe::protocol` stopped event), and
//! the knobs in force that are known to cause it.

use probe::protocol::Stopped;
use serde_json::Value;

/// Why a run with `sent` probes and no reply failed; `summary` is the pinger's, `fwd` the
/// forwarder's end (None when it announced none: an older binary, or it was killed).
pub(super) fn why(summary: &results::Summary, fwd: Option<&Stopped>) -> String {
    let sent = summary.packets.sent;
    let mut why = format!("no reply to any of {sent} probes");
    match fwd {
        Some(s) if s.forwarded == 0 => {
            let redirected = counter(s, "xdp_program", "redirected");
            why.push_str(&format!(
                ": the forwarder received none (its XDP program redirected {}): the pinger's TX did not leave, or the probes reached another queue than the forwarder's",
                redirected.map_or("?".into(), |n| n.to_string())
            ));
        }
        Some(s) => why.push_str(&format!(
            ": the forwarder forwarded {}: its replies did not leave its TX, or reached another queue than the pinger's",
            s.forwarded
        )),
        None => why.push_str(": the forwarder said nothing of what it received"),
    }
    let e = &summary.effective;
    let zc = e.get("bind").and_then(Value::as_str) == Some("zero-copy");
    let bp = e.get("busy_poll_active").and_then(Value::as_bool) == Some(true);
    if zc && bp {
        why.push_str(&format!(
            "; zero-copy with busy polling (prefer-busy-poll {}): sendto() does not wake TX there, see effective.tx_wakeup and `xdplat doctor --iface`",
            e.get("busy_poll_prefer").unwrap_or(&Value::Null)
        ));
    }
    why
}

fn counter(s: &Stopped, group: &str, key: &str) -> Option<u64> {
    s.counters.get(group)?.get(key)?.as_u64()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn summary(effective: Value) -> results::Summary {
        let mut s = results::Summary::default();
        s.packets.sent = 300;
        s.packets.lost = 300;
        if let Value::Object(m) = effective {
            s.effective = m;
        }
        s
    }

    #[test]
    fn nothing_forwarded_points_at_the_pingers_tx() {
        let fwd = Stopped {
            counters: serde_json::from_value(json!({"xdp_program": {"redirected": 0}})).unwrap(),
            ..Stopped::default()
        };
        let w = why(&summary(json!({"bind": "copy"})), Some(&fwd));
        assert_eq!(
            w,
            "no reply to any of 300 probes: the forwarder received none (its XDP program redirected 0): the pinger's TX did not leave, or the probes reached another queue than the forwarder's"
        );
    }

    #[test]
    fn forwarded_but_lost_names_busy_polling_in_zero_copy() {
        let fwd = Stopped {
            forwarded: 300,
            ..Stopped::default()
        };
        let w = why(
            &summary(
                json!({"bind": "zero-copy", "busy_poll_active": true, "busy_poll_prefer": true}),
            ),
            Some(&fwd),
        );
        assert!(w.contains("the forwarder forwarded 300"), "{w}");
        assert!(w.contains("prefer-busy-poll true"), "{w}");
    }
}
