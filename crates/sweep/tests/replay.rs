//! The replay testbed, the interleaved order and racing on real sweep directories: a planted
//! sweep is written through the results crate (real parquet and summaries), then replayed by
//! `sweep::run` without root, hosts or probes.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use sweep::synth::{Group, write_sweep};
use sweep::{Experiment, expand};

const AXES: &str = r#"
[probe]
interval = "1ms"
duration = "400ms"
repetitions = 2
baseline = false

[axes]
busy-poll = [false, true]
fwd.poll = [false, true]
ping.poll = [false, true]
need-wakeup = [false, true]
"#;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("xdplat-i15-replay-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Removes the directory even when the test fails.
struct Cleanup(PathBuf);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A planted source sweep of AXES: configurations 0..4 at 10 µs, 4..8 at 11 µs, 8..12 at
/// 20 µs, 12..16 at 40 µs.
fn source(dir: &Path) {
    let exp = Experiment::parse(AXES, "source.toml").expect("parses");
    let plan = expand(&exp).expect("expands");
    assert_eq!(plan.configs.len(), 16);
    let groups = [10_000.0, 11_000.0, 20_000.0, 40_000.0].map(Group::at);
    write_sweep(dir, &exp, &plan, &groups, |i| i / 4, 42).expect("planted sweep");
}

fn replay_file(base: &Path, from: &Path, extra: &str) -> PathBuf {
    let text = format!(
        "[testbed]\nkind = \"replay\"\nfrom = \"{}\"\nseed = 3\n{extra}\n{AXES}",
        from.display()
    );
    let f = base.join(format!("replay-{}.toml", extra.len()));
    std::fs::write(&f, text).expect("experiment file");
    f
}

fn opts(out: &Path) -> sweep::Options {
    sweep::Options {
        out: out.to_path_buf(),
        resume: false,
        json: true,
        local_bin: PathBuf::from("/nonexistent/xdplat"),
        state: host::StateDir::from_env(),
        order: None,
        seed: Some(9),
        strategy: None,
    }
}

fn medians(dir: &Path) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = std::fs::read_dir(dir.join("runs"))
        .expect("runs")
        .flatten()
        .filter_map(|e| {
            let s = results::read_summary(&e.path().join(results::SUMMARY_FILE)).ok()?;
            Some((
                e.file_name().to_string_lossy().into_owned(),
                s.rtt_ns?.median,
            ))
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn a_full_sweep_replays_deterministically_in_any_order() {
    let base = scratch("full");
    let _c = Cleanup(base.clone());
    std::fs::create_dir_all(&base).expect("base");
    let src = base.join("src");
    source(&src);
    let file = replay_file(&base, &src, "");
    let exp = Experiment::load(&file).expect("replay file parses");
    let stop = AtomicBool::new(false);
    let a = base.join("a");
    let out = sweep::run(&exp, &opts(&a), &stop).expect("replayed");
    assert_eq!((out.done, out.total, out.failed), (32, 32, 0));
    let mut o = opts(&base.join("b"));
    o.order = Some(sweep::experiment::Order::Sequential);
    sweep::run(&exp, &o, &stop).expect("replayed again");
    assert_eq!(
        medians(&a),
        medians(&base.join("b")),
        "same data in any order"
    );
    assert_eq!(medians(&a).len(), 32);
    // the seed and the order are recorded, and the index is in the order of the runs
    let text = std::fs::read_to_string(a.join("experiment.toml")).expect("experiment.toml");
    assert!(
        text.contains("# search: strategy full, order interleaved, seed 9"),
        "{text}"
    );
    let first = sweep::store::Store::recorded_search(&a).expect("recorded");
    assert_eq!(first.seed, Some(9));
    // the analysis reads a replayed sweep like a recorded one
    let ds = analysis::load_runs(&a).expect("analysis loads the replay");
    assert_eq!(ds.configs.len(), 16);
}

#[test]
fn a_source_that_lacks_a_configuration_is_refused_before_anything_runs() {
    let base = scratch("lacks");
    let _c = Cleanup(base.clone());
    std::fs::create_dir_all(&base).expect("base");
    let src = base.join("src");
    source(&src);
    let extra = AXES.replace(
        "need-wakeup = [false, true]",
        "need-wakeup = [false, true]\nframe-size = [2048, 4096]",
    );
    let text = format!(
        "[testbed]\nkind = \"replay\"\nfrom = \"{}\"\n{extra}",
        src.display()
    );
    let file = base.join("more.toml");
    std::fs::write(&file, text).expect("file");
    let exp = Experiment::load(&file).expect("parses");
    let out = base.join("out");
    let e = sweep::run(&exp, &opts(&out), &AtomicBool::new(false)).expect_err("refused");
    assert!(e.is_bad_input(), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("line 3: `from`"), "{msg}");
    assert!(msg.contains("has no completed run"), "{msg}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn bad_search_values_name_their_key_and_line() {
    for (extra, key) in [
        ("[search]\nstrategy = \"greedy\"", "`strategy`"),
        ("[search]\nbudget = \"0s\"", "`budget`"),
        ("[search]\norder = \"random\"", "`order`"),
        ("[search]\nslice = \"0ms\"", "`slice`"),
        ("[search]\nalpha = 1.5", "`alpha`"),
    ] {
        let text = format!("{extra}\n{AXES}");
        let e = Experiment::parse(&text, "t.toml").expect_err(extra);
        assert!(e.is_bad_input());
        let m = e.to_string();
        assert!(m.contains(key) && m.contains("line 2"), "{extra}: {m}");
    }
    let e = Experiment::parse(
        &format!("[testbed]\nkind = \"container\"\n{AXES}"),
        "t.toml",
    )
    .expect_err("kind");
    assert!(e.to_string().contains("line 2: `kind`"), "{e}");
}

#[test]
fn racing_eliminates_the_clearly_worse_and_keeps_the_best_group() {
    let base = scratch("race");
    let _c = Cleanup(base.clone());
    std::fs::create_dir_all(&base).expect("base");
    let src = base.join("src");
    source(&src);
    let file = replay_file(
        &base,
        &src,
        "[search]\nstrategy = \"race\"\nslice = \"50ms\"\nmin-rounds = 3\nmax-rounds = 10",
    );
    let exp = Experiment::load(&file).expect("parses");
    let out_dir = base.join("out");
    let out = sweep::run(&exp, &opts(&out_dir), &AtomicBool::new(false)).expect("raced");
    let race = sweep::race::read(&out_dir).expect("race.json");
    let plan = expand(&exp).expect("expands");
    let id = |i: usize| plan.configs[i].id.clone();
    for i in 0..4 {
        assert!(
            race.survivors.contains(&id(i)),
            "best group survives: {race:#?}"
        );
    }
    for i in 8..16 {
        assert!(
            !race.survivors.contains(&id(i)),
            "20/40 µs groups eliminated: {race:#?}"
        );
    }
    for e in &race.eliminated {
        assert!(e.p_holm < 0.05 && e.median_ns > e.best_median_ns, "{e:?}");
    }
    // survivors have their full repetitions, the eliminated none, and the index says why
    assert_eq!(out.total, race.survivors.len() * 2);
    assert_eq!(medians(&out_dir).len(), race.survivors.len() * 2);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("index.json")).expect("index"))
            .expect("json");
    let eliminated = index["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter(|r| r["status"] == "eliminated")
        .count();
    assert_eq!(eliminated, race.eliminated.len() * 2);
    // probe time: slices plus the survivors' full runs, well under the full sweep's 16 × 2 × 400 ms
    assert!(out.measured.as_secs_f64() < 16.0 * 2.0 * 0.4, "{out:?}");
}
