//! The crate's error type.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter that cannot work: bad input.
    #[error("invalid {param} = {value}: {why}")]
    Config {
        param: &'static str,
        value: String,
        why: String,
    },
    #[error(transparent)]
    Xsk(#[from] xsk::Error),
    #[error(transparent)]
    Xdp(#[from] xdp::Error),
    #[error(transparent)]
    Results(#[from] results::Error),
    #[error("{call}: {source}")]
    Io {
        call: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn config(
        param: &'static str,
        value: impl ToString,
        why: impl Into<String>,
    ) -> Error {
        Error::Config {
            param,
            value: value.to_string(),
            why: why.into(),
        }
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
            Error::Config { .. } => true,
            Error::Xsk(e) => {
                e.is_bad_input() || matches!(e, xsk::Error::ZeroCopyUnsupported { .. })
            }
            Error::Xdp(e) => matches!(
                e,
                xdp::Error::ParseMode(_)
                    | xdp::Error::QueueOutOfRange { .. }
                    | xdp::Error::ModeUnavailable { .. }
            ),
            _ => false,
        }
    }
}
