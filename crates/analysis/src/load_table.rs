//! Reads a long table (`--table FILE`, CSV or Parquet by extension): columns
//! `config` (id), `rep` (integer), `rtt_ns` (number; empty, NaN or null means
//! a lost packet), and any other column is a parameter that must be constant
//! within a configuration. Rows stream through without a per-row allocation;
//! RTTs are kept per (config, rep) until the file is read.
//!
//! CSV cells are typed as they would be in JSON: `true`/`false` (any case) are
//! booleans, integers and decimals are numbers, an empty cell is null, the rest
//! strings. Rows are numbered as lines of the file (the header is line 1) for
//! CSV, and from 1 for Parquet.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::Path;

use serde_json::Value;

use crate::Error;
use crate::model::{Config, Dataset, Params, Run};

mod parquet_file;

use parquet_file::load_parquet;
pub use parquet_file::parquet_page_check;

/// One cell, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(&'a str),
}

impl Cell<'_> {
    fn parse(s: &str) -> Cell<'_> {
        let t = s.trim();
        if t.is_empty() {
            Cell::Null
        } else if t.eq_ignore_ascii_case("true") {
            Cell::Bool(true)
        } else if t.eq_ignore_ascii_case("false") {
            Cell::Bool(false)
        } else if let Ok(i) = t.parse::<i64>() {
            Cell::Int(i)
        } else if let Ok(f) = t.parse::<f64>() {
            Cell::Float(f)
        } else {
            Cell::Str(t)
        }
    }

    fn to_value(self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::Bool(b),
            Cell::Int(i) => i.into(),
            Cell::UInt(u) => u.into(),
            Cell::Float(f) => serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Cell::Str(s) => Value::String(s.to_string()),
        }
    }

    fn matches(self, v: &Value) -> bool {
        match (self, v) {
            (Cell::Null, Value::Null) => true,
            (Cell::Bool(a), Value::Bool(b)) => a == *b,
            (Cell::Int(a), Value::Number(n)) => n.as_i64() == Some(a),
            (Cell::UInt(a), Value::Number(n)) => n.as_u64() == Some(a),
            (Cell::Float(a), Value::Number(n)) => n.as_f64() == Some(a),
            (Cell::Float(a), Value::Null) => a.is_nan(),
            (Cell::Str(a), Value::String(b)) => a == b,
            _ => false,
        }
    }

    fn render(self) -> String {
        crate::model::render_value(&self.to_value())
    }
}

/// RTTs and lost-packet count of each repetition.
type Reps = BTreeMap<u32, (Vec<i64>, u64)>;

/// Column indices of `config`, `rep`, `rtt_ns`, and (index, name) of each parameter column.
type Columns = ([usize; 3], Vec<(usize, String)>);

/// Rows grouped by configuration and repetition.
struct Builder<'f> {
    file: &'f str,
    params: Vec<String>,
    index: HashMap<String, usize>,
    configs: Vec<(String, Vec<Value>, Reps)>,
}

impl<'f> Builder<'f> {
    fn new(file: &'f str, params: Vec<String>) -> Self {
        Self {
            file,
            params,
            index: HashMap::new(),
            configs: Vec::new(),
        }
    }

    fn rtt(&self, row: u64, cell: Cell<'_>) -> Result<Option<i64>, Error> {
        let bad = |why: String| Error::input(self.file, Some(row), Some("rtt_ns"), why);
        let v = match cell {
            Cell::Null => return Ok(None),
            Cell::Int(i) => i as f64,
            Cell::UInt(u) => u as f64,
            Cell::Float(f) if f.is_nan() => return Ok(None),
            Cell::Float(f) => f,
            Cell::Str(s)
                if s.eq_ignore_ascii_case("nan")
                    || s.eq_ignore_ascii_case("na")
                    || s.eq_ignore_ascii_case("null") =>
            {
                return Ok(None);
            }
            other => return Err(bad(format!("latency {:?} is not a number", other.render()))),
        };
        if !v.is_finite() || v < 0.0 {
            return Err(bad(format!(
                "latency {v} is not a finite non-negative number"
            )));
        }
        Ok(Some(v.round() as i64))
    }

    fn rep(&self, row: u64, cell: Cell<'_>) -> Result<u32, Error> {
        let r = match cell {
            Cell::Int(i) => u32::try_from(i).ok(),
            Cell::UInt(u) => u32::try_from(u).ok(),
            Cell::Float(f) if f.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&f) => {
                Some(f as u32)
            }
            _ => None,
        };
        r.ok_or_else(|| {
            Error::input(
                self.file,
                Some(row),
                Some("rep"),
                format!(
                    "repetition {:?} is not a non-negative integer",
                    cell.render()
                ),
            )
        })
    }

    fn row<'a>(
        &mut self,
        row: u64,
        config: &str,
        rep: Cell<'_>,
        rtt: Cell<'_>,
        params: impl Fn(usize) -> Cell<'a>,
    ) -> Result<(), Error> {
        if config.is_empty() {
            return Err(Error::input(
                self.file,
                Some(row),
                Some("config"),
                "empty configuration id",
            ));
        }
        let rep = self.rep(row, rep)?;
        let rtt = self.rtt(row, rtt)?;
        let idx = match self.index.get(config) {
            Some(&i) => {
                let (_, values, _) = &self.configs[i];
                for (j, v) in values.iter().enumerate() {
                    let c = params(j);
                    if !c.matches(v) {
                        return Err(Error::input(
                            self.file,
                            Some(row),
                            Some(&self.params[j]),
                            format!(
                                "parameter varies within configuration {config}: {} here, {} before",
                                c.render(),
                                crate::model::render_value(v)
                            ),
                        ));
                    }
                }
                i
            }
            None => {
                let values = (0..self.params.len())
                    .map(|j| params(j).to_value())
                    .collect();
                self.configs
                    .push((config.to_string(), values, BTreeMap::new()));
                self.index
                    .insert(config.to_string(), self.configs.len() - 1);
                self.configs.len() - 1
            }
        };
        let slot = self.configs[idx].2.entry(rep).or_default();
        match rtt {
            Some(v) => slot.0.push(v),
            None => slot.1 += 1,
        }
        Ok(())
    }

    fn finish(self) -> Result<Dataset, Error> {
        if self.configs.is_empty() {
            return Err(Error::input(self.file, None, None, "the table has no rows"));
        }
        let file = self.file;
        let names = self.params;
        let configs = self
            .configs
            .into_iter()
            .map(|(id, values, reps)| {
                let params: Params = names.iter().cloned().zip(values).collect();
                let runs = reps
                    .into_iter()
                    .map(|(rep, (mut rtts, lost))| {
                        let sent = rtts.len() as u64 + lost;
                        Run::from_rtts(
                            rep,
                            &mut rtts,
                            sent,
                            lost,
                            format!("{file} config {id} rep {rep}"),
                        )
                    })
                    .collect();
                Config {
                    id,
                    params,
                    runs,
                    note: None,
                }
            })
            .collect();
        Ok(Dataset {
            source: file.to_string(),
            configs,
        })
    }
}

const REQUIRED: [&str; 3] = ["config", "rep", "rtt_ns"];

fn required_index(file: &str, header: &[&str]) -> Result<Columns, Error> {
    for (i, h) in header.iter().enumerate() {
        if let Some(j) = header[i + 1..].iter().position(|o| o.trim() == h.trim()) {
            return Err(Error::input(
                file,
                None,
                Some(h.trim()),
                format!(
                    "column {:?} appears twice (columns {} and {}): which one holds the data is not \
                     known; rename or drop one",
                    h.trim(),
                    i + 1,
                    i + j + 2
                ),
            ));
        }
    }
    let mut idx = [0; 3];
    for (slot, name) in idx.iter_mut().zip(REQUIRED) {
        *slot = header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| {
                Error::input(
                    file,
                    None,
                    Some(name),
                    format!("missing column {name} (the table needs config, rep, rtt_ns)"),
                )
            })?;
    }
    let params = header
        .iter()
        .enumerate()
        .filter(|(_, h)| !REQUIRED.contains(&h.trim()))
        .map(|(i, h)| (i, h.trim().to_string()))
        .collect();
    Ok((idx, params))
}

/// Loads a CSV or Parquet table (chosen by the `.parquet`/`.pq` extension, CSV otherwise).
pub fn load_table(path: &Path) -> Result<Dataset, Error> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "parquet" || ext == "pq" {
        load_parquet(path)
    } else {
        load_csv(path)
    }
}

fn load_csv(path: &Path) -> Result<Dataset, Error> {
    let file = path.display().to_string();
    let f = File::open(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    // the CSV reader buffers its input itself
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .buffer_capacity(1 << 16)
        .from_reader(TextGuard::new(f));
    let csv_err = |e: csv::Error| {
        let row = e.position().map(|p| p.line());
        Error::input(&file, row, None, e.to_string())
    };
    let header: Vec<String> = rdr
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(str::to_string)
        .collect();
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let ([ci, ri, ti], params) = required_index(&file, &header_refs)?;
    let mut b = Builder::new(&file, params.iter().map(|(_, n)| n.clone()).collect());
    let mut rec = csv::StringRecord::new();
    while rdr.read_record(&mut rec).map_err(csv_err)? {
        let row = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |i: usize| rec.get(i).unwrap_or("");
        b.row(
            row,
            get(ci).trim(),
            Cell::parse(get(ri)),
            Cell::parse(get(ti)),
            |j| Cell::parse(get(params[j].0)),
        )?;
    }
    b.finish()
}

/// The longest line a CSV table may have. The CSV reader holds a whole record in memory (and
/// copies the header), so a file without line breaks (a sparse file of zero bytes, a binary
/// file) would be read whole, several times its size, before its columns could be refused.
const MAX_LINE: usize = 1 << 20;

/// Passes text through and fails on a NUL byte (not text) or a line longer than [`MAX_LINE`],
/// naming the line, before the CSV reader buffers it.
struct TextGuard<R> {
    inner: R,
    line: u64,
    line_len: usize,
}

impl<R> TextGuard<R> {
    fn new(inner: R) -> Self {
        TextGuard {
            inner,
            line: 1,
            line_len: 0,
        }
    }
}

impl<R: std::io::Read> std::io::Read for TextGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let refuse = |why: String| Err(std::io::Error::new(std::io::ErrorKind::InvalidData, why));
        for &b in &buf[..n] {
            match b {
                b'\n' => {
                    self.line += 1;
                    self.line_len = 0;
                }
                0 => {
                    return refuse(format!(
                        "line {}: a NUL byte: not a UTF-8 CSV text file (a Parquet table \
                         needs the .parquet extension)",
                        self.line
                    ));
                }
                _ => {
                    self.line_len += 1;
                    if self.line_len > MAX_LINE {
                        return refuse(format!(
                            "line {} is longer than {} MiB: not a table of runs",
                            self.line,
                            MAX_LINE >> 20
                        ));
                    }
                }
            }
        }
        Ok(n)
    }
}
