//! The sweep crate's one error type; each message names the file, key, path or command involved.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The experiment file is malformed (TOML syntax, unknown key, bad value).
    #[error("{path}: {msg}")]
    File { path: String, msg: String },
    /// A bad command-line value or a refused request (existing output directory, ...).
    #[error("{0}")]
    BadInput(String),
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: {why}")]
    Command { what: String, why: String },
    #[error(transparent)]
    Host(#[from] host::Error),
    #[error(transparent)]
    Results(#[from] results::Error),
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// SIGINT or SIGTERM: the sweep stopped between or during runs, hosts restored.
    #[error("interrupted (SIGINT/SIGTERM): hosts restored; resume with --resume")]
    Interrupted,
}

impl Error {
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// True when the user must change something (the file, a flag, a name): exit code 2.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::File { .. } | Error::BadInput(_) => true,
            Error::Host(e) => e.is_bad_input(),
            _ => false,
        }
    }
}
