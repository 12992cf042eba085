//! Progress of a sweep: one line per run (configuration, runs done of total, failures, ETA), or
//! one JSON object per line with `--json` for scripts; and the closing line with the fraction of
//! wall time spent measuring. On a terminal (stdout and stderr both) a progress bar (indicatif)
//! shows the configuration running, runs done, failures and ETA, and the per-run lines scroll
//! above it; anything else gets the plain lines only, so pipes and files read as before.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::outcome::Outcome;
use crate::plan::{Config, Run};

/// Writes progress to stdout.
#[derive(Debug)]
pub struct Progress {
    json: bool,
    total: usize,
    started: Instant,
    done_at_start: usize,
    estimate: Duration,
    bar: Option<ProgressBar>,
    /// The runs now are a race's slices, not the plan's runs.
    racing: bool,
}

const TEMPLATE: &str =
    "{spinner} [{bar:30}] {pos}/{len} runs | {prefix} | {elapsed} elapsed\n  {wide_msg}";

/// How a run ended, for its line: `done p50 12.3 µs`, `failed (why)`.
fn ended(status: &str, p50_ns: Option<f64>, why: Option<&str>) -> String {
    let p50 = p50_ns.map_or(String::new(), |ns| format!(" p50 {}", results::us(ns)));
    let why = why.map_or(String::new(), |w| format!(" ({w})"));
    format!("{status}{p50}{why}")
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
    /// Progress on stdout; with a bar when stdout and stderr are terminals that can draw one
    /// and not `json`.
    pub fn new(json: bool, total: usize) -> Self {
        let tty = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        // a terminal indicatif cannot draw on (TERM=dumb) hides the bar, and with it every line
        // printed above it: plain lines there
        let target = (!json && tty)
            .then(ProgressDrawTarget::stderr)
            .filter(|t| !t.is_hidden());
        Self::with_target(json, total, target)
    }

    /// As [`Progress::new`], drawing a bar on `target` when given.
    pub fn with_target(json: bool, total: usize, target: Option<ProgressDrawTarget>) -> Self {
        let bar = target.map(|t| {
            let b = ProgressBar::with_draw_target(Some(total as u64), t);
            if let Ok(style) = ProgressStyle::with_template(TEMPLATE) {
                b.set_style(style.progress_chars("=> "));
            }
            b.set_prefix("failures 0 | ETA -");
            b
        });
        Progress {
            json,
            total,
            started: Instant::now(),
            done_at_start: 0,
            estimate: Duration::ZERO,
            bar,
            racing: false,
        }
    }

    /// The bar, when there is one.
    pub fn bar(&self) -> Option<&ProgressBar> {
        self.bar.as_ref()
    }

    /// A text line: above the bar when there is one, else on stdout.
    fn line(&self, text: String) {
        match &self.bar {
            Some(b) => b.println(text),
            None => println!("{text}"),
        }
    }

    pub fn note(&self, msg: &str) {
        if self.json {
            println!("{}", json!({ "event": "note", "message": msg }));
        } else {
            self.line(format!("sweep: {msg}"));
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
            let left = estimate.mul_f64((self.total - done) as f64 / self.total.max(1) as f64);
            self.line(format!(
                "sweep: {} runs, {} already done, estimated {}",
                self.total,
                done,
                hms(left)
            ));
            if let Some(b) = &self.bar {
                b.set_position(done as u64);
                b.set_prefix(format!("failures 0 | ETA {}", hms(left)));
                b.enable_steady_tick(Duration::from_millis(250));
            }
        }
    }

    /// A run (or a group of runs probing together) begins: the bar shows its configuration.
    pub fn begin(&mut self, cfg: &Config, runs: &[&Run]) {
        if let Some(b) = &self.bar {
            let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
            b.set_message(format!("{} {}", ids.join(" + "), cfg.label()));
        }
    }

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
        if self.racing {
            self.slice(run, cfg, status, why, p50_ns, out, took);
            return;
        }
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
            let ended = ended(status, p50_ns, why);
            self.line(format!(
                "[{finished}/{}] {} {}: {ended} | failures {} | ETA {}",
                self.total,
                run.id,
                cfg.label(),
                out.failed,
                hms(eta)
            ));
            if let Some(b) = &self.bar {
                b.set_position(finished as u64);
                b.set_prefix(format!("failures {} | ETA {}", out.failed, hms(eta)));
            }
        }
    }

    /// Whether the runs to come are a race's slices ([`crate::race`]): they are shown apart and
    /// never move the count of the plan's runs.
    pub fn set_racing(&mut self, racing: bool) {
        self.racing = racing;
    }

    #[allow(clippy::too_many_arguments)]
    fn slice(
        &self,
        run: &Run,
        cfg: &Config,
        status: &str,
        why: Option<&str>,
        p50_ns: Option<f64>,
        out: &Outcome,
        took: Duration,
    ) {
        if self.json {
            println!(
                "{}",
                json!({ "event": "slice", "run": run.id, "config": cfg.id, "label": cfg.label(),
                        "status": status, "why": why, "p50_ns": p50_ns,
                        "seconds": took.as_secs_f64(), "slices": out.race_slices })
            );
        } else {
            let ended = ended(status, p50_ns, why);
            self.line(format!(
                "[race slice {}] {} {}: {ended}",
                out.race_slices,
                run.id,
                cfg.label()
            ));
        }
    }

    pub fn end(&self, out: &Outcome) {
        if self.json {
            println!(
                "{}",
                json!({ "event": "end", "total": out.total, "done": out.done, "failed": out.failed,
                        "skipped": out.skipped, "wall_s": out.wall.as_secs_f64(),
                        "measured_s": out.measured.as_secs_f64(),
                        "measuring_fraction": out.efficiency(), "race_slices": out.race_slices,
                        "causes": out.causes().iter()
                            .map(|c| json!({ "cause": c.what, "runs": c.runs, "logs": c.logs }))
                            .collect::<Vec<_>>() })
            );
        } else {
            if let Some(b) = &self.bar {
                b.finish_and_clear();
            }
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
            if out.race_slices > 0 {
                println!("  and {} race slices", out.race_slices);
            }
            for c in out.causes() {
                let n = c.runs.len();
                let shown: Vec<&str> = c.runs.iter().take(4).map(String::as_str).collect();
                let more = if n > 4 {
                    format!(", +{}", n - 4)
                } else {
                    String::new()
                };
                let logs = match c.logs.as_slice() {
                    [] => String::new(),
                    [one] => format!("; the verifier's log: {one}"),
                    [first, rest @ ..] => {
                        format!("; the verifier's logs: {first} and {} more", rest.len())
                    }
                };
                println!(
                    "  {n} run{} failed: {} ({}{more}){logs}",
                    if n == 1 { "" } else { "s" },
                    c.what,
                    shown.join(", ")
                );
            }
        }
    }
}

impl Drop for Progress {
    /// A sweep that ends in an error leaves no bar behind its message.
    fn drop(&mut self) {
        if let Some(b) = self.bar.as_ref().filter(|b| !b.is_finished()) {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;

    #[test]
    fn the_bar_follows_the_runs() {
        // not a terminal under cargo test: no bar
        assert!(Progress::new(false, 3).bar().is_none());
        assert!(
            Progress::with_target(true, 3, None).bar().is_none(),
            "--json: lines only"
        );
        let mut p = Progress::with_target(false, 3, Some(ProgressDrawTarget::hidden()));
        p.start(1, Duration::from_secs(30));
        let cfg = Config {
            id: "c0".into(),
            values: vec![("fwd.poll".into(), crate::Val::Bool(true))],
            baseline: false,
        };
        let run = Run {
            id: "c0-r0".into(),
            config: 0,
            rep: 0,
            pinger: 0,
        };
        p.begin(&cfg, &[&run]);
        let b = p.bar().expect("bar");
        assert_eq!(b.length(), Some(3));
        assert_eq!(b.position(), 1);
        assert!(
            b.message().contains("c0-r0 fwd.poll=true"),
            "{}",
            b.message()
        );
        let out = Outcome {
            total: 3,
            done: 1,
            failed: 1,
            ..Outcome::default()
        };
        p.run(
            &run,
            &cfg,
            "failed",
            Some("x"),
            None,
            &out,
            Duration::from_secs(1),
        );
        let b = p.bar().expect("bar");
        assert_eq!(b.position(), 2);
        assert!(
            b.prefix().starts_with("failures 1 | ETA "),
            "{}",
            b.prefix()
        );
        p.end(&out);
        assert!(p.bar().is_some_and(ProgressBar::is_finished));
    }
}
