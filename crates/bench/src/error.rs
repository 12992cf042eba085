//! The crate's error type.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Probe(#[from] probe::Error),
    #[error(transparent)]
    Host(#[from] host::Error),
    #[error(transparent)]
    Xdp(#[from] xdp::Error),
    #[error(transparent)]
    Results(#[from] results::Error),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A benchmark could not produce its figure.
    #[error("{0}")]
    Failed(String),
    #[error("interrupted")]
    Interrupted,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }

    /// True when the user must change an input.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::Probe(e) => e.is_bad_input(),
            Error::Host(e) => e.is_bad_input(),
            Error::Xdp(e) => e.is_bad_input(),
            _ => false,
        }
    }
}
