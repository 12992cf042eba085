//! A kernel that refuses the XDP program's helper, as a user meets it: on a kernel that refuses
//! `bpf_xdp_adjust_meta`, a sweep forced to the metadata stamp (`XDPLAT_XDP_STAMP=meta`, what
//! xdplat did before it probed). Every AF_XDP run fails for one cause: the
//! sweep says it once, grouped ("2 runs failed: ... cannot use helper bpf_xdp_adjust_meta"),
//! keeps the verifier's log in `OUT/failed/RUN/verifier.log` instead of printing it, and exits
//! 3; the same sweep left to choose its stamp completes every run with the XDP stages measured.

mod common;

use common::sweeps::*;
use common::{TestTestbed, out_dir};

#[test]
fn a_refused_helper_is_one_cause_with_its_log_in_a_file_and_exit_3() {
    let test = "kernel_refusal::a_refused_helper_is_one_cause_with_its_log_in_a_file_and_exit_3";
    let Some(tb) = TestTestbed::new("krf", 1) else {
        return;
    };
    if xdp::caps::probe().verdict("bpf_xdp_adjust_meta").given() {
        // forcing metadata loads here: the refusal can only be met on a kernel that refuses it
        host::test_support::skip(
            test,
            host::test_support::Missing::Machine("a kernel that refuses bpf_xdp_adjust_meta"),
        );
        return;
    }
    let dir = out_dir("kernel-refusal");
    let state = dir.join("state");
    let file = write(
        &dir,
        &small(tb.name(), 1, "").replace("[axes]", "baseline = false\n\n[axes]"),
    );
    let out = dir.join("forced");
    let o = sweep_cmd(&file, &out, &state)
        .env(xdp::STAMP_ENV, "meta")
        .output()
        .expect("sweep");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stdout}\n{stderr}");
    let grouped: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("  ") && l.contains("runs failed: "))
        .collect();
    assert_eq!(grouped.len(), 1, "one cause, said once: {stdout}");
    assert!(
        grouped[0].starts_with("  2 runs failed: ")
            && grouped[0].contains("cannot use helper bpf_xdp_adjust_meta"),
        "{stdout}"
    );
    let all = format!("{stdout}{stderr}");
    assert!(
        !all.contains("BEGIN PROG LOAD LOG") && !all.contains("libbpf: "),
        "the verifier's log stays off the terminal: {all}"
    );
    let failed = std::fs::read_dir(out.join("failed"))
        .expect("OUT/failed")
        .map(|e| e.expect("entry").path())
        .collect::<Vec<_>>();
    assert_eq!(failed.len(), 2, "{failed:?}");
    for run in failed {
        let log = std::fs::read_to_string(run.join("verifier.log")).expect("verifier.log");
        assert!(
            log.contains("cannot use helper bpf_xdp_adjust_meta"),
            "{log}"
        );
    }
    // left to choose, the same sweep stamps at the head of the frame and completes
    let out = dir.join("auto");
    let o = sweep_cmd(&file, &out, &state).output().expect("sweep");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}");
    let runs = complete_runs(&out);
    assert_eq!(runs.len(), 2, "{stdout}");
    for r in runs {
        let s = common::summary(&out.join("runs").join(&r));
        assert_eq!(s.effective["xdp_stamp"], "head", "{r}");
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("refuses bpf_xdp_adjust_meta at load")),
            "{:?}",
            s.warnings
        );
        let got = s.stages["a_xdp_to_user"]["count"].as_u64().unwrap_or(0);
        assert_eq!(got, s.packets.received, "every reply has A's XDP stamp");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
