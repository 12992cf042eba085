//! How a sweep spends its probe time: the `[search]` table (strategy, order, racing
//! parameters) and the replay testbed (`[testbed] kind = "replay"`), parsed and checked with
//! the rest of the experiment file so that a bad value stops the sweep before anything runs.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The `[search]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawSearch {
    strategy: Option<String>,
    order: Option<String>,
    seed: Option<u64>,
    slice: Option<String>,
    alpha: Option<f64>,
    min_rounds: Option<u32>,
    max_rounds: Option<u32>,
    budget: Option<String>,
    objective: Option<String>,
    max_cpu: Option<f64>,
}

/// Which runs a sweep makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Every configuration, every repetition.
    Full,
    /// F-Race: short slices per round, the configurations worse than the best with confidence
    /// eliminated after each round, the survivors then run in full ([`crate::race`]).
    Race,
}

impl FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "full" => Ok(Strategy::Full),
            "race" => Ok(Strategy::Race),
            _ => Err(format!("{s:?}: expected \"full\" or \"race\"")),
        }
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Strategy::Full => "full",
            Strategy::Race => "race",
        })
    }
}

/// In which order the runs of a sweep are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Every configuration's repetition 0 in a seeded random order, then repetition 1 in a new
    /// order, ...: a drift of the machine spreads over all configurations.
    Interleaved,
    /// Configuration by configuration, its repetitions back to back (the plan's order).
    Sequential,
}

impl FromStr for Order {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "interleaved" => Ok(Order::Interleaved),
            "sequential" => Ok(Order::Sequential),
            _ => Err(format!("{s:?}: expected \"interleaved\" or \"sequential\"")),
        }
    }
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Order::Interleaved => "interleaved",
            Order::Sequential => "sequential",
        })
    }
}

/// What a race (and `xdplat tune`) minimises: a statistic of each slice's RTTs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Objective {
    #[default]
    #[serde(rename = "median")]
    Median,
    #[serde(rename = "p99")]
    P99,
    #[serde(rename = "p99.9")]
    P999,
}

impl Objective {
    /// This statistic of a run's RTTs.
    pub fn of(self, d: &results::Describe) -> f64 {
        match self {
            Objective::Median => d.median,
            Objective::P99 => d.p99,
            Objective::P999 => d.p999,
        }
    }

    /// The quantile it is (0.5, 0.99, 0.999).
    pub fn quantile(self) -> f64 {
        match self {
            Objective::Median => 0.5,
            Objective::P99 => 0.99,
            Objective::P999 => 0.999,
        }
    }

    /// Probes one slice needs for the statistic to rest on at least 10 probes beyond it.
    pub fn min_probes(self) -> u64 {
        match self {
            Objective::Median => 20,
            Objective::P99 => 1_000,
            Objective::P999 => 10_000,
        }
    }
}

impl FromStr for Objective {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "median" | "p50" => Ok(Objective::Median),
            "p99" => Ok(Objective::P99),
            "p99.9" | "p999" => Ok(Objective::P999),
            _ => Err(format!("{s:?}: expected \"median\", \"p99\" or \"p99.9\"")),
        }
    }
}

impl std::fmt::Display for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Objective::Median => "median",
            Objective::P99 => "p99",
            Objective::P999 => "p99.9",
        })
    }
}

/// The racing parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Race {
    /// Probing time of one configuration in one round.
    pub slice: Duration,
    /// Family-wise error rate of one round's eliminations.
    pub alpha: f64,
    /// Rounds before the first elimination (the test needs a few blocks).
    pub min_rounds: u32,
    /// The race ends after this many rounds; the survivors then run in full.
    pub max_rounds: u32,
    /// Probe time the race may spend on slices (None: no limit but `max_rounds`).
    pub budget: Option<Duration>,
    /// The statistic of each slice the race compares.
    pub objective: Objective,
    /// CPU cores a configuration may use (the median over its slices of the roles' and the
    /// softirq time per second of probing); one above it leaves the race.
    pub max_cpu: Option<f64>,
}

impl Default for Race {
    fn default() -> Self {
        Race {
            slice: Duration::from_secs(1),
            alpha: 0.05,
            min_rounds: 4,
            max_rounds: 12,
            budget: None,
            objective: Objective::Median,
            max_cpu: None,
        }
    }
}

/// The parsed `[search]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub strategy: Strategy,
    pub order: Order,
    /// The order's seed; None: drawn at the first session and recorded in experiment.toml.
    pub seed: Option<u64>,
    pub race: Race,
}

impl Default for Search {
    fn default() -> Self {
        Search {
            strategy: Strategy::Full,
            order: Order::Interleaved,
            seed: None,
            race: Race::default(),
        }
    }
}

/// Checks the `[search]` table; errors are (key, message).
pub(super) fn search(raw: RawSearch) -> Result<Search, (&'static str, String)> {
    let mut s = Search::default();
    if let Some(v) = raw.strategy {
        s.strategy = v.parse().map_err(|m| ("strategy", m))?;
    }
    if let Some(v) = raw.order {
        s.order = v.parse().map_err(|m| ("order", m))?;
    }
    s.seed = raw.seed;
    let dur = |key: &'static str, v: &str| {
        let d = humantime::parse_duration(v)
            .map_err(|e| (key, format!("{v:?}: {e} (examples: 1s, 500ms, 2h)")))?;
        if d.is_zero() {
            return Err((key, format!("{v:?}: must be more than 0")));
        }
        Ok(d)
    };
    if let Some(v) = raw.slice {
        s.race.slice = dur("slice", &v)?;
    }
    if let Some(v) = raw.budget {
        s.race.budget = Some(dur("budget", &v)?);
    }
    if let Some(a) = raw.alpha {
        if !(a > 0.0 && a < 1.0) {
            return Err(("alpha", format!("{a}: must be between 0 and 1 (e.g. 0.05)")));
        }
        s.race.alpha = a;
    }
    if let Some(n) = raw.min_rounds {
        if n < 2 {
            return Err((
                "min-rounds",
                format!("{n}: the test needs 2 rounds or more"),
            ));
        }
        s.race.min_rounds = n;
    }
    if let Some(v) = raw.objective {
        s.race.objective = v.parse().map_err(|m| ("objective", m))?;
    }
    if let Some(c) = raw.max_cpu {
        if !(c > 0.0 && c.is_finite()) {
            return Err(("max-cpu", format!("{c}: CPU cores, more than 0 (e.g. 1.0)")));
        }
        s.race.max_cpu = Some(c);
    }
    if let Some(n) = raw.max_rounds {
        s.race.max_rounds = n;
    }
    if s.race.max_rounds < s.race.min_rounds {
        return Err((
            "max-rounds",
            format!(
                "{}: must be at least min-rounds ({})",
                s.race.max_rounds, s.race.min_rounds
            ),
        ));
    }
    Ok(s)
}

/// `[testbed] kind = "replay"`: every run serves RTTs sampled from a completed sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// The completed sweep's directory (relative paths are relative to the experiment file).
    pub from: PathBuf,
    pub seed: u64,
    /// The line of `from`, for messages.
    pub line: usize,
}

/// The `[testbed]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawTestbed {
    pub name: Option<String>,
    pub kind: Option<String>,
    from: Option<String>,
    seed: Option<u64>,
}

/// The testbed's name (namespaces) or its replay source; errors are (key, message).
pub(super) fn testbed(
    raw: &RawTestbed,
    file: &Path,
    line_of_from: usize,
) -> Result<Option<Replay>, (&'static str, String)> {
    match raw.kind.as_deref() {
        None | Some("netns") | Some("vm") => {
            if raw.from.is_some() || raw.seed.is_some() {
                return Err((
                    "from",
                    "`from` and `seed` belong to kind = \"replay\"".into(),
                ));
            }
            if raw.name.is_none() {
                return Err(("testbed", "[testbed] needs name = \"...\"".into()));
            }
            Ok(None)
        }
        Some("replay") => {
            let Some(from) = &raw.from else {
                return Err((
                    "kind",
                    "kind = \"replay\" needs from = \"DIR\" (a completed sweep's directory)".into(),
                ));
            };
            let base = file.parent().unwrap_or(Path::new("."));
            Ok(Some(Replay {
                from: base.join(from),
                seed: raw.seed.unwrap_or(0),
                line: line_of_from,
            }))
        }
        Some(k) => Err((
            "kind",
            format!("{k:?}: expected \"netns\" (the default), \"vm\" or \"replay\""),
        )),
    }
}
