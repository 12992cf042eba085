//! The sweep commands' bad-input cases (`sweep plan`, `sweep run`, `sweep load`): the experiment
//! file's values with key and line, and every configuration checked against what the roles
//! accept before the first run. Part of the suite of `tests/refusals.rs`.

use crate::refusal_cases::{Case, Class, Names, case, with_file};

/// An experiment on the fresh testbed `t` (never brought up by a refused sweep), with `probe`
/// lines in [probe] and `rest` after it.
pub fn experiment(t: &str, probe: &str, rest: &str) -> String {
    // the defaults that `probe` does not set itself (a key given twice is a TOML error)
    let given = |key: &str| probe.lines().any(|l| l.starts_with(&format!("{key} =")));
    let defaults: String = [
        ("interval", "\"1ms\""),
        ("count", "10"),
        ("repetitions", "1"),
        ("linger", "\"50ms\""),
    ]
    .iter()
    .filter(|(k, _)| !given(k))
    .map(|(k, v)| format!("{k} = {v}\n"))
    .collect();
    format!("[testbed]\nname = \"{t}\"\n\n[probe]\n{defaults}{probe}\n\n{rest}\n")
}

/// A file that looks like a finished sweep for `sweep load` (no runs: it must be refused
/// before it is ever analysed).
fn fake_sweep(t: &str) -> String {
    format!(
        "{}\n# --- as run ---\n# fake\n",
        experiment(t, "", "[axes]\nfwd.poll = [false, true]")
    )
}

pub fn sweep_cases(n: &Names) -> Vec<Case> {
    use Class::*;
    let mut v = Vec::new();
    let fresh = n.fresh.as_str();

    // ---- sweep plan / run: the file's values, and every configuration against the roles
    let plan = |class: Class, probe: &str, rest: &str, says: &[&str]| {
        with_file(
            case(class, &["sweep", "plan", "{DIR}/exp.toml"], 2, says),
            "exp.toml",
            &experiment(fresh, probe, rest),
        )
    };
    let twelve_axes: String = [
        "busy-poll-usecs",
        "busy-poll-budget",
        "frames",
        "ring-size",
        "batch",
        "cpu",
    ]
    .iter()
    .flat_map(|k| {
        ["ping", "fwd"].map(|r| {
            let vals: Vec<String> = (1..=10).map(|i| (i * 2).to_string()).collect();
            format!("{r}.{k} = [{}]\n", vals.join(", "))
        })
    })
    .collect();
    v.extend([
        plan(
            Resource,
            "repetitions = 4294967295",
            "[axes]\npoll = [true]",
            &["repetitions"],
        ),
        plan(
            Resource,
            "",
            &format!("[axes]\n{twelve_axes}"),
            &["1000000000000 combinations"],
        ),
        plan(
            Resource,
            "count = 50000000",
            "[axes]\npoll = [true]",
            &["--sample-every"],
        ),
        plan(
            Range,
            "port = 0",
            "[axes]\npoll = [true]",
            &["port", "line"],
        ),
        plan(
            Range,
            "count = 0",
            "[axes]\npoll = [true]",
            &["count", "line"],
        ),
        plan(
            Range,
            "sample-every = 0",
            "[axes]\npoll = [true]",
            &["sample-every"],
        ),
        plan(
            Range,
            "interval = \"2h\"",
            "[axes]\npoll = [true]",
            &["interval"],
        ),
        plan(Range, "", "[axes]\nbatch = [0, 1]", &["batch"]),
        plan(Range, "", "[axes]\nring-size = [0]", &["ring-size"]),
        plan(
            Refused,
            "",
            "[axes]\nring-size = [1000, 2048]",
            &["--ring-size", "line 12"],
        ),
        plan(
            Refused,
            "size = 10\nstamp = false",
            "[axes]\npoll = [true]",
            &["--size", "size"],
        ),
        plan(
            Refused,
            "",
            "[axes]\nbatch = [4096]\nring-size = [2048]",
            &["--batch"],
        ),
        plan(
            Refused,
            "",
            "[axes]\nfwd.batch = [2048]\nfwd.frames = [2048]",
            &["--frames"],
        ),
        plan(
            Duplicate,
            "",
            "[axes]\nfwd.poll = [true, true]",
            &["twice", "fwd.poll"],
        ),
        plan(
            Duplicate,
            "",
            "[axes]\ngro-flush-timeout = [200000, \"200000\"]",
            &["twice"],
        ),
        plan(
            Duplicate,
            "",
            "[axes]\npoll = [true]\nfwd.poll = [false]",
            &["both set", "poll"],
        ),
        plan(
            Duplicate,
            "",
            "[axes]\ngro-flush-timeout = [1]\nb.gro-flush-timeout = [2]",
            &["both set"],
        ),
    ]);
    let hosts = |extra: &str| {
        format!(
            "[hosts.a]\nnetns = \"{fresh}-a\"\n{extra}\n[hosts.b]\nnetns = \"{fresh}-b\"\n\n[roles]\nping = \"a\"\nfwd = \"b\"\n\n[probe]\ncount = 10\n\n[axes]\npoll = [true]\n"
        )
    };
    v.push(with_file(
        case(
            Conflict,
            &["sweep", "plan", "{DIR}/exp.toml"],
            2,
            &["netns and ssh"],
        ),
        "exp.toml",
        &hosts("ssh = \"root@example\""),
    ));
    v.push(with_file(
        case(
            Missing,
            &["sweep", "plan", "{DIR}/exp.toml"],
            2,
            &["netns", ".."],
        ),
        "exp.toml",
        &hosts("").replace(&format!("\"{fresh}-a\""), "\"..\""),
    ));
    v.push(case(
        Path,
        &["sweep", "plan", "{DIR}/missing.toml"],
        2,
        &["missing.toml"],
    ));
    v.push(with_file(
        case(Syntax, &["sweep", "plan", "{DIR}/exp.toml"], 2, &["line 2"]),
        "exp.toml",
        "[probe]\ncount = \"many\"\n",
    ));
    // run: refused before the testbed, the lease or --out exist
    let run_file = |class: Class, probe: &str, rest: &str, out: &str, says: &[&str]| {
        with_file(
            case(
                class,
                &["sweep", "run", "{DIR}/exp.toml", "--out", out],
                2,
                says,
            ),
            "exp.toml",
            &experiment(fresh, probe, rest),
        )
    };
    v.extend([
        run_file(
            Refused,
            "",
            "[axes]\nring-size = [1000, 3000]",
            "{DIR}/out",
            &["refused", "--ring-size"],
        ),
        run_file(
            Resource,
            "repetitions = 4294967295",
            "[axes]\npoll = [true]",
            "{DIR}/out",
            &["repetitions"],
        ),
        run_file(
            Range,
            "port = 0",
            "[axes]\npoll = [true]",
            "{DIR}/out",
            &["port"],
        ),
        run_file(
            Path,
            "",
            "[axes]\npoll = [true]",
            "/proc/xdplat-sweep",
            &["--out", "procfs"],
        ),
        run_file(
            Duplicate,
            "",
            "[axes]\nfwd.poll = [true, true]",
            "{DIR}/out",
            &["twice"],
        ),
    ]);
    v.push(with_file(
        run_file(
            Path,
            "",
            "[axes]\npoll = [true]",
            "{DIR}/file",
            &["--out", "not a directory"],
        ),
        "file",
        "x",
    ));
    v.push(with_file(
        run_file(
            Path,
            "",
            "[axes]\npoll = [true]",
            "{DIR}/other",
            &["not a sweep directory"],
        ),
        "other/something",
        "x",
    ));
    // load: the options and the directory, before the analysis is written
    let load = |class: Class, extra: &[&str], says: &[&str]| {
        let mut a = vec!["sweep", "load", "{DIR}/sweep"];
        a.extend(extra);
        with_file(
            case(class, &a, 2, says),
            "sweep/experiment.toml",
            &fake_sweep(fresh),
        )
    };
    v.extend([
        load(Order, &["--count", "0"], &["--count"]),
        load(Order, &["--per-cluster", "0"], &["--per-cluster"]),
        load(Order, &["--sample-every", "0"], &["--sample-every"]),
        load(Range, &["--high-interval", "0s"], &["--high-interval"]),
        load(
            Resource,
            &["--count", "100000000000", "--sample-every", "1"],
            &["--sample-every"],
        ),
        load(Path, &["--analysis", "{DIR}/none.json"], &["--analysis"]),
        load(Message, &["--count", "-3"], &["--count"]),
    ]);
    v.push(case(
        Path,
        &["sweep", "load", "{DIR}/nosweep"],
        2,
        &["not a sweep directory"],
    ));
    v
}
