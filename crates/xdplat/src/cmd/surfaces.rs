//! Checks that what is defined once shows up everywhere it must: every knob of
//! `probe::knobs::KNOBS` as a flag of each role that takes it (with the role's default), as an
//! experiment key when an axis may set it (and through the sweep's argv into the role's parsed
//! knobs), and in a run's `params`; every argv the sweep builds parses with this CLI; every exit
//! code in `--help` and the README.

use clap::{CommandFactory, Parser};
use probe::knobs::{KNOBS, Kind, Knob, Knobs, Role, Value};
use probe::protocol::Exit;

use super::{Cli, Command};

const HOSTS: &str = r#"
[hosts.a]
netns = "t-a"
iface = "ta"
[hosts.b]
netns = "t-b"
iface = "tb"
ip = "10.0.0.2"
"#;

/// A value of `k` other than `role`'s default.
fn other_value(k: &Knob, role: Role) -> Value {
    let d = k.default(role);
    match k.kind {
        Kind::Bool => Value::Bool(d != Some(Value::Bool(true))),
        Kind::Int { min, max } => {
            let v = if d == Some(Value::Int(min)) {
                min + 1
            } else {
                min
            };
            assert!(v <= max, "{}: no second value", k.name);
            Value::Int(v)
        }
        Kind::Choice { names, .. } => {
            let n = names().into_iter().find(|n| d != Some(Value::Choice(n)));
            Value::Choice(n.expect("a choice has two names"))
        }
    }
}

fn toml(v: Value) -> String {
    match v {
        Value::Choice(s) => format!("{s:?}"),
        other => other.arg(),
    }
}

/// The knobs a role's argv parses into.
fn parsed(argv: &[String]) -> Knobs {
    let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    match cli.command {
        Command::Ping(a) => a.knobs.knobs,
        Command::Fwd(a) => a.knobs.knobs,
        _ => panic!("{argv:?} is not a role"),
    }
}

fn experiment(axes: &str) -> sweep::Experiment {
    let text = format!("{HOSTS}\n[axes]\n{axes}\n");
    sweep::Experiment::parse(&text, "surfaces.toml").unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// (ping argv, fwd argv) of every configuration of `exp`.
fn argvs(exp: &sweep::Experiment) -> Vec<(Vec<String>, Vec<String>)> {
    let bin = std::path::Path::new("xdplat");
    let (a, b) = (&exp.hosts["a"], &exp.hosts["b"]);
    sweep::expand(exp)
        .configs
        .iter()
        .map(|cfg| {
            let ping = sweep::roles::ping_argv(exp, cfg, 0, a, b, bin, "/tmp/out");
            let fwd = sweep::roles::fwd_argv(exp, cfg, b, bin, std::time::Duration::from_secs(9));
            (ping, fwd)
        })
        .collect()
}

#[test]
fn every_knob_is_a_flag_of_its_roles_with_their_default() {
    let cli = Cli::command();
    for k in KNOBS {
        for role in Role::ALL {
            let sub = cli
                .find_subcommand(role.as_str())
                .expect("a subcommand per role");
            let arg = sub.get_arguments().find(|a| a.get_long() == Some(k.name));
            assert_eq!(arg.is_some(), k.takes(role), "--{} on {role:?}", k.name);
            let Some(arg) = arg else { continue };
            let default: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            let want: Vec<String> = k.default(role).iter().map(Value::arg).collect();
            assert_eq!(default, want, "default of --{} on {role:?}", k.name);
        }
    }
}

#[test]
fn every_axis_knob_reaches_the_roles_and_their_params() {
    for k in KNOBS {
        let role = Role::Fwd;
        let v = other_value(k, role);
        if !k.axis {
            let text = format!("{HOSTS}\n[axes]\n{} = [{}]\n", k.name, toml(v));
            assert!(
                sweep::Experiment::parse(&text, "x.toml").is_err(),
                "{} is not an axis",
                k.name
            );
            continue;
        }
        let exp = experiment(&format!("{} = [{}]", k.name, toml(v)));
        let (ping, fwd) = &argvs(&exp)[0];
        for (r, argv) in [(Role::Ping, ping), (Role::Fwd, fwd)] {
            if !k.takes(r) {
                continue;
            }
            let knobs = parsed(argv);
            assert_eq!(
                k.get(&knobs),
                Some(other_value(k, role)),
                "{}: {argv:?}",
                k.name
            );
            let params = knobs.to_params();
            assert_eq!(params[k.param], v.to_json(), "params of {}", k.name);
        }
    }
}

#[test]
fn the_baseline_runs_both_roles_on_udp_and_every_sweep_argv_parses() {
    let exp = experiment("fwd.poll = [false, true]\nping.batch = [4]\nbusy-poll = [true]");
    let all = argvs(&exp);
    assert_eq!(all.len(), 3, "two configurations and the baseline");
    for (ping, fwd) in &all {
        let (p, f) = (parsed(ping), parsed(fwd));
        assert_eq!(p.backend, f.backend);
        if p.backend == probe::Backend::Udp {
            assert_eq!(
                p,
                Knobs {
                    backend: probe::Backend::Udp,
                    ..Knobs::defaults(Role::Ping)
                }
            );
        } else {
            assert_eq!((p.batch, f.batch), (4, Knobs::defaults(Role::Fwd).batch));
            assert!(p.busy_poll && f.busy_poll);
        }
    }
}

#[test]
fn exit_codes_are_in_help_and_readme() {
    let help = Cli::command().render_long_help().to_string();
    assert!(help.contains(&Exit::help()), "{help}");
    let readme = include_str!("../../../../README.md");
    let para = readme
        .split("\n\n")
        .find(|p| p.starts_with("Exit codes:"))
        .expect("the README's exit codes");
    for e in Exit::ALL {
        assert!(para.contains(&format!("{} ", e.code())), "{e:?} in {para}");
    }
}
