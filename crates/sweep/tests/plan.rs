//! Experiment files and their expansion: the product, exclude and include rules, the baseline,
//! stable ids, and errors that name the key and its line.

use sweep::{Experiment, expand};

fn parse(text: &str) -> Experiment {
    Experiment::parse(text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> String {
    let e = Experiment::parse(text, "test.toml").expect_err("should be refused");
    assert!(e.is_bad_input(), "{e}");
    e.to_string()
}

const BASE: &str = r#"
[probe]
interval = "1ms"
duration = "1s"
repetitions = 2
baseline = false
"#;

#[test]
fn product_exclude_include() {
    let text = format!(
        r#"{BASE}
[axes]
busy-poll = [false, true]
busy-poll-usecs = [20, 50]
fwd.poll = [false, true]

[[exclude]]
busy-poll = false
busy-poll-usecs = [50]
why = "busy-poll settings without busy polling"

[[include]]
busy-poll = false
busy-poll-usecs = 50
fwd.poll = true
"#
    );
    let exp = parse(&text);
    let plan = expand(&exp).expect("expands");
    // 8 combinations, 2 excluded (busy-poll off with 50 us), 1 of them included back
    assert_eq!(plan.excluded.len(), 1, "{:?}", plan.excluded);
    assert_eq!(plan.configs.len(), 7);
    assert!(
        plan.excluded[0]
            .why
            .contains("busy-poll settings without busy polling")
    );
    assert!(plan.excluded[0].why.contains("line"));
    assert_eq!(plan.runs.len(), 14);
    let ids: std::collections::BTreeSet<_> = plan.runs.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), 14, "run ids are unique");
    // ids are stable: the same file gives the same ids, whatever the axis order
    let again = expand(&parse(&text)).expect("expands");
    assert_eq!(
        plan.runs.iter().map(|r| &r.id).collect::<Vec<_>>(),
        again.runs.iter().map(|r| &r.id).collect::<Vec<_>>()
    );
    let reordered = text.replace(
        "busy-poll = [false, true]\nbusy-poll-usecs = [20, 50]",
        "busy-poll-usecs = [20, 50]\nbusy-poll = [false, true]",
    );
    let ids2: std::collections::BTreeSet<_> = expand(&parse(&reordered))
        .expect("expands")
        .runs
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ids2);
}

#[test]
fn baseline_and_defaults() {
    let exp = parse("[axes]\nxdp-mode = [\"drv\", \"skb\"]\n");
    assert_eq!(exp.testbed.as_deref(), Some("lab"));
    assert_eq!(exp.probe.repetitions, 3);
    let plan = expand(&exp).expect("expands");
    assert_eq!(plan.configs.len(), 3);
    assert!(plan.configs[2].baseline);
    assert_eq!(plan.runs.len(), 9);
    assert_eq!(exp.hosts["a"].netns.as_deref(), Some("lab-a"));
}

#[test]
fn scopes_and_host_settings() {
    let exp = parse(&format!(
        "{BASE}\n[axes]\n\"b.gro-flush-timeout\" = {{ values = [0, 200000], on-unsupported = \"skip\" }}\nping.poll = [true]\n"
    ));
    let plan = expand(&exp).expect("expands");
    assert_eq!(plan.configs.len(), 2);
    assert_eq!(exp.axes.len(), 2);
    let params = sweep::roles::extra_params(&exp, &plan.configs[1]);
    assert_eq!(params["b_gro_flush_timeout"], 200000);
}

#[test]
fn errors_name_key_and_line() {
    let e = error(&format!(
        "{BASE}\n[axes]\npoll = [true]\nbogus-knob = [1]\n"
    ));
    assert!(e.contains("bogus-knob") && e.contains("line 10"), "{e}");
    let e = error("[probe]\nintervall = \"1s\"\n");
    assert!(e.contains("intervall") && e.contains("line 2"), "{e}");
    let e = error("[axes]\npoll = [1]\n");
    assert!(e.contains("poll") && e.contains("true or false"), "{e}");
    let e = error("[axes]\nxdp-mode = [\"fast\"]\n");
    assert!(e.contains("skb, drv, auto"), "{e}");
    let e = error("[axes]\ngro-flush-timeout = [\"soon\"]\n");
    assert!(e.contains("gro-flush-timeout"), "{e}");
    let e = error("[axes]\nd.poll = [true]\n");
    assert!(e.contains("unknown scope"), "{e}");
    let e = error("[axes]\npoll = [true]\n[[exclude]]\nbusy-poll = true\n");
    assert!(e.contains("busy-poll") && e.contains("not an axis"), "{e}");
    let e = error("[hosts.a]\nnetns = \"x\"\n[hosts.b]\nssh = \"-oProxyCommand=x\"\n");
    assert!(e.contains("user@server"), "{e}");
    let e = error("[probe]\nsize = 64\n");
    assert!(e.contains("88"), "{e}");
}

#[test]
fn shipped_examples_parse() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let quick = Experiment::load(&root.join("quick.toml")).expect("quick.toml");
    let plan = expand(&quick).expect("expands");
    assert!(
        plan.configs.len() >= 9,
        "at least 8 configurations + baseline"
    );
    assert!(plan.configs.iter().any(|c| c.baseline));
    assert!(plan.estimate().as_secs() < 150, "{:?}", plan.estimate());
    let paper = Experiment::load(&root.join("paper.toml")).expect("paper.toml");
    let plan = expand(&paper).expect("expands");
    assert!(!plan.excluded.is_empty());
    assert_eq!(paper.probe.duration.as_secs(), 30);
}

#[test]
fn hosts_from_an_ansible_inventory() {
    let dir = std::env::temp_dir().join(format!("sweep-inv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("inventory.ini"),
        "[lab]\nserver-a ansible_host=192.0.2.1 ansible_port=2222\nserver-b ansible_host=192.0.2.2\n[lab:vars]\nansible_user=root\n",
    )
    .expect("inventory");
    let text = r#"hosts-from = "inventory.ini"
[hosts.server-a]
iface = "ens1f0"
ssh-options = ["-o", "ControlMaster=auto"]
[hosts.server-b]
iface = "ens1f0"
ip = "10.0.0.2"
[roles]
ping = "server-a"
fwd = "server-b"
[axes]
poll = [false, true]
"#;
    let f = dir.join("exp.toml");
    std::fs::write(&f, text).expect("experiment");
    let exp = Experiment::load(&f).unwrap_or_else(|e| panic!("{e}"));
    match &exp.hosts["server-a"].exec {
        sweep::experiment::Exec::Ssh { dest, options } => {
            assert_eq!(dest, "root@192.0.2.1");
            assert_eq!(options, &["-p", "2222", "-o", "ControlMaster=auto"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(exp.hosts["server-b"].iface.as_deref(), Some("ens1f0"));
    assert!(exp.testbed.is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_pingers_double_the_runs() {
    let exp = parse(&format!(
        "{BASE}\n[roles]\nping = [\"a\", \"c\"]\nfwd = \"b\"\n[axes]\npoll = [false, true]\n"
    ));
    let plan = expand(&exp).expect("expands");
    assert_eq!(plan.configs.len(), 2);
    assert_eq!(plan.runs.len(), 2 * 2 * 2);
    assert!(plan.runs.iter().any(|r| r.id.contains("-c-r1")));
    let e = error("[roles]\nping = [\"a\", \"b\"]\nfwd = \"b\"\n");
    assert!(e.contains("different hosts"), "{e}");
    let e = error("[hosts.\"../x\"]\nlocal = true\niface = \"lo\"\n");
    assert!(e.contains("host name"), "{e}");
}

#[test]
fn pingers_together_group_the_runs() {
    let exp = parse(&format!(
        "{BASE}\n[roles]\nping = [\"a\", \"c\"]\nfwd = \"b\"\npingers = \"together\"\n[axes]\npoll = [false, true]\n"
    ));
    let plan = expand(&exp).expect("expands");
    assert_eq!(plan.runs.len(), 2 * 2 * 2);
    let groups = plan.groups();
    // one group per configuration and repetition, holding both pingers
    assert_eq!(groups.len(), 2 * 2);
    for g in &groups {
        let ids: Vec<&str> = g.iter().map(|i| plan.runs[*i].id.as_str()).collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(
            ids[0].contains("-a-r") && ids[1].contains("-c-r"),
            "{ids:?}"
        );
        assert_eq!(plan.runs[g[0]].rep, plan.runs[g[1]].rep);
    }
    // the same ids as in turn: a file can switch modes and keep its run names
    let in_turn = expand(&parse(&format!(
        "{BASE}\n[roles]\nping = [\"a\", \"c\"]\nfwd = \"b\"\n[axes]\npoll = [false, true]\n"
    )))
    .expect("expands");
    let mut a: Vec<_> = plan.runs.iter().map(|r| r.id.clone()).collect();
    let mut b: Vec<_> = in_turn.runs.iter().map(|r| r.id.clone()).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert_eq!(in_turn.groups().len(), 8);
    // the estimate counts groups, not runs
    assert_eq!(plan.estimate() * 2, in_turn.estimate());
    let e = error("[roles]\nping = \"a\"\nfwd = \"b\"\npingers = \"together\"\n");
    assert!(e.contains("pingers") && e.contains("two pingers"), "{e}");
    let e = error("[roles]\nping = [\"a\", \"c\"]\nfwd = \"b\"\npingers = \"both\"\n");
    assert!(e.contains("line 4") && e.contains("in-turn"), "{e}");
}

#[test]
fn rate_auto() {
    let exp = parse("[probe]\nrate = \"auto\"\nduration = \"2s\"\nsize = 88\n");
    assert!(exp.probe.auto_rate);
    // the plan's assumption: 10 Gb/s and 20 µs give 284 pps
    assert_eq!(exp.probe.interval.as_micros(), 3520);
    let e = error("[probe]\nrate = \"auto\"\ninterval = \"1ms\"\n");
    assert!(
        e.contains("line 2") && e.contains("remove `interval`"),
        "{e}"
    );
    let e = error("[probe]\nrate = \"fast\"\n");
    assert!(e.contains("\"fast\"") && e.contains("interval"), "{e}");
    assert!(!parse(BASE).probe.auto_rate);
}

/// An axis of 200 001 values (with the kernel baseline, 200 002 configurations) is refused by the bound on runs, naming the default it came from;
/// its check of duplicate values is linear (it was quadratic: 31.8 s before the refusal, now
/// 0.18 s in a release build).
#[test]
fn a_huge_axis_is_refused_by_the_bound_on_runs() {
    let values: Vec<String> = (1..=200_001).map(|i| i.to_string()).collect();
    let text = format!(
        "[probe]\ninterval = \"1ms\"\ncount = 10\n\n[axes]\nbusy-poll-usecs = [{}]\n",
        values.join(",")
    );
    let e = Experiment::parse(&text, "test.toml")
        .and_then(|exp| expand(&exp).map(|_| exp))
        .expect_err("above the bound");
    let text = e.to_string();
    assert!(
        text.contains("runs, above the 200000 one sweep may plan")
            && text.contains("`repetitions`, not in the file: its default"),
        "{text}"
    );
}
