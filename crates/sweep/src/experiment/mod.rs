//! The experiment file (TOML, kebab-case keys, unknown keys refused): where the roles run, how
//! they probe, and the axes whose cartesian product is the sweep. Parsing checks every key and
//! value before anything runs; errors name the key and its line.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::Error;

mod axes;
mod hosts;
mod search;

pub use axes::{Axis, Kind, OnUnsupported, Rule, Scope, check_value};
use axes::{axis, flatten, rule};
pub use hosts::{Exec, HostSpec};
use hosts::{RawHost, host_spec, netns_host};
pub use search::{Objective, Order, Race, Replay, Search, Strategy};
use search::{RawSearch, RawTestbed};

/// The testbed name used when a file names neither a testbed nor hosts.
pub const DEFAULT_TESTBED: &str = "lab";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFile {
    testbed: Option<RawTestbed>,
    hosts_from: Option<String>,
    hosts: Option<BTreeMap<String, RawHost>>,
    roles: Option<RawRoles>,
    #[serde(default)]
    probe: RawProbe,
    #[serde(default)]
    search: RawSearch,
    #[serde(default)]
    axes: toml::Table,
    #[serde(default)]
    exclude: Vec<toml::Table>,
    #[serde(default)]
    include: Vec<toml::Table>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRoles {
    ping: OneOrMany,
    fwd: String,
    pingers: Option<String>,
    fwd_hold: Option<String>,
}

/// `ping = "a"` or `ping = ["a", "c"]` (a second pinger, like the paper's host C).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawProbe {
    size: Option<usize>,
    #[serde(default = "yes")]
    stamp: bool,
    interval: Option<String>,
    #[serde(default = "thirty_seconds")]
    duration: String,
    count: Option<u64>,
    #[serde(default)]
    warmup: u64,
    #[serde(default = "three")]
    repetitions: u32,
    #[serde(default = "linger")]
    linger: String,
    #[serde(default = "yes")]
    baseline: bool,
    rate: Option<String>,
    port: Option<u16>,
    sample_every: Option<u64>,
}

fn yes() -> bool {
    true
}
fn one_second() -> String {
    "1s".into()
}
fn thirty_seconds() -> String {
    "30s".into()
}
fn three() -> u32 {
    3
}
fn linger() -> String {
    "200ms".into()
}

impl Default for RawProbe {
    fn default() -> Self {
        RawProbe {
            size: None,
            stamp: true,
            interval: None,
            duration: thirty_seconds(),
            count: None,
            warmup: 0,
            repetitions: 3,
            linger: linger(),
            baseline: true,
            rate: None,
            port: None,
            sample_every: None,
        }
    }
}

/// How each run probes.
#[derive(Debug, Clone)]
pub struct Probe {
    pub size: usize,
    pub stamp: bool,
    pub interval: Duration,
    pub duration: Duration,
    pub count: Option<u64>,
    pub warmup: u64,
    pub repetitions: u32,
    pub linger: Duration,
    pub baseline: bool,
    pub port: Option<u16>,
    /// Keep a raw sample of every Nth probe only (statistics still cover all).
    pub sample_every: Option<u64>,
    /// `rate = "auto"`: each run's interval comes from equation (1) ([`crate::rate`]);
    /// `interval` then holds the plan's assumption only.
    pub auto_rate: bool,
}

/// How several pingers share a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pingers {
    /// One pinger at a time, each with the forwarder to itself (the default).
    InTurn,
    /// All pingers at once through the same forwarder (the paper's Fig. 2, hosts A and C).
    Together,
}

/// A parsed, checked experiment file.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The file's text, stored with the results.
    pub text: String,
    pub path: String,
    /// The embedded namespace testbed the hosts live on, if any.
    pub testbed: Option<String>,
    /// Its kind: namespaces on this host, or inside a VM (hosts reached over ssh).
    pub testbed_kind: host::testbed::Kind,
    /// `[testbed] kind = "replay"`: runs replay a completed sweep's samples.
    pub replay: Option<Replay>,
    /// Strategy, order and racing parameters (`[search]`).
    pub search: Search,
    pub hosts: BTreeMap<String, HostSpec>,
    /// The pinger of the run at hand (the first of `pingers` until [`Experiment::for_pinger`]).
    pub ping_host: String,
    /// Every pinger; each configuration is run from each, one at a time or together.
    pub pingers: Vec<String>,
    pub pinger_mode: Pingers,
    /// The forwarder's interface, address and MAC facing each pinger (from the testbed).
    pub fwd_links: BTreeMap<String, (String, Option<Ipv4Addr>, Option<String>)>,
    pub fwd_host: String,
    /// `[roles] fwd-hold`: the forwarder busy-waits this long before sending each probe back
    /// (a planted processing delay: its stage must show it).
    pub fwd_hold: Option<Duration>,
    pub probe: Probe,
    pub axes: Vec<Axis>,
    pub exclude: Vec<Rule>,
    pub include: Vec<Rule>,
}

/// The 1-based line where `key` is first assigned (or used as a table header), for messages.
pub fn line_of(text: &str, key: &str) -> usize {
    let last = key.rsplit('.').next().unwrap_or(key);
    let quoted = format!("\"{key}\"");
    let find = |k: &str| {
        text.lines().position(|l| {
            let t = l.trim_start().trim_start_matches('[').trim_start();
            t.strip_prefix(k)
                .is_some_and(|r| r.starts_with([' ', '=', '\t', ']', '.']))
        })
    };
    find(key)
        .or_else(|| find(&quoted))
        .or_else(|| find(last))
        .map_or(0, |i| i + 1)
}

impl Experiment {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Experiment, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::File {
            path: path.display().to_string(),
            msg: format!("cannot read the experiment file: {e}"),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and checks the text of an experiment file; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Experiment, Error> {
        let err = |msg: String| Error::File {
            path: path.to_string(),
            msg,
        };
        let at = |key: &str, msg: String| Error::File {
            path: path.to_string(),
            msg: format!("line {}: `{key}`: {msg}", line_of(text, key)),
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let p = raw.probe;
        let auto_rate = match (p.rate.as_deref(), &p.interval) {
            (None, _) => false,
            (Some("auto"), None) => true,
            (Some("auto"), Some(_)) => {
                return Err(at(
                    "rate",
                    "rate = \"auto\" derives the interval: remove `interval`, or remove `rate`"
                        .into(),
                ));
            }
            (Some(r), _) => {
                return Err(at(
                    "rate",
                    format!(
                        "rate = {r:?}: the only rate is \"auto\" (the paper's equation (1)); for a fixed rate give `interval`"
                    ),
                ));
            }
        };
        let dur = |key: &str, s: &str| {
            humantime::parse_duration(s)
                .map_err(|e| at(key, format!("{s:?}: {e} (examples: 30s, 500ms, 1m)")))
        };
        let stamp = p.stamp;
        let size = p.size.unwrap_or(if stamp { 88 } else { 64 });
        if stamp && size < 88 {
            return Err(at(
                "size",
                format!("{size}: stamped probes need 88 bytes or more (or stamp = false)"),
            ));
        }
        if p.repetitions == 0 {
            return Err(at("repetitions", "must be at least 1".into()));
        }
        let interval = match &p.interval {
            _ if auto_rate => crate::rate::interval(crate::rate::pps(
                crate::rate::DEFAULT_BPS,
                crate::rate::ASSUMED_L_MIN_NS,
                size,
            )),
            Some(i) => dur("interval", i)?,
            None => dur("interval", &one_second())?,
        };
        if interval.is_zero() && p.count.is_none() {
            return Err(at(
                "interval",
                "an interval of 0 needs `count` (probes back to back)".into(),
            ));
        }
        let probe = Probe {
            size,
            stamp,
            interval,
            duration: dur("duration", &p.duration)?,
            count: p.count,
            warmup: p.warmup,
            repetitions: p.repetitions,
            linger: dur("linger", &p.linger)?,
            baseline: p.baseline,
            port: p.port,
            sample_every: p.sample_every,
            auto_rate,
        };

        let replay = match &raw.testbed {
            Some(t) => search::testbed(t, Path::new(path), line_of(text, "from"))
                .map_err(|(k, m)| at(k, m))?,
            None => None,
        };
        let search = search::search(raw.search).map_err(|(k, m)| at(k, m))?;
        let testbed = match (&raw.testbed, &raw.hosts) {
            _ if replay.is_some() => None,
            (Some(t), _) => t.name.clone(),
            (None, None) if raw.hosts_from.is_none() => Some(DEFAULT_TESTBED.to_string()),
            (None, None) => None,
            (None, Some(_)) => None,
        };
        if let Some(t) = &testbed {
            host::testbed::validate_name(t).map_err(|e| at("name", e.to_string()))?;
        }
        let testbed_kind = match raw.testbed.as_ref().and_then(|t| t.kind.as_deref()) {
            Some("vm") => host::testbed::Kind::Vm,
            _ => host::testbed::Kind::Netns,
        };
        let inventory = match &raw.hosts_from {
            None => BTreeMap::new(),
            Some(f) => {
                let base = Path::new(path).parent().unwrap_or(Path::new("."));
                crate::inventory::load(&base.join(f)).map_err(|m| at("hosts-from", m))?
            }
        };
        let mut hosts = BTreeMap::new();
        for (name, inv) in &inventory {
            let h = RawHost::default();
            hosts.insert(
                name.clone(),
                host_spec(name, h, Some(inv)).map_err(|m| at(name, m))?,
            );
        }
        match raw.hosts {
            None if raw.hosts_from.is_some() => {}
            None => {
                let t = testbed.clone().unwrap_or_default();
                for n in ["a", "b", "c"] {
                    hosts.insert(n.to_string(), netns_host(n, &format!("{t}-{n}")));
                }
            }
            Some(raw_hosts) => {
                for (name, h) in raw_hosts {
                    let spec =
                        host_spec(&name, h, inventory.get(&name)).map_err(|m| at(&name, m))?;
                    hosts.insert(name.clone(), spec);
                }
            }
        }
        let (pingers, fwd_host, mode, hold) = match raw.roles {
            Some(r) => {
                let pingers = match r.ping {
                    OneOrMany::One(p) => vec![p],
                    OneOrMany::Many(v) => v,
                };
                (pingers, r.fwd, r.pingers, r.fwd_hold)
            }
            None => (vec!["a".to_string()], "b".to_string(), None, None),
        };
        let fwd_hold = match hold {
            Some(h) => Some(
                humantime::parse_duration(&h)
                    .map_err(|e| at("fwd-hold", format!("{h:?}: {e} (examples: 50us, 1ms)")))?,
            ),
            None => None,
        };
        let pinger_mode = match mode.as_deref() {
            None | Some("in-turn") => Pingers::InTurn,
            Some("together") if pingers.len() > 1 => Pingers::Together,
            Some("together") => {
                return Err(at(
                    "pingers",
                    "\"together\" needs two pingers or more: ping = [\"a\", \"c\"]".into(),
                ));
            }
            Some(m) => {
                return Err(at(
                    "pingers",
                    format!("{m:?}: expected \"in-turn\" or \"together\""),
                ));
            }
        };
        if pingers.is_empty() {
            return Err(at("ping", "name at least one host".into()));
        }
        for (role, h) in pingers
            .iter()
            .map(|p| ("ping", p))
            .chain([("fwd", &fwd_host)])
        {
            if !hosts.contains_key(h) {
                return Err(at(
                    role,
                    format!("no host {h:?} in [hosts] (have: {:?})", hosts.keys()),
                ));
            }
        }
        if pingers.contains(&fwd_host) {
            return Err(at("fwd", "ping and fwd must run on different hosts".into()));
        }
        let ping_host = pingers[0].clone();

        let mut axes = Vec::new();
        for (key, v) in flatten(&raw.axes, "") {
            axes.push(axis(&key, v, &hosts, text).map_err(|m| at(&key, m))?);
        }
        let rules = |tables: &[toml::Table], what: &str| -> Result<Vec<Rule>, Error> {
            let mut out = Vec::new();
            for (i, t) in tables.iter().enumerate() {
                out.push(rule(t, &axes, text, what, i).map_err(err)?);
            }
            Ok(out)
        };
        let exclude = rules(&raw.exclude, "exclude")?;
        let include = rules(&raw.include, "include")?;
        let exp = Experiment {
            text: text.to_string(),
            path: path.to_string(),
            testbed,
            testbed_kind,
            replay,
            search,
            hosts,
            ping_host,
            pingers,
            pinger_mode,
            fwd_links: BTreeMap::new(),
            fwd_host,
            fwd_hold,
            probe,
            axes,
            exclude,
            include,
        };
        crate::check::file(&exp)?;
        Ok(exp)
    }

    /// This experiment as run from pinger `i`: that host pings, and the forwarder listens on
    /// its interface facing it.
    pub fn for_pinger(&self, i: usize) -> Experiment {
        let mut e = self.clone();
        let p = self.pingers[i.min(self.pingers.len() - 1)].clone();
        if let Some((iface, ip, mac)) = self.fwd_links.get(&p)
            && let Some(f) = e.hosts.get_mut(&self.fwd_host)
        {
            f.iface = Some(iface.clone());
            f.ip = ip.or(f.ip);
            f.mac = mac.clone().or(f.mac.clone());
        }
        e.ping_host = p;
        e
    }

    /// The hosts a host-setting axis of `scope` changes.
    pub fn setting_hosts(&self, scope: &Scope) -> Vec<String> {
        match scope {
            Scope::Host(h) => vec![h.clone()],
            Scope::Ping => vec![self.ping_host.clone()],
            Scope::Fwd => vec![self.fwd_host.clone()],
            Scope::All => vec![self.ping_host.clone(), self.fwd_host.clone()],
        }
    }

    /// Probes measured per run (not counting warm-up).
    pub fn count(&self, batch: u64) -> u64 {
        match self.probe.count {
            Some(n) => n,
            None => {
                let per = self.probe.interval.as_nanos().max(1);
                let batches = (self.probe.duration.as_nanos() / per).max(1);
                u64::try_from(batches)
                    .unwrap_or(u64::MAX)
                    .saturating_mul(batch.max(1))
            }
        }
    }
}
