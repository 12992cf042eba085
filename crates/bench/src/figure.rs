//! One benchmark's outcome, serialized once for `--json` and rendered once for people.

use std::fmt;

use serde_json::{Map, Value, json};

/// `value` against `baseline`, or why the benchmark was skipped.
#[derive(Debug, Clone)]
pub struct Figure {
    pub value: Option<f64>,
    pub baseline: Option<f64>,
    pub unit: &'static str,
    /// What the ratio means in words (human output only).
    pub meaning: &'static str,
    pub skipped: Option<String>,
    pub extra: Map<String, Value>,
}

impl Figure {
    pub fn new(value: f64, baseline: f64, unit: &'static str, meaning: &'static str) -> Figure {
        Figure {
            value: Some(value),
            baseline: Some(baseline),
            unit,
            meaning,
            skipped: None,
            extra: Map::new(),
        }
    }

    pub fn skipped(unit: &'static str, meaning: &'static str, why: impl Into<String>) -> Figure {
        Figure {
            value: None,
            baseline: None,
            unit,
            meaning,
            skipped: Some(why.into()),
            extra: Map::new(),
        }
    }

    pub fn ratio(&self) -> Option<f64> {
        match (self.value, self.baseline) {
            (Some(v), Some(b)) if b != 0.0 => Some(v / b),
            _ => None,
        }
    }

    /// `{"value", "baseline", "ratio", "unit", "skipped"?, ...extra}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("value".into(), json!(self.value));
        m.insert("baseline".into(), json!(self.baseline));
        m.insert("ratio".into(), json!(self.ratio()));
        m.insert("unit".into(), json!(self.unit));
        if let Some(why) = &self.skipped {
            m.insert("skipped".into(), json!(why));
        }
        m.extend(self.extra.clone());
        Value::Object(m)
    }
}

/// The figures of a run: one JSON object keyed by benchmark ([`Table::to_json`]), or a table
/// ([`fmt::Display`]).
#[derive(Debug)]
pub struct Table<'a>(pub &'a [(&'static str, Figure)]);

impl Table<'_> {
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(k, f)| (k.to_string(), f.to_json()))
                .collect(),
        )
    }
}

impl fmt::Display for Table<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<18} {:>14} {:>14} {:>8}  {:<10} meaning",
            "benchmark", "value", "baseline", "ratio", "unit"
        )?;
        let num = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        for (k, fig) in self.0 {
            writeln!(
                f,
                "{:<18} {:>14} {:>14} {:>8}  {:<10} {}",
                k,
                num(fig.value),
                num(fig.baseline),
                fig.ratio().map_or("-".into(), |r| format!("{r:.3}")),
                fig.unit,
                fig.meaning
            )?;
            if let Some(why) = &fig.skipped {
                writeln!(f, "{:<18} skipped: {why}", "")?;
            }
            for (key, v) in &fig.extra {
                writeln!(f, "{:<18} {key}: {v}", "")?;
            }
        }
        Ok(())
    }
}
