//! Axis values and the socket knobs they may set (DESIGN.md: the same spelling as the role
//! flags), with the checks each knob's values must pass.

use serde_json::{Value, json};

/// One value of an axis: what TOML gives, restricted to scalars.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Val {
    Bool(bool),
    Int(i64),
    Str(String),
}

impl Val {
    pub fn from_toml(v: &toml::Value) -> Option<Val> {
        match v {
            toml::Value::Boolean(b) => Some(Val::Bool(*b)),
            toml::Value::Integer(i) => Some(Val::Int(*i)),
            toml::Value::String(s) => Some(Val::Str(s.clone())),
            _ => None,
        }
    }

    /// The value as a command-line argument.
    pub fn arg(&self) -> String {
        match self {
            Val::Bool(b) => b.to_string(),
            Val::Int(i) => i.to_string(),
            Val::Str(s) => s.clone(),
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Val::Bool(b) => json!(b),
            Val::Int(i) => json!(i),
            Val::Str(s) => json!(s),
        }
    }
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Str(s) => write!(f, "{s:?}"),
            other => f.write_str(&other.arg()),
        }
    }
}

/// The knobs an axis may set on a role.
pub const KNOBS: [&str; 13] = [
    "xdp-mode",
    "bind",
    "need-wakeup",
    "busy-poll",
    "busy-poll-usecs",
    "busy-poll-budget",
    "poll",
    "cpu",
    "frame-size",
    "frames",
    "ring-size",
    "batch",
    "hw-timestamps",
];

/// The type of a knob's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knob {
    Bool,
    Count,
    Choice(&'static [&'static str]),
}

/// The knob called `name`, if it is one.
pub fn knob(name: &str) -> Option<Knob> {
    Some(match name {
        "xdp-mode" => Knob::Choice(&["skb", "drv", "auto"]),
        "bind" => Knob::Choice(&["copy", "zero-copy", "auto"]),
        "need-wakeup" | "busy-poll" | "poll" | "hw-timestamps" => Knob::Bool,
        "busy-poll-usecs" | "busy-poll-budget" | "cpu" | "frame-size" | "frames" | "ring-size"
        | "batch" => Knob::Count,
        _ => return None,
    })
}

impl Knob {
    pub fn check(self, v: &Val) -> Result<(), String> {
        match (self, v) {
            (Knob::Bool, Val::Bool(_)) => Ok(()),
            (Knob::Bool, _) => Err("expected true or false".into()),
            (Knob::Count, Val::Int(i)) if (0..=u32::MAX as i64).contains(i) => Ok(()),
            (Knob::Count, _) => Err("expected a non-negative integer".into()),
            (Knob::Choice(c), Val::Str(s)) if c.contains(&s.as_str()) => Ok(()),
            (Knob::Choice(c), _) => Err(format!("expected one of {}", c.join(", "))),
        }
    }
}
