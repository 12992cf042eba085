//! Fault injection against the real binary in fresh testbeds: the forwarder killed mid-run, the
//! interface deleted under both roles (and under an idle forwarder), starved and overflowing
//! rings, and a full disk while the results are written. Each fault must end in a clean exit
//! with a message that says what happened, nothing left attached, and no result lost or
//! half-written. Needs root; skips with a reason otherwise.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A running `xdplat` process whose stdout and stderr are collected as they come; killed on drop.
struct Role {
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Role {
    fn spawn(args: &[&str]) -> Role {
        let mut child = xdplat()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn xdplat");
        let out = Arc::new(Mutex::new(String::new()));
        for mut pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let out = Arc::clone(&out);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    out.lock().expect("output lock").push_str(&text);
                }
            });
        }
        Role { child, out }
    }

    /// A forwarder in B of `tb`, returned once it says it is ready.
    fn forwarder(tb: &TestTestbed, extra: &[&str]) -> Role {
        let b = &tb.ab().b;
        let mut args = vec![
            "fwd",
            "--netns",
            &b.netns,
            "--iface",
            &b.iface,
            "--duration",
            "60s",
        ];
        args.extend_from_slice(extra);
        let mut r = Role::spawn(&args);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !r.text().lines().any(is_ready) {
            if let Ok(Some(st)) = r.child.try_wait() {
                panic!("forwarder exited ({st}) before ready: {}", r.text());
            }
            assert!(
                Instant::now() < deadline,
                "forwarder not ready: {}",
                r.text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        r
    }

    fn text(&self) -> String {
        self.out.lock().expect("output lock").clone()
    }

    fn signal(&self, sig: Signal) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), sig);
    }

    /// Waits for the exit; None when still running after `limit` (a hang).
    fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                // let the reader threads take the last bytes
                std::thread::sleep(Duration::from_millis(50));
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls until no XDP program is attached to `iface` in `netns` (a link is released when its
/// last descriptor closes, which a killed process does at exit).
fn detached_soon(netns: &str, iface: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    while xdp_attached(netns, iface) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn ping_args(tb: &TestTestbed, out: &Path, extra: &[&str]) -> Vec<String> {
    let (a, b) = (&tb.ab().a, &tb.ab().b);
    let mut v: Vec<String> = [
        "ping", "--netns", &a.netns, "--iface", &a.iface, "--quiet", "--linger", "300ms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("--dst-ip".into());
    v.push(b.ip().expect("B address").to_string());
    v.push("--out".into());
    v.push(out.display().to_string());
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

#[test]
fn forwarder_killed_mid_run_is_reported_as_loss() {
    let Some(tb) = TestTestbed::new("fkil", 1) else {
        return;
    };
    let b = tb.ab().b.clone();
    let mut fwd = Role::forwarder(&tb, &[]);
    let out = out_dir("fkil");
    let args = ping_args(&tb, &out, &["--count", "1500", "--interval", "1ms"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut pinger = Role::spawn(&args);
    std::thread::sleep(Duration::from_millis(600));
    fwd.signal(Signal::SIGKILL);
    assert!(fwd.wait(Duration::from_secs(5)).is_some());
    assert!(
        detached_soon(&b.netns, &b.iface),
        "the killed forwarder left XDP attached"
    );
    let st = pinger.wait(Duration::from_secs(15)).expect("ping hung");
    let out_text = pinger.text();
    assert!(
        st.success(),
        "ping failed after the forwarder died: {out_text}"
    );
    let s = summary(&out);
    let p = &s.packets;
    assert_eq!(p.sent, 1500, "{out_text}");
    assert!(p.received > 0 && p.lost > 0, "{p:?}");
    assert_eq!(p.received + p.lost, p.sent, "{p:?}");
    assert!(out_text.contains(&format!("{} lost", p.lost)), "{out_text}");
    assert!(!xdp_attached(&tb.ab().a.netns, &tb.ab().a.iface));
    // the queue is free again: a new forwarder serves a new run without loss
    let fwd = Role::forwarder(&tb, &[]);
    let out2 = out_dir("fkil");
    let res = ping(&tb, &out2, &["--count", "50", "--interval", "1ms"]);
    drop(fwd);
    assert!(res.status.success(), "{}", text(&res));
    assert_eq!(summary(&out2).packets.lost, 0);
}

/// Adds a veth pair `x0`–`x1` inside `netns`, x0 up: an interface the faults must not touch.
fn bystander(netns: &str) {
    let ok = std::process::Command::new("ip")
        .args([
            "-n", netns, "link", "add", "x0", "type", "veth", "peer", "name", "x1",
        ])
        .status()
        .expect("ip link add")
        .success();
    assert!(ok, "could not add the bystander veth in {netns}");
    let ok = std::process::Command::new("ip")
        .args(["-n", netns, "link", "set", "x0", "up"])
        .status()
        .expect("ip link set")
        .success();
    assert!(ok);
}

/// Names of the interfaces in `netns`, from `ip -j`.
fn links(netns: &str) -> Vec<String> {
    let out = std::process::Command::new("ip")
        .args(["-n", netns, "-j", "link", "show"])
        .output()
        .expect("ip link show");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["ifname"].as_str().map(str::to_string))
        .collect()
}

fn delete_link(netns: &str, iface: &str) {
    let ok = std::process::Command::new("ip")
        .args(["-n", netns, "link", "del", iface])
        .status()
        .expect("ip link del")
        .success();
    assert!(ok, "could not delete {iface} in {netns}");
}

#[test]
fn interface_deleted_mid_run_stops_both_roles_with_a_clear_error() {
    let Some(tb) = TestTestbed::new("fdel", 1) else {
        return;
    };
    let (a, b) = (tb.ab().a.clone(), tb.ab().b.clone());
    bystander(&a.netns);
    bystander(&b.netns);
    let mut fwd = Role::forwarder(&tb, &[]);
    let out = out_dir("fdel");
    let args = ping_args(&tb, &out, &["--count", "20000", "--interval", "1ms"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut pinger = Role::spawn(&args);
    std::thread::sleep(Duration::from_millis(700));
    // deleting one end of a veth pair deletes both
    delete_link(&a.netns, &a.iface);
    let pst = pinger.wait(Duration::from_secs(5)).expect("ping hung");
    let fst = fwd.wait(Duration::from_secs(5)).expect("forwarder hung");
    for (who, st, text) in [("ping", pst, pinger.text()), ("fwd", fst, fwd.text())] {
        assert_eq!(st.code(), Some(1), "{who}: {text}");
        assert!(
            text.contains("the interface went down or was removed"),
            "{who} did not say why: {text}"
        );
        let iface = if who == "ping" { &a.iface } else { &b.iface };
        assert!(
            text.contains(&format!("{who} on {iface} queue 0")),
            "{who} did not name its interface: {text}"
        );
        assert!(!text.contains("panicked"), "{who}: {text}");
    }
    assert!(!out.join("summary.json").exists());
    for ns in [&a.netns, &b.netns] {
        let l = links(ns);
        assert!(
            l.iter().any(|n| n == "x0") && l.iter().any(|n| n == "x1"),
            "{ns}: {l:?}"
        );
        assert!(!xdp_attached(ns, "x0") && !xdp_attached(ns, "x1"));
    }
    // the bystander still carries traffic: ping across x0 -> x1 would need addresses; its
    // presence, state and lack of XDP are what a deleted neighbour could have changed
}

#[test]
fn an_idle_forwarder_notices_its_interface_is_gone() {
    // spinning and poll() both: an idle AF_XDP socket is never told, so the port asks
    for poll in ["false", "true"] {
        let Some(tb) = TestTestbed::new("fidl", 1) else {
            return;
        };
        let b = tb.ab().b.clone();
        let mut fwd = Role::forwarder(&tb, &["--poll", poll]);
        std::thread::sleep(Duration::from_millis(200));
        let t0 = Instant::now();
        delete_link(&b.netns, &b.iface);
        let st = fwd
            .wait(Duration::from_secs(3))
            .unwrap_or_else(|| panic!("idle forwarder (--poll {poll}) kept running"));
        assert_eq!(st.code(), Some(1), "{}", fwd.text());
        assert!(
            fwd.text()
                .contains("the interface went down or was removed"),
            "{}",
            fwd.text()
        );
        println!(
            "--poll {poll}: exited {:?} after the deletion",
            t0.elapsed()
        );
    }
}

/// The counters of an `xdp_statistics` object (from the summary or the forwarder's last line).
fn drops(v: &serde_json::Value) -> u64 {
    ["rx_dropped", "rx_ring_full"]
        .iter()
        .map(|k| v[*k].as_u64().unwrap_or(0))
        .sum()
}

/// The kernel's XDP statistics the forwarder announced as it stopped.
fn fwd_statistics(text: &str) -> serde_json::Value {
    stopped_counters(text)
        .remove("xdp_statistics")
        .unwrap_or_else(|| panic!("no xdp_statistics: {text}"))
}

#[test]
fn overflowing_forwarder_rx_ring_is_counted_and_nothing_hangs() {
    let Some(tb) = TestTestbed::new("fovr", 1) else {
        return;
    };
    let mut fwd = Role::forwarder(&tb, &["--ring-size", "2", "--frames", "4"]);
    let out = out_dir("fovr");
    let args = ping_args(
        &tb,
        &out,
        &["--count", "3000", "--interval", "0", "--batch", "32"],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut pinger = Role::spawn(&args);
    let st = pinger.wait(Duration::from_secs(30)).expect("ping hung");
    assert!(st.success(), "{}", pinger.text());
    fwd.signal(Signal::SIGTERM);
    let fst = fwd
        .wait(Duration::from_secs(3))
        .expect("forwarder hung on SIGTERM");
    assert!(fst.success(), "{}", fwd.text());
    let s = summary(&out);
    let stats = &s.effective["xdp_statistics"];
    for key in [
        "rx_dropped",
        "rx_invalid_descs",
        "tx_invalid_descs",
        "rx_ring_full",
        "rx_fill_ring_empty_descs",
        "tx_ring_empty_descs",
    ] {
        assert!(stats[key].is_u64(), "{key} missing: {stats}");
    }
    let fstats = fwd_statistics(&fwd.text());
    let kernel_drops = drops(stats) + drops(&fstats);
    println!(
        "lost {} of {}; ping {stats}; fwd {fstats}",
        s.packets.lost, s.packets.sent
    );
    assert!(fstats["rx_ring_full"].as_u64().unwrap_or(0) > 0, "{fstats}");
    assert!(s.packets.lost > 0);
    assert!(
        s.packets.lost >= kernel_drops,
        "every counted drop is a lost probe"
    );
}

#[test]
fn starved_ping_fill_ring_is_counted_and_nothing_hangs() {
    let Some(tb) = TestTestbed::new("fstv", 1) else {
        return;
    };
    let fwd = Role::forwarder(&tb, &[]);
    let out = out_dir("fstv");
    let args = ping_args(
        &tb,
        &out,
        &[
            "--count",
            "5000",
            "--interval",
            "0",
            "--batch",
            "2",
            "--frames",
            "4",
            "--ring-size",
            "2",
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut pinger = Role::spawn(&args);
    let st = pinger.wait(Duration::from_secs(30)).expect("ping hung");
    drop(fwd);
    assert!(st.success(), "{}", pinger.text());
    let s = summary(&out);
    let stats = &s.effective["xdp_statistics"];
    println!("lost {} of {}; {stats}", s.packets.lost, s.packets.sent);
    let starved = stats["rx_fill_ring_empty_descs"].as_u64().unwrap_or(0)
        + stats["rx_ring_full"].as_u64().unwrap_or(0);
    assert!(starved > 0, "{stats}");
    assert!(s.packets.lost >= starved, "{stats} {:?}", s.packets);
}

/// A tiny tmpfs mounted for one test, unmounted (lazily, so a failure cannot leave it) on drop.
struct TinyFs(PathBuf);

impl TinyFs {
    fn mount(name: &str, size: &str) -> Option<TinyFs> {
        let dir = out_dir(name);
        let ok = std::fs::create_dir_all(&dir).is_ok()
            && std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            host::test_support::skip(name, host::test_support::Missing::Machine("a tmpfs mount"));
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        Some(TinyFs(dir))
    }

    fn free(&self) -> u64 {
        let st = nix::sys::statvfs::statvfs(&self.0).expect("statvfs");
        st.blocks_available() * st.fragment_size()
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_full_disk_fails_the_run_cleanly_and_keeps_earlier_runs() {
    let Some(tb) = TestTestbed::new("fdsk", 1) else {
        return;
    };
    let Some(fs) = TinyFs::mount("fdsk", "64k") else {
        return;
    };
    let fwd = Role::forwarder(&tb, &[]);
    let run1 = fs.0.join("run1");
    let res = ping(&tb, &run1, &["--count", "20", "--interval", "1ms"]);
    assert!(res.status.success(), "{}", text(&res));
    let before: Vec<Vec<u8>> = ["samples.parquet", "summary.json"]
        .iter()
        .map(|f| std::fs::read(run1.join(f)).expect("run1 file"))
        .collect();

    // the samples do not fit
    let run2 = fs.0.join("run2");
    let res = ping(&tb, &run2, &["--count", "20000", "--interval", "0"]);
    let msg = text(&res);
    assert_eq!(res.status.code(), Some(1), "{msg}");
    assert!(
        msg.contains(&run2.display().to_string()),
        "path not named: {msg}"
    );
    assert!(msg.contains("No space left on device"), "{msg}");
    assert!(files(&run2).is_empty(), "left behind: {:?}", files(&run2));

    // the samples fit, the summary does not: fill the disk up to two pages
    let filler = fs.0.join("filler");
    let keep = 8192;
    let fill = fs.free().saturating_sub(keep);
    std::fs::write(&filler, vec![1u8; fill as usize]).expect("filler");
    let run3 = fs.0.join("run3");
    let res = ping(&tb, &run3, &["--count", "20", "--interval", "1ms"]);
    let msg = text(&res);
    assert_eq!(res.status.code(), Some(1), "{msg}");
    assert!(msg.contains("No space left on device"), "{msg}");
    assert!(
        !run3.join("summary.json").exists() && !run3.join(".summary.json.tmp").exists(),
        "{:?}",
        files(&run3)
    );
    drop(fwd);

    // the earlier run is intact, byte for byte, and still reads
    for (f, b) in ["samples.parquet", "summary.json"].iter().zip(&before) {
        assert_eq!(&std::fs::read(run1.join(f)).expect("run1 file"), b, "{f}");
    }
    assert_eq!(summary(&run1).packets.sent, 20);
    assert_eq!(files(&run1), ["samples.parquet", "summary.json"]);
}
