//! `xdplat tune` on the VM testbed (QEMU, virtio-net, real drivers; under TCG the latencies are
//! emulation's, so only completeness is checked): a space of zero-copy and copy binds with busy
//! polling, with and without prefer, raced and run in full with no probe lost, the guest booted
//! and removed by the tune itself.

mod common;

use common::vm::can_run;
use common::{out_dir, xdplat};
use host::test_support::unique_name;

#[test]
fn vm_tune_races_zero_copy_and_busy_polling_with_no_probe_lost() {
    if !can_run("vm_tune_races_zero_copy_and_busy_polling_with_no_probe_lost") {
        return;
    }
    let name = unique_name("vtu");
    let dir = out_dir("vm-tune");
    std::fs::create_dir_all(&dir).unwrap();
    let file = common::sweeps::write(
        &dir,
        &format!(
            "[testbed]\nname = \"{name}\"\nkind = \"vm\"\n\n[probe]\ninterval = \"2ms\"\ncount = 200\n\
             repetitions = 1\nlinger = \"1s\"\nbaseline = false\n\n[search]\nslice = \"400ms\"\nmin-rounds = 2\n\n\
             [axes]\nbind = [\"copy\", \"zero-copy\"]\nbusy-poll = [false, true]\nprefer-busy-poll = [true, false]\n\n\
             [[exclude]]\nbusy-poll = false\nprefer-busy-poll = false\n"
        ),
    );
    let out = dir.join("tuned");
    let t = std::time::Instant::now();
    let o = xdplat()
        .arg("tune")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .args(["--budget", "12s", "--seed", "5"])
        .env("XDPLAT_STATE_DIR", dir.join("state"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let tuned: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("tune.json")).unwrap()).unwrap();
    assert_eq!(tuned["space_configs"], 6, "{tuned}");
    // every slice and every final run: complete, no probe lost
    let mut seen = std::collections::BTreeSet::new();
    let mut n = 0;
    for d in std::fs::read_dir(&out).unwrap().flatten() {
        let p = d.path();
        let runs = [p.join("race"), p.join("runs")];
        for r in runs
            .iter()
            .filter_map(|r| std::fs::read_dir(r).ok())
            .flatten()
            .flatten()
        {
            let Ok(text) = std::fs::read_to_string(r.path().join("summary.json")) else {
                continue;
            };
            let s: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(s["packets"]["lost"], 0, "{}: {s:#}", r.path().display());
            seen.insert(format!(
                "{} busy-poll={} prefer={}",
                s["effective"]["bind"], s["params"]["busy_poll"], s["params"]["prefer_busy_poll"]
            ));
            n += 1;
        }
    }
    assert!(n >= 6 + 2, "{n} runs");
    assert!(
        seen.iter()
            .any(|s| s.starts_with("\"zero-copy\" busy-poll=true prefer=true")),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|s| s.starts_with("\"zero-copy\" busy-poll=true prefer=false")),
        "{seen:?}"
    );
    assert!(
        host::testbed::status(&name).is_err(),
        "the tune removed its guest"
    );
    println!(
        "vm tune: {n} runs and slices, 0 lost, {:?}: {seen:?}",
        t.elapsed()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
