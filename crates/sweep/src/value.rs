//! Axis values: what a TOML axis list holds (the knobs they may set, and their checks, are the
//! table `probe::knobs::KNOBS`; host settings are checked by `host`).

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

    /// The value as a knob reads it.
    pub fn raw(&self) -> probe::knobs::Raw<'_> {
        match self {
            Val::Bool(b) => probe::knobs::Raw::Bool(*b),
            Val::Int(i) => probe::knobs::Raw::Int(*i),
            Val::Str(s) => probe::knobs::Raw::Str(s),
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
