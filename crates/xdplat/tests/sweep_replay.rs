//! `xdplat sweep run` on the replay testbed (no root, no hosts): an interleaved and a raced
//! sweep SIGKILLed at random moments and resumed until done make exactly the planned runs, none
//! twice, with the first session's plan; a raced sweep's report renders and says which
//! configurations were eliminated; bad search values exit 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sweep::synth::{Group, write_sweep};

const AXES: &str = r#"
[probe]
interval = "1ms"
duration = "300ms"
repetitions = 2
baseline = false

[axes]
busy-poll = [false, true]
fwd.poll = [false, true]
ping.poll = [false, true]
need-wakeup = [false, true]
"#;

struct Scratch(PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("xdplat-i15-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch");
    Scratch(d)
}

/// A planted source sweep and a replay experiment file over it.
fn setup(base: &Path, search: &str) -> PathBuf {
    let src = base.join("src");
    let exp = sweep::Experiment::parse(AXES, "src.toml").expect("parses");
    let plan = sweep::expand(&exp).expect("expands");
    let groups = [10_000.0, 11_000.0, 25_000.0, 50_000.0].map(Group::at);
    write_sweep(&src, &exp, &plan, &groups, |i| i / 4, 1).expect("source");
    let f = base.join("replay.toml");
    let text = format!(
        "[testbed]\nkind = \"replay\"\nfrom = \"{}\"\nseed = 11\n{search}\n{AXES}",
        src.display()
    );
    std::fs::write(&f, text).expect("file");
    f
}

fn sweep_cmd(file: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xdplat"));
    c.args(["sweep", "run"])
        .arg(file)
        .arg("--out")
        .arg(out)
        .arg("--json")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Runs the sweep, SIGKILLing it after pseudo-random delays, resuming until it exits 0.
/// Returns how many sessions were killed.
fn kill_and_resume(file: &Path, out: &Path, first: &[&str], seed: u64) -> usize {
    let mut rng = sweep::schedule::SplitMix::new(seed);
    let mut killed = 0;
    for session in 0..60 {
        // later sessions ask for another plan: the first session's is kept
        let args: Vec<&str> = if session == 0 {
            first.to_vec()
        } else {
            vec!["--resume", "--seed", "6", "--order", "sequential"]
        };
        let mut child = sweep_cmd(file, out, &args).spawn().expect("spawn xdplat");
        let delay = Duration::from_millis(20 + rng.below(250));
        let t0 = Instant::now();
        loop {
            if let Some(st) = child.try_wait().expect("wait") {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                assert!(st.success(), "session {session}: {st}: {err}");
                return killed;
            }
            let started = session > 0 || out.join("experiment.toml").exists();
            if t0.elapsed() >= delay && started && session < 8 {
                child.kill().expect("SIGKILL");
                child.wait().expect("reap");
                killed += 1;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    panic!("the sweep never finished");
}

fn names(dir: &Path) -> Vec<String> {
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

fn index(out: &Path) -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("index.json")).expect("index"))
            .expect("json");
    v["runs"].as_array().expect("runs").clone()
}

#[test]
fn an_interleaved_sweep_killed_at_random_moments_makes_exactly_its_plan() {
    let s = scratch("interleaved");
    let file = setup(&s.0, "");
    let whole = s.0.join("whole");
    let st = sweep_cmd(&file, &whole, &["--seed", "5"])
        .status()
        .expect("run");
    assert!(st.success());
    let out = s.0.join("killed");
    let killed = kill_and_resume(&file, &out, &["--seed", "5"], 77);
    eprintln!("{killed} sessions killed");
    let planned: Vec<String> = index(&whole)
        .iter()
        .map(|r| r["run"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(planned.len(), 32);
    // the same plan, in the same (interleaved) order, every run done once
    let got = index(&out);
    assert_eq!(
        got.iter()
            .map(|r| r["run"].as_str().unwrap_or_default())
            .collect::<Vec<_>>(),
        planned
    );
    assert!(got.iter().all(|r| r["status"] == "done"), "{got:?}");
    let mut sorted = planned.clone();
    sorted.sort();
    assert_eq!(names(&out.join("runs")), sorted, "no partial or extra run");
    let reps: Vec<u64> = got.iter().map(|r| r["rep"].as_u64().unwrap_or(9)).collect();
    assert!(
        reps.windows(2).all(|w| w[0] <= w[1]),
        "repetition 0 of all first: {reps:?}"
    );
    let text = std::fs::read_to_string(out.join("experiment.toml")).expect("toml");
    assert!(text.contains("order interleaved, seed 5"), "{text}");
}

#[test]
fn a_raced_sweep_killed_at_random_moments_decides_as_an_uninterrupted_one() {
    let s = scratch("raced");
    let file = setup(
        &s.0,
        "[search]\nstrategy = \"race\"\nslice = \"40ms\"\nmin-rounds = 3\nmax-rounds = 8",
    );
    let whole = s.0.join("whole");
    let st = sweep_cmd(&file, &whole, &["--seed", "5"])
        .status()
        .expect("run");
    assert!(st.success());
    let out = s.0.join("killed");
    let killed = kill_and_resume(&file, &out, &["--seed", "5"], 91);
    eprintln!("{killed} sessions killed");
    let a = sweep::race::read(&whole).expect("race.json");
    let b = sweep::race::read(&out).expect("race.json");
    assert_eq!(a.eliminated, b.eliminated);
    assert_eq!(a.survivors, b.survivors);
    assert_eq!(a.rounds, b.rounds);
    assert!(
        !a.eliminated.is_empty() && !a.survivors.is_empty(),
        "{a:#?}"
    );
    assert_eq!(
        names(&whole.join("race")),
        names(&out.join("race")),
        "same slices, none twice"
    );
    assert_eq!(names(&whole.join("runs")), names(&out.join("runs")));
    assert_eq!(names(&out.join("runs")).len(), a.survivors.len() * 2);

    // the analysis and its report work on the raced sweep and name the eliminated
    let report = s.0.join("report");
    let st = Command::new(env!("CARGO_BIN_EXE_xdplat"))
        .args(["analyze"])
        .arg(&out)
        .arg("--out")
        .arg(&report)
        .stdout(Stdio::null())
        .status()
        .expect("analyze");
    assert!(st.success());
    let html = std::fs::read_to_string(report.join("report.html")).expect("report");
    assert!(
        html.contains("Raced sweep"),
        "the report says the sweep was raced"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("analysis.json")).expect("analysis"))
            .expect("json");
    let notes = json["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .filter(|c| {
            c["note"]
                .as_str()
                .is_some_and(|n| n.contains("eliminated in race round"))
        })
        .count();
    assert_eq!(notes, a.eliminated.len());
    assert_eq!(json["configs"].as_array().map(Vec::len), Some(16));
}

#[test]
fn bad_search_input_exits_2_with_the_key_and_line() {
    let s = scratch("badsearch");
    let file = setup(&s.0, "[search]\nbudget = \"0s\"");
    let o = sweep_cmd(&file, &s.0.join("out"), &[])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 6: `budget`"), "{err}");
    let two = s.0.join("two");
    std::fs::create_dir_all(&two).expect("dir");
    let file = setup(&two, "[search]\nstrategy = \"greedy\"");
    let o = sweep_cmd(&file, &s.0.join("out2"), &[])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`strategy`"));
}

/// The JSON lines of one session of `xdplat sweep run` that ends by itself.
fn session_events(file: &Path, out: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let o = sweep_cmd(file, out, extra)
        .stdout(Stdio::piped())
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The progress count never passes the plan's total, and the measuring fraction is a fraction.
fn figures_hold(events: &[serde_json::Value], what: &str) {
    let end = events
        .iter()
        .find(|e| e["event"] == "end")
        .unwrap_or_else(|| panic!("{what}: no end event"));
    let total = end["total"].as_u64().expect("total");
    for e in events.iter().filter(|e| e["event"] == "run") {
        let finished = ["done", "failed", "skipped"]
            .iter()
            .map(|k| e[*k].as_u64().unwrap_or(0))
            .sum::<u64>();
        assert!(finished <= total, "{what}: {finished} of {total} runs: {e}");
    }
    let f = end["measuring_fraction"]
        .as_f64()
        .expect("measuring_fraction");
    assert!(
        (0.0..=1.0).contains(&f),
        "{what}: measuring fraction {f}: {end}"
    );
    let (measured, wall) = (end["measured_s"].as_f64(), end["wall_s"].as_f64());
    assert!(
        measured <= wall,
        "{what}: {measured:?} s measured in {wall:?} s: {end}"
    );
}

#[test]
fn the_progress_count_and_the_measuring_fraction_are_bounded_in_every_kind_of_sweep() {
    let s = scratch("figures");
    let plain = setup(&s.0, "");
    figures_hold(
        &session_events(&plain, &s.0.join("plain"), &["--seed", "3"]),
        "replayed",
    );
    let r = scratch("figures-raced");
    let raced = setup(
        &r.0,
        "[search]\nstrategy = \"race\"\nslice = \"40ms\"\nmin-rounds = 3\nmax-rounds = 8",
    );
    let events = session_events(&raced, &s.0.join("raced"), &["--seed", "5"]);
    assert!(
        events.iter().any(|e| e["event"] == "slice"),
        "race slices are shown apart"
    );
    figures_hold(&events, "raced");
    // resumed: a session killed once, then the rest
    let out = s.0.join("resumed");
    let mut child = sweep_cmd(&plain, &out, &["--seed", "3"])
        .spawn()
        .expect("spawn");
    let t0 = Instant::now();
    while !out.join("index.json").exists() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(60));
    let _ = child.kill();
    let _ = child.wait();
    figures_hold(&session_events(&plain, &out, &["--resume"]), "resumed");
}
