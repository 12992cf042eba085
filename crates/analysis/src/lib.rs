//! The paper's §VI as a library, made robust: per-configuration statistics over
//! repetitions, filters, k-means clusters of configurations with a choice of k that
//! holds on heavy-tailed data, the parameters that define each cluster, an effect
//! ranking, explanations of each cluster by stage and parameter, and the outputs
//! (analysis.json, tables, plots, an HTML report). Inputs are a sweep's run
//! directories or anyone's long latency table; both become a [`Dataset`].
//! [`run`] is the whole `xdplat analyze`; [`analyze`] the analysis of one dataset.

mod analyze;
mod cluster;
mod compare;
mod effects;
mod engine;
mod error;
mod explain;
mod filter;
pub mod fleet;
mod fleet_out;
mod kde;
mod kselect;
mod load_runs;
mod load_table;
mod model;
mod options;
mod output;
mod parquet_footer;
mod parquet_pages;
mod plots;
pub mod race;
mod relevant;
mod report;
pub mod robust;
mod stage_plots;
mod stages;
mod stats;
mod tables;

pub use analyze::{Analysis, ClusterOut, ConfigOut, KSelection, analyze, homogeneity_p};
pub use cluster::{KScore, Scaler, silhouette, standardise};
pub use compare::{CompareOptions, Comparison, compare, compare_inputs};
pub use effects::{Effect, Interaction, Level, effects as knob_effects};
pub use engine::{PartReport, Report, SPLIT_KEYS, default_split, run};
pub use error::Error;
pub use explain::{Strength, Structure};
pub use filter::{Excluded, parse_duration_ns};
pub use fleet_out::{html as fleet_html, markdown as fleet_markdown, run_fleet};
pub use kde::{Kde, kde, silverman_bandwidth};
pub use kselect::{EXCESS_Z, STABLE, WEAK_SILHOUETTE, adjusted_rand_index};
pub use load_runs::{load_runs, run_dirs};
pub use load_table::load_table;
#[doc(hidden)]
pub use load_table::parquet_page_check;
pub use model::{Config, Dataset, KEEP_SAMPLES, Params, Run, config_ids, render_value};
pub use options::{
    Aggregate, Baseline, Feature, Input, KChoice, Method, Options, RunOptions, Scaling, Split,
};
pub use output::{Part, part_dir, write_index, write_outputs};
pub use plots::pareto_front;
pub use stage_plots::{breakdown_findings, breakdown_svg};
pub use stats::{ConfigStats, config_stats};
