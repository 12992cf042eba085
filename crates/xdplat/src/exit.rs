//! Maps errors to the documented exit codes: 2 for bad input, 1 for everything else.

use std::process::ExitCode;

/// An error caused by the user's input (a flag, a value, a file): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// Shorthand for returning a bad-input error from a command.
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    BadInput(msg.into()).into()
}

/// Wraps an engine error, marking it as bad input when the engine says the user must change
/// something (a flag, a value, a name).
pub fn classify<E>(err: E) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    let any: &(dyn std::error::Error + 'static) = &err;
    let bad = if let Some(e) = any.downcast_ref::<probe::Error>() {
        e.is_bad_input()
    } else if let Some(e) = any.downcast_ref::<host::Error>() {
        e.is_bad_input()
    } else if let Some(e) = any.downcast_ref::<xsk::Error>() {
        e.is_bad_input() || matches!(e, xsk::Error::ZeroCopyUnsupported { .. })
    } else if let Some(e) = any.downcast_ref::<xdp::Error>() {
        matches!(
            e,
            xdp::Error::ParseMode(_)
                | xdp::Error::QueueOutOfRange { .. }
                | xdp::Error::ModeUnavailable { .. }
        )
    } else {
        false
    };
    if bad {
        bad_input(err.to_string())
    } else {
        err.into()
    }
}

/// The error and its causes joined by ": ", leaving out a cause the text before already says
/// (library errors often put their source's message into their own).
fn message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

pub fn run(cli: crate::cmd::Cli) -> ExitCode {
    match crate::cmd::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xdplat: error: {}", message(&err));
            if err.chain().any(|e| e.is::<BadInput>()) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
