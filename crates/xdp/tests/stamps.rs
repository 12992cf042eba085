//! What this kernel gives XDP programs, and every stamp variant of the probe program on a real
//! veth: the probe of each helper answers (given, or refused with the verifier's reason), the
//! automatic choice loads, and each stamp the kernel allows loads when forced, while a forced
//! stamp the kernel refuses fails with the verifier's reason in one sentence.

mod common;

use common::{VethPair, root_or_skip};
use xdp::{ProbeProgram, ProbeProgramConfig, Stamp, Verdict, XdpMode};

fn config(pair: &VethPair, stamp: Option<Stamp>) -> ProbeProgramConfig {
    ProbeProgramConfig {
        ifindex: pair.ifindex_a(),
        mode: XdpMode::Drv,
        probe_port: 47_003,
        hw_rx_timestamp: false,
        stamp,
        probe_ports: 1,
    }
}

#[test]
fn every_helper_gets_an_answer_and_every_allowed_stamp_loads() {
    if !root_or_skip("stamps::every_helper_gets_an_answer_and_every_allowed_stamp_loads") {
        return;
    }
    let caps = xdp::caps::probe();
    for p in &caps.0 {
        println!("{} {:?}: {:?}", p.name, p.kind, p.verdict);
        assert!(
            !matches!(p.verdict, Verdict::Unknown { .. }),
            "as root every helper and kfunc gets an answer: {p:?}"
        );
    }
    for needed in [
        "bpf_ktime_get_ns",
        "bpf_map_lookup_elem",
        "bpf_redirect_map",
    ] {
        assert!(caps.verdict(needed).given(), "{needed}: {caps:?}");
    }
    let pair = VethPair::new();
    VethPair::enter(&pair.ns_a);
    let auto = ProbeProgram::attach(&config(&pair, None)).expect("the automatic choice loads");
    let chosen = auto.stamp().clone();
    println!("chosen: {chosen:?}");
    assert_eq!(
        chosen,
        xdp::choose(caps, None),
        "the probe's choice loaded as it is"
    );
    drop(auto);
    for stamp in [Stamp::Meta, Stamp::Head, Stamp::None] {
        let allowed = stamp.helper().is_none_or(|h| caps.verdict(h).given());
        match ProbeProgram::attach(&config(&pair, Some(stamp))) {
            Ok(p) => {
                assert!(allowed, "{stamp} loaded although its helper was refused");
                assert_eq!(p.stamp().stamp, stamp);
                assert_eq!(p.stamp().why, xdp::Why::Forced);
            }
            Err(e) => {
                assert!(!allowed, "{stamp} failed although allowed: {e}");
                let text = e.to_string();
                assert!(
                    text.contains("cannot use helper") && !text.contains('\n'),
                    "one sentence with the verifier's reason: {text}"
                );
                assert!(e.load_log().is_some_and(|l| !l.is_empty()), "{e:?}");
            }
        }
    }
}

/// A stamped probe to `port`, 88 bytes, as the pinger sends it.
fn probe_frame(port: u16) -> Vec<u8> {
    wire::sample_probe(port, 7)
}

/// A bound AF_XDP socket on A's veth (copy mode), for the program's map.
fn socket(pair: &VethPair) -> xsk::Socket {
    let umem = xsk::UmemConfig {
        frame_count: 64,
        fill_size: 64,
        completion_size: 64,
        ..Default::default()
    };
    let mut cfg = xsk::SocketConfig::new(pair.ifindex_a(), 0);
    cfg.rx_size = 64;
    cfg.tx_size = 64;
    xsk::Socket::new(&umem, &cfg).expect("AF_XDP socket (copy mode)")
}

#[test]
fn a_driver_refusing_metadata_at_run_time_gets_the_head_stamp() {
    let test = "stamps::a_driver_refusing_metadata_at_run_time_gets_the_head_stamp";
    if !root_or_skip(test) {
        return;
    }
    if !xdp::caps::probe().verdict("bpf_xdp_adjust_meta").given() {
        // the kernel refuses the metadata program at load: its run-time path cannot run here
        // (the kernel matrix runs this test on kernels that give it)
        host::test_support::skip(
            test,
            host::test_support::Missing::Machine(
                "a kernel that gives XDP programs bpf_xdp_adjust_meta",
            ),
        );
        return;
    }
    let pair = VethPair::new();
    VethPair::enter(&pair.ns_a);
    let sock = socket(&pair);
    let port = 47_004;
    let frame = probe_frame(port);
    let t = xdp::TestRun::load(Stamp::Meta, sock.ctl.fd(), port).expect("the metadata program");
    // with room: the stamp goes in the metadata area, the frame is untouched
    let o = t.run(&frame, 0).expect("a run");
    assert_eq!(o.action, xdp::XDP_REDIRECT);
    let c = t.counters().expect("counters");
    assert_eq!((c.meta_failed, c.head, c.unstamped), (0, 0, 0), "{c:?}");
    // metadata already there, more and more of it, until the program's adjust_meta fails at
    // run time, as drivers without metadata support make it fail (kernels up to 6.12 allow 32
    // bytes of metadata, so 16 already there leave no room for 24 more, while the head still
    // has its room); then the stamp must go to the head
    let mut before = c;
    for meta_in in (4..=192).step_by(4) {
        let o = match t.run(&frame, meta_in) {
            Ok(o) => o,
            // kernels before 5.13 take no xdp_md context in BPF_PROG_TEST_RUN
            Err(e) if e.errno() == Some(22) => {
                host::test_support::skip(
                    test,
                    host::test_support::Missing::Machine(
                        "a kernel whose BPF_PROG_TEST_RUN takes an XDP context (5.13)",
                    ),
                );
                return;
            }
            Err(e) => panic!("a run: {e}"),
        };
        assert_eq!(o.action, xdp::XDP_REDIRECT);
        let c = t.counters().expect("counters");
        if c.meta_failed == before.meta_failed {
            before = c;
            continue;
        }
        assert_eq!(
            (
                c.meta_failed - before.meta_failed,
                c.head - before.head,
                c.unstamped
            ),
            (1, 1, 0),
            "with {meta_in} bytes of metadata already there: {c:?}"
        );
        let at = o
            .data
            .windows(frame.len())
            .position(|w| w == frame.as_slice())
            .expect("the frame is unchanged behind the stamp");
        let head = &o.data[at - xdp::META_LEN..];
        let m = xdp::XdpMeta::from_head(head).expect("the head stamp, right in front of the frame");
        assert!(m.xdp_ns().is_some_and(|ns| ns > 0), "{m:?}");
        println!("adjust_meta failed with {meta_in} bytes of metadata there: stamped at the head");
        return;
    }
    // a kernel that allows more metadata than the headroom the head needs: no run-time refusal
    // can be made here without a driver that refuses metadata
    host::test_support::skip(
        test,
        host::test_support::Missing::Machine(
            "a kernel whose metadata limit (32 bytes up to 6.12) leaves the head room a refused adjust_meta does not",
        ),
    );
}

#[test]
fn the_head_stamp_leaves_the_frame_as_it_was() {
    if !root_or_skip("stamps::the_head_stamp_leaves_the_frame_as_it_was") {
        return;
    }
    if !xdp::caps::probe().verdict("bpf_xdp_adjust_head").given() {
        return;
    }
    let pair = VethPair::new();
    VethPair::enter(&pair.ns_a);
    let sock = socket(&pair);
    let port = 47_005;
    let frame = probe_frame(port);
    let t = xdp::TestRun::load(Stamp::Head, sock.ctl.fd(), port).expect("the head program");
    let o = t.run(&frame, 0).expect("a run");
    assert_eq!(o.action, xdp::XDP_REDIRECT);
    let m = xdp::XdpMeta::from_head(&o.data).expect("the head stamp");
    assert!(m.xdp_ns().is_some_and(|ns| ns > 0), "{m:?}");
    assert_eq!(&o.data[xdp::META_LEN..], frame.as_slice());
    assert_eq!(
        wire::parse_probe(&o.data[xdp::META_LEN..])
            .expect("a probe")
            .1
            .seq,
        7
    );
    let c = t.counters().expect("counters");
    assert_eq!((c.head, c.unstamped), (1, 0), "{c:?}");
    // a frame that is no probe passes untouched and unstamped
    let mut other = frame.clone();
    other[36] ^= 0xff; // the UDP destination port
    assert_eq!(t.run(&other, 0).expect("a run").action, 2, "XDP_PASS");
}
