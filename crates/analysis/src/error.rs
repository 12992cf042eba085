//! The crate's one error type. Input errors name the file and, where known,
//! the row and column; [`Error::is_bad_input`] tells the CLI which errors are
//! the user's input (exit 2) and which are failures while writing (exit 1).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed or inconsistent input data.
    #[error("{file}{}{}: {why}", row.map(|r| format!(": row {r}")).unwrap_or_default(), column.as_ref().map(|c| format!(": column {c}")).unwrap_or_default())]
    Input {
        file: String,
        row: Option<u64>,
        column: Option<String>,
        why: String,
    },
    /// A run directory that the results crate could not read.
    #[error(transparent)]
    Run(#[from] results::Error),
    #[error("read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An option that makes no sense (for example `--k 0`).
    #[error("{0}")]
    Option(String),
    #[error("plot {what}: {why}")]
    Plot { what: String, why: String },
}

impl Error {
    pub(crate) fn input(
        file: impl std::fmt::Display,
        row: Option<u64>,
        column: Option<&str>,
        why: impl Into<String>,
    ) -> Self {
        Error::Input {
            file: file.to_string(),
            row,
            column: column.map(str::to_string),
            why: why.into(),
        }
    }

    /// True when the error is about the user's input (files, columns, values, options).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Error::Write { .. } | Error::Plot { .. })
    }
}
