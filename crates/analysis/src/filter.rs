//! The paper's clean-up before clustering, each filter switchable and each
//! exclusion reported with its reason:
//!
//! - **no data**: no repetition received a packet;
//! - **loss**: loss rate above `max_loss`;
//! - **kernel baseline**: configurations with `backend = "udp"` are the kernel
//!   path itself; they are not clustered, and their median latency becomes the
//!   ceiling for the others' medians (the paper dropped every configuration
//!   slower than the system ping; medians, so that one stalled packet does not
//!   decide). `--max-latency` sets that ceiling explicitly instead; `--baseline reference`
//!   keeps them out of the clusters without a ceiling, `--baseline cluster` clusters them;
//! - **inter-batch interval**: a median latency of at least `interval_fraction`
//!   of the configuration's send interval (parameter `interval`, `interval_ns`
//!   or `inter_batch_interval`: nanoseconds, or a duration such as `1s`) is the
//!   paper's pathological zero-copy case, where a packet waits for the next batch. With a
//!   sweep's `rate = "auto"` (`interval_ns = "auto"`) the runs' derived intervals are used.

use serde::{Deserialize, Serialize};

use crate::model::Config;
use crate::options::{Baseline, Options};
use crate::stats::ConfigStats;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Excluded {
    pub config: String,
    pub filter: String,
    pub why: String,
}

#[derive(Debug, Clone, Default)]
pub struct Filtered {
    /// Indices of the configurations kept.
    pub kept: Vec<usize>,
    pub excluded: Vec<Excluded>,
    /// The latency ceiling applied (ns), and where it came from.
    pub ceiling_ns: Option<f64>,
    pub ceiling_source: Option<String>,
}

const INTERVAL_KEYS: [&str; 3] = ["interval", "interval_ns", "inter_batch_interval"];

/// Parses `1s`, `500ms`, `20us`, `20µs`, `100ns` or a bare number of nanoseconds.
pub fn parse_duration_ns(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-' || c == '+'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().ok()?;
    let scale = match unit.trim() {
        "" | "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return None,
    };
    Some(v * scale)
}

/// The configuration's send interval. With a sweep's `rate = "auto"` each run has its own; the
/// shortest is the one the filter must not mistake for a latency.
fn interval_ns(c: &Config) -> Option<f64> {
    INTERVAL_KEYS.iter().find_map(|k| match c.params.get(*k)? {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) if s == "auto" => c
            .runs
            .iter()
            .filter_map(|r| r.auto_interval_ns)
            .min_by(f64::total_cmp),
        serde_json::Value::String(s) => parse_duration_ns(s),
        _ => None,
    })
}

fn is_baseline(c: &Config) -> bool {
    c.params.get("backend").and_then(|v| v.as_str()) == Some("udp")
}

fn us(ns: f64) -> String {
    format!("{:.2} µs", ns / 1e3)
}

/// Applies the filters to `configs` whose statistics are `stats` (same order).
pub fn apply(configs: &[Config], stats: &[Option<ConfigStats>], opts: &Options) -> Filtered {
    let mut out = Filtered::default();
    let how = opts.method.over_reps();
    let exclude = |out: &mut Filtered, c: &Config, filter: &str, why: String| {
        out.excluded.push(Excluded {
            config: c.id.clone(),
            filter: filter.to_string(),
            why,
        });
    };
    if let Some(m) = opts.max_latency_ns {
        out.ceiling_ns = Some(m);
        out.ceiling_source = Some("--max-latency".to_string());
    } else if opts.baseline == Baseline::Ceiling {
        let base: Vec<f64> = configs
            .iter()
            .zip(stats)
            .filter(|(c, _)| is_baseline(c))
            .filter_map(|(_, s)| s.map(|s| s.median_of(how)))
            .collect();
        if !base.is_empty() {
            out.ceiling_ns = Some(base.iter().sum::<f64>() / base.len() as f64);
            out.ceiling_source = Some("kernel baseline (backend=udp)".to_string());
        }
    }
    for (i, (c, s)) in configs.iter().zip(stats).enumerate() {
        let Some(stats) = s else {
            exclude(
                &mut out,
                c,
                "no-data",
                "no packet came back in any repetition".to_string(),
            );
            continue;
        };
        let median = stats.median_of(how);
        let reference = match opts.baseline {
            Baseline::Ceiling => opts.max_latency_ns.is_none(),
            Baseline::Reference => true,
            Baseline::Cluster => false,
        };
        if reference && is_baseline(c) {
            exclude(
                &mut out,
                c,
                "baseline",
                format!(
                    "kernel baseline (backend=udp), median {}: the reference, not clustered",
                    us(median)
                ),
            );
            continue;
        }
        if let Some(max) = opts.max_loss
            && stats.loss_rate > max
        {
            exclude(
                &mut out,
                c,
                "loss",
                format!(
                    "loss rate {:.2}% above {:.2}%",
                    stats.loss_rate * 100.0,
                    max * 100.0
                ),
            );
            continue;
        }
        if opts.interval_filter
            && let Some(iv) = interval_ns(c)
            && iv > 0.0
            && median >= opts.interval_fraction * iv
        {
            exclude(
                &mut out,
                c,
                "interval",
                format!(
                    "median {} is at least {:.0}% of the send interval {} (packets wait for the next batch)",
                    us(median),
                    opts.interval_fraction * 100.0,
                    us(iv)
                ),
            );
            continue;
        }
        if let Some(ceil) = out.ceiling_ns
            && median > ceil
        {
            let src = out.ceiling_source.clone().unwrap_or_default();
            exclude(
                &mut out,
                c,
                "max-latency",
                format!("median {} above {} ({src})", us(median), us(ceil)),
            );
            continue;
        }
        out.kept.push(i);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(id: &str, backend: &str) -> Config {
        Config {
            id: id.into(),
            params: [("backend".to_string(), json!(backend))].into(),
            runs: Vec::new(),
            note: None,
        }
    }

    fn stats(mean: f64, median: f64) -> Option<ConfigStats> {
        Some(ConfigStats {
            mean,
            median,
            std: 0.0,
            q1: median,
            q3: median,
            min: median,
            max: mean * 10.0,
            p99: mean,
            p999: mean,
            reps: 1,
            reps_with_data: 1,
            samples: 100,
            loss_rate: 0.0,
            rep_spread_ns: 0.0,
            rep_cv: 0.0,
            cpu_ns: None,
            robust: crate::robust::ConfigSummary {
                median,
                q1: median,
                q3: median,
                rep_spread_ns: 0.0,
                rep_cv: 0.0,
                se_ns: 0.0,
                reps: 1,
            },
        })
    }

    /// `interval_ns = "auto"` (a sweep's equation-(1) rate): the shortest interval the runs
    /// recorded is the one a median is compared with.
    #[test]
    fn auto_rate_runs_use_their_recorded_interval() {
        use crate::model::Run;
        let run = |iv: f64| Run {
            auto_interval_ns: Some(iv),
            ..Default::default()
        };
        let mut c = config("auto", "afxdp");
        c.params.insert("interval_ns".into(), json!("auto"));
        c.runs = vec![run(100_000.0), run(60_000.0)];
        let opts = Options {
            baseline: Baseline::Cluster,
            ..Options::default()
        };
        let f = apply(
            std::slice::from_ref(&c),
            &[stats(40_000.0, 40_000.0)],
            &opts,
        );
        assert_eq!(f.excluded.len(), 1);
        assert_eq!(f.excluded[0].filter, "interval");
        let f = apply(&[c], &[stats(20_000.0, 20_000.0)], &opts);
        assert_eq!(f.kept, [0]);
    }

    /// The baseline's median is the ceiling for the others' medians: a configuration with a
    /// long tail (mean above the ceiling, median below) is kept; one slower in the median is not.
    #[test]
    fn the_ceiling_compares_medians() {
        let configs = [
            config("udp", "udp"),
            config("tail", "afxdp"),
            config("slow", "afxdp"),
        ];
        let st = [
            stats(40_000.0, 23_000.0),
            stats(29_000.0, 15_000.0),
            stats(26_000.0, 25_000.0),
        ];
        let f = apply(&configs, &st, &Options::default());
        assert_eq!(f.ceiling_ns, Some(23_000.0));
        assert_eq!(f.kept, [1]);
        let slow = f.excluded.iter().find(|e| e.config == "slow").unwrap();
        assert_eq!(slow.filter, "max-latency");
        assert!(
            slow.why.starts_with("median 25.00 µs above 23.00 µs"),
            "{}",
            slow.why
        );
    }
}
