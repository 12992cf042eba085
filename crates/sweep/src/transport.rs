//! How commands reach a host: a process on this machine (the roles enter a network namespace
//! with `--netns` themselves), or the system `ssh` client, so that ssh_config, keys and
//! ControlMaster work as users expect. Over ssh the argv is quoted argument by argument
//! ([`crate::quote`]); the remote side needs only the xdplat binary.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::Error;
use crate::experiment::{Exec, HostSpec};
use crate::quote;

/// The binary that runs the roles on `host`.
pub fn binary(host: &HostSpec, local_bin: &Path) -> String {
    match (&host.xdplat, &host.exec) {
        (Some(b), _) => b.clone(),
        (None, Exec::Local) => local_bin.display().to_string(),
        (None, Exec::Ssh { .. }) => "xdplat".into(),
    }
}

fn ssh(dest: &str, options: &[String], remote: String) -> Command {
    let mut c = Command::new("ssh");
    c.arg("-o").arg("BatchMode=yes");
    c.args(options).arg("--").arg(dest).arg(remote);
    c
}

/// A command running `argv` (argv[0] is the program) on `host`; over ssh the remote shell first
/// prints its pid, then `exec`s the program, so the process can be signalled by pid.
pub fn command(host: &HostSpec, argv: &[String], with_pid: bool) -> Command {
    match &host.exec {
        Exec::Local => {
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..]).envs(&host.env);
            c
        }
        Exec::Ssh { dest, options } => {
            let mut full: Vec<String> = Vec::new();
            if !host.env.is_empty() {
                full.push("env".into());
                full.extend(host.env.iter().map(|(k, v)| format!("{k}={v}")));
            }
            full.extend(argv.iter().cloned());
            let body = quote::join(&full);
            let remote = if with_pid {
                format!("echo $$; exec {body}")
            } else {
                body
            };
            ssh(dest, options, remote)
        }
    }
}

/// The remote wrapper of a role over ssh: prints its pid (its process group: sshd makes each
/// session a group), the per-CPU lines of /proc/stat, runs the role in the foreground (the trap
/// lets a SIGINT to the group reach the role and the wrapper carry on), then /proc/stat again and
/// its own /proc/PID/stat, whose cutime/cstime are the role's CPU time. Lines start `xdplat-`.
const COST_WRAPPER: &str = r#"trap : INT TERM
echo $$
while read -r l; do case $l in cpu[0-9]*) echo "xdplat-si0 $l";; esac; done </proc/stat
"$@"
s=$?
while read -r l; do case $l in cpu[0-9]*) echo "xdplat-si1 $l";; esac; done </proc/stat
read -r st </proc/$$/stat
echo "xdplat-stat $st"
exit $s"#;

fn wrapped(host: &HostSpec, argv: &[String]) -> Command {
    let Exec::Ssh { dest, options } = &host.exec else {
        return command(host, argv, false);
    };
    let mut full: Vec<String> = vec!["sh".into(), "-c".into(), COST_WRAPPER.into(), "sh".into()];
    if !host.env.is_empty() {
        full.push("env".into());
        full.extend(host.env.iter().map(|(k, v)| format!("{k}={v}")));
    }
    full.extend(argv.iter().cloned());
    ssh(dest, options, format!("exec {}", quote::join(&full)))
}

/// Runs `argv` on `host` to completion; its stdout, or an error with its stderr.
pub fn output(host: &HostSpec, argv: &[String]) -> Result<String, Error> {
    let out = command(host, argv, false)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Command {
            what: describe(host, argv),
            why: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(Error::Command {
            what: describe(host, argv),
            why: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `argv` on `host`, for messages.
pub fn describe(host: &HostSpec, argv: &[String]) -> String {
    match &host.exec {
        Exec::Local => format!("`{}`", argv.join(" ")),
        Exec::Ssh { dest, .. } => format!("`{}` on {dest} (ssh)", argv.join(" ")),
    }
}

/// A role process and the means to signal it.
#[derive(Debug)]
pub struct RoleProc {
    pub child: Child,
    /// The remote pid (ssh), learnt from the first stdout line.
    pub remote_pid: Option<u32>,
    /// stderr and stdout lines as they come.
    pub lines: mpsc::Receiver<String>,
    /// The `xdplat-` lines of the ssh cost wrapper.
    pub marks: Arc<Mutex<Vec<String>>>,
    host: HostSpec,
}

/// Starts `argv` on `host` with stderr and stdout read line by line (for readiness and error
/// messages).
pub fn spawn(host: &HostSpec, argv: &[String]) -> Result<RoleProc, Error> {
    spawn_with(host, argv, false)
}

/// As [`spawn`]; over ssh wrapped so that the role's CPU time and the host's softirq time are
/// reported back ([`RoleProc::marks`]).
pub fn spawn_measured(host: &HostSpec, argv: &[String]) -> Result<RoleProc, Error> {
    spawn_with(host, argv, true)
}

fn spawn_with(host: &HostSpec, argv: &[String], measured: bool) -> Result<RoleProc, Error> {
    let is_ssh = matches!(host.exec, Exec::Ssh { .. });
    let mut cmd = if measured {
        wrapped(host, argv)
    } else {
        command(host, argv, is_ssh)
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Command {
            what: describe(host, argv),
            why: e.to_string(),
        })?;
    let (tx, lines) = mpsc::channel();
    let out_tx = tx.clone();
    if let Some(err) = child.stderr.take() {
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
    }
    let (pid_tx, pid_rx) = mpsc::channel();
    let marks = Arc::new(Mutex::new(Vec::new()));
    let m = Arc::clone(&marks);
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut r = BufReader::new(out);
            let mut first = String::new();
            if is_ssh {
                let _ = r.read_line(&mut first);
                let _ = pid_tx.send(first.trim().parse::<u32>().ok());
            }
            for l in r.lines().map_while(Result::ok) {
                if l.starts_with("xdplat-") {
                    if let Ok(mut v) = m.lock() {
                        v.push(l);
                    }
                } else {
                    let _ = out_tx.send(l);
                }
            }
        });
    }
    let remote_pid = if is_ssh {
        pid_rx.recv_timeout(Duration::from_secs(30)).ok().flatten()
    } else {
        None
    };
    Ok(RoleProc {
        child,
        remote_pid,
        lines,
        marks,
        host: host.clone(),
    })
}

impl RoleProc {
    /// Asks the role to stop (SIGINT: it finishes cleanly and keeps what it measured).
    pub fn interrupt(&self) {
        self.signal(nix::sys::signal::Signal::SIGINT);
    }

    /// Kills the role: over ssh its remote process group (killing the local ssh client alone
    /// would leave the role, and its XDP program, running on the host).
    pub fn kill(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGKILL);
        if matches!(self.host.exec, Exec::Local) {
            let _ = self.child.kill();
        }
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        match (&self.host.exec, self.remote_pid) {
            (Exec::Local, _) => {
                let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
                let _ = nix::sys::signal::kill(pid, sig);
            }
            (Exec::Ssh { dest, options }, Some(pid)) => {
                let _ = ssh(dest, options, remote_group_kill(sig, pid))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            (Exec::Ssh { .. }, None) => {
                let _ = self.kill_local();
            }
        }
    }

    fn kill_local(&self) -> nix::Result<()> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL)
    }

    /// The stderr lines received so far.
    pub fn drain(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }
}

/// The remote command signalling process group `pgid` (the role's ssh session): `kill -SIG
/// -PGID`, which dash, bash and busybox all parse (dash's `kill` takes no `--`: `kill -INT --
/// -PGID` failed there with "Illegal number", so no role in a VM guest was ever stopped). A pgid
/// of 0 or 1 is refused: `-1` would mean every process of the host.
fn remote_group_kill(sig: nix::sys::signal::Signal, pgid: u32) -> String {
    let name = sig.as_str().trim_start_matches("SIG");
    if pgid <= 1 {
        return "false".into();
    }
    format!("kill -{name} -{pgid}")
}

/// Copies the remote directory `remote` into the local directory `local` (tar over ssh), then
/// removes the remote copy.
pub fn fetch_dir(host: &HostSpec, remote: &str, local: &Path) -> Result<(), Error> {
    let Exec::Ssh { dest, options } = &host.exec else {
        return Ok(());
    };
    let argv: Vec<String> = ["tar", "-C", remote, "-cf", "-", "."]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let what = describe(host, &argv);
    let fail = |why: String| Error::Command {
        what: what.clone(),
        why,
    };
    std::fs::create_dir_all(local).map_err(|e| Error::io("create", local, e))?;
    let mut src = ssh(dest, options, quote::join(&argv))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let pipe = src.stdout.take().ok_or_else(|| fail("no stdout".into()))?;
    let untar = Command::new("tar")
        .arg("-C")
        .arg(local)
        .args(["-xf", "-"])
        .stdin(pipe)
        .output()
        .map_err(|e| fail(format!("local tar: {e}")))?;
    let src_out = src.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !src_out.status.success() || !untar.status.success() {
        return Err(fail(format!(
            "{} / local tar {}: {}{}",
            src_out.status,
            untar.status,
            String::from_utf8_lossy(&src_out.stderr).trim(),
            String::from_utf8_lossy(&untar.stderr).trim()
        )));
    }
    output(
        host,
        &["rm".into(), "-rf".into(), "--".into(), remote.into()],
    )?;
    Ok(())
}

/// Sends SIGINT to process `pid` on ssh host `host` if it is still an `xdplat host apply
/// --hold` (a leftover of a killed sweep; it restores its settings on SIGINT).
pub fn interrupt_remote_holder(host: &HostSpec, pid: u32) -> Result<String, Error> {
    let script =
        "grep -q -- --hold /proc/\"$1\"/cmdline 2>/dev/null && kill -INT \"$1\" && echo stopped";
    let argv: Vec<String> = vec![
        "sh".into(),
        "-c".into(),
        script.into(),
        "sh".into(),
        pid.to_string(),
    ];
    output(host, &argv)
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use nix::sys::signal::Signal;

    use super::*;

    #[test]
    fn the_group_kill_never_names_every_process() {
        assert_eq!(remote_group_kill(Signal::SIGINT, 4242), "kill -INT -4242");
        assert_eq!(remote_group_kill(Signal::SIGKILL, 7), "kill -KILL -7");
        assert_eq!(remote_group_kill(Signal::SIGINT, 1), "false");
        assert_eq!(remote_group_kill(Signal::SIGINT, 0), "false");
    }

    #[test]
    fn the_group_kill_works_in_the_system_sh() {
        // a real process group (the child leads its own: its pid is the group's id; setsid(1)
        // forks when it already leads one and exits 0 at once, which failed this test once)
        // signalled by the command as /bin/sh (dash on Debian, the guest's login shell) runs it
        use std::os::unix::process::CommandExt;
        let mut child = Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .expect("sleep in its own process group");
        std::thread::sleep(Duration::from_millis(200));
        // SIGTERM: a test run as a background job inherits SIGINT ignored, and so does sleep
        let cmd = remote_group_kill(Signal::SIGTERM, child.id());
        let st = Command::new("sh").arg("-c").arg(&cmd).status().unwrap();
        assert!(st.success(), "{cmd}: {st}");
        let end = child.wait().unwrap();
        assert_eq!(
            end.signal(),
            Some(Signal::SIGTERM as i32),
            "{cmd} stopped the group: {end}"
        );
    }
}
