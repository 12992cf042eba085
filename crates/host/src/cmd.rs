//! Running the external commands that create testbeds (`ip`, `ethtool`):
//! the exit status is checked and stderr goes into the error.

use std::process::Command;

use crate::Error;

/// Runs `prog args...`; Ok(stdout) on exit status 0.
pub(crate) fn run(prog: &str, args: &[&str]) -> Result<String, Error> {
    let line = format!("{prog} {}", args.join(" "));
    let out = Command::new(prog)
        .args(args)
        .output()
        .map_err(|e| Error::Command {
            cmd: line.clone(),
            status: "could not start".into(),
            stderr: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(Error::Command {
            cmd: line,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
