//! The written protocol between xdplat and the xdplat processes it starts (the sweep's `fwd`,
//! `ping` and `host apply --hold`, locally, in a namespace or over ssh). Both sides use this
//! module; nothing else of a child's output is read by a program.
//!
//! - **Announcements**: one [`Event`] per line on stderr, a JSON object whose `xdplat` key names
//!   the event: `{"xdplat":"ready",...}` when a forwarder's ports are open (probes sent from then
//!   on come back), `{"xdplat":"holding",...}` when `host apply --hold` holds its settings,
//!   `{"xdplat":"stopped",...}` when a forwarder ends. Fields are added, never renamed; a reader
//!   ignores fields and events it does not know. The lines for people (`fwd: afxdp on ...`) are
//!   rendered from the same values and are not part of the protocol.
//! - **Exit codes**: [`Exit`], the same for every subcommand, documented in `--help` and the
//!   README. A role that exits with [`Exit::BadInput`] refused a value: the sweep skips that
//!   configuration where an axis says `on-unsupported = "skip"`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One announcement of a child process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "xdplat", rename_all = "kebab-case")]
pub enum Event {
    /// `xdplat fwd`: every port is open and forwarding.
    Ready(Ready),
    /// `xdplat host apply --hold`: the settings are applied and held until SIGINT or SIGTERM.
    Holding(Holding),
    /// `xdplat fwd` ended (stopped, or its `--duration` passed).
    Stopped(Stopped),
}

impl Event {
    /// The event as one line (no newline).
    pub fn line(&self) -> String {
        serde_json::to_string(self).expect("events serialise")
    }

    /// The event a line announces; None for any other line (prose, an event of a newer version).
    pub fn parse(line: &str) -> Option<Event> {
        let line = line.trim();
        if !line.starts_with("{\"xdplat\":") {
            return None;
        }
        serde_json::from_str(line).ok()
    }

    /// Writes the event's line to stderr.
    pub fn announce(&self) {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", self.line());
        let _ = err.flush();
    }
}

/// What a forwarder serves, once it serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ready {
    /// `afxdp` or `udp`.
    pub backend: String,
    pub iface: String,
    /// The AF_XDP ports, one per queue (empty for udp).
    #[serde(default)]
    pub queues: Vec<QueueState>,
    /// The udp backend's socket address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The run's warnings so far, rendered.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// One AF_XDP port as the kernel confirmed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueState {
    pub queue: u32,
    /// The CPU its thread is pinned to (several queues), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<usize>,
    pub xdp_mode: String,
    pub bind: String,
    /// SO_INCOMING_NAPI_ID (0: none), None where it cannot be read.
    pub napi_id: Option<u32>,
}

/// `host apply --hold` holds its changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holding {
    pub changes: usize,
    pub pid: u32,
    /// What was applied, as a sweep records it in `summary.sweep.host_settings`.
    #[serde(default)]
    pub applied: Vec<results::HostSetting>,
}

/// A host setting as `host apply` applied it, as a sweep records it.
pub fn host_setting(o: &host::Outcome) -> results::HostSetting {
    results::HostSetting {
        key: o.key.clone(),
        target: results::SettingTarget {
            host: None,
            netns: o.target.netns.clone(),
            iface: o.target.iface.clone(),
        },
        value: o.value.clone(),
        before: o.before.clone(),
        effective: o.effective.clone(),
        skipped: o.skipped.clone(),
    }
}

/// A forwarder's end: what it did, the single port's final counters (kernel XDP statistics,
/// the XDP program's counters, device timestamps) and warnings that came up while it ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stopped {
    pub forwarded: u64,
    pub dropped: u64,
    pub stamped: u64,
    pub elapsed_ns: u64,
    #[serde(default)]
    pub counters: Map<String, Value>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl fmt::Display for Ready {
    /// The lines for people: `fwd: afxdp on IF queue Q (drv mode, copy bind, napi id 0)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(addr) = &self.address {
            writeln!(f, "fwd: {} backend on {addr}", self.backend)?;
        }
        for q in &self.queues {
            let cpu = q.cpu.map_or(String::new(), |c| format!(" on CPU {c}"));
            let napi = q.napi_id.map_or("unknown".into(), |n| n.to_string());
            writeln!(
                f,
                "fwd: {} on {} queue {}{cpu} ({} mode, {} bind, napi id {napi})",
                self.backend, self.iface, q.queue, q.xdp_mode, q.bind
            )?;
        }
        for w in &self.warnings {
            writeln!(f, "fwd: warning: {w}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Stopped {
    /// The end counters for people (stderr), one line each: `fwd: xdp_statistics {...}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, v) in &self.counters {
            writeln!(f, "fwd: {key} {v}")?;
        }
        for w in &self.warnings {
            writeln!(f, "fwd: warning: {w}")?;
        }
        Ok(())
    }
}

/// The exit codes of every xdplat command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// Something failed at run time (the machine, the network, a peer).
    Failure,
    /// The input cannot work (usage, a file, a value, a name, a missing privilege): change it.
    BadInput,
    /// A sweep or the demo finished, but every AF_XDP run of it failed (the causes, grouped,
    /// are printed at its end): nothing about AF_XDP was measured.
    NoAfXdp,
    /// stdout was closed early (`xdplat ... | head`), as a shell reports SIGPIPE.
    BrokenPipe,
}

impl Exit {
    pub const ALL: [Exit; 5] = [
        Exit::Success,
        Exit::Failure,
        Exit::BadInput,
        Exit::NoAfXdp,
        Exit::BrokenPipe,
    ];

    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::BadInput => 2,
            Exit::NoAfXdp => 3,
            Exit::BrokenPipe => 141,
        }
    }

    /// The exit a process status code stands for.
    pub fn of(code: i32) -> Option<Exit> {
        Exit::ALL.into_iter().find(|e| i32::from(e.code()) == code)
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::Failure => "run-time failure",
            Exit::BadInput => "bad input (usage, config, value)",
            Exit::NoAfXdp => "every AF_XDP run of a sweep or demo failed",
            Exit::BrokenPipe => "stdout closed early (as SIGPIPE)",
        }
    }

    /// `Exit codes: 0 success, 1 run-time failure, ...` for `--help`.
    pub fn help() -> String {
        let codes: Vec<String> = Exit::ALL
            .iter()
            .map(|e| format!("{} {}", e.code(), e.meaning()))
            .collect();
        format!("Exit codes: {}.", codes.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_prose_is_not_an_event() {
        let ready = Event::Ready(Ready {
            backend: "afxdp".into(),
            iface: "lab-ba".into(),
            queues: vec![QueueState {
                queue: 0,
                cpu: None,
                xdp_mode: "drv".into(),
                bind: "copy".into(),
                napi_id: Some(0),
            }],
            address: None,
            warnings: vec!["busy-poll requested: a no-op".into()],
        });
        let line = ready.line();
        assert!(line.starts_with("{\"xdplat\":\"ready\""), "{line}");
        assert!(!line.contains('\n'));
        assert_eq!(Event::parse(&line), Some(ready.clone()));
        let hold = Event::Holding(Holding {
            changes: 2,
            pid: 7,
            applied: Vec::new(),
        });
        assert_eq!(Event::parse(&format!("  {}  ", hold.line())), Some(hold));
        assert_eq!(Event::parse("fwd: afxdp on lab-ba queue 0"), None);
        assert_eq!(Event::parse("{\"xdplat\":\"from-the-future\"}"), None);
        // a field added by a newer version is ignored
        let newer =
            r#"{"xdplat":"ready","backend":"udp","iface":"b","address":"10.0.0.2:9099","new":1}"#;
        assert!(
            matches!(Event::parse(newer), Some(Event::Ready(_))),
            "{newer}"
        );
        let Event::Ready(r) = ready else {
            unreachable!()
        };
        assert_eq!(
            r.to_string(),
            "fwd: afxdp on lab-ba queue 0 (drv mode, copy bind, napi id 0)\nfwd: warning: busy-poll requested: a no-op\n"
        );
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Exit::of(2), Some(Exit::BadInput));
        assert_eq!(Exit::of(3), Some(Exit::NoAfXdp));
        assert_eq!(Exit::of(101), None);
        assert_eq!(
            Exit::help(),
            "Exit codes: 0 success, 1 run-time failure, 2 bad input (usage, config, value), 3 every AF_XDP run of a sweep or demo failed, 141 stdout closed early (as SIGPIPE)."
        );
    }
}
