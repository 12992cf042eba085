//! Traffic safety: while `xdplat fwd` and `xdplat ping` run on a veth pair, the other traffic on
//! it goes on untouched: an ICMP ping loses nothing, a TCP transfer of several MB arrives byte
//! for byte with no segment lost (no drop on the veth, no retransmission but tail-loss probes), UDP to another port is delivered, and the XDP programs
//! take exactly the probes (their counters: redirected = probes, passed > 0). Needs root.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const TCP_BYTES: usize = 8 << 20;
const TCP_PORT: u16 = 5201;
const UDP_PORT: u16 = 9098;
const UDP_COUNT: u32 = 200;

/// The byte stream the client sends and the server checks: xorshift64, deterministic.
fn stream_byte(state: &mut u64) -> u8 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 24) as u8
}

/// Receives one connection in `netns` and counts the bytes that match the expected stream.
fn tcp_server(netns: String, ip: Ipv4Addr) -> std::thread::JoinHandle<(usize, usize)> {
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        let _ns = host::netns::enter(&netns).expect("enter B");
        let l = TcpListener::bind(SocketAddrV4::new(ip, TCP_PORT)).expect("listen");
        tx.send(()).expect("ready");
        let (mut s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let (mut got, mut good) = (0usize, 0usize);
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = s.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            for b in &buf[..n] {
                if *b == stream_byte(&mut state) {
                    good += 1;
                }
            }
            got += n;
        }
        (got, good)
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("server listening");
    h
}

fn tcp_client(netns: String, ip: Ipv4Addr) -> std::thread::JoinHandle<Duration> {
    std::thread::spawn(move || {
        let _ns = host::netns::enter(&netns).expect("enter A");
        let t0 = Instant::now();
        let mut s = TcpStream::connect(SocketAddrV4::new(ip, TCP_PORT)).expect("connect");
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let data: Vec<u8> = (0..TCP_BYTES).map(|_| stream_byte(&mut state)).collect();
        // in chunks, so that the transfer spans several milliseconds of probes
        for chunk in data.chunks(256 << 10) {
            s.write_all(chunk).expect("write");
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(s);
        t0.elapsed()
    })
}

/// Sends `UDP_COUNT` datagrams from A to B's `UDP_PORT` (not the probe port); returns how many
/// B received.
fn udp_other_port(a_ns: String, b_ns: String, a_ip: Ipv4Addr, b_ip: Ipv4Addr) -> u32 {
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let _ns = host::netns::enter(&b_ns).expect("enter B");
        let s = UdpSocket::bind(SocketAddrV4::new(b_ip, UDP_PORT)).expect("bind");
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .expect("timeout");
        tx.send(()).expect("ready");
        let mut n = 0;
        let mut buf = [0u8; 2048];
        while s.recv(&mut buf).is_ok() {
            n += 1;
        }
        n
    });
    rx.recv_timeout(Duration::from_secs(5)).expect("udp ready");
    let client = std::thread::spawn(move || {
        let _ns = host::netns::enter(&a_ns).expect("enter A");
        let s = UdpSocket::bind(SocketAddrV4::new(a_ip, 0)).expect("bind");
        for i in 0..UDP_COUNT {
            s.send_to(&i.to_be_bytes(), SocketAddrV4::new(b_ip, UDP_PORT))
                .expect("send");
            std::thread::sleep(Duration::from_micros(500));
        }
    });
    client.join().expect("udp client");
    server.join().expect("udp server")
}

/// RX and TX drops of `iface` in `netns` (`ip -s -j link`, the kernel's stats64).
fn link_drops(netns: &str, iface: &str) -> (u64, u64) {
    let out = Command::new("ip")
        .args(["-n", netns, "-s", "-j", "link", "show", "dev", iface])
        .output()
        .expect("ip -s link");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let st = &v[0]["stats64"];
    (
        st["rx"]["dropped"].as_u64().unwrap_or(u64::MAX),
        st["tx"]["dropped"].as_u64().unwrap_or(u64::MAX),
    )
}

/// A namespace's TCP counters (nstat, absolute, history untouched).
fn tcp_counters(netns: &str) -> serde_json::Value {
    let out = Command::new("ip")
        .args(["netns", "exec", netns, "nstat", "-asz", "-j"])
        .args(["TcpRetransSegs", "TcpExtTCPLossProbes", "TcpInSegs"])
        .output()
        .expect("nstat");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["kernel"].clone()
}

#[test]
fn icmp_tcp_and_udp_flow_untouched_while_xdplat_runs() {
    let Some(tb) = TestTestbed::new("safe", 1) else {
        return;
    };
    let (a, b) = (tb.ab().a.clone(), tb.ab().b.clone());
    let (a_ip, b_ip) = (a.ip().expect("A ip"), b.ip().expect("B ip"));
    let fwd = Command::new(env!("CARGO_BIN_EXE_xdplat"))
        .args([
            "fwd",
            "--netns",
            &b.netns,
            "--iface",
            &b.iface,
            "--duration",
            "60s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fwd");
    // ready once its program is attached
    let deadline = Instant::now() + Duration::from_secs(20);
    while !xdp_attached(&b.netns, &b.iface) {
        assert!(Instant::now() < deadline, "forwarder not ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = out_dir("safe");
    let tbr = &tb;
    let (xd, icmp, tcp, udp_got) = std::thread::scope(|s| {
        let xd = s.spawn(|| ping(tbr, &out, &["--count", "3000", "--interval", "1ms"]));
        // the probe flow is running when the others start
        let deadline = Instant::now() + Duration::from_secs(20);
        while !xdp_attached(&a.netns, &a.iface) {
            assert!(Instant::now() < deadline, "ping not started");
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(200));
        let server = tcp_server(b.netns.clone(), b_ip);
        let client = tcp_client(a.netns.clone(), b_ip);
        let icmp = Command::new("ip")
            .args([
                "netns", "exec", &a.netns, "ping", "-c", "20", "-i", "0.05", "-W", "1",
            ])
            .arg(b_ip.to_string())
            .output()
            .expect("run ping");
        let udp_got = udp_other_port(a.netns.clone(), b.netns.clone(), a_ip, b_ip);
        let took = client.join().expect("tcp client");
        let (got, good) = server.join().expect("tcp server");
        (
            xd.join().expect("xdplat ping"),
            icmp,
            (got, good, took),
            udp_got,
        )
    });
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(fwd.id() as i32),
        nix::sys::signal::SIGTERM,
    );
    let fwd_out = fwd.wait_with_output().expect("fwd output");
    let fwd_text = String::from_utf8_lossy(&fwd_out.stderr).into_owned();

    // ICMP: every echo answered
    let icmp_text = text(&icmp);
    assert!(icmp.status.success(), "ICMP failed: {icmp_text}");
    assert!(
        icmp_text.contains("20 received") && icmp_text.contains(" 0% packet loss"),
        "{icmp_text}"
    );
    // TCP: every byte, in order; no segment lost: the only retransmissions are tail-loss probes
    // (TLP, sent when the sender pauses between chunks, also without XDP) and no drop on the veth
    let (got, good, took) = tcp;
    assert_eq!((got, good), (TCP_BYTES, TCP_BYTES), "TCP stream damaged");
    for ns in [&a.netns, &b.netns] {
        let c = tcp_counters(ns);
        let n = |k: &str| c[k].as_u64().unwrap_or(u64::MAX);
        assert_eq!(n("TcpRetransSegs"), n("TcpExtTCPLossProbes"), "{ns}: {c}");
    }
    assert_eq!(link_drops(&a.netns, &a.iface), (0, 0), "A's veth dropped");
    assert_eq!(link_drops(&b.netns, &b.iface), (0, 0), "B's veth dropped");
    // UDP to another port: delivered to the kernel socket, not taken by XDP
    assert_eq!(udp_got, UDP_COUNT);
    // the probes themselves: none lost
    assert!(xd.status.success(), "{}", text(&xd));
    let s = summary(&out);
    assert_eq!(s.packets.lost, 0, "{}", text(&xd));

    // the XDP programs took the probes and only them
    let a_prog = &s.effective["xdp_program"];
    assert_eq!(a_prog["redirected"], s.packets.received, "{a_prog}");
    assert!(a_prog["passed"].as_u64().unwrap_or(0) > 0, "{a_prog}");
    let b_prog = stopped_counters(&fwd_text)
        .remove("xdp_program")
        .unwrap_or_else(|| panic!("no xdp_program: {fwd_text}"));
    assert_eq!(b_prog["redirected"], s.packets.sent, "{b_prog}");
    // B's program saw every TCP segment and UDP datagram from A and passed them
    let b_in = tcp_counters(&b.netns)["TcpInSegs"].as_u64().unwrap_or(0);
    let passed = b_prog["passed"].as_u64().unwrap_or(0);
    assert!(
        passed >= b_in + u64::from(UDP_COUNT),
        "{b_prog}, TcpInSegs {b_in}"
    );
    println!(
        "{TCP_BYTES} TCP bytes in {took:?}, {udp_got} UDP datagrams, 20 ICMP echoes; probes {} sent {} received; A program {a_prog}; B program {b_prog}",
        s.packets.sent, s.packets.received
    );
}
