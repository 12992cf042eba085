//! The knobs of the roles (DESIGN.md), each defined once, in [`table`]: its name (the `--flag` of
//! `ping` and `fwd` and the experiment-file key), its field in [`Knobs`] (also its key in a run
//! summary's `params`), its values and their range, its default per role, the roles that take
//! it, whether an experiment axis may set it, and its doc (the flag's help). The command line
//! builds its flags from [`KNOBS`], the sweep checks experiment values with [`Knob::parse`] and
//! builds the roles' argv with [`Knob::flag`], and a run's `params` come from
//! [`Knobs::to_params`], so adding a knob is one entry in the table plus its implementation.

use serde_json::{Map, Value as Json};

mod choice;
mod config;
#[macro_use]
mod define;
mod table;

pub use choice::{Backend, Choice, Pace};
pub use config::{allowed_cpus, pin_current_thread};
pub use table::{KNOBS, Knobs};

/// The two roles of a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The generator/receiver (host A): `xdplat ping`.
    Ping,
    /// The forwarder (host B): `xdplat fwd`.
    Fwd,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Ping, Role::Fwd];

    /// The subcommand: `ping` or `fwd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ping => "ping",
            Role::Fwd => "fwd",
        }
    }
}

/// Knobs both roles take.
pub const BOTH: &[Role] = &Role::ALL;

/// The values a knob takes.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `true` or `false`.
    Bool,
    /// An integer in `min..=max`.
    Int { min: u64, max: u64 },
    /// One name of a typed enum ([`Choice`]): `what` it is, for messages, its names, and the
    /// canonical name of a command-line spelling (aliases included).
    Choice {
        what: &'static str,
        names: fn() -> Vec<&'static str>,
        parse: fn(&str) -> Option<&'static str>,
    },
}

impl Kind {
    /// The kind of a [`Choice`] enum.
    pub const fn choice<T: Choice>() -> Kind {
        Kind::Choice {
            what: T::WHAT,
            names: choice::names::<T>,
            parse: choice::canonical::<T>,
        }
    }
}

/// One value of a knob, checked against its [`Kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    Bool(bool),
    Int(u64),
    /// The canonical name of a [`Choice`].
    Choice(&'static str),
}

impl Value {
    /// The value as a command-line argument.
    pub fn arg(&self) -> String {
        match self {
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Choice(s) => (*s).to_string(),
        }
    }

    pub fn to_json(&self) -> Json {
        match self {
            Value::Bool(b) => Json::from(*b),
            Value::Int(i) => Json::from(*i),
            Value::Choice(s) => Json::from(*s),
        }
    }
}

/// A value as an experiment file gives it (TOML scalars), before it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raw<'a> {
    Bool(bool),
    Int(i64),
    Str(&'a str),
}

/// One knob: one entry of [`KNOBS`] (written in [`table`]).
#[derive(Debug)]
pub struct Knob {
    /// The flag (`--name`) of the roles in [`Knob::roles`] and the experiment-file key.
    pub name: &'static str,
    /// The field of [`Knobs`] and the key in a run summary's `params`.
    pub param: &'static str,
    /// What it does (the flag's help).
    pub doc: &'static str,
    pub kind: Kind,
    /// The roles that take it.
    pub roles: &'static [Role],
    /// Whether an experiment axis may set it (`backend` is set by the sweep's baseline instead).
    pub axis: bool,
    pub(crate) default: fn(Role) -> Option<Value>,
    pub(crate) get: fn(&Knobs) -> Option<Value>,
    pub(crate) set: fn(&mut Knobs, Option<Value>) -> Result<(), String>,
}

impl PartialEq for Knob {
    fn eq(&self, other: &Knob) -> bool {
        self.name == other.name
    }
}

impl Eq for Knob {}

impl Knob {
    /// `--name`.
    pub fn flag(&self) -> String {
        format!("--{}", self.name)
    }

    /// The doc as one line, without its final period (as clap shows a doc comment).
    pub fn help(&self) -> String {
        let text = self.doc.split_whitespace().collect::<Vec<_>>().join(" ");
        text.strip_suffix('.').unwrap_or(&text).to_string()
    }

    /// The default of `role` (None: unset, as `cpu`).
    pub fn default(&self, role: Role) -> Option<Value> {
        (self.default)(role)
    }

    pub fn takes(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn get(&self, knobs: &Knobs) -> Option<Value> {
        (self.get)(knobs)
    }

    /// Sets the knob in `knobs` (None: unset, where the knob may be unset).
    pub fn set(&self, knobs: &mut Knobs, value: Option<Value>) -> Result<(), String> {
        (self.set)(knobs, value).map_err(|why| format!("{}: {why}", self.flag()))
    }

    /// Checks an experiment value (canonical names only for a choice).
    pub fn parse(&self, raw: Raw<'_>) -> Result<Value, String> {
        match (self.kind, raw) {
            (Kind::Bool, Raw::Bool(b)) => Ok(Value::Bool(b)),
            (Kind::Bool, _) => Err("expected true or false".into()),
            (Kind::Int { min, max }, Raw::Int(i)) => u64::try_from(i)
                .ok()
                .filter(|v| (min..=max).contains(v))
                .map(Value::Int)
                .ok_or_else(|| int_range(min, max)),
            (Kind::Int { min, max }, _) => Err(int_range(min, max)),
            (Kind::Choice { names, .. }, Raw::Str(s)) => names()
                .into_iter()
                .find(|n| *n == s)
                .map(Value::Choice)
                .ok_or_else(|| one_of(&names())),
            (Kind::Choice { names, .. }, _) => Err(one_of(&names())),
        }
    }

    /// Parses a command-line value; a choice also takes its type's aliases (`--bind zc`).
    pub fn parse_text(&self, text: &str) -> Result<Value, String> {
        match self.kind {
            Kind::Bool => match text {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err("expected true or false".into()),
            },
            Kind::Int { min, max } => text
                .parse::<u64>()
                .ok()
                .filter(|v| (min..=max).contains(v))
                .map(Value::Int)
                .ok_or_else(|| int_range(min, max)),
            Kind::Choice { what, names, parse } => parse(text)
                .map(Value::Choice)
                .ok_or_else(|| format!("{text:?} is not a valid {what}: {}", one_of(&names()))),
        }
    }

    /// The names a value may take, for help texts (None for integers).
    pub fn possible_values(&self) -> Option<Vec<&'static str>> {
        match self.kind {
            Kind::Bool => Some(vec!["true", "false"]),
            Kind::Int { .. } => None,
            Kind::Choice { names, .. } => Some(names()),
        }
    }
}

fn int_range(min: u64, max: u64) -> String {
    format!("expected an integer from {min} to {max}")
}

fn one_of(names: &[&str]) -> String {
    format!("expected one of {}", names.join(", "))
}

/// The knob called `name` (a flag without `--`, or an experiment key).
pub fn by_name(name: &str) -> Option<&'static Knob> {
    KNOBS.iter().find(|k| k.name == name)
}

/// The knob an experiment axis called `name` sets, if it is one.
pub fn axis(name: &str) -> Option<&'static Knob> {
    by_name(name).filter(|k| k.axis)
}

/// The names experiment axes may use.
pub fn axis_names() -> Vec<&'static str> {
    KNOBS.iter().filter(|k| k.axis).map(|k| k.name).collect()
}

impl Knobs {
    /// The knobs as the `params` of a run summary: every knob of the table by its field name.
    pub fn to_params(&self) -> Map<String, Json> {
        KNOBS
            .iter()
            .map(|k| {
                let v = k.get(self).map_or(Json::Null, |v| v.to_json());
                (k.param.to_string(), v)
            })
            .collect()
    }
}

impl Default for Knobs {
    /// The ping's defaults (the forwarder's may differ: [`Knobs::defaults`]).
    fn default() -> Self {
        Knobs::defaults(Role::Ping)
    }
}

/// How a typed field of [`Knobs`] turns into a [`Value`] and back.
pub(crate) trait KnobType: Sized {
    fn to_value(&self) -> Option<Value>;
    fn from_value(v: Option<Value>) -> Result<Self, String>;
}

impl KnobType for bool {
    fn to_value(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }

    fn from_value(v: Option<Value>) -> Result<Self, String> {
        match v {
            Some(Value::Bool(b)) => Ok(b),
            other => Err(format!("expected true or false, not {other:?}")),
        }
    }
}

impl KnobType for u32 {
    fn to_value(&self) -> Option<Value> {
        Some(Value::Int(u64::from(*self)))
    }

    fn from_value(v: Option<Value>) -> Result<Self, String> {
        match v {
            Some(Value::Int(i)) => {
                u32::try_from(i).map_err(|_| format!("{i} is above {}", u32::MAX))
            }
            other => Err(format!("expected an integer, not {other:?}")),
        }
    }
}

impl KnobType for Option<usize> {
    fn to_value(&self) -> Option<Value> {
        self.map(|v| Value::Int(v as u64))
    }

    fn from_value(v: Option<Value>) -> Result<Self, String> {
        match v {
            None => Ok(None),
            Some(Value::Int(i)) => usize::try_from(i)
                .map(Some)
                .map_err(|_| format!("{i} is too large")),
            Some(other) => Err(format!("expected an integer, not {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests;
