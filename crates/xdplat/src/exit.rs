//! Maps errors to the exit codes of `probe::protocol::Exit`: bad input when the engine says the
//! user must change something, a run-time failure otherwise, and the quiet exit of a closed stdout
//! (`xdplat ... | head`), as a shell reports a process killed by SIGPIPE.

use std::process::ExitCode;

use probe::protocol::Exit;

/// An error caused by the user's input (a flag, a value, a file): [`Exit::BadInput`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// A sweep (or the demo) in which every AF_XDP run failed: [`Exit::NoAfXdp`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NoAfXdp(pub String);

/// Shorthand for returning a bad-input error from a command.
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    BadInput(msg.into()).into()
}

/// The engine errors that know whether the user must change an input.
pub trait Classify: std::error::Error + Send + Sync + 'static {
    fn is_bad_input(&self) -> bool;
}

macro_rules! classify_by_method {
    ($($t:ty),+) => {$(
        impl Classify for $t {
            fn is_bad_input(&self) -> bool {
                <$t>::is_bad_input(self)
            }
        }
    )+};
}

classify_by_method!(
    probe::Error,
    host::Error,
    xsk::Error,
    xdp::Error,
    sweep::Error,
    analysis::Error,
    bench::Error
);

/// Wraps an engine error, marking it as bad input when the engine says so.
pub fn classify<E: Classify>(err: E) -> anyhow::Error {
    if err.is_bad_input() {
        bad_input(err.to_string())
    } else {
        err.into()
    }
}

/// Wraps an engine error as [`classify`] does; when it is a refused XDP load, the verifier's log
/// is first written to `dir/verifier.log` and the one-sentence message names that file (the log
/// itself never goes to the terminal).
pub fn classify_keeping_log(err: probe::Error, dir: &std::path::Path) -> anyhow::Error {
    let Some(log) = err.load_log().filter(|l| !l.is_empty()) else {
        return classify(err);
    };
    let text = match log.write_to(dir) {
        Ok(path) => format!("{err} (the verifier's log: {})", path.display()),
        Err(e) => format!(
            "{err} (the verifier's log could not be written to {}: {e})",
            dir.display()
        ),
    };
    if err.is_bad_input() {
        bad_input(text)
    } else {
        anyhow::anyhow!(text)
    }
}

/// Where a role writes the verifier's log of a refused load: `--log-dir`, else `default`.
pub fn log_dir(flag: Option<&std::path::Path>, default: &std::path::Path) -> std::path::PathBuf {
    flag.unwrap_or(default).to_path_buf()
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
        Err(payload) if is_broken_pipe(payload.as_ref()) => {
            return ExitCode::from(Exit::BrokenPipe.code());
        }
        Err(payload) => std::panic::resume_unwind(payload),
    };
    let exit = match outcome {
        Ok(()) => Exit::Success,
        Err(err) => {
            eprintln!("xdplat: error: {}", message(&err));
            if err.chain().any(|e| e.is::<BadInput>()) {
                Exit::BadInput
            } else if err.chain().any(|e| e.is::<NoAfXdp>()) {
                Exit::NoAfXdp
            } else {
                Exit::Failure
            }
        }
    };
    ExitCode::from(exit.code())
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
