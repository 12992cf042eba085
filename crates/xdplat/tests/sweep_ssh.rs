//! The ssh transport against a real OpenSSH server: Debian's sshd runs inside namespaces A and B
//! of a test testbed (inetd mode, one server per connection, reached through ProxyCommand), with
//! a generated host key and a fresh client key. A tiny sweep runs both roles over ssh; hostile
//! strings (quotes, `;`, `$()`, backquotes, newlines) reach the remote program as inert argv.

mod common;

use std::process::Command;

use common::{TestTestbed, out_dir, xdplat};
use sweep::experiment::{Exec, HostSpec};

use common::ssh::{ssh_options, sshd_setup};

fn toml_list(v: &[String]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|s| serde_json::to_string(s).expect("json string"))
        .collect();
    format!("[{}]", items.join(", "))
}

#[test]
fn sweep_through_sshd_in_a_namespace() {
    let Some(tb) = TestTestbed::new("ssh", 1) else {
        return;
    };
    let dir = out_dir("sweep-ssh");
    let Some(cfg) = sshd_setup(&dir) else {
        return;
    };
    let a = &tb.ab().a;
    let opts = ssh_options(&dir, &cfg, &a.netns);
    let file = dir.join("exp.toml");
    std::fs::write(
        &file,
        format!(
            r#"[testbed]
name = "{tb}"

[hosts.a]
ssh = "root@generator"
ssh-options = {opts}
xdplat = {bin}
iface = "{iface}"
env = {{ XDPLAT_STATE_DIR = {state} }}

[hosts.b]
ssh = "root@forwarder"
ssh-options = {opts_b}
xdplat = {bin}
iface = "{iface_b}"
ip = "{ip_b}"
mac = "{mac_b}"
env = {{ XDPLAT_STATE_DIR = {state} }}

[roles]
ping = "a"
fwd = "b"

[probe]
interval = "1ms"
count = 100
repetitions = 1
linger = "50ms"

[axes]
fwd.poll = [true]
"a.gro-flush-timeout" = [50000]
"#,
            tb = tb.name(),
            opts = toml_list(&opts),
            opts_b = toml_list(&ssh_options(&dir, &cfg, &tb.ab().b.netns)),
            iface_b = tb.ab().b.iface,
            ip_b = tb.ab().b.ip().expect("b address"),
            mac_b = tb.ab().b.mac,
            bin = serde_json::to_string(env!("CARGO_BIN_EXE_xdplat")).expect("json"),
            iface = a.iface,
            state = serde_json::to_string(&dir.join("remote-state")).expect("json"),
        ),
    )
    .expect("write experiment");
    let out = dir.join("out");
    let gro = || {
        let o = Command::new("ip")
            .args(["netns", "exec", &a.netns, "cat"])
            .arg(format!("/sys/class/net/{}/gro_flush_timeout", a.iface))
            .output()
            .expect("read gro_flush_timeout");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let before = gro();
    let o = xdplat()
        .args(["sweep", "run"])
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .env("XDPLAT_STATE_DIR", dir.join("state"))
        .output()
        .expect("sweep");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    println!("{stdout}");
    let runs: Vec<_> = std::fs::read_dir(out.join("runs"))
        .expect("runs")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .starts_with('.')
        })
        .collect();
    assert_eq!(runs.len(), 2, "one AF_XDP configuration and the baseline");
    for r in &runs {
        assert!(r.join("samples.parquet").is_file());
        let s = results::read_summary(&r.join("summary.json")).expect("summary");
        assert!(s.packets.received > 0, "{:?}", s.packets);
        // both roles ran remotely: their CPU time came back through the ssh wrapper
        let cpu = &s.extra["cpu"];
        for k in [
            "ping_user_ns",
            "ping_sys_ns",
            "fwd_user_ns",
            "fwd_sys_ns",
            "softirq_ns",
        ] {
            assert!(cpu[k].as_u64().is_some(), "{k}: {cpu}");
        }
        // USER_HZ ticks are 10 ms: a short ping can stay under one tick of user or system time,
        // but the two roles together always take some
        let total: u64 = ["ping_user_ns", "ping_sys_ns", "fwd_user_ns", "fwd_sys_ns"]
            .iter()
            .filter_map(|k| cpu[*k].as_u64())
            .sum();
        assert!(
            total > 0,
            "no CPU time came back from the remote roles: {cpu}"
        );
    }
    // the remote `host apply --hold` ran there (with the env given) and restored A's setting
    assert!(dir.join("remote-state").join("host.lock").exists());
    assert_eq!(gro(), before);
    let afxdp = runs
        .iter()
        .filter_map(|r| results::read_summary(&r.join("summary.json")).ok())
        .find(|s| s.params["backend"] == "afxdp")
        .expect("afxdp run");
    assert_eq!(afxdp.params["a_gro_flush_timeout"], 50000);
    // recorded like a local setting, with the host it was applied on
    let recorded = afxdp.sweep().expect("sweep section").host_settings;
    assert!(
        recorded.iter().any(|h| h.key == "gro-flush-timeout"
            && h.value == "50000"
            && h.target.host.as_deref() == Some("a")
            && h.effective.as_deref() == Some("50000")),
        "{recorded:?}"
    );
    let facts = std::fs::read_to_string(out.join("experiment.toml")).expect("experiment");
    assert!(facts.contains("host a (root@generator): xdplat"), "{facts}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_strings_arrive_inert() {
    let Some(tb) = TestTestbed::new("sshq", 1) else {
        return;
    };
    let dir = out_dir("sweep-ssh-quote");
    let Some(cfg) = sshd_setup(&dir) else {
        return;
    };
    let canary = dir.join("pwned");
    let c = canary.display();
    let hostile: Vec<String> = vec![
        format!("x'; touch {c}; echo '"),
        format!("$(touch {c})"),
        format!("`touch {c}`"),
        format!("a\ntouch {c}\n"),
        format!("\"; touch {c}; \""),
        format!("; touch {c} #"),
        "*".into(),
        "".into(),
        "back\\slash".into(),
        "-o".into(),
    ];
    // the remote program prints its argv, NUL-terminated
    let mut argv = vec!["printf".to_string(), "%s\\0".to_string()];
    argv.extend(hostile.iter().cloned());
    let host = HostSpec {
        name: "a".into(),
        exec: Exec::Ssh {
            dest: "root@generator".into(),
            options: ssh_options(&dir, &cfg, &tb.ab().a.netns),
        },
        netns: None,
        xdplat: None,
        env: Default::default(),
        iface: None,
        queue: 0,
        cpu: None,
        ip: None,
        mac: None,
    };
    let out = sweep::transport::output(&host, &argv).expect("ssh printf");
    let got: Vec<&str> = out.split('\0').collect();
    assert_eq!(
        &got[..hostile.len()],
        hostile.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(!canary.exists(), "a hostile value ran a command");
    // through a role: a hostile interface name is refused as bad input by xdplat on the
    // remote side, never run by its shell
    let bin = env!("CARGO_BIN_EXE_xdplat").to_string();
    let role: Vec<String> = vec![
        bin,
        "ping".into(),
        format!("--iface={}", hostile[0]),
        "--dst-ip=10.0.0.1".into(),
        "--out".into(),
        dir.join("never").display().to_string(),
    ];
    let e = sweep::transport::output(&host, &role).expect_err("bad iface");
    assert!(e.to_string().contains("exit status: 2"), "{e}");
    assert!(!canary.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
