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
