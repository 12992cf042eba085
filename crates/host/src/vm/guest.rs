//! The guest's side: the script virtme-ng runs as root once the guest is up (it builds the
//! namespace testbed's topology out of the NICs and starts sshd), the sshd configuration and
//! keys, and the ssh client options that reach it. Hosts in the guest are reached with the
//! system OpenSSH client, as the sweep reaches any ssh host: no agent of our own.

use std::fmt::Write as _;
use std::path::Path;

use crate::Error;
use crate::cmd;

/// One NIC of the guest, as the namespace testbed names and addresses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestNic {
    pub netns: String,
    pub iface: String,
    pub mac: String,
    /// `10.77.1.1/24`
    pub ipv4: String,
}

/// The MAC of the guest's management NIC (QEMU user networking, ssh only).
pub const MGMT_MAC: &str = "02:78:64:00:00:01";
/// The address QEMU's user networking gives a guest.
const MGMT_IP: &str = "10.0.2.15/24";
/// The line the guest script prints when sshd runs.
pub const READY_LINE: &str = "xdplat-guest: ready";
/// The guest's own xdplat state directory (its journal): never the host's, which the guest
/// sees read-only through the shared root.
pub const GUEST_STATE_DIR: &str = "/run/xdplat";
/// Where the guest keeps its copy of xdplat (tmpfs): under TCG every page of a binary read
/// through the shared root costs a 9p round trip, so a 300 MB debug build took about 20 s to
/// start each time (`xdplat --version`), its copy without debug info in tmpfs 0.5 s.
pub const GUEST_XDPLAT: &str = "/run/xdplat-vm/xdplat";
/// The name of the stripped copy in the testbed's state directory, which the guest copies.
const SHIPPED: &str = "xdplat";

/// Puts a copy of `xdplat` without debug info (objcopy --strip-debug) in `dir` for the guest
/// to take to tmpfs; returns the path the guest runs, [`GUEST_XDPLAT`]: the copy, or (no
/// objcopy, or the copy not seen in the guest) a link to `xdplat` itself (slower, not wrong).
pub fn ship_binary(xdplat: &Path, dir: &Path) -> &'static str {
    let dst = dir.join(SHIPPED);
    let src = xdplat.display().to_string();
    let dst_s = dst.display().to_string();
    if cmd::run("objcopy", &["--strip-debug", &src, &dst_s]).is_err() {
        let _ = std::fs::remove_file(&dst);
    }
    GUEST_XDPLAT
}

/// Creates the testbed's ssh keys in `dir` (client key, host key, authorized_keys,
/// known_hosts for the alias `host_alias`) and the sshd configuration.
pub fn make_keys(dir: &Path, host_alias: &str) -> Result<(), Error> {
    for key in ["id_ed25519", "ssh_host_ed25519_key"] {
        let p = dir.join(key);
        if !p.exists() {
            let ps = p.display().to_string();
            cmd::run(
                "ssh-keygen",
                &["-q", "-t", "ed25519", "-N", "", "-C", host_alias, "-f", &ps],
            )?;
        }
    }
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f))
            .map_err(|e| Error::io("read", dir.join(f).display(), e))
    };
    let write = |f: &str, body: String| {
        std::fs::write(dir.join(f), body).map_err(|e| Error::io("write", dir.join(f).display(), e))
    };
    write("authorized_keys", read("id_ed25519.pub")?)?;
    write(
        "known_hosts",
        format!("{host_alias} {}", read("ssh_host_ed25519_key.pub")?),
    )?;
    write(
        "sshd_config",
        format!(
            "# sshd of an xdplat VM testbed guest (written by xdplat testbed up)\n\
             Port 22\n\
             HostKey /run/xdplat-vm/ssh_host_ed25519_key\n\
             AuthorizedKeysFile /run/xdplat-vm/authorized_keys\n\
             PermitRootLogin prohibit-password\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             UsePAM no\n\
             StrictModes no\n\
             UseDNS no\n\
             MaxSessions 100\n\
             MaxStartups 100\n\
             PidFile /run/xdplat-vm/sshd.pid\n\
             SetEnv {}={GUEST_STATE_DIR}\n",
            crate::state::STATE_DIR_ENV
        ),
    )
}

/// The ssh client options that reach the guest of testbed state `dir` on `port`; the
/// destination is `root@127.0.0.1`. They use the connection of the master that `up` starts
/// ([`master_args`]) when it runs, so that each command does not pay a key exchange in an
/// emulated guest, and connect on their own otherwise (`ControlMaster=no`: a client never
/// becomes a master that would hold its caller's pipes open).
pub fn ssh_options(dir: &Path, port: u16, host_alias: &str) -> Vec<String> {
    options(dir, port, host_alias, "ControlMaster=no")
}

fn options(dir: &Path, port: u16, host_alias: &str, control: &str) -> Vec<String> {
    let d = dir.display();
    let mut v = vec![
        "-p".to_string(),
        port.to_string(),
        "-i".into(),
        format!("{d}/id_ed25519"),
    ];
    for o in [
        "IdentitiesOnly=yes".to_string(),
        format!("UserKnownHostsFile={d}/known_hosts"),
        format!("HostKeyAlias={host_alias}"),
        "StrictHostKeyChecking=yes".into(),
        "LogLevel=ERROR".into(),
        "ConnectTimeout=30".into(),
        "ServerAliveInterval=10".into(),
        control.into(),
        format!("ControlPath={d}/ssh-%C"),
    ] {
        v.push("-o".into());
        v.push(o);
    }
    v
}

/// The argv of the connection master (`ssh -M -N -f`): it runs until `testbed down` stops it
/// (its command line names the state directory, like every process of the guest).
pub fn master_args(dir: &Path, port: u16, host_alias: &str) -> Vec<String> {
    let mut v = vec!["-N".to_string(), "-f".into()];
    v.extend(options(dir, port, host_alias, "ControlMaster=yes"));
    v.extend(["-o".into(), "ControlPersist=yes".into(), SSH_DEST.into()]);
    v
}

/// The destination of [`ssh_options`].
pub const SSH_DEST: &str = "root@127.0.0.1";

/// The script the guest runs (as root, through virtme-ng's `--exec`): keys to tmpfs, root
/// allowed to log in with its key, the NICs (found by MAC) renamed, moved into their
/// namespaces and addressed as the namespace testbed does, `queues` channels each, sshd, then
/// it waits forever (when it ends, virtme-ng powers the guest off).
pub fn script(
    dir: &Path,
    nics: &[GuestNic],
    queues: u32,
    modules: &[&str],
    xdplat: &Path,
) -> String {
    let d = dir.display();
    let host_bin = xdplat.display().to_string().replace('\'', "");
    let mut s = String::new();
    let _ = write!(
        s,
        r#"#!/bin/sh
# xdplat VM testbed guest (written by xdplat testbed up; runs once as root in the guest)
say() {{ echo "xdplat-guest: $*"; }}
die() {{ say "error: $*"; exit 1; }}
modprobe -a {mods} || die "modprobe {mods} failed"
mkdir -p /run/xdplat-vm /run/sshd {GUEST_STATE_DIR}
cp {d}/ssh_host_ed25519_key {d}/authorized_keys {d}/sshd_config /run/xdplat-vm/ || die "cannot read {d}"
# the stripped copy into tmpfs; where it cannot be had, the host's binary itself (slower)
if cp {d}/{SHIPPED} {GUEST_XDPLAT} 2>/dev/null; then say "xdplat copied to {GUEST_XDPLAT}"
else ln -sf '{host_bin}' {GUEST_XDPLAT} || die "no xdplat"; say "xdplat: no copy in {d}, running {host_bin}"; fi
chmod 600 /run/xdplat-vm/ssh_host_ed25519_key
# virtme-ng masks /etc/shadow, which locks root for sshd; /bin/sh keeps the user's bashrc out
printf 'root:*:1:0:99999:7:::\n' > /etc/shadow
sed -i 's|^root:\(.*\):[^:]*$|root:\1:/bin/sh|' /etc/passwd
nic() {{
  for i in $(seq 1 300); do
    for a in /sys/class/net/*/address; do
      [ "$(cat "$a")" = "$1" ] && {{ d=${{a%/address}}; echo "${{d##*/}}"; return 0; }}
    done
    sleep 0.1
  done
  return 1
}}
m=$(nic {MGMT_MAC}) || die "no NIC with MAC {MGMT_MAC}"
ip addr add {MGMT_IP} dev "$m" && ip link set dev "$m" up || die "management NIC $m"
"#,
        mods = modules.join(" "),
    );
    for n in nics {
        let _ = write!(
            s,
            r#"dev=$(nic {mac}) || die "no NIC with MAC {mac}"
ip netns add {ns} 2>/dev/null; ip -n {ns} link set dev lo up
ip link set dev "$dev" down && ip link set dev "$dev" name {ifc} && ip link set dev {ifc} netns {ns} || die "moving $dev into {ns}"
ip -n {ns} addr add {ip} dev {ifc} || die "address {ip} on {ifc}"
ip netns exec {ns} ethtool -L {ifc} combined {queues} 2>/dev/null
ip netns exec {ns} ethtool -K {ifc} tx off >/dev/null 2>&1
ip -n {ns} link set dev {ifc} up || die "{ifc} up"
"#,
            mac = n.mac,
            ns = n.netns,
            ifc = n.iface,
            ip = n.ipv4,
        );
    }
    let _ = write!(
        s,
        r#"/usr/sbin/sshd -f /run/xdplat-vm/sshd_config -E /run/xdplat-vm/sshd.log || die "sshd did not start"
echo "{READY_LINE}"
exec sleep infinity
"#
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_builds_each_nic_and_ends_waiting() {
        let nics = [GuestNic {
            netns: "t-a".into(),
            iface: "t-ab".into(),
            mac: "02:78:64:00:01:01".into(),
            ipv4: "10.77.1.1/24".into(),
        }];
        let s = script(
            Path::new("/var/lib/xdplat/vm/t"),
            &nics,
            2,
            &["virtio_net"],
            Path::new("/x/xdplat"),
        );
        assert!(s.contains("dev=$(nic 02:78:64:00:01:01)"));
        assert!(s.contains("ip -n t-a addr add 10.77.1.1/24 dev t-ab"));
        assert!(s.contains("ethtool -L t-ab combined 2"));
        assert!(s.contains(READY_LINE));
        assert!(s.trim_end().ends_with("exec sleep infinity"));
    }

    #[test]
    fn ssh_options_pin_the_host_key_and_share_one_connection() {
        let o = ssh_options(Path::new("/s"), 2222, "xdplat-vm-t").join(" ");
        assert!(o.contains("-p 2222"));
        assert!(o.contains("StrictHostKeyChecking=yes"));
        assert!(o.contains("HostKeyAlias=xdplat-vm-t"));
        assert!(o.contains("ControlPath=/s/ssh-%C"));
        let m = master_args(Path::new("/s"), 2222, "xdplat-vm-t");
        assert!(m.iter().any(|a| a == "ControlMaster=yes"));
        assert_eq!(m.last().map(String::as_str), Some(SSH_DEST));
    }
}
