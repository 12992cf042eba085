//! Maps errors to the documented exit codes: 2 for bad input, 1 for everything else, 141 (as a
//! shell reports a process killed by SIGPIPE) when stdout was closed early (`xdplat ... | head`).

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
    // Rust ignores SIGPIPE, so a print to a closed pipe panics ("failed printing to stdout");
    // unwinding still restores every host change, then the exit is quiet, as with SIGPIPE
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_broken_pipe(info.payload()) {
            default_hook(info);
        }
    }));
    let outcome = match std::panic::catch_unwind(|| crate::cmd::dispatch(cli)) {
        Ok(outcome) => outcome,
        Err(payload) if is_broken_pipe(payload.as_ref()) => return ExitCode::from(141),
        Err(payload) => std::panic::resume_unwind(payload),
    };
    match outcome {
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

/// True for the panic `print!` raises when stdout is a closed pipe.
fn is_broken_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    text.starts_with("failed printing to stdout") && text.contains("Broken pipe")
}
