//! Racing's accuracy and cost, measured on replays (a benchmark, not a timed test):
//!
//! (a) a completed sweep given in `XDPLAT_RACE_FROM=DIR` (e.g. `examples/quick.toml` run on the
//!     namespace testbed); skipped, and said so, when unset;
//! (b) a synthetic paper-sized sweep: 240 configurations in 7 planted groups of heavy-tailed
//!     runs, 3 repetitions of 30 s (probes every 10 ms).
//!
//! For each: the full sweep's analysis (robust default) gives cluster 0 and each cluster's
//! median; a raced replay of the same plan then prints the fraction of cluster 0's
//! configurations that survive (target >= 90 %), the survivors from a cluster whose median is
//! more than 20 % above cluster 0's (target none), and the race's probe time against the full
//! sweep's (target <= 20 %). Run: `cargo bench -p sweep --bench race`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde_json::{Map, Value};
use sweep::synth::{Group, write_sweep};

const SYNTH_AXES: &str = r#"
[probe]
interval = "10ms"
duration = "30s"
repetitions = 3
baseline = false

[axes]
busy-poll = [false, true]
fwd.poll = [false, true]
ping.poll = [false, true]
need-wakeup = [false, true]
ring-size = [512, 1024, 2048]
busy-poll-budget = [8, 16, 32, 64, 128]
"#;

const RACE: &str = "strategy = \"race\"\nslice = \"1s\"\nmin-rounds = 4\nmax-rounds = 12\nseed = 1";

/// The params of a run as the analysis keys a configuration.
fn params_of(run: &Path) -> Option<Map<String, Value>> {
    let s = results::read_summary(&run.join(results::SUMMARY_FILE)).ok()?;
    let mut p = s.params;
    for k in ["repetition", "rep", "run_id"] {
        p.remove(k);
    }
    Some(p)
}

/// The sweep configuration id of each analysis configuration id of `src`.
fn sweep_ids(src: &Path, a: &analysis::Analysis) -> BTreeMap<String, String> {
    let mut by_params: BTreeMap<String, String> = BTreeMap::new();
    for e in std::fs::read_dir(src.join("runs")).expect("runs").flatten() {
        let Ok(s) = results::read_summary(&e.path().join(results::SUMMARY_FILE)) else {
            continue;
        };
        if let (Some(sw), Some(p)) = (s.sweep(), params_of(&e.path())) {
            by_params.insert(serde_json::to_string(&p).expect("json"), sw.config);
        }
    }
    a.configs
        .iter()
        .filter_map(|c| {
            let key = serde_json::to_string(&c.params).expect("json");
            Some((c.id.clone(), by_params.get(&key)?.clone()))
        })
        .collect()
}

/// A replay experiment over `src` with the source's own plan text and `[search]` = `search`.
fn replay_text(src_text: &str, src: &Path, search: &str) -> String {
    let mut t: toml::Table = toml::from_str(src_text).expect("source experiment parses");
    t.remove("testbed");
    t.remove("search");
    let head = format!(
        "[testbed]\nkind = \"replay\"\nfrom = \"{}\"\nseed = 7\n\n[search]\n{search}\n\n",
        src.display()
    );
    head + &toml::to_string(&t).expect("toml")
}

fn measure(name: &str, src: &Path, work: &Path) {
    let src_text = std::fs::read_to_string(src.join("experiment.toml")).expect("experiment.toml");
    let src_text = src_text
        .split("\n# --- as run ---\n")
        .next()
        .unwrap_or_default();
    let ds = analysis::load_runs(src).expect("source loads");
    let a = analysis::analyze(&ds, &analysis::Options::default()).expect("analysis");
    let ids = sweep_ids(src, &a);
    let c0 = &a.clusters[0];
    let cluster_of: BTreeMap<&String, &analysis::ClusterOut> = a
        .clusters
        .iter()
        .flat_map(|c| c.configs.iter().map(move |id| (id, c)))
        .collect();
    let file = work.join(format!("{name}-race.toml"));
    std::fs::write(&file, replay_text(src_text, src, RACE)).expect("file");
    let exp = sweep::Experiment::load(&file).expect("replay experiment");
    let plan = sweep::expand(&exp).expect("expands");
    let full_probe = plan.measure_per_run.as_secs_f64() * plan.runs.len() as f64;
    let out = work.join(format!("{name}-raced"));
    let _ = std::fs::remove_dir_all(&out);
    let opts = sweep::Options {
        out: out.clone(),
        resume: false,
        json: true,
        local_bin: PathBuf::from("/nonexistent"),
        state: host::StateDir::from_env(),
        order: None,
        seed: None,
        strategy: None,
    };
    let t0 = std::time::Instant::now();
    let o = sweep::run(&exp, &opts, &AtomicBool::new(false)).expect("raced replay");
    let wall = t0.elapsed();
    let race = sweep::race::read(&out).expect("race.json");
    let survivors: Vec<&String> = race.survivors.iter().collect();
    let c0_ids: Vec<&String> = c0.configs.iter().filter_map(|c| ids.get(c)).collect();
    let kept = c0_ids.iter().filter(|c| survivors.contains(c)).count();
    let far: Vec<String> = a
        .configs
        .iter()
        .filter(|c| ids.get(&c.id).is_some_and(|s| survivors.contains(&s)))
        .filter_map(|c| {
            let cl = cluster_of.get(&c.id)?;
            (cl.median_ns > 1.2 * c0.median_ns).then(|| {
                format!(
                    "{} (cluster {}, median {:.1} µs)",
                    c.id,
                    cl.id,
                    cl.median_ns / 1e3
                )
            })
        })
        .collect();
    println!(
        "race/{name}: {} configurations, full-sweep analysis k = {}, cluster 0 = {} configurations (median {:.1} µs)",
        plan.configs.len(),
        a.k,
        c0_ids.len(),
        c0.median_ns / 1e3
    );
    println!(
        "race/{name}: cluster 0 kept {kept}/{} = {:.1} % (target >= 90 %); survivors {}; survivors from a cluster > 20 % above cluster 0: {} (target 0){}",
        c0_ids.len(),
        100.0 * kept as f64 / c0_ids.len().max(1) as f64,
        survivors.len(),
        far.len(),
        if far.is_empty() {
            String::new()
        } else {
            format!(": {}", far.join(", "))
        }
    );
    println!(
        "race/{name}: probe time {:.0} s of the full sweep's {:.0} s = {:.1} % (target <= 20 %); {} rounds, stopped: {}; replay wall time {:.1} s",
        o.measured.as_secs_f64(),
        full_probe,
        100.0 * o.measured.as_secs_f64() / full_probe,
        race.rounds.len(),
        race.stopped,
        wall.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&out);
}

fn main() {
    let work = std::env::temp_dir().join(format!("xdplat-race-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work dir");
    match std::env::var_os("XDPLAT_RACE_FROM") {
        Some(d) => measure("recorded", Path::new(&d), &work),
        None => println!(
            "race/recorded: skipped: set XDPLAT_RACE_FROM to a completed sweep (e.g. one of examples/quick.toml)"
        ),
    }
    let src = work.join("synthetic");
    let exp = sweep::Experiment::parse(SYNTH_AXES, "synthetic.toml").expect("parses");
    let plan = sweep::expand(&exp).expect("expands");
    assert_eq!(plan.configs.len(), 240);
    // 7 planted groups, the best 10 % of the configurations, each group's median 25 % to 7x
    // above the best's; membership scattered over the plan (a seeded permutation)
    let groups = [
        10_000.0, 12_500.0, 16_000.0, 22_000.0, 30_000.0, 45_000.0, 70_000.0,
    ]
    .map(Group::at);
    let sizes = [24, 30, 34, 36, 36, 38, 42];
    let mut slots: Vec<usize> = sizes
        .iter()
        .enumerate()
        .flat_map(|(g, n)| std::iter::repeat_n(g, *n))
        .collect();
    sweep::schedule::SplitMix::new(2026).shuffle(&mut slots);
    let t0 = std::time::Instant::now();
    write_sweep(&src, &exp, &plan, &groups, |i| slots[i], 3).expect("synthetic sweep");
    println!(
        "race/synthetic: planted sweep written in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    measure("synthetic", &src, &work);
    let _ = std::fs::remove_dir_all(&work);
}
