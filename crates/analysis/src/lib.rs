//! The paper's §VI as a library: per-configuration statistics over
//! repetitions, filters, k-means clusters of configurations, the parameters
//! that define each cluster, an effect ranking, and the outputs (analysis.json,
//! tables, plots, an HTML report). Inputs are a sweep's run directories or
//! anyone's long latency table; both become a [`Dataset`].

mod analyze;
mod cluster;
mod compare;
mod effects;
mod error;
mod filter;
mod kde;
mod load_runs;
mod load_table;
mod model;
mod output;
mod plots;
mod relevant;
mod report;
mod stats;
mod tables;

pub use analyze::{Analysis, ClusterOut, ConfigOut, KSelection, Options, analyze, homogeneity_p};
pub use cluster::{KChoice, KScore, Scaling, silhouette, standardise};
pub use compare::{Comparison, compare};
pub use effects::{Effect, Interaction, Level};
pub use error::Error;
pub use filter::{Excluded, parse_duration_ns};
pub use kde::{Kde, kde, silverman_bandwidth};
pub use load_runs::{load_runs, run_dirs};
pub use load_table::load_table;
pub use model::{Config, Dataset, KEEP_SAMPLES, Params, Run, config_ids, render_value};
pub use output::{Part, part_dir, write_index, write_outputs};
pub use plots::{breakdown_findings, breakdown_svg, pareto_front};
pub use stats::{ConfigStats, FEATURES, config_stats};
