//! sweep: the paper's experiment as one command. An experiment file ([`experiment`]) names the
//! hosts, the roles, the probing and the axes; [`plan`] expands it into configurations and runs
//! with stable ids; [`runner`] runs them one at a time through a [`transport`] (local
//! processes, namespaces, or ssh), recording each run's CPU cost ([`cpu`]); [`store`] keeps
//! the results resumable after any interruption; [`load`] re-runs a sweep's clusters at load;
//! [`rate`] is the paper's equation (1) behind `rate = "auto"` and the load experiment;
//! [`check`] holds every check of an experiment beyond its syntax, and of every configuration
//! against what the roles accept, before anything runs.
//! [`schedule`] orders the runs (interleaved and seeded by default), [`race`] races the
//! configurations (F-Race) and [`replay`] serves a completed sweep's samples instead of probing.
//! [`tune`] finds the lowest-latency configuration of a link with races, and shows the evidence.

pub mod check;
pub mod control;
pub mod cpu;
mod error;
mod execute;
pub mod experiment;
pub mod inventory;
pub mod load;
pub mod outcome;
pub mod plan;
mod prepare;
pub mod progress;
pub mod quote;
pub mod race;
pub mod rate;
pub mod replay;
pub mod report;
pub mod roles;
pub mod runner;
pub mod schedule;
pub mod status;
pub mod store;
pub mod synth;
pub mod transport;
pub mod tune;
pub mod value;
pub mod vmbed;

pub use error::Error;
pub use experiment::{Experiment, Scope};
pub use outcome::{Cause, Failure, Outcome};
pub use plan::{Plan, expand};
pub use runner::{Options, run};
pub use value::Val;
