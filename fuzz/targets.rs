//! The fuzz target bodies, shared by cargo-fuzz (`fuzz_targets/*.rs`, nightly, coverage-guided)
//! and by the stable smoke test `crates/xdplat/tests/fuzz_smoke.rs` (seeds, regressions and
//! seeded random mutations). Each body must never panic on any input; where a function's
//! contract promises more (a parsed probe reflects and re-parses to the reflected flow, a
//! refused packet is left untouched, emit then parse is the identity), the body asserts it.

#![allow(dead_code, reason = "each binary uses one target")]

use std::io::Write;

const STAMPS: wire::FwdStamps = wire::FwdStamps {
    xdp_ns: 0x0102_0304_0506_0708,
    rx_ns: 0x1112_1314_1516_1718,
    tx_ns: 0x2122_2324_2526_2728,
};

/// The probe parser and the in-place rewrites a forwarder and a sender apply to received bytes.
pub fn probe_packet(data: &[u8]) {
    let parsed = wire::parse_probe(data);
    for swap_l3 in [false, true] {
        let mut buf = data.to_vec();
        match wire::reflect_in_place(&mut buf, swap_l3) {
            Ok(()) => {
                if let Ok((flow, probe)) = parsed {
                    let again = wire::parse_probe(&buf).expect("a reflected probe parses");
                    assert_eq!(again, (flow.reflected(swap_l3), probe));
                }
            }
            Err(_) => {
                assert!(parsed.is_err(), "a valid probe could not be reflected");
                assert_eq!(buf, data, "reflect_in_place changed a packet it refused");
            }
        }
    }
    let mut buf = data.to_vec();
    match wire::stamp_forwarder(&mut buf, &STAMPS) {
        Ok(true) => {
            if let Ok((flow, probe)) = parsed {
                let (f2, p2) = wire::parse_probe(&buf).expect("a stamped probe parses");
                assert_eq!(f2, flow);
                assert_eq!(p2.stamps, Some(STAMPS));
                assert_eq!(
                    (p2.run_id, p2.seq, p2.tx_ns),
                    (probe.run_id, probe.seq, probe.tx_ns)
                );
            }
        }
        Ok(false) | Err(_) => assert_eq!(
            buf, data,
            "stamp_forwarder changed a packet it did not stamp"
        ),
    }
    let mut buf = data.to_vec();
    let (seq, tx_ns) = (
        data.len() as u64 * 0x9e37_79b9,
        u64::MAX - data.len() as u64,
    );
    match wire::update_probe(&mut buf, seq, tx_ns) {
        Ok(()) => {
            if let Ok((flow, probe)) = parsed {
                let (f2, p2) = wire::parse_probe(&buf).expect("an updated probe parses");
                assert_eq!(f2, flow);
                assert_eq!((p2.seq, p2.tx_ns, p2.run_id), (seq, tx_ns, probe.run_id));
            }
        }
        Err(_) => assert_eq!(buf, data, "update_probe changed a packet it refused"),
    }
}

fn take<const N: usize>(data: &mut &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = N.min(data.len());
    out[..n].copy_from_slice(&data[..n]);
    *data = &data[n..];
    out
}

/// emit_probe of any flow and probe, then parse_probe: the same flow and probe come back.
pub fn emit_roundtrip(mut data: &[u8]) {
    let d = &mut data;
    let flow = wire::FlowRepr {
        src_mac: wire::MacAddr(take(d)),
        dst_mac: wire::MacAddr(take(d)),
        src_ip: take::<4>(d).into(),
        dst_ip: take::<4>(d).into(),
        src_port: u16::from_be_bytes(take(d)),
        dst_port: u16::from_be_bytes(take(d)),
    };
    let [mode] = take::<1>(d);
    let stamps = match mode % 3 {
        0 => None,
        1 => Some(wire::FwdStamps::default()),
        _ => Some(wire::FwdStamps {
            xdp_ns: u64::from_be_bytes(take(d)),
            rx_ns: u64::from_be_bytes(take(d)),
            tx_ns: u64::from_be_bytes(take(d)),
        }),
    };
    let probe = wire::ProbeRepr {
        run_id: u16::from_be_bytes(take(d)),
        seq: u64::from_be_bytes(take(d)),
        tx_ns: u64::from_be_bytes(take(d)),
        stamps,
        fwd_queue: None,
    };
    let size = usize::from(u16::from_be_bytes(take(d))) % (wire::MAX_PROBE_SIZE + 64);
    let mut buf = vec![0xa5u8; size];
    if wire::emit_probe(&mut buf, &flow, &probe).is_ok() {
        assert_eq!(
            wire::parse_probe(&buf).expect("an emitted probe parses"),
            (flow, probe)
        );
        // a forwarder's rewrites keep it a valid probe
        probe_packet(&buf);
    }
}

/// The experiment file parser (`xdplat sweep plan|run FILE`), and the expansion of small plans.
pub fn experiment(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(exp) = sweep::Experiment::parse(text, "fuzz.toml")
        && exp.count(1) <= 10_000
        && let Ok(plan) = sweep::expand(&exp)
    {
        // what `sweep plan` and `sweep run` check of every configuration
        let refusals = sweep::check::configs(&exp, &plan);
        let _ = sweep::check::refuse(&exp, &refusals);
    }
}

fn table(data: &[u8], ext: &str) {
    let path = std::env::temp_dir().join(format!(
        "xdplat-fuzz-{}-{:?}.{ext}",
        std::process::id(),
        std::thread::current().id()
    ));
    {
        let Ok(mut f) = std::fs::File::create(&path) else {
            return;
        };
        if f.write_all(data).is_err() {
            return;
        }
    }
    match analysis::load_table(&path) {
        Ok(ds) => {
            for c in &ds.configs {
                assert!(!c.runs.is_empty(), "a configuration without runs");
            }
        }
        // a panic of the Parquet reader, turned into an error by the loader: keep the input
        // when asked (XDPLAT_FUZZ_CAUGHT_DIR), as a regression candidate
        Err(e) if e.to_string().contains("the Parquet reader failed") => {
            if let Some(dir) = std::env::var_os("XDPLAT_FUZZ_CAUGHT_DIR") {
                let _ = std::fs::create_dir_all(&dir);
                let _ = std::fs::write(
                    std::path::Path::new(&dir).join(format!("caught-{}", data.len())),
                    data,
                );
            }
        }
        Err(_) => {}
    }
    let _ = std::fs::remove_file(&path);
}

/// `xdplat analyze --table FILE.csv`.
pub fn table_csv(data: &[u8]) {
    table(data, "csv");
}

/// `xdplat analyze --table FILE.parquet`.
pub fn table_parquet(data: &[u8]) {
    table(data, "parquet");
}
