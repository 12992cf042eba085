//! A real OpenSSH server for the tests: Debian's sshd in inetd mode (one server per connection,
//! reached through ProxyCommand), with a generated host key and a fresh client key.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const SSHD: &str = "/usr/sbin/sshd";

/// A key pair and an sshd config in `dir`; None (with the reason printed) when OpenSSH is
/// missing (scripts/setup.sh --with-test-deps installs it).
pub fn sshd_setup(dir: &Path) -> Option<PathBuf> {
    if !Path::new(SSHD).exists() || Command::new("ssh").arg("-V").output().is_err() {
        println!(
            "skipping: needs openssh-server and openssh-client (scripts/setup.sh --with-test-deps)"
        );
        return None;
    }
    std::fs::create_dir_all(dir).expect("mkdir");
    for k in ["hostkey", "userkey"] {
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.join(k))
            .status()
            .expect("ssh-keygen");
        assert!(st.success());
    }
    std::fs::copy(dir.join("userkey.pub"), dir.join("authorized_keys")).expect("authorized_keys");
    // sshd insists on its privilege-separation directory (the package makes it at boot)
    std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
    let cfg = dir.join("sshd_config");
    std::fs::write(
        &cfg,
        format!(
            "HostKey {d}/hostkey\nAuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin yes\n\
             StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PidFile none\nLogLevel ERROR\n",
            d = dir.display()
        ),
    )
    .expect("sshd_config");
    Some(cfg)
}

/// ssh client options reaching the sshd of namespace `ns`.
pub fn ssh_options(dir: &Path, cfg: &Path, ns: &str) -> Vec<String> {
    [
        "-F",
        "/dev/null",
        "-i",
        &dir.join("userkey").display().to_string(),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        &format!(
            "ProxyCommand=ip netns exec {ns} {SSHD} -i -f {}",
            cfg.display()
        ),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
