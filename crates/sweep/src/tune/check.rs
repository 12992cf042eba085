//! `xdplat tune --check DIR`: does a tuning still hold? The winner and the default configuration
//! of the tune in `DIR` are measured again on the same link (a new sweep, `DIR/check-N/`, with
//! the tune's repetitions), and compared: the winner now against the winner then (it holds when
//! it is not slower by more than [`DRIFT`] with confidence), and the winner now against the
//! default now (it holds when it is not slower with confidence). `check.json` records both.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use super::verdict::{self, Figures, Gap};
use super::{SPACE_FILE, measured};
use crate::Error;
use crate::experiment::{Experiment, Strategy};
use crate::plan::expand;
use crate::store::write_atomic;

/// How much slower than at tuning time the winner may be before the tuning no longer holds.
pub const DRIFT: f64 = 0.10;
/// The record of a check, in its directory.
pub const CHECK_FILE: &str = "check.json";

/// What a check found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checked {
    pub schema: u32,
    pub dir: PathBuf,
    pub winner: String,
    pub winner_then: Figures,
    pub winner_now: Figures,
    pub default_now: Figures,
    /// The winner now − the winner then.
    pub drift: Option<Gap>,
    /// The winner now − the default now.
    pub gap_now: Option<Gap>,
    pub holds: bool,
    /// Why, in one sentence.
    pub verdict: String,
}

/// How to check.
#[derive(Debug, Clone)]
pub struct Options {
    pub json: bool,
    pub local_bin: PathBuf,
    pub state: host::StateDir,
}

/// Re-measures the tune in `dir`.
pub fn check(dir: &Path, opts: &Options, stop: &AtomicBool) -> Result<Checked, Error> {
    let t = super::read(dir)?;
    let path = dir.join(SPACE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    let mut exp = Experiment::parse(&text, &path.display().to_string())?;
    exp.probe.baseline = false;
    let plan = expand(&exp)?;
    let at = |id: &str| {
        plan.configs.iter().position(|c| c.id == id).ok_or_else(|| {
            Error::BadInput(format!(
                "{}: configuration {id} of tune.json is not in {SPACE_FILE}: the files do not belong together",
                dir.display()
            ))
        })
    };
    let (w, d) = (at(&t.winner.config)?, at(&t.default.config)?);
    let mut then: Vec<usize> = vec![w, d];
    for f in &t.finalists {
        then.push(at(&f.config)?);
    }
    let then_plan = plan.subset(&then, true);
    let out = (1..)
        .map(|n| dir.join(format!("check-{n}")))
        .find(|p| !p.exists())
        .expect("a free name");
    let mut now = vec![w];
    if d != w {
        now.push(d);
    }
    let now_plan = plan.subset(&now, true);
    let sopts = crate::Options {
        out: out.clone(),
        resume: false,
        json: opts.json,
        local_bin: opts.local_bin.clone(),
        state: opts.state.clone(),
        order: None,
        seed: Some(t.seed ^ 0xc4ec),
        strategy: Some(Strategy::Full),
    };
    crate::runner::run_plan(&exp, &now_plan, &sopts, stop)?;
    let o = t.objective;
    let idx = |p: &crate::plan::Plan, c: usize| {
        p.configs
            .iter()
            .position(|x| x.id == plan.configs[c].id)
            .expect("in the plan")
    };
    let wn = measured(&out, &now_plan, idx(&now_plan, w));
    let dn = measured(&out, &now_plan, idx(&now_plan, d));
    let wt = measured(&dir.join("final"), &then_plan, idx(&then_plan, w));
    let none = |what: &str| Error::Command {
        what: format!("tune --check {}", dir.display()),
        why: format!("{what} got no reply; see {}", out.display()),
    };
    let winner_now = verdict::figures(&wn, o, t.seed ^ 21).ok_or_else(|| none("the winner"))?;
    let default_now = verdict::figures(&dn, o, t.seed ^ 22).ok_or_else(|| none("the default"))?;
    let (wn_all, dn_all, wt_all) = (wn.rtts.concat(), dn.rtts.concat(), wt.rtts.concat());
    let drift = verdict::gap(&wn_all, &wt_all, o, t.seed ^ 23);
    let gap_now = verdict::gap(&wn_all, &dn_all, o, t.seed ^ 24);
    let then_ns = t.winner.figures.objective(o).ns;
    let slower = drift
        .as_ref()
        .is_some_and(|g| g.diff.ci_low_ns > DRIFT * then_ns);
    let behind = d != w && gap_now.as_ref().is_some_and(|g| g.diff.ci_low_ns > 0.0);
    let holds = !slower && !behind;
    let verdict = match (slower, behind) {
        (false, false) => format!(
            "holds: the winner's {o} is {} now against {} at tuning time, and {} against the default's {}",
            results::us(winner_now.objective(o).ns),
            results::us(then_ns),
            if d == w {
                "it is the default".to_string()
            } else {
                "not slower".to_string()
            },
            results::us(default_now.objective(o).ns)
        ),
        (true, _) => format!(
            "does not hold: the winner's {o} is {} now against {} at tuning time, slower by more than {:.0} % with confidence; tune again",
            results::us(winner_now.objective(o).ns),
            results::us(then_ns),
            DRIFT * 100.0
        ),
        (false, true) => format!(
            "does not hold: the winner ({}) is now slower than the default ({}) with confidence; tune again",
            results::us(winner_now.objective(o).ns),
            results::us(default_now.objective(o).ns)
        ),
    };
    let c = Checked {
        schema: 1,
        dir: out.clone(),
        winner: t.winner.label.clone(),
        winner_then: t.winner.figures.clone(),
        winner_now,
        default_now,
        drift,
        gap_now,
        holds,
        verdict,
    };
    let path = out.join(CHECK_FILE);
    let mut body = serde_json::to_vec_pretty(&c).map_err(|source| Error::Json {
        path: path.clone(),
        source,
    })?;
    body.push(b'\n');
    write_atomic(&path, &body)?;
    Ok(c)
}
