//! The crate's error type.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter that cannot work: bad input.
    #[error("invalid {param} = {value}: {why}")]
    Config {
        param: String,
        value: String,
        why: String,
    },
    /// Input that cannot work, with a message naming the parameter and the fix.
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Xsk(#[from] xsk::Error),
    #[error(transparent)]
    Host(#[from] host::Error),
    #[error(transparent)]
    Xdp(#[from] xdp::Error),
    #[error(transparent)]
    Results(#[from] results::Error),
    /// What was being done when `source` happened.
    #[error("{what}: {source}")]
    Context {
        what: String,
        #[source]
        source: Box<Error>,
    },
    #[error("{call}: {source}")]
    Io {
        call: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// What libbpf and the verifier said, when this is (or was caused by) a refused XDP load.
    pub fn load_log(&self) -> Option<&xdp::LoadLog> {
        match self {
            Error::Xdp(e) => e.load_log(),
            Error::Context { source, .. } => source.load_log(),
            _ => None,
        }
    }

    pub(crate) fn config(param: &str, value: impl ToString, why: impl Into<String>) -> Error {
        Error::Config {
            param: param.to_string(),
            value: value.to_string(),
            why: why.into(),
        }
    }

    /// A knob's value that cannot work, naming its flag (`--name`).
    pub(crate) fn knob(name: &str, value: impl ToString, why: impl Into<String>) -> Error {
        Error::config(&format!("--{name}"), value, why)
    }

    pub(crate) fn io(call: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            call: call.into(),
            source,
        }
    }

    /// True when the user must change an input (flag or value) rather than the machine.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::Config { .. } | Error::Input(_) => true,
            Error::Xsk(e) => e.is_bad_input(),
            Error::Xdp(e) => e.is_bad_input(),
            Error::Host(e) => e.is_bad_input(),
            Error::Context { source, .. } => source.is_bad_input(),
            Error::Results(_) | Error::Io { .. } => false,
        }
    }
}
