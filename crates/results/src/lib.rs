//! The on-disk contract of a run directory (DESIGN.md "A run directory"):
//! `samples.parquet` (one row per probe packet) and `summary.json` (what was
//! asked, what was in effect, and the statistics). The probe engine writes it,
//! the analysis reads it; both go through this crate so that the format has
//! exactly one definition.

mod describe;
mod error;
mod samples;
pub mod sections;
mod summary;

pub use describe::{Describe, describe, us};
pub use error::Error;
pub use samples::{SAMPLES_FILE, Sample, SamplesColumns, SamplesWriter, read_rtts, read_samples};
pub use sections::{Cpu, HostSetting, Rate, SettingTarget, StageSource, StageSources, Sweep};
pub use summary::{
    CHAIN_STAGES, Environment, FwdQueueCount, PacketCounts, SUMMARY_FILE, Summary, read_summary,
    write_summary,
};

/// Version of the run-directory format; `summary.json` carries it as `schema`.
pub const SCHEMA: u32 = 1;
