//! The kernel matrix: every distribution kernel the VM cache holds (`XDPLAT_VM_KERNELS="5.10 6.1
//! 6.12"` scripts/setup-vm.sh fetches them from Debian; scripts/test.sh asks for them), each
//! booted with `testbed up --kind vm --kernel SERIES` and run through: copy-mode and zero-copy
//! ping <-> fwd with stamps, busy polling with and without SO_PREFER_BUSY_POLL (with a budget),
//! hardware timestamps, `doctor --json`, `host show --json` and the XDP crate's stamp tests
//! (the run-time refusal of bpf_xdp_adjust_meta runs on kernels that allow 32 bytes of
//! metadata). Each either works (no probe lost, every reply stamped at both XDP hooks) or is a
//! refusal naming the kernel's version: never a silent no-op. What each kernel gave is written
//! to `target/kernel-matrix/` (one JSON per kernel and `table.md`, which
//! scripts/kernel-matrix.sh puts in the README). A series the cache lacks because its fetch
//! failed is a counted skip with the reason. Under TCG these runs are about correctness only.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::vm::Down;
use common::xdplat;
use host::test_support::{Missing, require_root, skip, unique_name};
use serde_json::{Value, json};

/// The guest's part: each check prints one JSON line.
const GUEST: &str = r#"
X=$1; T=$2; STAMPS=$3; OUT=/tmp/km-$T
run() {
  name=$1; fargs=$2; pargs=$3
  timeout 90 $X fwd --netns $T-b --iface $T-ba --duration 80s $fargs > $OUT-f-$name.log 2>&1 &
  f=$!
  for i in $(seq 1 200); do
    grep -q '"xdplat":"ready"' $OUT-f-$name.log && break
    kill -0 $f 2>/dev/null || break
    sleep 0.1
  done
  timeout 90 $X ping --netns $T-a --iface $T-ab --dst-ip 10.77.1.2 --interval 1ms --count 200 \
    --size 88 --stamp-room --quiet $pargs --out $OUT-p-$name > $OUT-p-$name.log 2>&1
  rc=$?
  kill $f 2>/dev/null; wait $f 2>/dev/null
  python3 - "$name" "$rc" "$OUT-p-$name/summary.json" "$OUT-p-$name.log" "$OUT-f-$name.log" <<'PY'
import json, os, sys
name, rc, summary, plog, flog = sys.argv[1:]
s = json.load(open(summary)) if os.path.exists(summary) else None
errs = [l for f in (plog, flog) for l in open(f).read().splitlines() if "error:" in l]
print(json.dumps({"check": name, "rc": int(rc), "summary": s, "errors": errs}))
PY
}
run copy "--bind copy --stamp" "--bind copy"
run zero-copy "--bind zero-copy --stamp" "--bind zero-copy"
run busy-poll-prefer "--bind auto --stamp --busy-poll true --prefer-busy-poll true" "--bind auto --busy-poll true --prefer-busy-poll true"
run busy-poll "--bind auto --stamp --busy-poll true --prefer-busy-poll false --busy-poll-budget 16" "--bind auto --busy-poll true --prefer-busy-poll false --busy-poll-budget 16"
run hw-timestamps "--bind copy --stamp" "--bind copy --xdp-mode drv --hw-timestamps true"
one() { python3 -c 'import json,sys; print(json.dumps({"check": sys.argv[1], "report": json.load(sys.stdin)}))' "$1"; }
$X doctor --netns $T-a --iface $T-ab --json --passive 2>/dev/null | one doctor
$X host show --netns $T-a --iface $T-ab --json 2>/dev/null | one host-show
if [ -x "$STAMPS" ]; then
  out=$("$STAMPS" --test-threads 1 --nocapture 2>&1); rc=$?
  python3 -c 'import json,sys; print(json.dumps({"check":"stamps","rc":int(sys.argv[1]),"out":sys.argv[2][-3000:]}))' "$rc" "$out"
fi
"#;

/// The newest build of the XDP crate's stamp tests beside this test binary, if there is one
/// (`cargo test --workspace` builds it).
fn stamps_binary() -> Option<PathBuf> {
    let deps = std::env::current_exe().ok()?.parent()?.to_path_buf();
    std::fs::read_dir(deps)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with("stamps-") && !n.contains('.')
            })
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
}

fn checks(vm: &Value, name: &str) -> Vec<Value> {
    let mut c = Command::new("ssh");
    for o in vm["ssh_options"].as_array().expect("ssh_options") {
        c.arg(o.as_str().expect("option"));
    }
    let stamps = stamps_binary().map_or(String::new(), |p| p.display().to_string());
    let mut child = c
        .arg("--")
        .arg(vm["ssh_dest"].as_str().expect("dest"))
        .arg(format!(
            "sh -s {} {name} '{stamps}'",
            vm["xdplat"].as_str().expect("xdplat")
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("ssh");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(GUEST.as_bytes())
        .expect("the guest script");
    let out = child.wait_with_output().expect("guest checks");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Asserts a ping <-> fwd check: done with no probe lost and both XDP hooks' stamps on every
/// reply, or refused (exit 2) naming this kernel. Returns whether it ran.
fn ran_or_refused(c: &Value, release: &str) -> bool {
    let what = &c["check"];
    if c["rc"] == 0 {
        let s = &c["summary"];
        let received = s["packets"]["received"].as_u64().unwrap_or(0);
        assert_eq!(s["packets"]["lost"], 0, "{what} on {release}: {c:#}");
        assert!(received > 0, "{what} on {release}: {c:#}");
        for stage in ["a_xdp_to_user", "b_xdp_to_user"] {
            assert_eq!(
                s["stages"][stage]["count"].as_u64(),
                Some(received),
                "{what} on {release}: every reply has {stage}"
            );
        }
        return true;
    }
    assert_eq!(
        c["rc"], 2,
        "{what} on {release}: exit 0 or a refusal: {c:#}"
    );
    let errors = c["errors"].to_string();
    assert!(
        errors.contains(&format!("Linux {release}")) || errors.contains("device "),
        "{what} on {release}: a refusal names the kernel or the device: {errors}"
    );
    false
}

fn features(release: &str, checks: &[Value]) -> Value {
    let by = |name: &str| {
        checks
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("no {name} check on {release}: {checks:#?}"))
    };
    let mut ran = serde_json::Map::new();
    for name in [
        "copy",
        "zero-copy",
        "busy-poll-prefer",
        "busy-poll",
        "hw-timestamps",
    ] {
        ran.insert(name.into(), json!(ran_or_refused(by(name), release)));
    }
    assert_eq!(ran["copy"], true, "copy mode runs everywhere ({release})");
    let doctor = &by("doctor")["report"];
    let needs = doctor["bpf"]["needs"].as_array().expect("doctor's bpf");
    let refused: Vec<&str> = needs
        .iter()
        .filter(|n| n["verdict"] == "refused")
        .filter_map(|n| n["name"].as_str())
        .collect();
    let show = &by("host-show")["report"];
    let napi = |key: &str| {
        show["settings"]
            .as_array()
            .and_then(|s| s.iter().find(|r| r["key"] == key))
            .map(|r| r["status"] == "supported")
    };
    // the netdev family reports xsk-features from 6.8 on, with AF_XDP TX metadata
    let xsk_features = &doctor["interfaces"][0]["features"]["xsk_features"];
    let tx_metadata = !xsk_features.is_null();
    if let Some(s) = checks.iter().find(|c| c["check"] == "stamps") {
        assert_eq!(
            s["rc"], 0,
            "the XDP crate's stamp tests on {release}: {}",
            s["out"]
        );
    }
    json!({
        "release": release,
        "refused": refused,
        "stamp": doctor["bpf"]["stamp"],
        "zero_copy": ran["zero-copy"],
        "prefer_busy_poll": ran["busy-poll-prefer"],
        // SO_BUSY_POLL_BUDGET came with SO_PREFER_BUSY_POLL (5.11); a budget other than the
        // default is set only where busy polling ran
        "busy_poll_budget": ran["busy-poll"],
        "napi_set": {
            "defer-hard-irqs": napi("per-napi-defer-hard-irqs"),
            "gro-flush-timeout": napi("per-napi-gro-flush-timeout"),
            "irq-suspend-timeout": napi("per-napi-irq-suspend-timeout"),
        },
        "tx_metadata": tx_metadata,
        "rx_timestamp_kfunc": !refused.contains(&"bpf_xdp_metadata_rx_timestamp"),
        "runtime_meta_fallback_tested": checks.iter().any(|c| c["check"] == "stamps"
            && c["out"].as_str().is_some_and(|o| o.contains("adjust_meta failed with"))),
    })
}

fn yes(v: &Value) -> &'static str {
    match v.as_bool() {
        Some(true) => "yes",
        Some(false) => "no",
        None => "?",
    }
}

/// The README's table, one row per kernel.
fn table(rows: &[Value]) -> String {
    let mut t = String::from(
        "| kernel | BPF helpers / kfuncs refused | XDP stamp | virtio-net zero-copy | SO_PREFER_BUSY_POLL | SO_BUSY_POLL_BUDGET | napi-set: defer-hard-irqs, gro-flush-timeout, irq-suspend-timeout | XSK TX metadata | XDP RX-timestamp kfunc |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let refused: Vec<&str> = r["refused"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let n = &r["napi_set"];
        t.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {}, {}, {} | {} | {} |\n",
            r["release"].as_str().unwrap_or("?"),
            if refused.is_empty() {
                "none".to_string()
            } else {
                refused.join(", ")
            },
            r["stamp"].as_str().unwrap_or("?"),
            yes(&r["zero_copy"]),
            yes(&r["prefer_busy_poll"]),
            yes(&r["busy_poll_budget"]),
            yes(&n["defer-hard-irqs"]),
            yes(&n["gro-flush-timeout"]),
            yes(&n["irq-suspend-timeout"]),
            yes(&r["tx_metadata"]),
            yes(&r["rx_timestamp_kfunc"]),
        ));
    }
    t
}

fn out_dir() -> PathBuf {
    std::env::var_os("XDPLAT_KERNEL_MATRIX_OUT").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/kernel-matrix"),
        PathBuf::from,
    )
}

#[test]
fn vm_kernel_matrix() {
    let test = "vm_kernels::vm_kernel_matrix";
    if !require_root(test) {
        return;
    }
    if let Err(e) = host::vm::install::vng().and(host::vm::install::qemu_version().map(drop)) {
        println!("{test}: {e}");
        skip(
            test,
            Missing::Qemu("the VM testbed (scripts/setup.sh --with-vm)"),
        );
        return;
    }
    for (series, why) in host::vm::install::missing_series() {
        println!("{test}: Linux {series} could not be fetched: {why}");
        skip(
            test,
            Missing::Machine("a kernel of the matrix that could not be fetched"),
        );
    }
    let series = host::vm::install::cached_series();
    assert!(
        !series.is_empty(),
        "no kernel of the matrix in the cache: run scripts/setup-vm.sh"
    );
    let dir = out_dir();
    std::fs::create_dir_all(&dir).expect("the matrix's directory");
    let mut rows = Vec::new();
    for s in &series {
        let t0 = Instant::now();
        let name = unique_name("km");
        let _down = Down(name.clone());
        let o = xdplat()
            .args([
                "testbed", "up", "--kind", "vm", "--name", &name, "--kernel", s, "--json",
            ])
            .stdin(Stdio::null())
            .output()
            .expect("testbed up");
        assert!(
            o.status.success(),
            "testbed up --kernel {s}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let up: Value = serde_json::from_slice(&o.stdout).expect("testbed up --json");
        let vm = &up["vm"];
        let release = vm["kernel_release"]
            .as_str()
            .expect("kernel_release")
            .to_string();
        assert!(release.starts_with(s.as_str()), "{s} booted {release}");
        let c = checks(vm, &name);
        let row = features(&release, &c);
        println!("{release}: {row} ({:.0} s)", t0.elapsed().as_secs_f64());
        std::fs::write(dir.join(format!("{release}.json")), row.to_string()).expect("write");
        rows.push(row);
    }
    // this machine's own kernel, on veth: what its verifier gives (the VM columns need a NIC)
    let o = xdplat()
        .args(["doctor", "--json", "--passive"])
        .output()
        .expect("doctor");
    let d: Value = serde_json::from_slice(&o.stdout).expect("doctor --json");
    let refused: Vec<&str> = d["bpf"]["needs"]
        .as_array()
        .map(|n| {
            n.iter()
                .filter(|n| n["verdict"] == "refused")
                .filter_map(|n| n["name"].as_str())
                .collect()
        })
        .unwrap_or_default();
    rows.push(json!({
        "release": format!("{} (this host, veth)", d["kernel"]["release"].as_str().unwrap_or("?")),
        "refused": refused,
        "stamp": d["bpf"]["stamp"],
        "rx_timestamp_kfunc": !refused.contains(&"bpf_xdp_metadata_rx_timestamp"),
    }));
    std::fs::write(dir.join("table.md"), table(&rows)).expect("table.md");
    println!("{}", table(&rows));
}
