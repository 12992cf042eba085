//! How a sweep went: the counts, the time spent probing, and the failed runs grouped by cause,
//! so that 24 runs refused for one reason are one line ("24 runs failed: the kernel refuses
//! bpf_xdp_adjust_meta ...") and not 24 copies of a log.

use std::time::Duration;

/// One failed run of this session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub run: String,
    /// The role's own words (the last lines it printed, or the sweep's reason).
    pub why: String,
    /// The kernel-UDP baseline, not an AF_XDP run.
    pub baseline: bool,
}

/// Failed runs that share a cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The cause in the first failed run's words.
    pub what: String,
    pub runs: Vec<String>,
    /// The files the roles wrote the verifier's log to, one per run that has one.
    pub logs: Vec<String>,
}

/// How a role names the file it wrote the verifier's log to, at the end of its error.
const LOG_MARK: &str = " (the verifier's log: ";

/// How a sweep went.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub total: usize,
    /// Complete runs (from this and earlier sessions).
    pub done: usize,
    pub failed: usize,
    pub skipped: usize,
    pub wall: Duration,
    /// Probing time of the runs done in this session.
    pub measured: Duration,
    /// AF_XDP runs (not the kernel baseline) completed in this session.
    pub afxdp_done: usize,
    /// This session's failed runs (a race's slices among them).
    pub failures: Vec<Failure>,
    /// Race slices run in this session (not in `done`, `failed` or `skipped`, which count the
    /// plan's runs, `total`).
    pub race_slices: usize,
}

/// The probing time a run adds to [`Outcome::measured`]: its planned probe time (probes ×
/// interval), but never more than the run took (a replayed run takes almost no time; a run can
/// end before its schedule), so that the sum over a session's runs, which follow one another,
/// never exceeds its wall time.
pub fn probing_time(planned: Duration, took: Duration) -> Duration {
    planned.min(took)
}

impl Outcome {
    /// Fraction of this session's wall time spent probing, in [0, 1]: [`probing_time`] summed
    /// over the session's runs, over the session's wall time.
    pub fn efficiency(&self) -> f64 {
        if self.wall.is_zero() {
            0.0
        } else {
            (self.measured.as_secs_f64() / self.wall.as_secs_f64()).clamp(0.0, 1.0)
        }
    }

    /// True when AF_XDP runs failed in this session and none completed: what is left is the
    /// kernel baseline at most, and nothing about AF_XDP can be said.
    pub fn every_afxdp_run_failed(&self) -> bool {
        self.afxdp_done == 0 && self.failures.iter().any(|f| !f.baseline)
    }

    /// The failures grouped by cause, the most frequent first.
    pub fn causes(&self) -> Vec<Cause> {
        let mut causes: Vec<(String, Cause)> = Vec::new();
        for f in &self.failures {
            let mut what = cause_of(&f.why);
            let log = what.find(LOG_MARK).map(|i| {
                let path = what[i + LOG_MARK.len()..].trim_end_matches(')').to_owned();
                what.truncate(i);
                path
            });
            let key = shape(&what);
            let i = match causes.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    causes.push((
                        key,
                        Cause {
                            what,
                            runs: Vec::new(),
                            logs: Vec::new(),
                        },
                    ));
                    causes.len() - 1
                }
            };
            let c = &mut causes[i].1;
            c.runs.push(f.run.clone());
            c.logs.extend(log);
        }
        let mut causes: Vec<Cause> = causes.into_iter().map(|(_, c)| c).collect();
        causes.sort_by_key(|c| std::cmp::Reverse(c.runs.len()));
        causes
    }
}

/// The sentence that says why a run failed: the role's last `error:` line when it printed one
/// (the role's exit status and earlier lines are context), else the whole reason.
fn cause_of(why: &str) -> String {
    let last_error = why
        .lines()
        .rev()
        .find_map(|l| l.rfind("error: ").map(|i| l[i + "error: ".len()..].trim()));
    match last_error {
        Some(e) if !e.is_empty() => e.to_owned(),
        _ => why.lines().last().unwrap_or(why).trim().to_owned(),
    }
}

/// A cause with its numbers taken out (interface indices, queue ids, ports, durations), so that
/// the same refusal of two runs is one cause.
fn shape(cause: &str) -> String {
    let mut out = String::with_capacity(cause.len());
    let mut in_number = false;
    for c in cause.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(run: &str, why: &str, baseline: bool) -> Failure {
        Failure {
            run: run.into(),
            why: why.into(),
            baseline,
        }
    }

    const REFUSED: &str = "the kernel refused the XDP program xdplat_probe for ifindex 7: program of this type cannot use helper bpf_xdp_adjust_meta#54 (EINVAL)";

    #[test]
    fn one_refusal_of_many_runs_is_one_cause() {
        let out = Outcome {
            failures: vec![
                failure(
                    "c0-r0",
                    &format!("ping exit status: 1: xdplat: error: {REFUSED}"),
                    false,
                ),
                failure(
                    "c1-r0",
                    &format!(
                        "fwd exit status: 1: fwd: warning: x\nxdplat: error: {}",
                        REFUSED.replace("ifindex 7", "ifindex 9")
                    ),
                    false,
                ),
                failure("c2-r0", "ping on a left no summary: gone", false),
            ],
            ..Outcome::default()
        };
        let causes = out.causes();
        assert_eq!(causes.len(), 2, "{causes:?}");
        assert!(causes[0].logs.is_empty());
        assert_eq!(causes[0].what, REFUSED);
        assert_eq!(causes[0].runs, ["c0-r0", "c1-r0"]);
        assert_eq!(causes[1].what, "ping on a left no summary: gone");
        assert!(out.every_afxdp_run_failed());
    }

    #[test]
    fn the_log_file_of_each_run_is_kept_apart_from_the_cause() {
        let why = |run: &str| {
            format!(
                "fwd exit status: 2: xdplat: error: {REFUSED} (the verifier's log: /o/failed/{run}/verifier.log)"
            )
        };
        let out = Outcome {
            failures: vec![
                failure("0f60954b87-r0", &why("0f60954b87-r0"), false),
                failure("e76a7dc728-r0", &why("e76a7dc728-r0"), false),
            ],
            ..Outcome::default()
        };
        let causes = out.causes();
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(causes[0].what, REFUSED);
        assert_eq!(
            causes[0].logs,
            [
                "/o/failed/0f60954b87-r0/verifier.log",
                "/o/failed/e76a7dc728-r0/verifier.log"
            ]
        );
    }

    #[test]
    fn probing_time_never_exceeds_the_run_nor_the_plan() {
        let ms = Duration::from_millis;
        assert_eq!(probing_time(ms(100), ms(130)), ms(100));
        assert_eq!(probing_time(ms(100), ms(2)), ms(2), "a replayed run");
        let out = Outcome {
            measured: ms(50),
            wall: ms(40),
            ..Outcome::default()
        };
        assert_eq!(out.efficiency(), 1.0);
        assert_eq!(Outcome::default().efficiency(), 0.0);
    }

    #[test]
    fn a_completed_afxdp_run_or_only_baseline_failures_is_not_total_failure() {
        let mut out = Outcome {
            failures: vec![failure("k-r0", "udp: refused", true)],
            ..Outcome::default()
        };
        assert!(!out.every_afxdp_run_failed(), "only the baseline failed");
        out.failures
            .push(failure("c0-r0", "xdplat: error: x", false));
        assert!(out.every_afxdp_run_failed());
        out.afxdp_done = 1;
        assert!(!out.every_afxdp_run_failed());
    }
}
