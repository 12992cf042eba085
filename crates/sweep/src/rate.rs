//! The paper's equation (1): packets per second = B × l_min / (8 × P), with B the link speed in
//! bit/s, l_min the minimal latency and P the probe size in bytes. Used by `rate = "auto"` in
//! a sweep and by `sweep load`'s high-rate phase; B is read the same way for both.

use std::time::Duration;

use crate::Experiment;

/// B when the driver does not report a speed (veth reports 10000 Mb/s or nothing).
pub const DEFAULT_BPS: f64 = 1e10;

/// l_min assumed by `sweep plan` for its estimate, before anything is measured.
pub const ASSUMED_L_MIN_NS: f64 = 20_000.0;

/// The calibration run of `rate = "auto"`, before any run of the sweep has completed: its
/// probes, after a warm-up (the first run on a freshly made testbed was measured at ms medians).
pub const CALIBRATION_PROBES: u64 = 300;
pub const CALIBRATION_WARMUP: u64 = 200;
pub const CALIBRATION_INTERVAL: Duration = Duration::from_millis(1);

/// Equation (1): packets per second for link speed `b_bps`, latency `l_min_ns`, `size` bytes.
pub fn pps(b_bps: f64, l_min_ns: f64, size: usize) -> f64 {
    b_bps * (l_min_ns / 1e9) / (8.0 * size.max(1) as f64)
}

/// The interval between batches at `pps` (at most 1000 s, for degenerate inputs).
pub fn interval(pps: f64) -> Duration {
    Duration::from_secs_f64(1.0 / pps.max(1e-3))
}

/// The ping interface's link speed in bit/s (sysfs `speed`, in Mb/s; read in the host's
/// namespace through `ip netns exec`, or over ssh); [`DEFAULT_BPS`] when the driver does not
/// say.
pub fn link_speed_bps(exp: &Experiment) -> f64 {
    let h = &exp.hosts[&exp.ping_host];
    let Some(iface) = &h.iface else {
        return DEFAULT_BPS;
    };
    let file = format!("/sys/class/net/{iface}/speed");
    let argv: Vec<String> = match &h.netns {
        Some(ns) => ["ip", "netns", "exec", ns, "cat", &file]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        None => vec!["cat".into(), file],
    };
    crate::transport::output(h, &argv)
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|mbps| *mbps > 0)
        .map_or(DEFAULT_BPS, |mbps| mbps as f64 * 1e6)
}

/// A rate derived with equation (1), and from what.
#[derive(Debug, Clone, PartialEq)]
pub struct Derived {
    pub b_bps: f64,
    pub l_min_ns: f64,
    pub size: usize,
    /// Where l_min came from: `calibration`, `run <id>`, `cluster 0 mean`.
    pub from: String,
}

impl Derived {
    pub fn pps(&self) -> f64 {
        pps(self.b_bps, self.l_min_ns, self.size)
    }

    pub fn interval(&self) -> Duration {
        interval(self.pps())
    }

    /// As a summary's `rate`: `{"auto": true, "pps", "interval_ns", "b_bps", "l_min_ns",
    /// "size", "from"}`.
    pub fn to_rate(&self) -> results::Rate {
        results::Rate {
            auto: true,
            pps: Some(self.pps()),
            interval_ns: self.interval().as_nanos() as u64,
            b_bps: Some(self.b_bps),
            l_min_ns: Some(self.l_min_ns),
            size: Some(self.size),
            from: Some(self.from.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_papers_figures() {
        // §VI.2: 64-byte packets, "around 200 pps for Intel and 1750 pps for Mellanox"; the
        // X710 is 10 Gb/s and the ConnectX-6 100 Gb/s, so l_min was about 10.24 and 8.96 µs
        assert!((pps(10e9, 10_240.0, 64) - 200.0).abs() < 1e-9);
        assert!((pps(100e9, 8_960.0, 64) - 1750.0).abs() < 1e-9);
        // their intervals, 5 ms (Intel) and 0.6 ms (Mellanox), are 1/pps rounded up
        assert_eq!(interval(200.0), Duration::from_millis(5));
        let m = interval(1750.0);
        assert!(m > Duration::from_micros(570) && m < Duration::from_micros(600));
    }

    #[test]
    fn plain_arithmetic() {
        // 1 Gb/s × 8 µs / (8 × 100 B) = 10 pps
        assert!((pps(1e9, 8_000.0, 100) - 10.0).abs() < 1e-9);
        assert_eq!(interval(10.0), Duration::from_millis(100));
        // a veth (10 Gb/s assumed), 88-byte stamped probes, 20 µs: 284 pps, 3.52 ms
        let d = Derived {
            b_bps: DEFAULT_BPS,
            l_min_ns: 20_000.0,
            size: 88,
            from: "calibration".into(),
        };
        assert_eq!(d.interval().as_micros(), 3520);
        assert_eq!(d.to_rate().interval_ns, 3_520_000);
        assert_eq!(d.to_rate().from.as_deref(), Some("calibration"));
        let json = serde_json::to_value(d.to_rate()).unwrap();
        assert_eq!(json["auto"], true);
        assert_eq!(json["size"], 88);
        // degenerate inputs stay finite
        assert_eq!(interval(0.0), Duration::from_secs(1000));
    }
}
