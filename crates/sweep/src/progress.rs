//! Progress of a sweep: one line per run (configuration, runs done of total, failures, ETA), or
//! one JSON object per line with `--json` for scripts; and the closing line with the fraction of
//! wall time spent measuring.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::plan::{Config, Run};
use crate::runner::Outcome;

/// Writes progress to stdout.
#[derive(Debug)]
pub struct Progress {
    json: bool,
    total: usize,
    started: Instant,
    done_at_start: usize,
    estimate: Duration,
}

fn hms(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

impl Progress {
    pub fn new(json: bool, total: usize) -> Self {
        Progress {
            json,
            total,
            started: Instant::now(),
            done_at_start: 0,
            estimate: Duration::ZERO,
        }
    }

    pub fn note(&self, msg: &str) {
        if self.json {
            println!("{}", json!({ "event": "note", "message": msg }));
        } else {
            println!("sweep: {msg}");
        }
    }

    pub fn start(&mut self, done: usize, estimate: Duration) {
        self.started = Instant::now();
        self.done_at_start = done;
        self.estimate = estimate;
        if self.json {
            println!(
                "{}",
                json!({ "event": "start", "total": self.total, "done": done,
                        "estimate_s": estimate.as_secs_f64() })
            );
        } else {
            println!(
                "sweep: {} runs, {} already done, estimated {}",
                self.total,
                done,
                hms(estimate.mul_f64((self.total - done) as f64 / self.total.max(1) as f64))
            );
        }
    }

    /// A run (or a group of runs probing together) begins.
    pub fn begin(&mut self, _cfg: &Config, _runs: &[&Run]) {}

    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        run: &Run,
        cfg: &Config,
        status: &str,
        why: Option<&str>,
        p50_ns: Option<f64>,
        out: &Outcome,
        took: Duration,
    ) {
        let finished = out.done + out.failed + out.skipped;
        let this_session = finished - self.done_at_start;
        let left = self.total.saturating_sub(finished);
        let per = self.started.elapsed() / this_session.max(1) as u32;
        let eta = per * left as u32;
        if self.json {
            println!(
                "{}",
                json!({ "event": "run", "run": run.id, "config": cfg.id, "rep": run.rep,
                        "label": cfg.label(), "status": status, "why": why,
                        "p50_ns": p50_ns, "seconds": took.as_secs_f64(),
                        "done": out.done, "failed": out.failed, "skipped": out.skipped,
                        "total": self.total, "eta_s": eta.as_secs_f64() })
            );
        } else {
            let p50 = p50_ns.map_or(String::new(), |ns| format!(" p50 {:.1} µs", ns / 1000.0));
            let why = why.map_or(String::new(), |w| format!(" ({w})"));
            println!(
                "[{finished}/{}] {} {}: {status}{p50}{why} | failures {} | ETA {}",
                self.total,
                run.id,
                cfg.label(),
                out.failed,
                hms(eta)
            );
        }
    }

    pub fn end(&self, out: &Outcome) {
        if self.json {
            println!(
                "{}",
                json!({ "event": "end", "total": out.total, "done": out.done, "failed": out.failed,
                        "skipped": out.skipped, "wall_s": out.wall.as_secs_f64(),
                        "measured_s": out.measured.as_secs_f64(),
                        "measuring_fraction": out.efficiency() })
            );
        } else {
            println!(
                "sweep: {}/{} runs done, {} failed, {} skipped in {}; measuring {:.1}% of the wall time ({:.1} s of {:.1} s)",
                out.done,
                out.total,
                out.failed,
                out.skipped,
                hms(out.wall),
                out.efficiency() * 100.0,
                out.measured.as_secs_f64(),
                out.wall.as_secs_f64()
            );
        }
    }
}
