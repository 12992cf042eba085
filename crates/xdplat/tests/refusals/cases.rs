//! The cases of the bad-input suite (`tests/refusals.rs`): per class and command, the argv, the
//! files the case's directory holds first, the exit code and the words of the message.
//! `{DIR}` in an argument is the case's directory (also the working directory).

use std::path::Path;
use std::time::Duration;

/// What is wrong with the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// A number outside its range (zero, negative, too large), or not a number.
    Range,
    /// An address of the wrong class (broadcast, multicast, unspecified, own).
    Address,
    /// An output path that cannot hold results (a file, /proc, unwritable), or a missing input.
    Path,
    /// Something named that does not exist: a queue, an interface, a namespace, a testbed.
    Missing,
    /// The same thing given twice.
    Duplicate,
    /// Options that cannot go together.
    Conflict,
    /// More than memory or time allows (counts, repetitions, combinations).
    Resource,
    /// A value each role would refuse, found before the first run (experiment files).
    Refused,
    /// Which check comes first: the value before the network, before any file is written.
    Order,
    /// The message names the parameter (negative numbers, the right flag).
    Message,
    /// A malformed file.
    Syntax,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Range => "range",
            Class::Address => "address",
            Class::Path => "path",
            Class::Missing => "missing",
            Class::Duplicate => "duplicate",
            Class::Conflict => "conflict",
            Class::Resource => "resource",
            Class::Refused => "refused",
            Class::Order => "order",
            Class::Message => "message",
            Class::Syntax => "syntax",
        }
    }
}

/// One bad input.
#[derive(Debug, Clone)]
pub struct Case {
    pub class: Class,
    pub args: Vec<String>,
    /// Files written into the case's directory first: (relative path, contents).
    pub files: Vec<(String, String)>,
    pub code: i32,
    /// Words the output must hold.
    pub says: Vec<String>,
    /// Longest it may take (a refusal is immediate; a few need a namespace or a netlink read).
    pub within: Duration,
}

impl Case {
    /// `ping`, `sweep plan`, `host apply`: the subcommand path.
    pub fn command(&self) -> String {
        let two = matches!(self.args[0].as_str(), "testbed" | "host" | "sweep");
        let n = if two { 2 } else { 1 };
        self.args[..n.min(self.args.len())].join(" ")
    }

    /// The argv with `{DIR}` replaced.
    pub fn argv(&self, dir: &Path) -> Vec<String> {
        let d = dir.display().to_string();
        self.args.iter().map(|a| a.replace("{DIR}", &d)).collect()
    }
}

/// The names the cases use: the suite's testbed and a testbed name that is not up.
#[derive(Debug, Clone)]
pub struct Names {
    pub a_ns: String,
    pub a_if: String,
    pub b_ns: String,
    pub b_if: String,
    pub b_ip: String,
    pub fresh: String,
}

impl Names {
    pub fn of(tb: &host::test_support::TestTestbed, fresh: &str) -> Names {
        let l = tb.ab();
        Names {
            a_ns: l.a.netns.clone(),
            a_if: l.a.iface.clone(),
            b_ns: l.b.netns.clone(),
            b_if: l.b.iface.clone(),
            b_ip: l.b.ip().expect("B has an address").to_string(),
            fresh: fresh.into(),
        }
    }

    /// Names for counting the cases without a testbed.
    pub fn placeholder() -> Names {
        Names {
            a_ns: "lab-a".into(),
            a_if: "lab-ab".into(),
            b_ns: "lab-b".into(),
            b_if: "lab-ba".into(),
            b_ip: "10.77.1.2".into(),
            fresh: "labx".into(),
        }
    }
}

pub fn case(class: Class, args: &[&str], code: i32, says: &[&str]) -> Case {
    Case {
        class,
        args: args.iter().map(|s| s.to_string()).collect(),
        files: Vec::new(),
        code,
        says: says.iter().map(|s| s.to_string()).collect(),
        within: Duration::from_secs(15),
    }
}

pub fn with_file(mut c: Case, name: &str, body: &str) -> Case {
    c.files.push((name.to_string(), body.to_string()));
    c
}

pub fn cases(n: &Names) -> Vec<Case> {
    use Class::*;
    let mut v = Vec::new();
    let (a_ns, a_if, b_ns, b_if, b_ip) = (
        n.a_ns.as_str(),
        n.a_if.as_str(),
        n.b_ns.as_str(),
        n.b_if.as_str(),
        n.b_ip.as_str(),
    );
    let fresh = n.fresh.as_str();

    // ---- ping: every value before the interface, the network and --out
    let ping = |class: Class, extra: &[&str], says: &[&str]| {
        // the base options that `extra` does not give itself (given twice, clap refuses)
        let mut a = vec!["ping", "--quiet"];
        for (flag, value) in [
            ("--netns", a_ns),
            ("--iface", a_if),
            ("--dst-ip", b_ip),
            ("--out", "{DIR}/run"),
        ] {
            if !extra.contains(&flag) {
                a.extend([flag, value]);
            }
        }
        if !extra
            .iter()
            .any(|e| *e == "--count" || *e == "--duration" || *e == "--interval")
        {
            a.extend(["--count", "5"]);
        }
        a.extend(extra);
        case(class, &a, 2, says)
    };
    for (class, extra, says) in [
        (Range, &["--port", "0"][..], &["--port"][..]),
        (Range, &["--size", "10"], &["--size"]),
        (Range, &["--size", "100000"], &["--size"]),
        (Range, &["--count", "0"], &["--count"]),
        (Range, &["--duration", "0s"], &["--duration"]),
        (
            Range,
            &["--interval", "2h", "--count", "3"],
            &["--interval"],
        ),
        (Range, &["--linger", "5h"], &["--linger"]),
        (Conflict, &["--interval", "0"], &["--count"]),
        (Range, &["--ring-size", "1000"], &["--ring-size"]),
        (Range, &["--batch", "0"], &["--batch"]),
        (
            Conflict,
            &["--batch", "4096", "--ring-size", "2048"],
            &["--batch"],
        ),
        (
            Conflict,
            &["--batch", "64", "--frames", "100"],
            &["--frames"],
        ),
        (Range, &["--frame-size", "3000"], &["--frame-size"]),
        (Range, &["--frames", "1"], &["--frames"]),
        (Range, &["--busy-poll-budget", "0"], &["--busy-poll-budget"]),
        (
            Range,
            &["--busy-poll-usecs", "4294967295"],
            &["--busy-poll-usecs"],
        ),
        (Range, &["--cpu", "4096"], &["--cpu"]),
        (Missing, &["--cpu", "1000"], &["--cpu"]),
        (Range, &["--window", "10000000"], &["--window"]),
        (Range, &["--sample-every", "0"], &["--sample-every"]),
        (Range, &["--xdp-mode", "fast"], &["--xdp-mode"]),
        (Range, &["--bind", "maybe"], &["--bind"]),
        (Range, &["--backend", "dpdk"], &["--backend"]),
        (Range, &["--need-wakeup", "yes"], &["--need-wakeup"]),
        (
            Conflict,
            &["--xdp-mode", "skb", "--hw-timestamps", "true"],
            &["--hw-timestamps"],
        ),
        (Conflict, &["--stamp-room", "--size", "64"], &["--size"]),
        (
            Address,
            &["--dst-ip", "224.0.0.1"],
            &["--dst-ip", "multicast"],
        ),
        (
            Address,
            &["--dst-ip", "255.255.255.255"],
            &["--dst-ip", "broadcast"],
        ),
        (Address, &["--dst-ip", "0.0.0.0"], &["--dst-ip"]),
        (Address, &["--dst-ip", "240.1.2.3"], &["--dst-ip"]),
        (
            Address,
            &["--dst-ip", "10.77.1.255"],
            &["--dst-ip", "broadcast"],
        ),
        (Address, &["--dst-ip", "10.77.1.1"], &["--dst-ip", "own"]),
        (Address, &["--dst-ip", "10.77.1"], &["--dst-ip"]),
        (
            Address,
            &["--dst-mac", "ff:ff:ff:ff:ff:ff"],
            &["--dst-mac", "broadcast"],
        ),
        (
            Address,
            &["--dst-mac", "01:00:5e:00:00:01"],
            &["--dst-mac", "multicast"],
        ),
        (Address, &["--dst-mac", "00:00:00:00:00:00"], &["--dst-mac"]),
        (Address, &["--dst-mac", "zz:00"], &["--dst-mac"]),
        (Path, &["--out", "/proc/xdplat-run"], &["--out", "procfs"]),
        (Path, &["--out", "/sys/xdplat-run"], &["--out", "sysfs"]),
        (Missing, &["--queue", "5"], &["--queue", "queue 0 only"]),
        (Missing, &["--iface", "nosuch0"], &["nosuch0"]),
        (Missing, &["--netns", ".."], &["--netns"]),
        (Missing, &["--netns", "nosuch-ns-x"], &["nosuch-ns-x"]),
        (
            Resource,
            &["--count", "50000000"],
            &["--count", "--sample-every"],
        ),
        (
            Resource,
            &["--count", "18446744073709551615", "--warmup", "5"],
            &["--warmup"],
        ),
        (Duplicate, &["--count", "9", "--count", "10"], &["--count"]),
        (Message, &["--size", "-1"], &["--size"]),
        (Message, &["--count", "-5"], &["--count"]),
        (Message, &["--ring-size", "0"], &["--ring-size"]),
        (Message, &["--frames", "-1"], &["--frames"]),
        // the size is refused before the neighbour lookup of an address nobody has
        (
            Order,
            &["--size", "10", "--dst-ip", "10.77.1.99"],
            &["--size"],
        ),
        (
            Order,
            &["--port", "0", "--dst-ip", "10.77.1.99"],
            &["--port"],
        ),
    ] {
        v.push(ping(class, extra, says));
    }
    v.push(with_file(
        ping(
            Path,
            &["--out", "{DIR}/file"],
            &["--out", "not a directory"],
        ),
        "file",
        "x",
    ));
    v.push(with_file(
        ping(
            Path,
            &["--out", "{DIR}/file/below"],
            &["--out", "not a directory"],
        ),
        "file",
        "x",
    ));
    v.push(with_file(
        ping(Path, &["--out", "{DIR}/done"], &["finished run"]),
        "done/summary.json",
        "{}",
    ));

    // ---- fwd
    let fwd = |class: Class, extra: &[&str], says: &[&str]| {
        let mut a = vec!["fwd"];
        for (flag, value) in [("--netns", b_ns), ("--iface", b_if)] {
            if !extra.contains(&flag) {
                a.extend([flag, value]);
            }
        }
        if !extra.contains(&"--duration") {
            a.extend(["--duration", "1s"]);
        }
        a.extend(extra);
        case(class, &a, 2, says)
    };
    for (class, extra, says) in [
        (Range, &["--port", "0"][..], &["--port"][..]),
        (Missing, &["--queue", "3"], &["--queue"]),
        (Missing, &["--queues", "4"], &["--queues"]),
        (Range, &["--queues", "0"], &["--queues"]),
        (
            Conflict,
            &["--queues", "2", "--backend", "udp"],
            &["--queues"],
        ),
        (Range, &["--duration", "0s"], &["--duration"]),
        (Range, &["--hold", "5s"], &["--hold"]),
        (Range, &["--frames", "3000000"], &["--frames"]),
        (Missing, &["--cpu", "1000"], &["--cpu"]),
        (Missing, &["--iface", "nosuch0"], &["nosuch0"]),
        (Missing, &["--netns", ".."], &["--netns"]),
        (Message, &["--ring-size", "0"], &["--ring-size"]),
        (Message, &["--batch", "-1"], &["--batch"]),
        (Duplicate, &["--queue", "0", "--queue", "1"], &["--queue"]),
    ] {
        v.push(fwd(class, extra, says));
    }

    // ---- testbed
    for (class, args, says) in [
        (
            Missing,
            &["testbed", "status", "--name", fresh][..],
            &["no testbed", fresh][..],
        ),
        (
            Range,
            &["testbed", "up", "--name", fresh, "--queues", "0"],
            &["--queues"],
        ),
        (
            Message,
            &["testbed", "up", "--name", fresh, "--queues", "-1"],
            &["--queues"],
        ),
        (
            Range,
            &["testbed", "up", "--name", "bad name!"],
            &["--name"],
        ),
        (
            Range,
            &["testbed", "up", "--name", "waytoolongname123"],
            &["--name"],
        ),
        (Range, &["testbed", "down", "--name", "../x"], &["--name"]),
        (Range, &["testbed", "status", "--name", ".."], &["--name"]),
    ] {
        v.push(case(class, args, 2, says));
    }

    // ---- host
    let set = |kv: &str| format!("--set={kv}");
    let gro1 = set("gro-flush-timeout=1000");
    let gro2 = set("gro-flush-timeout=2000");
    for (class, args, says) in [
        (
            Duplicate,
            vec![
                "host", "apply", "--netns", b_ns, "--iface", b_if, &gro1, &gro2,
            ],
            &["gro-flush-timeout", "once"][..],
        ),
        (
            Missing,
            vec!["host", "apply", "--set", "no-such-key=1"],
            &["no-such-key"],
        ),
        (
            Range,
            vec![
                "host",
                "apply",
                "--netns",
                b_ns,
                "--iface",
                b_if,
                "--set",
                "gro-flush-timeout=-5",
            ],
            &["gro-flush-timeout"],
        ),
        (
            Missing,
            vec!["host", "apply", "--netns", "..", "--set", "busy-read=1"],
            &["--netns"],
        ),
        (
            Missing,
            vec![
                "host",
                "apply",
                "--netns",
                b_ns,
                "--iface",
                "nosuch0",
                "--set",
                "gro-flush-timeout=1",
            ],
            &["nosuch0"],
        ),
        (
            Conflict,
            vec!["host", "apply", "--set", "cpu-dma-latency-us=0"],
            &["--hold"],
        ),
        (
            Missing,
            vec![
                "host",
                "apply",
                "--netns",
                b_ns,
                "--iface",
                b_if,
                "--set",
                "rx-usecs=5",
            ],
            &["rx-usecs"],
        ),
        (
            Syntax,
            vec!["host", "apply", "--set", "gro-flush-timeout"],
            &["KEY=VALUE"],
        ),
        (
            Missing,
            vec!["host", "show", "--netns", "nosuch-ns-x"],
            &["nosuch-ns-x"],
        ),
        (
            Missing,
            vec!["host", "show", "--netns", b_ns, "--iface", "nosuch0"],
            &["nosuch0"],
        ),
        (Syntax, vec!["host", "restore", "--all"], &["--all"]),
    ] {
        v.push(case(class, &args, 2, says));
    }

    // ---- doctor
    for (class, args, says) in [
        (
            Missing,
            &["doctor", "--netns", a_ns, "--iface", a_if, "--queue", "99"][..],
            &["--queue", "queue 0 only"][..],
        ),
        (
            Missing,
            &["doctor", "--netns", a_ns, "--iface", "nosuch0"],
            &["nosuch0"],
        ),
        (Missing, &["doctor", "--netns", ".."], &["--netns"]),
        (Conflict, &["doctor", "--queue", "1"], &["--iface"]),
        (
            Message,
            &["doctor", "--netns", a_ns, "--iface", a_if, "--queue", "-1"],
            &["--queue"],
        ),
    ] {
        v.push(case(class, args, 2, says));
    }

    // ---- bench: the CPUs are checked before its testbed is made
    for (class, args, says) in [
        (
            Missing,
            &["bench", "--quick", "--cpus", "99", "0"][..],
            &["--cpus", "99"][..],
        ),
        (Range, &["bench", "--quick", "--cpus", "0"], &["--cpus"]),
        (
            Path,
            &["bench", "--quick", "--python", "{DIR}/no-python"],
            &["--python"],
        ),
    ] {
        v.push(case(class, args, 2, says));
    }

    v.extend(crate::sweep_cases::sweep_cases(n));

    // ---- demo: the file and --out before OUT/<time>/ is made
    v.extend([
        case(
            Path,
            &[
                "demo",
                "--file",
                "{DIR}/missing.toml",
                "--out",
                "{DIR}/demo",
            ],
            2,
            &["missing.toml"],
        ),
        with_file(
            case(
                Syntax,
                &["demo", "--file", "{DIR}/bad.toml", "--out", "{DIR}/demo"],
                2,
                &["bad.toml"],
            ),
            "bad.toml",
            "[axes\npoll = [true]\n",
        ),
        with_file(
            case(
                Refused,
                &["demo", "--file", "{DIR}/exp.toml", "--out", "{DIR}/demo"],
                2,
                &["--ring-size"],
            ),
            "exp.toml",
            &crate::sweep_cases::experiment(fresh, "", "[axes]\nring-size = [1000]"),
        ),
        case(
            Path,
            &["demo", "--out", "/proc/xdplat-demo"],
            2,
            &["--out", "procfs"],
        ),
    ]);

    // ---- analyze, compare
    v.extend(crate::analysis_cases::analysis_cases());
    v
}
