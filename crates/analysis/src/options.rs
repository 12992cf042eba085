//! Everything a caller can tune, each defined once: the method (the robust default or the
//! paper's exact one), the features and scaling fed to k-means, the choice of k, the filters.
//! [`Options::default`] is the CLI's default; the CLI's flags only override its fields.
//! With the `clap` feature the enums are clap `ValueEnum`s, so the CLI needs no copy of them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which analysis: the robust default, or the paper's exact §VI method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Where the time goes (each chain stage's median) when every configuration has the round
    /// trip's stages, else the RTT's quantiles (median, q1, q3); the median over repetitions;
    /// paired effects on each configuration's median RTT; k by the silhouette among k stable
    /// across resampled repetitions, whose silhouette must stand clear of configurations spread
    /// uniformly to count as structure.
    #[default]
    Robust,
    /// The paper: mean, median, std, q1, q3 averaged over repetitions, effects on the mean RTT,
    /// k by the silhouette alone.
    Paper,
}

impl Method {
    /// The features this method clusters on by default.
    pub fn features(self) -> Vec<Feature> {
        match self {
            Method::Robust => vec![Feature::Stages],
            Method::Paper => vec![
                Feature::Mean,
                Feature::Median,
                Feature::Std,
                Feature::Q1,
                Feature::Q3,
            ],
        }
    }

    /// How a configuration's repetitions are combined into one value per statistic.
    pub fn over_reps(self) -> Aggregate {
        match self {
            Method::Robust => Aggregate::Median,
            Method::Paper => Aggregate::Mean,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Method::Robust => "robust",
            Method::Paper => "paper",
        }
    }
}

/// How the values of a configuration's repetitions become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    Mean,
    Median,
}

/// A statistic of a run that k-means can cluster on: of its RTTs, or (`stages`) the median of
/// each consecutive stage of the round trip (`results::CHAIN_STAGES`, one dimension each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Feature {
    Mean,
    Median,
    Std,
    Q1,
    Q3,
    Min,
    Max,
    P99,
    P999,
    Stages,
}

impl Feature {
    /// The RTT's quantiles: what [`Feature::Stages`] falls back to when a run lacks the stages.
    pub const QUANTILES: [Feature; 3] = [Feature::Median, Feature::Q1, Feature::Q3];

    pub const ALL: [Feature; 10] = [
        Feature::Mean,
        Feature::Median,
        Feature::Std,
        Feature::Q1,
        Feature::Q3,
        Feature::Min,
        Feature::Max,
        Feature::P99,
        Feature::P999,
        Feature::Stages,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Feature::Mean => "mean",
            Feature::Median => "median",
            Feature::Std => "std",
            Feature::Q1 => "q1",
            Feature::Q3 => "q3",
            Feature::Min => "min",
            Feature::Max => "max",
            Feature::P99 => "p99",
            Feature::P999 => "p999",
            Feature::Stages => "stages",
        }
    }

    /// The statistic in a run's RTT description; `None` for [`Feature::Stages`].
    pub fn of(self, d: &results::Describe) -> Option<f64> {
        Some(match self {
            Feature::Mean => d.mean,
            Feature::Median => d.median,
            Feature::Std => d.std,
            Feature::Q1 => d.q1,
            Feature::Q3 => d.q3,
            Feature::Min => d.min,
            Feature::Max => d.max,
            Feature::P99 => d.p99,
            Feature::P999 => d.p999,
            Feature::Stages => return None,
        })
    }
}

impl std::fmt::Display for Feature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Feature {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Feature::ALL
            .into_iter()
            .find(|f| f.name() == s.trim())
            .ok_or_else(|| {
                let known: Vec<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "--features: unknown feature {s} (known: {})",
                    known.join(", ")
                )
            })
    }
}

/// How features are brought to one scale before k-means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    /// Centred, then divided by one scale common to all features (they are all latencies).
    #[default]
    Common,
    /// Per-feature z-scores.
    Feature,
}

/// The kernel-baseline configurations (backend = udp).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Baseline {
    /// Not clustered; their median is the ceiling for the others' medians (the paper).
    #[default]
    Ceiling,
    /// Not clustered, no ceiling: shown as the reference.
    Reference,
    /// Clustered like any other configuration.
    Cluster,
}

/// How k is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KChoice {
    Auto,
    Fixed(usize),
}

impl std::str::FromStr for KChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            return Ok(KChoice::Auto);
        }
        match s.parse::<usize>() {
            Ok(0) | Err(_) => Err(format!("--k {s}: expected auto or a positive integer")),
            Ok(k) => Ok(KChoice::Fixed(k)),
        }
    }
}

/// Everything the analysis of one dataset can tune.
#[derive(Debug, Clone)]
pub struct Options {
    pub method: Method,
    /// Statistics fed to k-means; [`Method::features`] by default.
    pub features: Vec<Feature>,
    pub k: KChoice,
    pub scaling: Scaling,
    /// Largest k tried by `KChoice::Auto`.
    pub max_k: usize,
    /// Exclude configurations whose median latency is above this (ns).
    pub max_latency_ns: Option<f64>,
    /// What the kernel-baseline configurations (backend = udp) are.
    pub baseline: Baseline,
    /// Exclude configurations whose median reaches `interval_fraction` of their send interval.
    pub interval_filter: bool,
    pub interval_fraction: f64,
    /// Exclude configurations losing more than this fraction of packets.
    pub max_loss: Option<f64>,
    pub seed: u64,
    /// k-means restarts per k.
    pub restarts: usize,
    /// Bootstrap resamples for the effect intervals.
    pub bootstrap: usize,
    /// Resamples of the repetitions for the stability of each k (robust method).
    pub stability_resamples: usize,
    /// Uniform reference sets for the null silhouette (robust method).
    pub null_references: usize,
    /// Configurations drawn in kde.svg.
    pub kde_top: usize,
    /// Repetitions whose location differs by more than this coefficient of variation get a warning.
    pub max_rep_cv: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self::for_method(Method::default())
    }
}

impl Options {
    /// The defaults of `method`.
    pub fn for_method(method: Method) -> Self {
        Self {
            method,
            features: method.features(),
            k: KChoice::Auto,
            scaling: Scaling::Common,
            max_k: 8,
            max_latency_ns: None,
            baseline: Baseline::Ceiling,
            interval_filter: true,
            interval_fraction: 0.5,
            max_loss: Some(0.1),
            seed: 42,
            restarts: 10,
            bootstrap: 1000,
            stability_resamples: 10,
            null_references: 10,
            kde_top: 50,
            max_rep_cv: 0.2,
        }
    }

    pub(crate) fn check(&self) -> Result<(), crate::Error> {
        if self.features.is_empty() {
            return Err(crate::Error::Option(
                "--features: at least one feature is needed".into(),
            ));
        }
        if self.k == KChoice::Fixed(0) {
            return Err(crate::Error::Option(
                "--k 0: expected auto or a positive integer".into(),
            ));
        }
        if let Some(l) = self.max_loss
            && !(0.0..=1.0).contains(&l)
        {
            return Err(crate::Error::Option(format!(
                "--max-loss {l}: expected a fraction between 0 and 1"
            )));
        }
        Ok(())
    }
}

/// What to analyse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A sweep's directory (runs/*/summary.json + samples.parquet) or one run directory.
    Runs(PathBuf),
    /// A long table, CSV or Parquet: config, rep, rtt_ns, parameter columns.
    Table(PathBuf),
}

/// Whether to analyse parts of the input separately.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Split {
    /// By `testbed`, `nic` or `driver` when one of them varies (different hardware is never
    /// clustered together, as the paper's Tables I and II).
    #[default]
    Auto,
    /// Never.
    Never,
    /// By this parameter.
    By(String),
}

/// One whole `xdplat analyze`: input, output directory, split, analysis options.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub input: Input,
    pub out: PathBuf,
    pub split: Split,
    pub analysis: Options,
}
