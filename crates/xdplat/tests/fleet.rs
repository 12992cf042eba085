//! The Ansible collection in `ansible/` with ansible-core from PyPI (scripts/bench-setup.sh puts
//! it in target/bench-venv), against 3 pairs on this machine: each pair a namespace testbed,
//! each pair's driver reached over the real sshd of the ssh tests (inetd mode through
//! ProxyCommand). Pair 3's forwarder holds every probe 150 µs. Every role sleeps in poll(): the
//! pairs' sweeps run at once, and six spinning roles on this machine's CPUs would measure the
//! scheduler's time slices, not the pairs (in CI two healthy pairs differed by 208 µs so, and
//! the slow pair's shift landed in B's XDP-to-user stage). Every pair's sweep completes; the
//! slow pair is the outlier of `xdplat fleet`, in B's processing stage; a second playbook run
//! reruns nothing; a SIGKILL of one pair's sweep mid-run and a rerun leave exactly the planned
//! runs; the merged store reads in DuckDB with the pair a column.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::ssh::{SSHD, sshd_setup};
use common::sweeps::complete_runs;
use common::{TestTestbed, out_dir, xdplat};
use host::test_support::{Missing, skip};

fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-venv/bin")
}

fn experiment(name: &str, hold: bool) -> String {
    let roles = if hold {
        "[roles]\nping = \"a\"\nfwd = \"b\"\nfwd-hold = \"150us\"\n\n"
    } else {
        ""
    };
    format!(
        "[testbed]\nname = \"{name}\"\n\n{roles}[probe]\ninterval = \"1ms\"\ncount = 400\nrepetitions = 2\nlinger = \"50ms\"\nbaseline = false\nstamp = true\nsize = 88\n\n[axes]\npoll = [true]\nfwd.batch = [1, 16]\n"
    )
}

/// The inventory: pairs pair1..3 on this machine, over sshd.
fn inventory(dir: &Path, cfg: &Path, beds: &[TestTestbed]) -> PathBuf {
    let args = format!(
        "-F /dev/null -i {key} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ProxyCommand=\"{SSHD} -i -f {cfg}\"",
        key = dir.join("userkey").display(),
        cfg = cfg.display()
    );
    let mut hosts = String::new();
    for (i, tb) in beds.iter().enumerate() {
        let b = &tb.ab().b;
        hosts.push_str(&format!(
            "    pair{n}:\n      xdplat_experiment: {exp}\n      xdplat_doctor_args: \"--netns {ns} --iface {iface} --passive\"\n",
            n = i + 1,
            exp = dir.join(format!("pair{}.toml", i + 1)).display(),
            ns = b.netns,
            iface = b.iface
        ));
    }
    let text = format!(
        "xdplat_pairs:\n  hosts:\n{hosts}  vars:\n    ansible_host: localhost\n    ansible_user: root\n    ansible_python_interpreter: /usr/bin/python3\n    ansible_ssh_common_args: '{args}'\n    xdplat_binary: {bin}\n    xdplat_bin: {bin}\n    xdplat_workdir: \"{work}/{{{{ inventory_hostname }}}}\"\n    xdplat_fleet_dir: {fleet}\n    xdplat_env:\n      XDPLAT_STATE_DIR: {state}\n",
        bin = env!("CARGO_BIN_EXE_xdplat"),
        work = dir.join("hosts").display(),
        fleet = dir.join("fleet").display(),
        state = dir.join("state").display(),
    );
    let f = dir.join("inventory.yml");
    std::fs::write(&f, text).expect("inventory");
    f
}

/// Builds and installs the collection into `dir/collections` (as a user would).
fn install_collection(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ansible");
    let built = dir.join("built");
    let o = Command::new(venv().join("ansible-galaxy"))
        .args(["collection", "build", "--force", "--output-path"])
        .arg(&built)
        .arg(&src)
        .output()
        .expect("ansible-galaxy build");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tarball = std::fs::read_dir(&built)
        .expect("built")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "gz"))
        .expect("a collection tarball");
    let into = dir.join("collections");
    let o = Command::new(venv().join("ansible-galaxy"))
        .args(["collection", "install", "--force", "-p"])
        .arg(&into)
        .arg(&tarball)
        .output()
        .expect("ansible-galaxy install");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    into
}

fn playbook(dir: &Path, inv: &Path, collections: &Path, limit: Option<&str>) -> Command {
    let mut c = Command::new(venv().join("ansible-playbook"));
    c.arg("-i").arg(inv).arg("xdplat.fleet.fleet");
    if let Some(l) = limit {
        c.args(["--limit", l]);
    }
    c.env("ANSIBLE_COLLECTIONS_PATH", collections)
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env("ANSIBLE_LOCAL_TEMP", dir.join("ansible-tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env(
            "PATH",
            format!(
                "{}:{}",
                venv().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        );
    c
}

/// Every committed run directory of every pair, with its summary's modification time.
fn committed(dir: &Path) -> BTreeMap<String, SystemTime> {
    let mut m = BTreeMap::new();
    for p in 1..=3 {
        let sweep = dir.join("hosts").join(format!("pair{p}")).join("sweep");
        for r in complete_runs(&sweep) {
            let s = sweep.join("runs").join(&r).join("summary.json");
            if let Ok(t) = std::fs::metadata(&s).and_then(|m| m.modified()) {
                m.insert(format!("pair{p}/{r}"), t);
            }
        }
    }
    m
}

#[test]
fn ansible_runs_a_fleet_and_xdplat_fleet_names_the_slow_pair() {
    if !venv().join("ansible-playbook").is_file() {
        skip(
            "ansible_runs_a_fleet_and_xdplat_fleet_names_the_slow_pair",
            Missing::Tool("ansible-core (scripts/bench-setup.sh)"),
        );
        return;
    }
    let beds: Vec<TestTestbed> = ["fla", "flb", "flc"]
        .iter()
        .filter_map(|n| TestTestbed::new(n, 1))
        .collect();
    if beds.len() < 3 {
        return;
    }
    let dir = out_dir("fleet");
    let Some(cfg) = sshd_setup(&dir) else {
        return;
    };
    for (i, tb) in beds.iter().enumerate() {
        std::fs::write(
            dir.join(format!("pair{}.toml", i + 1)),
            experiment(tb.name(), i == 2),
        )
        .expect("experiment");
    }
    let inv = inventory(&dir, &cfg, &beds);
    let collections = install_collection(&dir);

    // first run: every pair's sweep completes (2 configurations × 2 repetitions)
    let t = Instant::now();
    let o = playbook(&dir, &inv, &collections, None)
        .output()
        .expect("playbook");
    let first = t.elapsed();
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{said}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let runs = committed(&dir);
    assert_eq!(runs.len(), 12, "{runs:?}");
    // quiet control: every run's summary says where the control ran, and that it was quiet
    for r in runs.keys() {
        let (pair, run) = r.split_once('/').expect("pair/run");
        let s = results::read_summary(
            &dir.join("hosts")
                .join(pair)
                .join("sweep/runs")
                .join(run)
                .join("summary.json"),
        )
        .expect("summary");
        let c = &s.extra["control"];
        assert_eq!(c["quiet"], true, "{r}: {c}");
        assert!(
            c["channels"]
                .as_array()
                .is_some_and(|ch| ch.iter().any(|x| x["what"]
                    .as_str()
                    .is_some_and(|w| w.contains("ssh session")))),
            "{r}: the sweep ran in Ansible's ssh session: {c}"
        );
    }
    for p in 1..=3 {
        assert!(
            dir.join("fleet")
                .join(format!("pair{p}/sweep/runs"))
                .is_dir()
        );
        assert!(
            dir.join("fleet")
                .join(format!("pair{p}/doctor.json"))
                .is_file()
        );
    }

    // the fleet: pair 3 is the outlier, in B's processing stage
    let report = dir.join("report");
    let o = xdplat()
        .arg("fleet")
        .arg(dir.join("fleet"))
        .arg("--out")
        .arg(&report)
        .arg("--json")
        .output()
        .expect("xdplat fleet");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f: serde_json::Value = serde_json::from_slice(&o.stdout).expect("fleet json");
    let rows = f["pairs"].as_array().expect("pairs");
    let outliers: Vec<&str> = rows
        .iter()
        .filter(|r| r["outlier"] == true)
        .filter_map(|r| r["pair"].as_str())
        .collect();
    assert_eq!(outliers, ["pair3"], "{f}");
    let why = rows[2]["explanation"].as_str().unwrap_or_default();
    assert!(why.contains("B's processing"), "{why}");
    assert!(report.join("fleet.html").is_file());
    println!("first playbook run: {first:?}; {why}");

    // the merged store in DuckDB, the pair a column
    let q = "select pair, count(*) as runs from 'fleet.parquet' group by pair order by pair";
    let o = Command::new(venv().join("python"))
        .arg("-c")
        .arg(format!(
            "import duckdb; print(duckdb.sql(\"{q}\").fetchall()); print(duckdb.sql(\"select count(distinct pair) from 'fleet_samples.parquet'\").fetchall())"
        ))
        .current_dir(&report)
        .output()
        .expect("duckdb");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("[('pair1', 4), ('pair2', 4), ('pair3', 4)]") && out.contains("[(3,)]"),
        "{out}"
    );

    // a second run reruns nothing
    let t = Instant::now();
    let o = playbook(&dir, &inv, &collections, None)
        .output()
        .expect("playbook");
    let second = t.elapsed();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(committed(&dir), runs, "no run redone");
    let said = String::from_utf8_lossy(&o.stdout);
    let sweep_task = said
        .split("TASK [xdplat.fleet.sweep : sweep]")
        .nth(1)
        .unwrap_or_default();
    let sweep_task = sweep_task.split("TASK [").next().unwrap_or_default();
    assert_eq!(sweep_task.matches("skipping: [pair").count(), 3, "{said}");

    // SIGKILL of pair 2's sweep mid-run, then a rerun: exactly the planned runs
    std::fs::remove_dir_all(dir.join("hosts/pair2/sweep")).expect("fresh pair2");
    let mut child = playbook(&dir, &inv, &collections, Some("pair2"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("playbook");
    let sweep2 = dir.join("hosts/pair2/sweep");
    let deadline = Instant::now() + Duration::from_secs(120);
    while complete_runs(&sweep2).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let killed = Command::new("pkill")
        .args(["-KILL", "-f"])
        .arg(format!(
            "sweep run {}",
            dir.join("hosts/pair2/experiment.toml").display()
        ))
        .status()
        .expect("pkill");
    assert!(killed.success(), "the sweep of pair2 was running");
    let _ = child.wait();
    let partial = complete_runs(&sweep2).len();
    let o = playbook(&dir, &inv, &collections, None)
        .output()
        .expect("rerun");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let after = committed(&dir);
    assert_eq!(after.len(), 12, "{after:?}");
    let mut ids: Vec<String> = complete_runs(&sweep2);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "pair2 killed after {partial} runs: {ids:?}");
    for (k, t) in &runs {
        if !k.starts_with("pair2/") {
            assert_eq!(after.get(k), Some(t), "{k} was not rerun");
        }
    }
    println!(
        "second (no-op) playbook run: {second:?}; pair2 killed after {partial} of 4 runs and resumed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
